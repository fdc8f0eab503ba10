// The write side of a ledger (BookKeeper's LedgerHandle for adds): entries are pipelined to their
// write set, complete at the ack quorum, and are acknowledged to the caller strictly in entry order;
// the LAC is the highest contiguously acknowledged entry. A bookie failure triggers an ensemble
// change (new ensemble from LAC+1, CAS on the metadata, resend to the replacement) during which no
// add completes. Fatal answers (fenced, unauthorized) close the handle and fail every pending add.
//
// A bookie that only times out while no other bookie can replace it (exactly E writable bookies) is
// slow, not gone: its socket is open, so it stays in the ensemble and its adds are sent again, each
// waiting until `stalledBookieWaitMs` after the first timeout; adds still complete at A acks (with
// A < W, writes go on meanwhile). Once it answers, nothing was lost; if the wait runs out first (or
// its connection drops, or it refuses), the writer fails with NOT_ENOUGH_BOOKIES, as before.
import type { Logger } from '../util/logger.js';
import { RingQueue } from '../util/ring-queue.js';
import type { Digest } from '../protocol/digest.js';
import { encodeEntry } from '../protocol/bk-entry-envelope.js';
import { encodeLac } from '../protocol/lac-envelope.js';
import type { LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import type { Response } from '../protocol/protocol-types.js';
import type { AddRequestFields } from '../protocol/add-entry-codec.js';
import type { BookieConnections } from './bookie-transport.js';
import { LedgerClientError } from './ledger-client-error.js';
import { BookieClientError } from './bookie-client-error.js';
import { ensembleFor, writeSet } from './write-quorum.js';
import type { LedgerMetrics } from './ledger-metrics.js';

/** What a writer needs from the client: connections, placement and metadata updates. */
export interface WriterContext {
  readonly pool: BookieConnections;
  /** A writable bookie to replace `ensemble[index]`, not already in `ensemble`. */
  readonly replaceBookie: (ensemble: readonly string[], index: number) => string;
  readonly recordBookieError: (bookieId: string) => void;
  /**
   * Applies `transform` to the ledger's metadata with a CAS loop while `check` returns undefined;
   * rejects with the error `check` returns otherwise. Resolves with the metadata stored.
   */
  readonly updateMetadata: (
    check: (current: LedgerMetadata) => LedgerClientError | undefined,
    transform: (current: LedgerMetadata) => LedgerMetadata,
  ) => Promise<LedgerMetadata>;
  readonly logger: Logger;
  readonly metrics?: LedgerMetrics;
  /** How long a bookie that times out and cannot be replaced is waited for. Default DEFAULT_STALLED_BOOKIE_WAIT_MS. */
  readonly stalledBookieWaitMs?: number;
}

/**
 * ZooKeeper's usual session timeout: a bookie hung for longer has lost its registration too, so the
 * cluster counts it as gone. A hung bookie fails the writer at most requestTimeoutMs + this after
 * the first add it left unanswered was sent.
 */
export const DEFAULT_STALLED_BOOKIE_WAIT_MS = 30_000;

/** Why a bookie of the ensemble is to be replaced; only a 'timeout' may be waited out instead. */
type FailureKind = 'timeout' | 'error' | 'wait expired';

interface BookieFailure {
  readonly bookieId: string;
  kind: FailureKind;
  /** Adds whose send to it failed while the failure waited for its ensemble-change round. */
  readonly ops: PendingAdd[];
}

/** A bookie kept in the ensemble although its adds timed out, because no bookie could replace it. */
interface Stall {
  readonly bookieId: string;
  readonly since: number;
  /** Date.now() at which the writer stops waiting. */
  readonly deadline: number;
  readonly timer: NodeJS.Timeout;
}

interface PendingAdd {
  readonly entryId: bigint;
  /** The one request every bookie of the write set gets (the connection adds its txnId). */
  readonly request: AddRequestFields;
  readonly payloadLength: bigint;
  /** Bit i: the bookie at ensemble index i (when it acked) acknowledged. */
  ackedMask: number;
  acks: number;
  completed: boolean;
  readonly resolve: (entryId: bigint) => void;
  readonly reject: (err: Error) => void;
}

export interface WriterOptions {
  /** Add as RECOVERY_ADD (ledger recovery re-adding entries to a fenced ledger). */
  readonly recovery?: boolean;
  /** The LAC and length to continue from (recovery); default an empty ledger. */
  readonly lastAddConfirmed?: bigint;
  readonly length?: bigint;
  /**
   * Send the LAC explicitly (WRITE_LAC) this often when it moved past what the last envelope
   * carried, so that tailing readers see the last entry of a quiet ledger. 0 (default) = off.
   */
  readonly explicitLacIntervalMs?: number;
}

export class LedgerWriter {
  readonly ledgerId: bigint;
  readonly #ctx: WriterContext;
  readonly #digest: Digest;
  readonly #masterKey: Buffer;
  readonly #recovery: boolean;
  #metadata!: LedgerMetadata;
  #lastAddPushed: bigint;
  #lac: bigint;
  #length: bigint;
  /** Cumulative length including every entry pushed, acknowledged or not (the envelope's field). */
  #pushedLength: bigint;
  readonly #pending = new RingQueue<PendingAdd>();
  #changingEnsemble = false;
  /** Ensemble index -> the bookie that failed there, waiting for the (running) ensemble change. */
  #failedBookies = new Map<number, BookieFailure>();
  /** Ensemble index -> the stalled bookie there, waited for. */
  readonly #stalls = new Map<number, Stall>();
  readonly #stalledBookieWaitMs: number;
  #failure: LedgerClientError | undefined;
  #drained: (() => void)[] = [];
  /** The LAC carried by the last envelope sent, and the last LAC sent explicitly. */
  #piggybackedLac = -1n;
  #explicitLac = -1n;
  #lacTimer: NodeJS.Timeout | undefined;
  /** Write set per entryId % ensembleSize (the striping never changes over a ledger's life). */
  readonly #writeSets: readonly (readonly number[])[];
  /** The last ensemble and its first entry: every new add uses it, without a scan of the ensembles. */
  #lastEnsemble!: readonly string[];
  #lastEnsembleFirst!: bigint;

  constructor(ledgerId: bigint, metadata: LedgerMetadata, digest: Digest, masterKey: Buffer, ctx: WriterContext, options: WriterOptions = {}) {
    this.ledgerId = ledgerId;
    if (metadata.ensembleSize > 32) throw new RangeError(`ensemble size ${metadata.ensembleSize} is above 32, the most a writer tracks acks for`);
    this.#setMetadata(metadata);
    this.#writeSets = Array.from({ length: metadata.ensembleSize }, (_, i) => writeSet(BigInt(i), metadata.ensembleSize, metadata.writeQuorumSize));
    this.#digest = digest;
    this.#masterKey = masterKey;
    this.#ctx = ctx;
    this.#stalledBookieWaitMs = ctx.stalledBookieWaitMs ?? DEFAULT_STALLED_BOOKIE_WAIT_MS;
    this.#recovery = options.recovery === true;
    this.#lac = options.lastAddConfirmed ?? -1n;
    this.#lastAddPushed = this.#lac;
    this.#length = options.length ?? 0n;
    this.#pushedLength = this.#length;
    const interval = options.explicitLacIntervalMs ?? 0;
    if (interval > 0) {
      this.#lacTimer = setInterval(() => { this.#sendExplicitLac(); }, interval);
      this.#lacTimer.unref();
    }
  }

  get metadata(): LedgerMetadata { return this.#metadata; }
  get lastAddConfirmed(): bigint { return this.#lac; }
  get lastAddPushed(): bigint { return this.#lastAddPushed; }
  /** Bytes of payload acknowledged so far. */
  get length(): bigint { return this.#length; }
  get pendingAdds(): number { return this.#pending.length; }
  /** The error that closed this writer, if one did. */
  get failure(): LedgerClientError | undefined { return this.#failure; }

  /** Resolves with the entry id once the ack quorum stored it and every earlier entry completed. */
  addEntry(payload: Uint8Array): Promise<bigint> {
    return new Promise((resolve, reject) => { this.submitEntry(payload, resolve, reject); });
  }

  /**
   * addEntry without a promise of its own: calls `resolve` with the entry id (in entry order) or
   * `reject`, never synchronously, so a writer batching records per entry pays no promise per entry.
   */
  submitEntry(payload: Uint8Array, resolve: (entryId: bigint) => void, reject: (err: Error) => void): void {
    const failure = this.#failure;
    if (failure) {
      queueMicrotask(() => { reject(failure); });
      return;
    }
    const entryId = ++this.#lastAddPushed;
    this.#pushedLength += BigInt(payload.length);
    const length = this.#pushedLength;
    const envelope = encodeEntry(this.#digest, { ledgerId: this.ledgerId, entryId, lastAddConfirmed: this.#lac, length }, payload);
    this.#piggybackedLac = this.#lac;
    const request: AddRequestFields = this.#recovery
      ? { op: 'ADD_ENTRY', ledgerId: this.ledgerId, entryId, masterKey: this.#masterKey, body: envelope, recoveryAdd: true, priority: 100 }
      : { op: 'ADD_ENTRY', ledgerId: this.ledgerId, entryId, masterKey: this.#masterKey, body: envelope };
    const op: PendingAdd = { entryId, request, payloadLength: BigInt(payload.length), ackedMask: 0, acks: 0, completed: false, resolve, reject };
    this.#pending.push(op);
    const ensemble = this.#ensembleOf(entryId);
    for (const index of this.#writeSet(entryId)) this.#send(op, index, ensemble[index] ?? '');
  }

  #setMetadata(metadata: LedgerMetadata): void {
    this.#metadata = metadata;
    const last = metadata.ensembles.at(-1);
    if (last === undefined) throw new RangeError(`ledger ${this.ledgerId} has no ensemble`);
    [this.#lastEnsembleFirst, this.#lastEnsemble] = last;
  }

  #ensembleOf(entryId: bigint): readonly string[] {
    return entryId >= this.#lastEnsembleFirst ? this.#lastEnsemble : ensembleFor(this.#metadata.ensembles, entryId);
  }

  /** Resolves once every add issued so far has completed or failed. */
  drain(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => { this.#drained.push(resolve); });
  }

  /** Fails every pending add and refuses new ones (the handle is being abandoned). */
  abort(error: LedgerClientError): void {
    this.#fail(error);
  }

  /** Stops the explicit-LAC timer and the waits for stalled bookies (the ledger is being closed). */
  stop(): void {
    clearInterval(this.#lacTimer);
    this.#lacTimer = undefined;
    for (const stall of this.#stalls.values()) clearTimeout(stall.timer);
    this.#stalls.clear();
  }

  /** WRITE_LAC to the write set of the LAC entry; best effort, readers fall back to envelopes. */
  #sendExplicitLac(): void {
    const lac = this.#lac;
    if (this.#failure || lac < 0n || lac <= this.#explicitLac || lac <= this.#piggybackedLac) return;
    this.#explicitLac = lac;
    const body = encodeLac(this.#digest, this.ledgerId, lac);
    const ensemble = this.#ensembleOf(lac);
    for (const index of this.#writeSet(lac)) {
      const bookieId = ensemble[index] ?? '';
      this.#ctx.pool.get(bookieId).send({ op: 'WRITE_LAC', ledgerId: this.ledgerId, lac, masterKey: this.#masterKey, body })
        .catch((err: unknown) => { this.#ctx.logger.debug({ err, bookieId, ledgerId: this.ledgerId }, 'explicit LAC write failed'); });
    }
  }

  #writeSet(entryId: bigint): readonly number[] {
    return this.#writeSets[Number(entryId % BigInt(this.#writeSets.length))] as readonly number[];
  }

  #send(op: PendingAdd, index: number, bookieId: string): void {
    // to a stalled bookie, one request that lasts the rest of the wait, not one per request timeout
    const stall = this.#stalls.size === 0 ? undefined : this.#stalls.get(index);
    const timeoutMs = stall?.bookieId === bookieId ? Math.max(1, stall.deadline - Date.now()) : undefined;
    this.#ctx.pool.get(bookieId)
      .send(op.request, timeoutMs)
      .then((response) => { this.#onResponse(op, index, bookieId, response); }, (err: unknown) => {
        this.#ctx.logger.debug({ err, bookieId, ledgerId: this.ledgerId, entryId: op.entryId }, 'add failed');
        this.#onBookieError(op, index, bookieId, err instanceof BookieClientError && err.code === 'BOOKIE_TIMEOUT' ? 'timeout' : 'error');
      });
  }

  #onResponse(op: PendingAdd, index: number, bookieId: string, response: Response): void {
    if (response.status === 'EOK') {
      // a late ack from a bookie that has since been replaced at this index counts for nothing
      if (this.#ensembleOf(op.entryId)[index] !== bookieId) return;
      if (this.#stalls.size > 0 && this.#stalls.get(index)?.bookieId === bookieId) this.#endStall(index, 'it answered');
      const bit = 1 << index;
      if ((op.ackedMask & bit) === 0) {
        op.ackedMask |= bit;
        op.acks += 1;
      }
      if (!op.completed && op.acks >= this.#metadata.ackQuorumSize) {
        op.completed = true;
        this.#completeInOrder();
      }
    } else if (response.status === 'EFENCED') {
      this.#fail(new LedgerClientError('LEDGER_FENCED', `ledger ${this.ledgerId} was fenced by another client (recovery): this writer can add nothing more`));
    } else if (response.status === 'EUA') {
      // a bare status (no add response) refuses the connection itself: TLS or authentication required
      this.#fail(new LedgerClientError('UNAUTHORIZED', response.op === 'STATUS_ONLY'
        ? `bookie ${bookieId} refused this client: it requires TLS or authentication (see the bookie's log)`
        : `bookie ${bookieId} refused the master key of ledger ${this.ledgerId}`));
    } else {
      // any other refusal (read-only, overloaded, I/O error): replace the bookie
      this.#ctx.logger.warn({ bookieId, ledgerId: this.ledgerId, entryId: op.entryId, status: response.status }, 'add refused by bookie');
      this.#onBookieError(op, index, bookieId, 'error');
    }
  }

  #onBookieError(op: PendingAdd, index: number, bookieId: string, kind: FailureKind): void {
    if (this.#failure) return;
    // only a failure of a bookie of the current (last) ensemble, still at that index, calls for a
    // change (BookKeeper's handleBookieFailure): a late error for an entry of an older ensemble
    // (already acknowledged) or from a bookie already replaced would otherwise replace a healthy one
    if (this.#metadata.ensembles.at(-1)?.[1][index] !== bookieId) return;
    const stall = this.#stalls.get(index);
    if (stall?.bookieId === bookieId && kind === 'timeout') {
      // waited for already: ask again until the wait runs out (its timer ends it)
      if (Date.now() < stall.deadline) this.#send(op, index, bookieId);
      return;
    }
    // the failed adds of one burst count as one error of the bookie, not one each: counted per add,
    // a single stall quarantined every bookie at once
    const failed = this.#failedBookies.get(index);
    if (failed?.bookieId === bookieId) {
      failed.ops.push(op);
      if (kind !== 'timeout') failed.kind = kind;
      return;
    }
    this.#ctx.recordBookieError(bookieId);
    this.#failedBookies.set(index, { bookieId, kind, ops: [op] });
    if (!this.#changingEnsemble) void this.#changeEnsemble();
  }

  /** Keeps `bookieId` at `index` for the wait, and resends what it failed (the wait starts at its first failure). */
  #stallOn(index: number, bookieId: string, ops: readonly PendingAdd[]): void {
    if (this.#stalls.get(index)?.bookieId !== bookieId) {
      const since = Date.now();
      const stall: Stall = {
        bookieId, since, deadline: since + this.#stalledBookieWaitMs,
        // the poll phase runs before setImmediate's: what the bookie sent while our loop was busy is read first
        timer: setTimeout(() => { setImmediate(() => { this.#stallRanOut(index, stall); }); }, this.#stalledBookieWaitMs).unref(),
      };
      this.#stalls.set(index, stall);
      this.#ctx.pool.health.slow(bookieId);
      this.#ctx.logger.warn({ ledgerId: this.ledgerId, bookieId, waitMs: this.#stalledBookieWaitMs },
        'bookie not answering adds and no other bookie can replace it: waiting for it');
    }
    for (const op of ops) this.#send(op, index, bookieId);
  }

  #endStall(index: number, why: string): void {
    const stall = this.#stalls.get(index);
    if (stall === undefined) return;
    clearTimeout(stall.timer);
    this.#stalls.delete(index);
    this.#ctx.logger.info({ ledgerId: this.ledgerId, bookieId: stall.bookieId, stalledMs: Date.now() - stall.since, why }, 'no longer waiting for a stalled bookie');
  }

  /** The wait ran out: the bookie is replaced if a bookie can take its place now, or the writer fails. */
  #stallRanOut(index: number, stall: Stall): void {
    if (this.#failure || this.#stalls.get(index) !== stall) return;
    this.#stalls.delete(index);
    const { bookieId } = stall;
    const failed = this.#failedBookies.get(index);
    if (failed?.bookieId === bookieId) failed.kind = 'wait expired';
    else this.#failedBookies.set(index, { bookieId, kind: 'wait expired', ops: [] });
    if (!this.#changingEnsemble) void this.#changeEnsemble();
  }

  /** Pops completed adds from the head, strictly in order, unless an ensemble change is running. */
  #completeInOrder(): void {
    while (!this.#changingEnsemble && !this.#failure) {
      const head = this.#pending.peek();
      if (!head?.completed || head.entryId !== this.#lac + 1n) break;
      this.#pending.shift();
      this.#lac = head.entryId;
      this.#length += head.payloadLength;
      head.resolve(head.entryId);
    }
    this.#notifyDrained();
  }

  #notifyDrained(): void {
    if (this.#pending.length > 0 || this.#drained.length === 0) return;
    const waiters = this.#drained;
    this.#drained = [];
    for (const resolve of waiters) resolve();
  }

  async #changeEnsemble(): Promise<void> {
    this.#changingEnsemble = true;
    try {
      while (this.#failedBookies.size > 0 && !this.#failure) {
        const firstEntryId = this.#lac + 1n;
        const current = ensembleFor(this.#metadata.ensembles, firstEntryId);
        // failures reported during the previous round may name bookies that round replaced
        const failures = [...this.#failedBookies].filter(([i, f]) => current[i] === f.bookieId);
        this.#failedBookies.clear();
        const next = [...current];
        for (const [index, failure] of failures) {
          try {
            next[index] = this.#ctx.replaceBookie(next, index);
            this.#endStall(index, 'it was replaced');
          } catch (err) {
            const waitable = err instanceof LedgerClientError && err.code === 'NOT_ENOUGH_BOOKIES' && failure.kind !== 'error' && this.#stalledBookieWaitMs > 0;
            if (!waitable) throw err;
            if (failure.kind === 'wait expired') throw this.#waitedInVain(failure.bookieId, err);
            this.#stallOn(index, failure.bookieId, failure.ops);
          }
        }
        const replaced = failures.map(([i]) => i).filter((i) => next[i] !== current[i]);
        if (replaced.length === 0) continue;
        this.#ctx.logger.info({ ledgerId: this.ledgerId, firstEntryId, from: current, to: next }, 'changing ensemble');
        // recovery keeps its ensemble changes in memory: they are written with the CLOSED state
        this.#setMetadata(this.#recovery
          ? { ...this.#metadata, ensembles: withEnsemble(this.#metadata.ensembles, firstEntryId, next) }
          : await this.#ctx.updateMetadata(
            (m) => m.state === 'OPEN' ? undefined
              : new LedgerClientError(m.state === 'CLOSED' ? 'LEDGER_CLOSED' : 'LEDGER_FENCED', `ledger ${this.ledgerId} is ${m.state}: cannot change its ensemble`),
            (m) => ({ ...m, ensembles: withEnsemble(m.ensembles, firstEntryId, next) }),
          ));
        this.#ctx.metrics?.ensembleChanged({ ledgerId: this.ledgerId, firstEntryId, from: current, to: next });
        // resend what the replaced bookies held of every add not yet acknowledged to the caller
        for (const op of this.#pending) {
          const ensemble = this.#ensembleOf(op.entryId);
          for (const index of this.#writeSet(op.entryId)) {
            if (!replaced.includes(index)) continue;
            const bit = 1 << index;
            if ((op.ackedMask & bit) !== 0) {
              op.ackedMask &= ~bit;
              op.acks -= 1;
            }
            op.completed = op.acks >= this.#metadata.ackQuorumSize;
            this.#send(op, index, ensemble[index] ?? '');
          }
        }
      }
    } catch (err) {
      this.#fail(err instanceof LedgerClientError ? err
        : new LedgerClientError('BOOKIE_ERROR', `ensemble change of ledger ${this.ledgerId} failed: ${(err as Error).message}`, { cause: err }));
    } finally {
      this.#changingEnsemble = false;
    }
    this.#completeInOrder();
  }

  #waitedInVain(bookieId: string, cause: LedgerClientError): LedgerClientError {
    return new LedgerClientError('NOT_ENOUGH_BOOKIES',
      `bookie ${bookieId} did not answer adds to ledger ${this.ledgerId} within ${this.#stalledBookieWaitMs} ms of its first timeout, and no other writable bookie can replace it (${cause.message})`,
      { ledgerId: this.ledgerId, cause });
  }

  #fail(error: LedgerClientError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.stop();
    for (const op of this.#pending.drain()) op.reject(error);
    this.#notifyDrained();
  }
}

/** Ensembles with `bookies` serving from `firstEntryId` on (replacing a segment that starts there). */
function withEnsemble(ensembles: LedgerMetadata['ensembles'], firstEntryId: bigint, bookies: readonly string[]): LedgerMetadata['ensembles'] {
  const kept = ensembles.filter(([first]) => first < firstEntryId);
  return [...kept, [firstEntryId, bookies]];
}
