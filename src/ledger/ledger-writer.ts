// The write side of a ledger (BookKeeper's LedgerHandle for adds): entries are pipelined to their
// write set, complete at the ack quorum, and are acknowledged to the caller strictly in entry order;
// the LAC is the highest contiguously acknowledged entry. A bookie failure triggers an ensemble
// change (new ensemble from LAC+1, CAS on the metadata, resend to the replacement) during which no
// add completes. Fatal answers (fenced, unauthorized) close the handle and fail every pending add.
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
  #failedBookies = new Map<number, string>();
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

  /** Stops the explicit-LAC timer (the ledger is being closed). */
  stop(): void {
    clearInterval(this.#lacTimer);
    this.#lacTimer = undefined;
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
    this.#ctx.pool.get(bookieId)
      .send(op.request)
      .then((response) => { this.#onResponse(op, index, bookieId, response); }, (err: unknown) => {
        this.#ctx.logger.debug({ err, bookieId, ledgerId: this.ledgerId, entryId: op.entryId }, 'add failed');
        this.#onBookieError(op, index, bookieId);
      });
  }

  #onResponse(op: PendingAdd, index: number, bookieId: string, response: Response): void {
    if (response.status === 'EOK') {
      // a late ack from a bookie that has since been replaced at this index counts for nothing
      if (this.#ensembleOf(op.entryId)[index] !== bookieId) return;
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
      this.#onBookieError(op, index, bookieId);
    }
  }

  #onBookieError(op: PendingAdd, index: number, bookieId: string): void {
    if (this.#failure) return;
    // only a failure of a bookie of the current (last) ensemble, still at that index, calls for a
    // change (BookKeeper's handleBookieFailure): a late error for an entry of an older ensemble
    // (already acknowledged) or from a bookie already replaced would otherwise replace a healthy one
    if (this.#metadata.ensembles.at(-1)?.[1][index] !== bookieId) return;
    // the failed adds of one burst count as one error of the bookie, not one each: counted per add,
    // a single stall quarantined every bookie at once
    if (this.#failedBookies.get(index) === bookieId) return;
    this.#ctx.recordBookieError(bookieId);
    this.#failedBookies.set(index, bookieId);
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
        const failed = [...this.#failedBookies].filter(([i, bookieId]) => current[i] === bookieId).map(([i]) => i);
        this.#failedBookies.clear();
        if (failed.length === 0) continue;
        const next = [...current];
        for (const index of failed) next[index] = this.#ctx.replaceBookie(next, index);
        const replaced = failed.filter((i) => next[i] !== current[i]);
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
