// In-memory bookies behind the ledger client's BookieConnections seam: no sockets, no journal, no
// processes. Each fake answers the v3 requests the client sends (adds, reads, fencing, LAC reads
// and writes, the long poll) with the statuses a real bookie gives (request-processor.ts), and a
// test scripts each bookie's delivery: delays, failures, held responses released in any order,
// dropped responses (the request then times out like BookieClient's). The behaviour suite
// (test/conformance/bookie-transport.suite.ts) holds the fake and the real bookies to one contract.
import { setMaxListeners } from 'node:events';
import type { OutgoingRequest } from '../../src/ledger/bookie-client.js';
import { DLogError } from '../../src/errors.js';
import { BookieClientError } from '../../src/ledger/bookie-client-error.js';
import { BookieHealth } from '../../src/ledger/bookie-health.js';
import type { BookieConnections, BookieTransport } from '../../src/ledger/bookie-transport.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { joinPath } from '../../src/metadata/path.js';
import { ENTRY_HEADER_SIZE, readEntryHeader } from '../../src/protocol/bk-entry-envelope.js';
import type { ReadEntryRequest, ReadEntryResponse, Response, StatusCode } from '../../src/protocol/protocol-types.js';

interface FakeLedger {
  readonly entries: Map<bigint, Buffer>;
  masterKey: Buffer | undefined;
  fenced: boolean;
  lac: bigint;
  explicitLac: Buffer | undefined;
  readonly lacWaiters: Set<() => void>;
}

/** One request seen by a fake bookie (in arrival order), for assertions. */
export interface SeenRequest {
  readonly op: OutgoingRequest['op'];
  readonly ledgerId?: bigint;
  readonly entryId?: bigint;
  /** The envelope's size, for adds. */
  readonly bytes?: number;
}

/** How a bookie answers, changeable at any time; applies to requests arriving afterwards. */
export interface BookieScript {
  /** Every response arrives this much later (its effect on the bookie's state is immediate). */
  delayMs?: number;
  /** Requests are refused with this status instead of being applied (EREADONLY, EIO, ...). */
  refuseWith?: StatusCode;
  /** Which operations `refuseWith` / `drop` / `hold` apply to. Default all. */
  ops?: ReadonlyArray<OutgoingRequest['op']>;
  /** The bookie is unreachable: sends reject at once with BOOKIE_UNAVAILABLE. */
  down?: boolean;
  /** Responses are applied but never delivered: the request times out (BOOKIE_TIMEOUT). */
  drop?: boolean;
  /** Responses are applied and kept until release() (to deliver late or out of order). */
  hold?: boolean;
}

/** The client's per-request default, as BookieClient's. */
const DEFAULT_TIMEOUT_MS = 5000;

export class FakeBookie {
  readonly id: string;
  script: BookieScript = {};
  readonly seen: SeenRequest[] = [];
  readonly #ledgers = new Map<bigint, FakeLedger>();
  readonly #held: Array<{ readonly entryId: bigint | undefined; readonly deliver: () => void }> = [];
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(id: string) {
    this.id = id;
  }

  /** Responses kept by `hold`, waiting for release(). */
  get heldCount(): number {
    return this.#held.length;
  }

  /**
   * Delivers held responses: those to requests for `entryIds`, in that order (the others stay
   * held), or all of them in arrival order.
   */
  release(entryIds?: readonly bigint[]): void {
    if (entryIds === undefined) {
      for (const h of this.#held.splice(0)) h.deliver();
      return;
    }
    for (const id of entryIds) {
      const i = this.#held.findIndex((h) => h.entryId === id);
      if (i >= 0) this.#held.splice(i, 1)[0]?.deliver();
    }
  }

  /** The entry ids this bookie stores for a ledger. */
  entryIds(ledgerId: bigint): bigint[] {
    return [...(this.#ledgers.get(ledgerId)?.entries.keys() ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  isFenced(ledgerId: bigint): boolean {
    return this.#ledgers.get(ledgerId)?.fenced === true;
  }

  /** Forgets a ledger (the bookie's garbage collection after the ledger was deleted). */
  dropLedger(ledgerId: bigint): void {
    this.#ledgers.delete(ledgerId);
  }

  hasLedger(ledgerId: bigint): boolean {
    return this.#ledgers.has(ledgerId);
  }

  /** `signal` aborts when the client closes (BOOKIE_CLIENT_CLOSED) or fails this bookie (its reason). */
  send(request: OutgoingRequest, timeoutMs: number, signal: AbortSignal): Promise<Response> {
    this.seen.push({ op: request.op, ...('ledgerId' in request ? { ledgerId: request.ledgerId } : {}), ...('entryId' in request ? { entryId: request.entryId } : {}), ...(request.op === 'ADD_ENTRY' ? { bytes: request.body.length } : {}) });
    const script = this.script;
    if (script.down === true) return Promise.reject(new BookieClientError('BOOKIE_UNAVAILABLE', `cannot connect to bookie ${this.id}`));
    const scripted = script.ops === undefined || script.ops.includes(request.op);
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        this.#timers.delete(timeout);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      // a client's close, or the bookie failed for good (failBookie: the reason is its error)
      const onAbort = (): void => {
        settle(() => { reject(signal.reason instanceof DLogError ? signal.reason : new BookieClientError('BOOKIE_CLIENT_CLOSED', 'the bookie client is closed')); });
      };
      signal.addEventListener('abort', onAbort);
      const timeout = this.#after(timeoutMs, () => {
        settle(() => { reject(new BookieClientError('BOOKIE_TIMEOUT', `${request.op} to bookie ${this.id} timed out after ${timeoutMs} ms`)); });
      });
      const respond = (response: Response): void => {
        if (scripted && script.drop === true) return;
        const deliver = (): void => { settle(() => { resolve(response); }); };
        const later = (): void => {
          if ((script.delayMs ?? 0) > 0) this.#after(script.delayMs ?? 0, deliver);
          else deliver();
        };
        if (scripted && script.hold === true) this.#held.push({ entryId: 'entryId' in request ? request.entryId : undefined, deliver: later });
        else later();
      };
      void this.#apply(request, scripted ? script.refuseWith : undefined, signal).then(respond);
    });
  }

  /** Drops held responses and clears every timer (every client closed). */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#held.length = 0;
  }

  #after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #ledger(ledgerId: bigint): FakeLedger {
    let ledger = this.#ledgers.get(ledgerId);
    if (!ledger) {
      ledger = { entries: new Map(), masterKey: undefined, fenced: false, lac: -1n, explicitLac: undefined, lacWaiters: new Set() };
      this.#ledgers.set(ledgerId, ledger);
    }
    return ledger;
  }

  /** Binds the key on first use, as a bookie does; false when another key is bound. */
  #bindKey(ledgerId: bigint, masterKey: Buffer): boolean {
    const ledger = this.#ledger(ledgerId);
    ledger.masterKey ??= Buffer.from(masterKey);
    return ledger.masterKey.equals(masterKey);
  }

  #raiseLac(ledger: FakeLedger, lac: bigint): void {
    if (lac <= ledger.lac) return;
    ledger.lac = lac;
    for (const wake of [...ledger.lacWaiters]) wake();
  }

  async #apply(req: OutgoingRequest, refuse: StatusCode | undefined, signal: AbortSignal): Promise<Response> {
    const txnId = 0n; // the client side assigns and strips txn ids; callers never see them
    switch (req.op) {
      case 'ADD_ENTRY': {
        const answer = (status: StatusCode): Response => ({ op: 'ADD_ENTRY', txnId, ledgerId: req.ledgerId, entryId: req.entryId, status });
        if (refuse) return answer(refuse);
        if (req.body.length < ENTRY_HEADER_SIZE) return answer('EBADREQ');
        const header = readEntryHeader(req.body);
        if (header.ledgerId !== req.ledgerId || header.entryId !== req.entryId) return answer('EBADREQ');
        if (!this.#bindKey(req.ledgerId, req.masterKey)) return answer('EUA');
        const ledger = this.#ledger(req.ledgerId);
        if (ledger.fenced && req.recoveryAdd !== true) return answer('EFENCED');
        ledger.entries.set(req.entryId, Buffer.from(req.body));
        this.#raiseLac(ledger, header.lastAddConfirmed);
        return answer('EOK');
      }
      case 'READ_ENTRY':
        return this.#read(req, refuse, signal);
      case 'READ_LAC': {
        const base = { op: 'READ_LAC', txnId, ledgerId: req.ledgerId } as const;
        if (refuse) return { ...base, status: refuse };
        const ledger = this.#ledgers.get(req.ledgerId);
        // as BookKeeper's bookie: an unknown ledger has no entry to answer with
        if (!ledger) return { ...base, status: 'ENOENTRY' };
        const last = this.#last(ledger);
        if (ledger.explicitLac === undefined && last === undefined) return { ...base, status: 'ENOENTRY' };
        return { ...base, status: 'EOK', ...(ledger.explicitLac ? { lacBody: ledger.explicitLac } : {}), ...(last ? { lastEntryBody: last } : {}) };
      }
      case 'WRITE_LAC': {
        const answer = (status: StatusCode): Response => ({ op: 'WRITE_LAC', txnId, ledgerId: req.ledgerId, status });
        if (refuse) return answer(refuse);
        if (!this.#bindKey(req.ledgerId, req.masterKey)) return answer('EUA');
        const ledger = this.#ledger(req.ledgerId);
        ledger.explicitLac = Buffer.from(req.body);
        this.#raiseLac(ledger, req.lac);
        return answer('EOK');
      }
      case 'AUTH':
      case 'FORCE_LEDGER':
      case 'GET_BOOKIE_INFO':
      case 'GET_LIST_OF_ENTRIES_OF_LEDGER':
      case 'START_TLS':
        // the ledger client never sends these
        return { op: 'STATUS_ONLY', operation: req.op, txnId, status: refuse ?? 'EBADREQ' };
    }
  }

  #last(ledger: FakeLedger): Buffer | undefined {
    let max = -1n;
    for (const id of ledger.entries.keys()) if (id > max) max = id;
    return ledger.entries.get(max);
  }

  async #read(req: Omit<ReadEntryRequest, 'txnId'>, refuse: StatusCode | undefined, signal: AbortSignal): Promise<ReadEntryResponse> {
    const answer = (status: StatusCode, extra: Partial<ReadEntryResponse> = {}): ReadEntryResponse =>
      ({ op: 'READ_ENTRY', txnId: 0n, ledgerId: req.ledgerId, entryId: req.entryId, status, ...extra });
    if (refuse) return answer(refuse);
    if (req.entryId < -1n) return answer('EBADREQ');
    if (req.flag === 'FENCE_LEDGER') {
      if (req.masterKey === undefined || !this.#bindKey(req.ledgerId, req.masterKey)) return answer('EUA');
      this.#ledger(req.ledgerId).fenced = true;
      return this.#readEntry(req.ledgerId, req.entryId, answer);
    }
    if (req.previousLAC !== undefined) {
      const ledger = this.#ledgers.get(req.ledgerId);
      if (!ledger) return answer('ENOLEDGER');
      const previous = req.previousLAC;
      if (ledger.lac <= previous) await this.#waitLac(ledger, previous, Number(req.timeOut ?? 0n), signal);
      // without piggyback BookKeeper reads the asked entry when the wait ends, whether or not the LAC moved
      if (req.flag !== 'ENTRY_PIGGYBACK') return this.#readEntry(req.ledgerId, req.entryId, answer);
      if (ledger.lac <= previous) return answer('EOK', ledger.lac >= 0n ? { maxLAC: ledger.lac } : {});
      const next = previous + 1n;
      const read = this.#readEntry(req.ledgerId, next, answer);
      return read.status === 'ENOENTRY' ? answer('EOK', { maxLAC: ledger.lac, entryId: next }) : read;
    }
    if (req.flag === 'ENTRY_PIGGYBACK') return answer('EBADREQ');
    return this.#readEntry(req.ledgerId, req.entryId, answer);
  }

  #readEntry(ledgerId: bigint, entryId: bigint, answer: (status: StatusCode, extra?: Partial<ReadEntryResponse>) => ReadEntryResponse): ReadEntryResponse {
    const ledger = this.#ledgers.get(ledgerId);
    if (!ledger) return answer('ENOLEDGER');
    const lac = ledger.lac >= 0n ? { maxLAC: ledger.lac } : {};
    const body = entryId === -1n ? this.#last(ledger) : ledger.entries.get(entryId);
    if (!body) return answer('ENOENTRY', lac);
    return answer('EOK', { ...lac, entryId: readEntryHeader(body).entryId, body });
  }

  /** Until the LAC passes `previous`, the long poll times out or the client closes. */
  #waitLac(ledger: FakeLedger, previous: bigint, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        ledger.lacWaiters.delete(check);
        clearTimeout(timer);
        this.#timers.delete(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const check = (): void => { if (ledger.lac > previous) done(); };
      const timer = this.#after(timeoutMs, done);
      ledger.lacWaiters.add(check);
      signal.addEventListener('abort', done);
    });
  }
}

/** A set of fake bookies, registered as writable under a ledgers root of a metadata store. */
export class FakeBookieCluster {
  readonly bookies: readonly FakeBookie[];
  readonly #byId: Map<string, FakeBookie>;
  readonly #views = new Set<AbortController>();

  constructor(size = 3) {
    this.bookies = Array.from({ length: size }, (_, i) => new FakeBookie(`127.0.0.1:${3181 + i}`));
    this.#byId = new Map(this.bookies.map((b) => [b.id, b]));
  }

  bookie(id: string): FakeBookie {
    const b = this.#byId.get(id);
    if (!b) throw new Error(`no fake bookie ${id}`);
    return b;
  }

  /** Registers every bookie as writable, as a starting bookie does (BookKeeper's layout). */
  async register(store: MetadataStore, ledgersRoot: string): Promise<void> {
    await store.create(joinPath(ledgersRoot, 'available/readonly'), undefined, { createParents: true });
    for (const b of this.bookies) await store.create(joinPath(ledgersRoot, `available/${b.id}`), new Uint8Array(0));
  }

  /** A client's view (LedgerClientOptions.connections): closing it fails only that client's requests. */
  connections(timeoutMs = DEFAULT_TIMEOUT_MS): BookieConnections {
    const view = new AbortController();
    setMaxListeners(0, view.signal); // one listener per request in flight
    this.#views.add(view);
    const health = new BookieHealth();
    /** Per bookie this client uses: aborted by failBookie, its failure the reason, or with the view. */
    const perBookie = new Map<string, { readonly failing: AbortController; readonly signal: AbortSignal }>();
    const bookieSignal = (bookieId: string): { readonly failing: AbortController; readonly signal: AbortSignal } => {
      let entry = perBookie.get(bookieId);
      if (entry === undefined) {
        const failing = new AbortController();
        const signal = AbortSignal.any([view.signal, failing.signal]);
        setMaxListeners(0, signal);
        entry = { failing, signal };
        perBookie.set(bookieId, entry);
      }
      return entry;
    };
    return {
      health,
      get: (bookieId: string): BookieTransport => ({
        send: (request, requestTimeoutMs = timeoutMs) => {
          if (view.signal.aborted) return Promise.reject(new BookieClientError('BOOKIE_CLIENT_CLOSED', 'the bookie client is closed'));
          const { signal } = bookieSignal(bookieId);
          if (signal.aborted) return Promise.reject(signal.reason as Error);
          const bookie = this.#byId.get(bookieId);
          if (!bookie) return Promise.reject(new BookieClientError('BOOKIE_UNAVAILABLE', `cannot connect to bookie ${bookieId}`));
          return bookie.send(request, requestTimeoutMs, signal);
        },
      }),
      failBookie: (bookieId, err) => {
        if (view.signal.aborted) return;
        health.gone(bookieId);
        bookieSignal(bookieId).failing.abort(err);
      },
      close: () => {
        view.abort();
        this.#views.delete(view);
        // the last client gone: no delay timer or held response of any fake outlives the test
        if (this.#views.size === 0) for (const b of this.bookies) b.close();
      },
    };
  }
}
