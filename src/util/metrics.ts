// A small stats registry with Prometheus text exposition (format 0.0.4), no dependency. Hot paths
// pay a counter increment or a short scan of preallocated buckets; gauges that mirror state
// someone already keeps are read only when scraped. Labels are fixed when a series is registered,
// so recording never looks anything up.

export type Labels = Readonly<Record<string, string>>;
type MetricType = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly help: string;
  readonly type: MetricType;
  /** One entry per label set: its sample lines. */
  readonly series: (() => string[])[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: string): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class Counter {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

export class Histogram {
  readonly bounds: readonly number[];
  /** Per bucket (not cumulative); the last slot counts values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] ?? Infinity)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }
}

/** Latency buckets in seconds: 50 µs to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #prefix: string;

  /** Every name gets `prefix` (e.g. `dlog_bookie_`). */
  constructor(prefix = '') {
    this.#prefix = prefix;
  }

  #series(name: string, help: string, type: MetricType, lines: () => string[]): void {
    let family = this.#families.get(name);
    if (family === undefined) {
      family = { help, type, series: [] };
      this.#families.set(name, family);
    } else if (family.type !== type) {
      throw new Error(`metric ${name} registered as ${family.type} and ${type}`);
    }
    family.series.push(lines);
  }

  counter(name: string, help: string, labels: Labels = {}): Counter {
    const counter = new Counter();
    const full = this.#prefix + name;
    this.#series(full, help, 'counter', () => [`${full}${labelText(labels)} ${num(counter.value)}`]);
    return counter;
  }

  /** A value read at scrape time (`type` counter for a total someone else keeps). */
  gauge(name: string, help: string, read: () => number, type: 'gauge' | 'counter' = 'gauge', labels: Labels = {}): void {
    const full = this.#prefix + name;
    this.#series(full, help, type, () => [`${full}${labelText(labels)} ${num(read())}`]);
  }

  histogram(name: string, help: string, labels: Labels = {}, bounds: readonly number[] = LATENCY_BUCKETS): Histogram {
    return this.addHistogram(name, help, new Histogram(bounds), labels);
  }

  /** Exports a histogram its owner records into (the journal's sync latency, a storage's flushes). */
  addHistogram(name: string, help: string, h: Histogram, labels: Labels = {}): Histogram {
    const { bounds } = h;
    const full = this.#prefix + name;
    this.#series(full, help, 'histogram', () => {
      let cumulative = 0;
      const lines = bounds.map((le, i) => {
        cumulative += h.counts[i] ?? 0;
        return `${full}_bucket${labelText(labels, `le="${num(le)}"`)} ${cumulative}`;
      });
      lines.push(`${full}_bucket${labelText(labels, 'le="+Inf"')} ${h.count}`);
      lines.push(`${full}_sum${labelText(labels)} ${num(h.sum)}`, `${full}_count${labelText(labels)} ${h.count}`);
      return lines;
    });
    return h;
  }

  /** The Prometheus text exposition of every metric. */
  prometheusText(): string {
    const out: string[] = [];
    for (const [name, family] of this.#families) {
      out.push(`# HELP ${name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${family.type}`);
      for (const lines of family.series) out.push(...lines());
    }
    return `${out.join('\n')}\n`;
  }
}
