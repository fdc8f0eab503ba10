// The shape benchmarks hand to `dlog bench --report`: log-scaled latency buckets, throughput bins,
// and the page's percentiles and escaping.
import { expect } from 'chai';
import { BenchRecorder, bucketOf, bucketStart } from '../../src/cli/bench-result.js';
import { duration, histogramPercentile, renderBenchReport } from '../../src/cli/bench-report-html.js';

describe('bench result and report', () => {
  it('buckets latencies by factor-of-ten tenths', () => {
    expect(bucketOf(1)).to.equal(0);
    expect(bucketOf(10)).to.equal(10);
    expect(bucketOf(0.1)).to.equal(-10);
    expect(bucketOf(0)).to.equal(bucketOf(1e-9));
    for (const ms of [0.013, 0.5, 3.7, 250, 9999]) {
      const k = bucketOf(ms);
      expect(bucketStart(k)).to.be.at.most(ms * (1 + 1e-12));
      expect(bucketStart(k + 1)).to.be.above(ms);
    }
  });

  it('keeps counts from the first to the last used bucket, and per-bin rates', () => {
    const recorder = new BenchRecorder(100);
    const s = recorder.series('writes', 0);
    s.op(1, 10);
    s.op(1.05, 20);
    s.op(10, 150);
    s.count(7, 250);
    s.finish(300);
    const [json] = recorder.toJSON().series;
    expect(json?.firstBucket).to.equal(0);
    expect(json?.counts).to.deep.equal([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(json?.latencyCount).to.equal(3);
    expect(json?.minMs).to.equal(1);
    expect(json?.maxMs).to.equal(10);
    // bins of 100 ms: 2, 1, 7 operations
    expect(json?.throughput).to.deep.equal([20, 10, 70]);
  });

  it('folds a short last bin into the one before it', () => {
    const recorder = new BenchRecorder(1000);
    const s = recorder.series('writes', 0);
    s.count(1000, 500);
    s.count(100, 1010);
    s.finish(1020);
    expect(recorder.toJSON().series[0]?.throughput).to.deep.equal([1100 / 1.02]);
  });

  it('gives percentiles as bucket upper bounds, never above the maximum', () => {
    const recorder = new BenchRecorder();
    const s = recorder.series('x', 0);
    for (let i = 0; i < 99; i++) s.latency(1);
    s.latency(50);
    const json = recorder.toJSON().series[0]!;
    expect(histogramPercentile(json, 50)).to.equal(bucketStart(1));
    expect(histogramPercentile(json, 100)).to.equal(50);
    expect(duration(0.05)).to.equal('50 µs');
    expect(duration(1500)).to.equal('1.5 s');
  });

  it('escapes names and output on the page', () => {
    const recorder = new BenchRecorder();
    recorder.series('<b>row</b>', 0).op(1, 1);
    const html = renderBenchReport(recorder.toJSON(), {
      title: 't', command: 'dlog bench x --a "<y>"', machine: 'm', started: new Date(0), elapsedMs: 1, output: '</pre><script>x</script>',
    });
    expect(html).to.not.include('<b>row</b>');
    expect(html).to.not.include('</pre><script>x');
    expect(html).to.include('&#60;b&#62;row&#60;/b&#62;');
  });
});
