// The ledger client's metrics and diagnostics_channel events (as undici publishes its own):
// ensemble changes, entry read latency, speculative reads and ledger recoveries (which fence the
// previous writer).
import diagnosticsChannel from 'node:diagnostics_channel';
import { MetricsRegistry, type Counter, type Histogram } from '../util/metrics.js';
import type { SharedEntryReads } from './shared-entry-reads.js';

/** Published with { ledgerId, firstEntryId, from, to } when a writer replaces bookies. */
export const ENSEMBLE_CHANGE_CHANNEL = 'distributedlog:ensemble-change';
/** Published with { ledgerId, lastEntryId } when recovery fenced and closed a ledger. */
export const FENCED_CHANNEL = 'distributedlog:ledger-fenced';

const ensembleChange = diagnosticsChannel.channel(ENSEMBLE_CHANGE_CHANNEL);
const fenced = diagnosticsChannel.channel(FENCED_CHANNEL);

export class LedgerMetrics {
  readonly #ensembleChanges: Counter;
  readonly #speculativeReads: Counter;
  readonly #recoveries: Counter;
  readonly #entryReadLatency: Histogram;

  /** Registers into `registry` (the namespace's), or a private one nobody scrapes; `shared`: the client's shared reads. */
  constructor(registry: MetricsRegistry = new MetricsRegistry('dlog_client_'), shared?: SharedEntryReads) {
    this.#ensembleChanges = registry.counter('ensemble_changes_total', 'Ensemble changes: bookies replaced in a ledger being written (bookie failures, timeouts).');
    this.#speculativeReads = registry.counter('speculative_reads_total', 'Reads sent to another replica because the first had not answered within speculativeReadTimeoutMs.');
    this.#recoveries = registry.counter('ledger_recoveries_total', 'Ledgers fenced and recovered (a new writer taking over a log).');
    this.#entryReadLatency = registry.histogram('entry_read_latency_seconds', 'One entry read from the bookies: first request to a verified answer, speculative reads included (long polls at the tail are not counted).');
    if (shared === undefined) return;
    registry.gauge('entry_reads_sent_total', 'Entry reads sent to the bookies by readers.', () => shared.entriesSent, 'counter');
    registry.gauge('entry_reads_shared_total', 'Entry reads served by another reader\'s read (in flight or cached): no bookie request of their own.', () => shared.entriesShared, 'counter');
    registry.gauge('long_polls_sent_total', 'LAC long polls sent to the bookies by readers.', () => shared.pollsSent, 'counter');
    registry.gauge('long_polls_shared_total', 'LAC long polls that joined another reader\'s poll in flight.', () => shared.pollsShared, 'counter');
    registry.gauge('shared_read_cache_bytes', 'Bytes of entries kept for the other readers of their ledger (bounded by sharedReadCacheBytes).', () => shared.bytes);
  }

  /** An entry read answered, `ms` after its first request. */
  entryRead(ms: number): void {
    this.#entryReadLatency.observe(ms / 1000);
  }

  ensembleChanged(event: { ledgerId: bigint; firstEntryId: bigint; from: readonly string[]; to: readonly string[] }): void {
    this.#ensembleChanges.inc();
    if (ensembleChange.hasSubscribers) ensembleChange.publish(event);
  }

  speculativeRead(): void {
    this.#speculativeReads.inc();
  }

  recovered(event: { ledgerId: bigint; lastEntryId: bigint }): void {
    this.#recoveries.inc();
    if (fenced.hasSubscribers) fenced.publish(event);
  }
}
