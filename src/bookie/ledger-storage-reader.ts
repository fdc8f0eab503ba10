// Reads of entries that are not in a write cache: the read cache, then index + entry log.
//
// A reader that asks for entry e right after e-1 of the same ledger is sequential: its disk read
// takes readAheadBytes instead of one record, and the complete records of that ledger that follow
// go into the read cache (a flush wrote each ledger's entries back to back). Reads of entries that
// a read-ahead in flight is expected to cover wait for it rather than read the same bytes again,
// which matters for a reader with many sequential reads outstanding.
import { LRUCache } from 'lru-cache';
import { RECORD_HEADER_SIZE, locationLogId, locationOffset, type Location } from './entry-log.js';
import type { EntryLogManager } from './entry-log-manager.js';
import type { LedgerIndex } from './ledger-index.js';
import { StorageError } from './storage-error.js';

/** A single read asks for the ledger's last record size plus this, so that a record of a similar
 *  size takes one read, and a buffer below 4 KiB comes from Node's pool. */
const READ_SLACK = 512;
/** Bound on the per-ledger reader state. */
const MAX_TRACKED_LEDGERS = 10_000;
/** Most bytes one prefetch of a batch of reads reads from an entry log. */
const MAX_PREFETCH_BYTES = 1 << 20;
/** Record size assumed for a ledger before one has been read. */
const ASSUMED_RECORD_SIZE = 1024 + RECORD_HEADER_SIZE;

interface EntryLogPrefetch {
  readonly from: bigint;
  /** Exclusive, estimated from the ledger's record size. */
  readonly to: bigint;
  readonly done: Promise<unknown>;
}

interface LedgerReads {
  last: bigint;
  recordSize: number;
  ahead: EntryLogPrefetch | undefined;
}

export interface EntryReaderOptions {
  readonly readCacheBytes: number;
  readonly readAheadBytes: number;
}

function cacheKey(ledgerId: bigint, entryId: bigint): string {
  return `${ledgerId}:${entryId}`;
}

/** A copy with its own allocation: a cached subarray of a read buffer would pin the whole buffer. */
function ownCopy(data: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  copy.set(data);
  return copy;
}

export class EntryReader {
  readonly #index: LedgerIndex;
  readonly #logs: EntryLogManager;
  readonly #cache: LRUCache<string, Buffer> | undefined;
  readonly #readAheadBytes: number;
  #ledgers = new Map<bigint, LedgerReads>();

  constructor(index: LedgerIndex, logs: EntryLogManager, options: EntryReaderOptions) {
    this.#index = index;
    this.#logs = logs;
    this.#cache = options.readCacheBytes > 0 ? new LRUCache({ maxSize: options.readCacheBytes, sizeCalculation: (v) => Math.max(1, v.length) }) : undefined;
    this.#readAheadBytes = this.#cache ? options.readAheadBytes : 0;
  }

  async read(ledgerId: bigint, entryId: bigint): Promise<Buffer> {
    const reads = this.#track(ledgerId, entryId);
    const sequential = reads.last === entryId - 1n;
    reads.last = entryId;
    const ahead = reads.ahead;
    if (ahead && entryId > ahead.from && entryId < ahead.to) await ahead.done;
    const cached = this.#cache?.get(cacheKey(ledgerId, entryId));
    if (cached) return cached;
    // No await between the lookup and readRecords: it leases the log before GC can retire it.
    const location = this.#index.getLocation(ledgerId, entryId);
    if (location === undefined) throw new StorageError('NO_ENTRY', `entry ${ledgerId}:${entryId} does not exist`);
    const single = reads.recordSize + READ_SLACK;
    if (!sequential || this.#readAheadBytes <= single) return this.#readAndCache(location, ledgerId, entryId, single, reads);
    const read = this.#readAndCache(location, ledgerId, entryId, this.#readAheadBytes, reads);
    const mine: EntryLogPrefetch = { from: entryId, to: entryId + BigInt(Math.floor(this.#readAheadBytes / reads.recordSize)), done: read.catch(() => undefined) };
    reads.ahead = mine;
    try {
      return await read;
    } finally {
      if (reads.ahead === mine) reads.ahead = undefined;
    }
  }

  /** The entry when the read cache holds it, without an await; a hit counts as a read of the ledger. */
  cached(ledgerId: bigint, entryId: bigint): Buffer | undefined {
    const entry = this.#cache?.get(cacheKey(ledgerId, entryId));
    if (entry) this.#track(ledgerId, entryId).last = entryId;
    return entry;
  }

  /**
   * Brings entries of a ledger that a batch of reads asks for (ascending, not in memory) into the
   * read cache ahead of those reads: the ones stored back to back in one entry log after the first
   * (a flush writes a ledger's entries in order) come from one file read, found with two index
   * lookups or one cursor walk (see #reach), not one lookup per entry. The reads wait for it as for a read-ahead (see read()). Returns when it is done (it never
   * rejects: a failed prefetch leaves the reads to fail on their own), or undefined if nothing was read.
   */
  prefetch(ledgerId: bigint, entryIds: readonly bigint[]): Promise<unknown> | undefined {
    const first = entryIds[0];
    const last = entryIds.at(-1);
    if (!this.#cache || first === undefined || last === undefined || last === first) return undefined;
    const reads = this.#track(ledgerId, first);
    if (reads.ahead) return undefined; // one read-ahead per ledger at a time
    const start = this.#index.getLocation(ledgerId, first);
    if (start === undefined) return undefined;
    const reach = this.#reach(ledgerId, entryIds, start, reads.recordSize);
    if (reach === undefined) return undefined;
    const span = locationOffset(reach.location) - locationOffset(start) + reads.recordSize + READ_SLACK;
    // no await between the lookup and readRecords (the log lease, as in read())
    const read = this.#readAndCache(start, ledgerId, first, span, reads);
    const mine: EntryLogPrefetch = { from: first - 1n, to: reach.entryId + 1n, done: read.catch(() => undefined) };
    reads.ahead = mine;
    return mine.done.then(() => { if (reads.ahead === mine) reads.ahead = undefined; });
  }

  /**
   * The last of `entryIds` (after the first, at `start`) that one read from `start` reaches: same
   * entry log, after it, within MAX_PREFETCH_BYTES. The last id is looked up alone first (the common
   * case: a flush wrote the ledger's entries back to back); else the range's locations come from one
   * index cursor walk.
   */
  #reach(ledgerId: bigint, entryIds: readonly bigint[], start: Location, recordSize: number): { entryId: bigint; location: Location } | undefined {
    const reachable = (location: Location): boolean => {
      const at = locationOffset(location) - locationOffset(start);
      return locationLogId(location) === locationLogId(start) && at > 0 && at + recordSize + READ_SLACK <= MAX_PREFETCH_BYTES;
    };
    const last = entryIds.at(-1) as bigint;
    const lastAt = this.#index.getLocation(ledgerId, last);
    if (lastAt !== undefined && reachable(lastAt)) return { entryId: last, location: lastAt };
    let reach: { entryId: bigint; location: Location } | undefined;
    let next = 1;
    for (const found of this.#index.locations(ledgerId, entryIds[1] as bigint, last)) {
      if (found.entryId !== entryIds[next]) continue;
      if (!reachable(found.location)) break;
      reach = found;
      next++;
    }
    return reach;
  }

  /** Drops deleted ledgers' cached entries. */
  forget(ledgerIds: readonly bigint[]): void {
    for (const id of ledgerIds) this.#ledgers.delete(id);
    if (!this.#cache) return;
    const doomed = new Set(ledgerIds.map(String));
    for (const key of [...this.#cache.keys()]) {
      if (doomed.has(key.slice(0, key.indexOf(':')))) this.#cache.delete(key);
    }
  }

  #track(ledgerId: bigint, entryId: bigint): LedgerReads {
    let reads = this.#ledgers.get(ledgerId);
    if (!reads) {
      if (this.#ledgers.size >= MAX_TRACKED_LEDGERS) this.#ledgers = new Map();
      reads = { last: entryId, recordSize: ASSUMED_RECORD_SIZE, ahead: undefined };
      this.#ledgers.set(ledgerId, reads);
    }
    return reads;
  }

  async #readAndCache(location: number, ledgerId: bigint, entryId: bigint, readBytes: number, reads: LedgerReads): Promise<Buffer> {
    const { first, following } = await this.#logs.readRecords(location, readBytes);
    if (first.ledgerId !== ledgerId || first.entryId !== entryId) {
      throw new StorageError('CORRUPT_ENTRY', `the index points entry ${ledgerId}:${entryId} at a record of ${first.ledgerId}:${first.entryId}`);
    }
    reads.recordSize = first.bytes.length;
    if (!this.#cache) return first.data;
    const entry = ownCopy(first.data);
    this.#cache.set(cacheKey(ledgerId, entryId), entry);
    // the ledger's records that follow in the log (ascending; a striped ledger skips ids on this bookie)
    let next = entryId + 1n;
    for (const r of following) {
      if (r.ledgerId !== ledgerId || r.entryId < next) break;
      this.#cache.set(cacheKey(ledgerId, r.entryId), ownCopy(r.data));
      next = r.entryId + 1n;
    }
    return entry;
  }
}
