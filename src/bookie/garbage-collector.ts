// Garbage collection: delete local ledgers that the metadata no longer knows, then reclaim entry
// log space. A log whose live bytes (index accounting, per ledger) are zero is dropped from the
// index and deleted; a log whose live fraction is below the compaction threshold is compacted
// (compactor.ts has the safety argument).
//
// Default threshold 0.5: compacting a log copies at most as many bytes as it frees, so the write
// amplification of GC stays ≤ 1 per byte reclaimed, while dead data is capped at about the size of
// the live data. (BookKeeper's two-tier 0.2 hourly / 0.8 daily spends more I/O at 0.8 and leaves
// more garbage at 0.2; with one periodic pass, the middle is the balanced choice.)
//
// Choosing the logs happens inside the storage's exclusive section, when no flush is between its
// entry log write and its index commit, so every log not being written has its final accounting.
import type { Logger } from '../util/logger.js';
import { LOG_HEADER_SIZE } from './entry-log.js';
import type { EntryLogManager } from './entry-log-manager.js';
import { Compactor } from './compactor.js';
import type { LedgerIndex } from './ledger-index.js';
import { InvalidArgumentError } from '../errors.js';

/** Given the local ledger ids, resolves with those that still exist in the metadata. */
export type LivenessCheck = (ledgerIds: readonly bigint[]) => Promise<ReadonlySet<bigint>>;

export interface GcOptions {
  /** Logs with live bytes / record bytes below this are compacted; 0 disables compaction. Default 0.5. */
  readonly compactionThreshold?: number;
}

export interface GcReport {
  readonly deletedLedgers: number;
  /** Logs deleted because nothing in them was live. */
  readonly deletedLogs: number;
  readonly compactedLogs: number;
  readonly movedEntries: number;
  /** Entry log bytes freed minus the bytes compaction wrote. */
  readonly bytesReclaimed: number;
  /** Logs that could not be examined or compacted (see the logger); they are left as they were. */
  readonly failedLogs: readonly number[];
}

/** What the collector needs from LedgerStorage. */
export interface GcHost {
  readonly index: LedgerIndex;
  readonly logs: EntryLogManager;
  readonly logger: Logger;
  ledgerIds(): bigint[];
  /** Deletes the ledgers (index, caches); durable when it resolves. */
  deleteLedgers(ledgerIds: readonly bigint[]): Promise<void>;
  /** Runs `fn` while no flush or deletion runs. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

interface Candidate {
  readonly logId: number;
  readonly size: number;
  readonly liveFraction: number;
}

export class GarbageCollector {
  readonly #host: GcHost;

  constructor(host: GcHost) {
    this.#host = host;
  }

  async collect(isLive: LivenessCheck, options: GcOptions = {}): Promise<GcReport> {
    const threshold = options.compactionThreshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1)) throw new InvalidArgumentError(`compactionThreshold must be in [0, 1], got ${threshold}`);
    const { index, logs, logger } = this.#host;
    const local = this.#host.ledgerIds();
    const live = local.length > 0 ? await isLive(local) : new Set<bigint>();
    const dead = local.filter((id) => !live.has(id));
    if (dead.length > 0) await this.#host.deleteLedgers(dead);

    const failedLogs: number[] = [];
    const { empty, sparse } = await this.#host.exclusive(() => this.#plan(threshold, failedLogs));
    let freed = 0;
    for (const { logId, size } of empty) {
      await logs.retire(logId);
      freed += size;
    }

    let movedEntries = 0;
    let compactedLogs = 0;
    const compactor = new Compactor(index, logs);
    try {
      for (const { logId, size } of sparse) {
        try {
          movedEntries += (await compactor.compact(logId)).moved;
          compactedLogs++;
          freed += size;
        } catch (err) {
          failedLogs.push(logId);
          logger.warn({ err, logId }, 'entry log compaction failed; the log is kept');
        }
      }
    } finally {
      await compactor.close();
    }
    return { deletedLedgers: dead.length, deletedLogs: empty.length, compactedLogs, movedEntries, bytesReclaimed: freed - compactor.bytesWritten, failedLogs };
  }

  /** Sorts committed, sealed logs into empty (dropped from the index here) and sparse ones. */
  async #plan(threshold: number, failedLogs: number[]): Promise<{ empty: Candidate[]; sparse: Candidate[] }> {
    const { index, logs, logger } = this.#host;
    const empty: Candidate[] = [];
    const sparse: Candidate[] = [];
    for (const logId of index.committedLogIds()) {
      if (logs.isWriting(logId)) continue;
      let size: number;
      try {
        size = await logs.fileSize(logId);
      } catch (err) {
        failedLogs.push(logId);
        logger.warn({ err, logId }, 'indexed entry log is unreadable');
        continue;
      }
      const liveFraction = index.liveBytes(logId) / Math.max(1, size - LOG_HEADER_SIZE);
      if (index.liveBytes(logId) === 0) empty.push({ logId, size, liveFraction });
      else if (liveFraction < threshold) sparse.push({ logId, size, liveFraction });
    }
    if (empty.length > 0) await index.dropLogs(empty.map((c) => c.logId));
    // the sparsest first: the most space back per byte copied
    sparse.sort((a, b) => a.liveFraction - b.liveFraction);
    return { empty, sparse };
  }
}
