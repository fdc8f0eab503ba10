// What a benchmark hands to `dlog bench --report`: per named series, a latency histogram with
// log-scaled buckets and the throughput of each time bin. Benchmarks record into a BenchRecorder;
// `dlog bench` sets DLOG_BENCH_RESULT to a file path and the recorder writes its JSON there at the
// end. Memory is bounded by the number of buckets and bins, not by the number of operations.
import { writeFileSync } from 'node:fs';

/** Histogram buckets per factor of ten: bucket k holds latencies in [10^(k/10), 10^((k+1)/10)) ms. */
export const BUCKETS_PER_DECADE = 10;
/** Latencies below 1 ns (or zero) count in the 1 ns bucket. */
const MIN_BUCKET = -6 * BUCKETS_PER_DECADE;
/** The environment variable `dlog bench --report` sets to the path the result goes to. */
export const RESULT_ENV = 'DLOG_BENCH_RESULT';

export interface BenchSeries {
  readonly name: string;
  /** Operations with a latency recorded. */
  readonly latencyCount: number;
  /** ms; NaN (JSON null) without latencies. */
  readonly minMs: number | null;
  readonly maxMs: number | null;
  /** Bucket index of counts[0]; see BUCKETS_PER_DECADE. */
  readonly firstBucket: number;
  readonly counts: readonly number[];
  /** Width of a throughput bin, ms. */
  readonly binMs: number;
  /** Operations per second in each bin (the last bin divided by its real length, which may differ). */
  readonly throughput: readonly number[];
}

export interface BenchResult {
  readonly series: readonly BenchSeries[];
}

export function bucketOf(ms: number): number {
  return ms > 0 ? Math.max(MIN_BUCKET, Math.floor(Math.log10(ms) * BUCKETS_PER_DECADE)) : MIN_BUCKET;
}

/** The lower bound of bucket k, ms. */
export function bucketStart(k: number): number {
  return 10 ** (k / BUCKETS_PER_DECADE);
}

/** One series: a row of a benchmark (one write mode, the tail row, ...). */
export class SeriesRecorder {
  private readonly buckets = new Map<number, number>();
  private readonly bins: number[] = [];
  private latencies = 0;
  private min = Infinity;
  private max = -Infinity;
  private start: number;
  private end: number | undefined;

  constructor(readonly name: string, private readonly binMs: number, at: number) {
    this.start = at;
  }

  /** Starts the throughput clock again (after a warm-up, say). */
  restart(at = performance.now()): void {
    this.start = at;
    this.bins.length = 0;
  }

  /** One operation that finished at `at` and took `ms`. */
  op(ms: number, at = performance.now()): void {
    this.latency(ms);
    this.count(1, at);
  }

  /** A latency without a completion time (computed after the run, as ack -> read is). */
  latency(ms: number): void {
    const k = bucketOf(ms);
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
    this.latencies++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** `n` operations done at `at` (catch-up reads come in bulks). */
  count(n: number, at = performance.now()): void {
    const bin = Math.max(0, Math.floor((at - this.start) / this.binMs));
    while (this.bins.length <= bin) this.bins.push(0);
    this.bins[bin] = (this.bins[bin] ?? 0) + n;
  }

  /** Ends the throughput clock: the last bin's rate uses its real length. */
  finish(at = performance.now()): void {
    this.end ??= at;
  }

  toJSON(): BenchSeries {
    const keys = [...this.buckets.keys()];
    const first = keys.length === 0 ? 0 : Math.min(...keys);
    const last = keys.length === 0 ? -1 : Math.max(...keys);
    const counts: number[] = [];
    for (let k = first; k <= last; k++) counts.push(this.buckets.get(k) ?? 0);
    const elapsed = (this.end ?? performance.now()) - this.start;
    const bins = [...this.bins];
    // a last bin shorter than half a bin joins the one before it: a few stragglers over a few ms
    // would otherwise plot as a spike
    const lastLength = elapsed - (bins.length - 1) * this.binMs;
    if (bins.length > 1 && lastLength < this.binMs / 2) bins[bins.length - 2] = (bins[bins.length - 2] ?? 0) + (bins.pop() ?? 0);
    const throughput = bins.map((n, i) => {
      const length = i === bins.length - 1 ? elapsed - i * this.binMs : this.binMs;
      return length > 0 ? (n * 1000) / length : 0;
    });
    return {
      name: this.name,
      latencyCount: this.latencies,
      minMs: this.latencies === 0 ? null : this.min,
      maxMs: this.latencies === 0 ? null : this.max,
      firstBucket: first,
      counts,
      binMs: this.binMs,
      throughput,
    };
  }
}

/** The series of one benchmark run. */
export class BenchRecorder {
  private readonly all: SeriesRecorder[] = [];

  constructor(private readonly binMs = 1000) {}

  series(name: string, at = performance.now()): SeriesRecorder {
    const s = new SeriesRecorder(name, this.binMs, at);
    this.all.push(s);
    return s;
  }

  toJSON(): BenchResult {
    return { series: this.all.map((s) => s.toJSON()) };
  }

  /** Writes the result where `dlog bench --report` asked for it; a no-op when run without it. */
  save(): void {
    const file = process.env[RESULT_ENV];
    if (file === undefined || file === '') return;
    writeFileSync(file, JSON.stringify(this.toJSON()));
  }
}
