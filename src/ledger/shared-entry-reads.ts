// Reads shared by every reader of a ledger in one client (one namespace, one process): many readers
// tailing one log ask for the same entries and long-poll for the same LAC at about the same time.
// Here a read of an entry, or a long poll from a given LAC, already in flight is joined instead of
// sent again, and entries read recently are kept so that readers a little behind find them.
//
// Memory is bounded: cached entries count against `maxBytes`, the oldest going first when it is
// reached; an entry also goes once as many reads took it as the ledger had readers when it arrived
// (every reader passed it). A reader that finds its entry gone reads it from the bookies itself, so a
// slow reader never holds memory nor holds up fast ones; what it reads behind the front (the highest
// entry asked for so far) is not kept, as the readers ahead have passed it and would only see their
// entries evicted for it.
import { InvalidArgumentError } from '../errors.js';
import type { Entry } from '../protocol/bk-entry-envelope.js';

/** What a long poll resolves with (LedgerReader.readLastAddConfirmedAndEntry). */
export interface LongPollResult {
  readonly lastAddConfirmed: bigint;
  readonly entry?: Entry;
}

interface Cached {
  readonly entry: Entry;
  /** Bytes counted for it. */
  readonly size: number;
  /** Reads still expected before every reader of the ledger has passed it. */
  left: number;
}

interface EntryFlight {
  readonly promise: Promise<Entry>;
  /** Reads that joined it (the one that started it included). */
  takers: number;
}

interface PollFlight {
  readonly promise: Promise<LongPollResult>;
  /** When the poll's own wait ends (Date.now() time). */
  readonly endsAt: number;
  takers: number;
}

export const DEFAULT_SHARED_READ_CACHE_BYTES = 16 * 1024 * 1024;
/**
 * What a kept entry costs beyond its payload (the Entry, its key, the map slot, the records decoded
 * from it): counted so that a cache of tiny entries stays near its cap too.
 */
export const CACHED_ENTRY_OVERHEAD_BYTES = 512;

export class SharedEntryReads {
  readonly #maxBytes: number;
  /** `${ledgerId}:${entryId}` in arrival order (a Map keeps it): the oldest is evicted first. */
  readonly #cache = new Map<string, Cached>();
  #bytes = 0;
  readonly #entryFlights = new Map<string, EntryFlight>();
  /** `${ledgerId}:${previousLac}` */
  readonly #pollFlights = new Map<string, PollFlight>();
  /** Open readers per ledger id. */
  readonly #readers = new Map<bigint, number>();
  /** Highest entry id asked for per ledger. */
  readonly #fronts = new Map<bigint, bigint>();
  #entriesShared = 0;
  #entriesSent = 0;
  #pollsShared = 0;
  #pollsSent = 0;

  constructor(maxBytes = DEFAULT_SHARED_READ_CACHE_BYTES) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new InvalidArgumentError(`sharedReadCacheBytes must be a non-negative integer, got ${maxBytes}`);
    this.#maxBytes = maxBytes;
  }

  /** Bytes of entries cached now. */
  get bytes(): number { return this.#bytes; }
  /** Entry reads served without a bookie read of their own (cached or joined), and those sent. */
  get entriesShared(): number { return this.#entriesShared; }
  get entriesSent(): number { return this.#entriesSent; }
  /** Long polls (or rounds of one) that joined one in flight, and those sent. */
  get pollsShared(): number { return this.#pollsShared; }
  get pollsSent(): number { return this.#pollsSent; }

  /** A reader of `ledgerId` opens; call the returned function when it closes. */
  attach(ledgerId: bigint): () => void {
    this.#readers.set(ledgerId, (this.#readers.get(ledgerId) ?? 0) + 1);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const n = (this.#readers.get(ledgerId) ?? 1) - 1;
      if (n > 0) {
        this.#readers.set(ledgerId, n);
        return;
      }
      this.#readers.delete(ledgerId);
      this.#dropLedger(ledgerId);
    };
  }

  /** The entry from the cache, from a read in flight, or from `read` (which then others may join). */
  entry(ledgerId: bigint, entryId: bigint, read: () => Promise<Entry>): Promise<Entry> {
    const key = `${ledgerId}:${entryId}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#entriesShared++;
      if (--cached.left <= 0) this.#evict(key, cached);
      return Promise.resolve(cached.entry);
    }
    const flying = this.#entryFlights.get(key);
    if (flying !== undefined) {
      this.#entriesShared++;
      flying.takers++;
      return flying.promise;
    }
    this.#entriesSent++;
    const ahead = this.#advance(ledgerId, entryId);
    const flight: EntryFlight = { promise: read(), takers: 1 };
    this.#entryFlights.set(key, flight);
    flight.promise.then((entry) => {
      this.#entryFlights.delete(key);
      if (ahead) this.#keep(ledgerId, key, entry, flight.takers);
    }, () => { this.#entryFlights.delete(key); });
    return flight.promise;
  }

  /**
   * A long poll for a LAC above `previous`, waiting at most `timeoutMs`: joins the poll in flight
   * from the same LAC, or starts one with `poll`. A poll that ran its full wait without progress
   * while this caller has time left is followed by another; one that gave up early (bookies
   * failing) is returned as is. An entry it piggybacks is cached for the readers not waiting on it.
   */
  async longPoll(ledgerId: bigint, previous: bigint, timeoutMs: number, poll: (timeoutMs: number) => Promise<LongPollResult>): Promise<LongPollResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const flight = this.#joinPoll(ledgerId, previous, deadline, poll);
      const result = flight.endsAt <= deadline ? await flight.promise : await withDeadline(flight.promise, deadline, previous);
      const now = Date.now();
      if (result.lastAddConfirmed > previous || now < flight.endsAt || now >= deadline) return result;
    }
  }

  #joinPoll(ledgerId: bigint, previous: bigint, deadline: number, poll: (timeoutMs: number) => Promise<LongPollResult>): PollFlight {
    const key = `${ledgerId}:${previous}`;
    const flying = this.#pollFlights.get(key);
    if (flying !== undefined) {
      this.#pollsShared++;
      flying.takers++;
      return flying;
    }
    this.#pollsSent++;
    const flight: PollFlight = { promise: poll(Math.max(0, deadline - Date.now())), endsAt: deadline, takers: 1 };
    this.#pollFlights.set(key, flight);
    flight.promise.then((result) => {
      this.#pollFlights.delete(key);
      const { entry } = result;
      if (entry !== undefined && this.#advance(ledgerId, entry.entryId)) this.#keep(ledgerId, `${ledgerId}:${entry.entryId}`, entry, flight.takers);
    }, () => { this.#pollFlights.delete(key); });
    return flight;
  }

  /** Moves the ledger's front to `entryId`; false if it was there or past it already. */
  #advance(ledgerId: bigint, entryId: bigint): boolean {
    const front = this.#fronts.get(ledgerId);
    if (front !== undefined && entryId <= front) return false;
    if (this.#readers.has(ledgerId)) this.#fronts.set(ledgerId, entryId);
    return true;
  }

  /** Caches an entry `taken` reads got already, for the rest of the ledger's readers. */
  #keep(ledgerId: bigint, key: string, entry: Entry, taken: number): void {
    const left = (this.#readers.get(ledgerId) ?? 0) - taken;
    const size = entry.payload.length + CACHED_ENTRY_OVERHEAD_BYTES;
    if (left <= 0 || size > this.#maxBytes || this.#cache.has(key)) return;
    // a payload is a view of the response it came in, which may be a much larger socket read: a
    // cached one is copied out so that the bytes counted are the bytes held
    const payload = entry.payload.buffer.byteLength > 2 * entry.payload.length ? Buffer.from(entry.payload) : entry.payload;
    this.#cache.set(key, { entry: payload === entry.payload ? entry : { ...entry, payload }, size, left });
    this.#bytes += size;
    for (const [oldKey, old] of this.#cache) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#evict(oldKey, old);
    }
  }

  #evict(key: string, cached: Cached): void {
    if (this.#cache.delete(key)) this.#bytes -= cached.size;
  }

  #dropLedger(ledgerId: bigint): void {
    this.#fronts.delete(ledgerId);
    const prefix = `${ledgerId}:`;
    for (const [key, cached] of this.#cache) if (key.startsWith(prefix)) this.#evict(key, cached);
  }
}

/** `promise`, or no progress from `previous` if `deadline` comes first. */
function withDeadline(promise: Promise<LongPollResult>, deadline: number, previous: bigint): Promise<LongPollResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { resolve({ lastAddConfirmed: previous }); }, Math.max(0, deadline - Date.now()));
    promise.then((r) => { clearTimeout(timer); resolve(r); }, (err: unknown) => { clearTimeout(timer); reject(err instanceof Error ? err : new Error(String(err))); });
  });
}
