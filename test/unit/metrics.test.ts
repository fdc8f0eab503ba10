import { expect } from 'chai';
import { MetricsRegistry } from '../../src/util/metrics.js';

describe('MetricsRegistry (Prometheus text)', () => {
  it('writes counters, gauges and cumulative histogram buckets in the exposition format', () => {
    const r = new MetricsRegistry('t_');
    const adds = r.counter('ops_total', 'Ops.', { op: 'add' });
    const reads = r.counter('ops_total', 'Ops.', { op: 'read' });
    let depth = 7;
    r.gauge('depth', 'Queue "depth"\nnow.', () => depth);
    const h = r.histogram('latency_seconds', 'Latency.', {}, [0.001, 0.01]);
    adds.inc();
    adds.inc(2);
    reads.inc();
    depth = 9;
    for (const v of [0.0005, 0.001, 0.005, 0.5]) h.observe(v);
    expect(r.prometheusText()).to.equal([
      '# HELP t_ops_total Ops.',
      '# TYPE t_ops_total counter',
      't_ops_total{op="add"} 3',
      't_ops_total{op="read"} 1',
      '# HELP t_depth Queue "depth"\\nnow.',
      '# TYPE t_depth gauge',
      't_depth 9',
      '# HELP t_latency_seconds Latency.',
      '# TYPE t_latency_seconds histogram',
      't_latency_seconds_bucket{le="0.001"} 2',
      't_latency_seconds_bucket{le="0.01"} 3',
      't_latency_seconds_bucket{le="+Inf"} 4',
      't_latency_seconds_sum 0.5065',
      't_latency_seconds_count 4',
      '',
    ].join('\n'));
  });

  it('escapes label values and refuses one name with two types', () => {
    const r = new MetricsRegistry();
    r.counter('x', 'X.', { path: 'a"b\\c' }).inc();
    expect(r.prometheusText()).to.include('x{path="a\\"b\\\\c"} 1');
    expect(() => { r.gauge('x', 'X.', () => 1); }).to.throw('metric x registered as counter and gauge');
  });
});
