// One write cache: entries added since the last swap, bounded by bytes, handed to the entry log
// sorted by (ledgerId, entryId) so that a ledger's entries sit together on disk and read-ahead pays.
//
// Each entry is formatted into its entry log record (header, checksum) as it is copied in: the
// caller's buffer may alias a socket receive buffer, the copy has to happen anyway, and the flush
// then writes the records as they are. Records live in 1 MiB arena chunks, cheaper for the GC than
// a Buffer per entry, taken from and given back to a ChunkPool (chunk-pool.ts): a Buffer returned
// by get() stays valid until one more cache is cleared after this one.
import type { ChunkPool } from './chunk-pool.js';
import { RECORD_HEADER_SIZE, recordSize, writeRecord, type EntryLogRecord } from './entry-log.js';

export const CHUNK_SIZE = 1 << 20;
/** Records above this get their own allocation instead of wasting the rest of a chunk. */
const OWN_ALLOCATION = CHUNK_SIZE / 4;

/**
 * An entry id as a map key: a number when exact (every real entry id), so that the per-add map
 * operations hash a small integer instead of a bigint; the bigint itself above 2^53.
 */
type EntryKey = number | bigint;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const keyOf = (entryId: bigint): EntryKey => (entryId >= 0n && entryId <= MAX_SAFE ? Number(entryId) : entryId);
const compareKeys = (a: EntryKey, b: EntryKey): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Where a record sits, as a number rather than a Buffer view: `chunk index × CHUNK_SIZE + offset`
 * in this cache's chunks, or `-(i + 1)` for the i-th record with its own allocation. A view per
 * entry held until the flush was promoted to the old generation by every scavenge, so the GC
 * copied and then marked one object per cached entry; a small integer in a Map costs neither.
 */
type Locator = number;

interface LedgerEntries {
  readonly entries: Map<EntryKey, Locator>;
  max: bigint;
  /** Every new entry id arrived above the previous maximum: Map order is already sorted. */
  ordered: boolean;
}

export function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class WriteCache {
  readonly capacity: number;
  #bytes = 0;
  #entries = 0;
  #ledgers = new Map<bigint, LedgerEntries>();
  readonly #pool: ChunkPool;
  /** Taken from the pool, the last one being filled. */
  #chunks: Buffer[] = [];
  #chunk: Buffer | undefined;
  #chunkPos = 0;
  /** Records larger than OWN_ALLOCATION, each in its own buffer. */
  #large: Buffer[] = [];

  constructor(capacity: number, pool: ChunkPool) {
    this.capacity = capacity;
    this.#pool = pool;
  }

  get isEmpty(): boolean {
    return this.#ledgers.size === 0;
  }

  /** Bytes held (a replaced or deleted entry's count until the next clear). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries put since the last clear. */
  get entries(): number {
    return this.#entries;
  }

  /** An empty cache takes any entry, so an entry larger than the capacity cannot stall forever. */
  hasRoom(envelopeLength: number): boolean {
    return this.isEmpty || this.#bytes + recordSize(envelopeLength) <= this.capacity;
  }

  /** Copies `envelope` in; a second put of the same entry replaces the first. */
  put(ledgerId: bigint, entryId: bigint, envelope: Uint8Array): void {
    let ledger = this.#ledgers.get(ledgerId);
    if (!ledger) this.#ledgers.set(ledgerId, (ledger = { entries: new Map(), max: entryId, ordered: true }));
    else if (entryId > ledger.max) ledger.max = entryId;
    else if (!ledger.entries.has(keyOf(entryId))) ledger.ordered = false;
    const size = recordSize(envelope.length);
    let locator: Locator;
    if (size > OWN_ALLOCATION) {
      this.#large.push(writeRecord(Buffer.allocUnsafeSlow(size), 0, ledgerId, entryId, envelope));
      locator = -this.#large.length;
    } else {
      const chunk = this.#chunkWithRoom(size);
      const pos = this.#take(size);
      writeRecord(chunk, pos, ledgerId, entryId, envelope);
      locator = (this.#chunks.length - 1) * CHUNK_SIZE + pos;
    }
    ledger.entries.set(keyOf(entryId), locator);
    this.#bytes += size;
    this.#entries++;
  }

  /** The envelope. */
  get(ledgerId: bigint, entryId: bigint): Buffer | undefined {
    const locator = this.#ledgers.get(ledgerId)?.entries.get(keyOf(entryId));
    return locator === undefined ? undefined : this.#record(locator).subarray(RECORD_HEADER_SIZE);
  }

  lastEntryId(ledgerId: bigint): bigint | undefined {
    return this.#ledgers.get(ledgerId)?.max;
  }

  /** The ledger's entry ids here, in no particular order. */
  entryIds(ledgerId: bigint): bigint[] {
    return [...this.#ledgers.get(ledgerId)?.entries.keys() ?? []].map(BigInt);
  }

  deleteLedger(ledgerId: bigint): void {
    this.#ledgers.delete(ledgerId);
  }

  /** The records sorted by (ledgerId, entryId). */
  sorted(): EntryLogRecord[] {
    const records: EntryLogRecord[] = [];
    for (const ledgerId of [...this.#ledgers.keys()].sort(compareIds)) {
      const ledger = this.#ledgers.get(ledgerId);
      if (!ledger) continue;
      const keys = [...ledger.entries.keys()];
      if (!ledger.ordered) keys.sort(compareKeys);
      for (const key of keys) {
        const locator = ledger.entries.get(key);
        if (locator !== undefined) records.push({ ledgerId, entryId: BigInt(key), bytes: this.#record(locator) });
      }
    }
    return records;
  }

  /** Empties the cache and gives its chunks back to the pool. */
  clear(): void {
    this.#pool.release(this.#chunks);
    this.#chunks = [];
    this.#large = [];
    this.#ledgers = new Map();
    this.#bytes = 0;
    this.#entries = 0;
    this.#chunk = undefined;
    this.#chunkPos = 0;
  }

  /** The whole record (header and envelope); a record's first 4 bytes are its envelope's length. */
  #record(locator: Locator): Buffer {
    if (locator < 0) return this.#large[-locator - 1] as Buffer;
    const chunk = this.#chunks[Math.floor(locator / CHUNK_SIZE)] as Buffer;
    const pos = locator % CHUNK_SIZE;
    return chunk.subarray(pos, pos + RECORD_HEADER_SIZE + chunk.readUInt32BE(pos));
  }

  /** The current chunk, replaced by a fresh one when `size` bytes do not fit in it. */
  #chunkWithRoom(size: number): Buffer {
    if (!this.#chunk || this.#chunkPos + size > CHUNK_SIZE) {
      this.#chunk = this.#pool.take();
      this.#chunks.push(this.#chunk);
      this.#chunkPos = 0;
    }
    return this.#chunk;
  }

  /** Reserves `size` bytes of the current chunk (after #chunkWithRoom); returns their offset. */
  #take(size: number): number {
    const pos = this.#chunkPos;
    this.#chunkPos += size;
    return pos;
  }
}
