// One write cache: entries added since the last swap, bounded by bytes, handed to the entry log
// sorted by (ledgerId, entryId) so that a ledger's entries sit together on disk and read-ahead pays.
//
// Each entry is formatted into its entry log record (header, checksum) as it is copied in: the
// caller's buffer may alias a socket receive buffer, the copy has to happen anyway, and the flush
// then writes the records as they are. Records live in 1 MiB arena chunks, cheaper for the GC than
// a Buffer per entry. Chunks are never reused (a cleared cache just drops them), so a Buffer
// returned by get() stays valid after the cache is flushed.
import { RECORD_HEADER_SIZE, recordSize, writeRecord, type EntryLogRecord } from './entry-log.js';

const CHUNK_SIZE = 1 << 20;
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

interface LedgerEntries {
  /** Entry key → formatted record. */
  readonly entries: Map<EntryKey, Buffer>;
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
  #ledgers = new Map<bigint, LedgerEntries>();
  #chunk: Buffer | undefined;
  #chunkPos = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get isEmpty(): boolean {
    return this.#ledgers.size === 0;
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
    const record = size > OWN_ALLOCATION
      ? writeRecord(Buffer.allocUnsafeSlow(size), 0, ledgerId, entryId, envelope)
      : writeRecord(this.#chunkWithRoom(size), this.#take(size), ledgerId, entryId, envelope);
    ledger.entries.set(keyOf(entryId), record);
    this.#bytes += size;
  }

  /** The envelope. */
  get(ledgerId: bigint, entryId: bigint): Buffer | undefined {
    return this.#ledgers.get(ledgerId)?.entries.get(keyOf(entryId))?.subarray(RECORD_HEADER_SIZE);
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
        const bytes = ledger.entries.get(key);
        if (bytes) records.push({ ledgerId, entryId: BigInt(key), bytes });
      }
    }
    return records;
  }

  clear(): void {
    this.#ledgers = new Map();
    this.#bytes = 0;
    this.#chunk = undefined;
    this.#chunkPos = 0;
  }

  /** The current chunk, replaced by a fresh one when `size` bytes do not fit in it. */
  #chunkWithRoom(size: number): Buffer {
    if (!this.#chunk || this.#chunkPos + size > CHUNK_SIZE) {
      this.#chunk = Buffer.allocUnsafeSlow(CHUNK_SIZE);
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
