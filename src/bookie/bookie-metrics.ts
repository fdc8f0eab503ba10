// The bookie's metrics (docs/operations.md lists them with healthy values): request counts and
// latencies per operation, fed by the server; journal, storage, GC, connection and read-only
// figures read from their owners when scraped.
import { MetricsRegistry, type Counter, type Histogram } from '../util/metrics.js';
import type { Response } from '../protocol/protocol-types.js';

type OpLabel = 'ADD_ENTRY' | 'READ_ENTRY' | 'OTHER';

export class BookieMetrics {
  readonly registry = new MetricsRegistry('dlog_bookie_');
  readonly #latency: Record<OpLabel, Histogram>;
  readonly #ok: Record<OpLabel, Counter>;
  readonly #failed: Record<OpLabel, Counter>;
  readonly #unauthorized: Counter;

  constructor() {
    const r = this.registry;
    const per = <T>(make: (labels: { op: string }) => T): Record<OpLabel, T> => ({
      ADD_ENTRY: make({ op: 'add_entry' }), READ_ENTRY: make({ op: 'read_entry' }), OTHER: make({ op: 'other' }),
    });
    this.#latency = per((l) => r.histogram('request_latency_seconds', 'Time from a request read to its response, per operation (adds include the journal fsync).', l));
    this.#ok = per((l) => r.counter('requests_ok_total', 'Requests answered EOK, per operation.', l));
    this.#failed = per((l) => r.counter('requests_failed_total', 'Requests answered with an error status, per operation (ENOENTRY reads included).', l));
    this.#unauthorized = r.counter('requests_unauthorized_total', 'Requests refused with EUA because the connection had not passed TLS or authentication.');
  }

  /** One answered request; `startedAt` from performance.now(). */
  request(response: Response, startedAt: number, now = performance.now()): void {
    const op: OpLabel = response.op === 'ADD_ENTRY' || response.op === 'READ_ENTRY' ? response.op : 'OTHER';
    this.#latency[op].observe((now - startedAt) / 1000);
    (response.status === 'EOK' ? this.#ok : this.#failed)[op].inc();
  }

  /** Answered requests that started together (one socket read's adds): one clock read. */
  requests(responses: readonly Response[], startedAt: number): void {
    const now = performance.now();
    for (const response of responses) this.request(response, startedAt, now);
  }

  unauthorized(): void {
    this.#unauthorized.inc();
  }
}
