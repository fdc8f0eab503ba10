// Compaction: copy a sparse entry log's live records to a new log, repoint the index, delete the
// old file.
//
// Why this never loses or misserves an entry:
// - A record is live iff the index points at exactly its location; anything else (a deleted
//   ledger, an entry rewritten since) is skipped.
// - Copies are fsynced before the index commit that points at them, and a commit repoints an
//   entry only if the index still names the old copy, atomically (in one LMDB write transaction),
//   so a deletion or a rewrite racing the copy wins. Commits go in batches of TXN_BATCH; the last
//   one also drops the source from the index. Until then both copies are valid, and a crash
//   leaves the source indexed, to be compacted again.
// - The source is deleted only after that commit is durable, through EntryLogManager.retire(),
//   which waits for reads that looked the old location up before the commit (their lease).
// - If the scan stops before the end of the file (damaged or torn bytes), the source is kept
//   unless the index points at nothing past the last readable record.
// The copies go to a log of the compactor's own rather than the flush's current log, so copying a
// large log never holds up checkpoints; the survivors end up in a fresh log all the same.
import { EntryLogScanner, toLocation } from './entry-log.js';
import type { EntryLogManager, LogAppender } from './entry-log-manager.js';
import { TXN_BATCH, type LedgerIndex, type Relocation } from './ledger-index.js';
import { StorageError } from './storage-error.js';

export interface CompactionResult {
  /** Entries whose location now points at the copy. */
  readonly moved: number;
}

export class Compactor {
  readonly #index: LedgerIndex;
  readonly #logs: EntryLogManager;
  readonly #appender: LogAppender;

  constructor(index: LedgerIndex, logs: EntryLogManager) {
    this.#index = index;
    this.#logs = logs;
    this.#appender = logs.appender();
  }

  /** Bytes added to the output logs so far (copies that lost a race included). */
  get bytesWritten(): number {
    return this.#appender.bytesWritten;
  }

  /** Compacts one sealed, committed log; on success the source file is gone. */
  async compact(logId: number): Promise<CompactionResult> {
    let moves: Relocation[] = [];
    let moved = 0;
    const { handle, release } = await this.#logs.openForScan(logId);
    try {
      const scanner = new EntryLogScanner(handle);
      for await (const batch of scanner.batches()) {
        const live = batch.filter((r) => this.#index.getLocation(r.ledgerId, r.entryId) === toLocation(logId, r.offset));
        if (live.length === 0) continue;
        const locations = await this.#appender.append(live);
        live.forEach((r, i) => moves.push({ ledgerId: r.ledgerId, entryId: r.entryId, from: toLocation(logId, r.offset), to: locations[i] ?? 0, size: r.bytes.length }));
        if (moves.length >= TXN_BATCH) {
          await this.#appender.sync();
          moved += await this.#index.relocate(moves);
          moves = [];
        }
      }
      if (!scanner.clean && this.#index.refersBeyond(logId, scanner.validEnd)) {
        throw new StorageError('CORRUPT_ENTRY', `entry log ${logId.toString(16)} is unreadable after offset ${scanner.validEnd} but still indexed there; kept`);
      }
      await this.#appender.sync();
    } finally {
      release();
    }
    moved += await this.#index.relocate(moves, logId);
    await this.#logs.retire(logId);
    return { moved };
  }

  async close(): Promise<void> {
    await this.#appender.close();
  }
}
