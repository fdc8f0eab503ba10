// The log client's metrics and diagnostics_channel events: write latency (asyncWrite to its DLSN),
// records and bytes written and read, pending bytes of open writers, read-ahead fill of open
// readers, segment rolls and ownership-lock events. Recording is a counter increment or a bucket
// scan; pending bytes and read-ahead fill are read from the open writers and readers only when scraped.
import diagnosticsChannel from 'node:diagnostics_channel';
import { MetricsRegistry, type Counter, type Histogram } from '../util/metrics.js';

/** Published with { logName, segment (LSSN), records } when a writer completes a segment. */
export const SEGMENT_ROLL_CHANNEL = 'distributedlog:segment-roll';
/** Published with { logName, error } when a writer loses its ownership lock. */
export const LOCK_LOST_CHANNEL = 'distributedlog:lock-lost';

const roll = diagnosticsChannel.channel(SEGMENT_ROLL_CHANNEL);
const lockLost = diagnosticsChannel.channel(LOCK_LOST_CHANNEL);

export interface ReadAheadFill {
  readonly bufferedBytes: number;
  readonly bufferedEntries: number;
}

export class LogMetrics {
  readonly writeLatency: Histogram;
  readonly recordsWritten: Counter;
  readonly bytesWritten: Counter;
  readonly recordsRead: Counter;
  readonly bytesRead: Counter;
  readonly #rolls: Counter;
  readonly #locksAcquired: Counter;
  readonly #locksLost: Counter;
  /** Open writers' pending bytes, read at scrape time. */
  readonly #pending = new Set<() => number>();
  /** Open readers' read-ahead buffers, read at scrape time. */
  readonly #readAhead = new Set<() => ReadAheadFill>();

  constructor(registry: MetricsRegistry = new MetricsRegistry('dlog_client_')) {
    this.writeLatency = registry.histogram('write_latency_seconds', 'asyncWrite to its acknowledgement (quorum of bookies on disk).');
    this.recordsWritten = registry.counter('records_written_total', 'Records acknowledged to writers.');
    this.bytesWritten = registry.counter('bytes_written_total', 'Payload bytes of the records acknowledged to writers.');
    this.recordsRead = registry.counter('records_read_total', 'Records handed to readers.');
    this.bytesRead = registry.counter('bytes_read_total', 'Payload bytes of the records handed to readers.');
    this.#rolls = registry.counter('segment_rolls_total', 'Log segments completed by writers (rolls, end of stream, close).');
    this.#locksAcquired = registry.counter('lock_acquired_total', 'Ownership locks taken by writers.');
    this.#locksLost = registry.counter('lock_lost_total', 'Ownership locks lost (session expiry and no re-acquire): the writer failed.');
    registry.gauge('pending_bytes', 'Bytes written and not yet acknowledged, over the open writers.', () => {
      let sum = 0;
      for (const read of this.#pending) sum += read();
      return sum;
    });
    registry.gauge('read_ahead_bytes', 'Bytes of records read ahead and not yet handed out, over the open readers.', () => this.#readAheadSum('bufferedBytes'));
    registry.gauge('read_ahead_entries', 'Entries read ahead and not yet handed out, over the open readers.', () => this.#readAheadSum('bufferedEntries'));
  }

  /** Counts an open reader's read-ahead buffer until the returned function is called. */
  trackReadAhead(read: () => ReadAheadFill): () => void {
    this.#readAhead.add(read);
    return () => { this.#readAhead.delete(read); };
  }

  #readAheadSum(key: keyof ReadAheadFill): number {
    let sum = 0;
    for (const read of this.#readAhead) sum += read()[key];
    return sum;
  }

  /** Counts an open writer's pending bytes until the returned function is called. */
  trackPending(read: () => number): () => void {
    this.#pending.add(read);
    return () => { this.#pending.delete(read); };
  }

  rolled(event: { logName: string; segment: bigint; records: number }): void {
    this.#rolls.inc();
    if (roll.hasSubscribers) roll.publish(event);
  }

  lockAcquired(): void {
    this.#locksAcquired.inc();
  }

  lockLost(event: { logName: string; error: Error }): void {
    this.#locksLost.inc();
    if (lockLost.hasSubscribers) lockLost.publish(event);
  }
}
