// The bookie's ledger storage over several ledger directories: one LedgerStorage (entry logs,
// index, caches, GC) per directory, a ledger living in dir `ledgerId mod count`, as BookKeeper's
// DbLedgerStorage spreads them. Each directory flushes, compacts and collects on its own, so a busy
// disk holds up only the ledgers placed on it. dir-layout.ts keeps the list stable across starts.
//
// The caches are bounded in total: each directory gets its share of writeCacheBytes and
// readCacheBytes. The checkpoint mark goes to every directory, and only after all of them are
// flushed (BookKeeper #3329: a mark written before another dir's flush lost that dir's entries).
import { compareJournalPositions, JOURNAL_START, type JournalPosition } from './journal.js';
import { readCheckpointMark, writeCheckpointMark } from './checkpoint-mark.js';
import type { GcOptions, GcReport, LivenessCheck } from './garbage-collector.js';
import { DEFAULT_READ_CACHE_BYTES, DEFAULT_WRITE_CACHE_BYTES, LedgerStorage, type LedgerStorageOptions } from './ledger-storage.js';
import { compareIds } from './write-cache.js';

export type LedgerDirsStorageOptions = Omit<LedgerStorageOptions, 'dir'>;


export class LedgerDirsStorage {
  readonly dirs: readonly string[];
  readonly #parts: readonly LedgerStorage[];
  readonly #count: bigint;

  private constructor(dirs: readonly string[], parts: readonly LedgerStorage[]) {
    this.dirs = dirs;
    this.#parts = parts;
    this.#count = BigInt(parts.length);
  }

  /** Opens one LedgerStorage per directory, in order; the list must be non-empty. */
  static async open(dirs: readonly string[], options: LedgerDirsStorageOptions = {}): Promise<LedgerDirsStorage> {
    const n = dirs.length;
    const writeCacheBytes = Math.floor((options.writeCacheBytes ?? DEFAULT_WRITE_CACHE_BYTES) / n);
    const readCacheBytes = Math.floor((options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES) / n);
    const parts: LedgerStorage[] = [];
    try {
      for (const dir of dirs) {
        parts.push(await LedgerStorage.open({ ...options, dir, writeCacheBytes, readCacheBytes }));
      }
    } catch (err) {
      await Promise.all(parts.map((p) => p.close().catch(() => undefined)));
      throw err;
    }
    return new LedgerDirsStorage(dirs, parts);
  }

  /** One storage per directory, in `dirs` order (for per-directory metrics). */
  get storages(): readonly LedgerStorage[] {
    return this.#parts;
  }

  /** The storage of the ledger's directory. */
  of(ledgerId: bigint): LedgerStorage {
    const parts = this.#parts;
    // ids are checked non-negative by LedgerStorage; a negative one still lands in some dir
    const i = parts.length === 1 ? 0 : Number(((ledgerId % this.#count) + this.#count) % this.#count);
    return parts[i] as LedgerStorage;
  }

  ledgerExists(ledgerId: bigint): boolean {
    return this.of(ledgerId).ledgerExists(ledgerId);
  }

  setMasterKey(ledgerId: bigint, masterKey: Uint8Array): boolean {
    return this.of(ledgerId).setMasterKey(ledgerId, masterKey);
  }

  getMasterKey(ledgerId: bigint): Buffer {
    return this.of(ledgerId).getMasterKey(ledgerId);
  }

  setFenced(ledgerId: bigint): Promise<boolean> {
    return this.of(ledgerId).setFenced(ledgerId);
  }

  isFenced(ledgerId: bigint): boolean {
    return this.of(ledgerId).isFenced(ledgerId);
  }

  setExplicitLac(ledgerId: bigint, lacEnvelope: Uint8Array): void {
    this.of(ledgerId).setExplicitLac(ledgerId, lacEnvelope);
  }

  getExplicitLac(ledgerId: bigint): Buffer | undefined {
    return this.of(ledgerId).getExplicitLac(ledgerId);
  }

  addEntry(ledgerId: bigint, entryId: bigint, envelope: Uint8Array): Promise<void> {
    return this.of(ledgerId).addEntry(ledgerId, entryId, envelope);
  }

  addEntryNow(ledgerId: bigint, entryId: bigint, envelope: Uint8Array): boolean {
    return this.of(ledgerId).addEntryNow(ledgerId, entryId, envelope);
  }

  getEntry(ledgerId: bigint, entryId: bigint): Promise<Buffer> {
    return this.of(ledgerId).getEntry(ledgerId, entryId);
  }

  getEntryNow(ledgerId: bigint, entryId: bigint): Buffer | undefined {
    return this.of(ledgerId).getEntryNow(ledgerId, entryId);
  }

  prefetch(ledgerId: bigint, entryIds: readonly bigint[]): Promise<unknown> | undefined {
    return this.of(ledgerId).prefetch(ledgerId, entryIds);
  }

  lastEntryId(ledgerId: bigint): bigint | undefined {
    return this.of(ledgerId).lastEntryId(ledgerId);
  }

  entryIds(ledgerId: bigint): AsyncGenerator<bigint> {
    return this.of(ledgerId).entryIds(ledgerId);
  }

  /** Flushes every directory (in parallel: they are meant to be separate disks). */
  async flush(): Promise<void> {
    await Promise.all(this.#parts.map((p) => p.flush()));
  }

  /** The newest mark found: a crash while writing marks leaves older ones in some dirs. */
  async readCheckpointMark(): Promise<JournalPosition> {
    const marks = await Promise.all(this.dirs.map(readCheckpointMark));
    return marks.reduce((a, b) => (compareJournalPositions(a, b) >= 0 ? a : b), JOURNAL_START);
  }

  /** Call only after a flush() that started after `position` was taken. */
  async writeCheckpointMark(position: JournalPosition): Promise<void> {
    await Promise.all(this.dirs.map((d) => writeCheckpointMark(d, position)));
  }

  deleteLedger(ledgerId: bigint): Promise<void> {
    return this.of(ledgerId).deleteLedger(ledgerId);
  }

  async listLedgers(): Promise<bigint[]> {
    return (await Promise.all(this.#parts.map((p) => p.listLedgers()))).flat().sort(compareIds);
  }

  /** Collects every directory; the report is the sum. */
  async collectGarbage(isLive: LivenessCheck, options: GcOptions = {}): Promise<GcReport> {
    const reports = await Promise.all(this.#parts.map((p) => p.collectGarbage(isLive, options)));
    return reports.reduce((a, b) => ({
      deletedLedgers: a.deletedLedgers + b.deletedLedgers,
      deletedLogs: a.deletedLogs + b.deletedLogs,
      compactedLogs: a.compactedLogs + b.compactedLogs,
      movedEntries: a.movedEntries + b.movedEntries,
      bytesReclaimed: a.bytesReclaimed + b.bytesReclaimed,
      failedLogs: [...a.failedLogs, ...b.failedLogs],
    }));
  }

  /** Closes every directory (see LedgerStorage.close for `flush`). */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    const results = await Promise.allSettled(this.#parts.map((p) => p.close(options)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
