// The read side of a ledger: entries up to the LAC (reading past it is refused: a reader must never
// see an entry that may not have been acknowledged), the LAC itself (READ_LAC to the last ensemble,
// complete once the coverage rule holds) and the long poll that waits for it to move.
import type { Digest } from '../protocol/digest.js';
import { decodeEntry, type Entry } from '../protocol/bk-entry-envelope.js';
import { decodeLac } from '../protocol/lac-envelope.js';
import type { LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import type { BookieConnections } from './bookie-transport.js';
import { fetchEntry } from './entry-fetch.js';
import { LedgerClientError } from './ledger-client-error.js';
import { isCovered } from './quorum-coverage.js';
import { ensembleFor, writeSet } from './write-quorum.js';
import type { LedgerMetrics } from './ledger-metrics.js';
import type { LongPollResult, SharedEntryReads } from './shared-entry-reads.js';

/**
 * BookKeeper waits 2000 ms; a catch-up reader pays this once per hung replica before the health
 * order asks the others first, and 500 ms keeps that to half a second (bench/faults-hung.ts).
 */
const DEFAULT_SPECULATIVE_READ_TIMEOUT_MS = 500;

export interface ReaderContext {
  readonly pool: BookieConnections;
  /** Default DEFAULT_SPECULATIVE_READ_TIMEOUT_MS. */
  readonly speculativeReadTimeoutMs?: number;
  readonly metrics?: LedgerMetrics;
  /** Reads and long polls shared by every reader of a ledger in this client. */
  readonly sharedReads?: SharedEntryReads;
}

export class LedgerReader {
  readonly ledgerId: bigint;
  readonly #ctx: ReaderContext;
  readonly #digest: Digest;
  #metadata: LedgerMetadata;
  #lac: bigint;
  /**
   * Sticky reads (BookKeeper's stickyReadsEnabled, only when E == W): every entry is first asked of
   * one bookie, chosen at random per reader, which keeps a catch-up on one bookie's read-ahead.
   */
  #sticky = -1;
  /** Set while this reader counts among the ledger's readers of the shared reads. */
  #detach: (() => void) | undefined;

  /** `share`: join the other readers' reads and long polls (a read-only handle). */
  constructor(ledgerId: bigint, metadata: LedgerMetadata, digest: Digest, ctx: ReaderContext, share = false) {
    this.ledgerId = ledgerId;
    this.#metadata = metadata;
    this.#digest = digest;
    this.#ctx = ctx;
    this.#lac = metadata.state === 'CLOSED' ? metadata.lastEntryId : -1n;
    if (share) this.#detach = ctx.sharedReads?.attach(ledgerId);
  }

  /** No more reads through this reader: the shared reads stop keeping entries for it. */
  release(): void {
    this.#detach?.();
    this.#detach = undefined;
  }

  get metadata(): LedgerMetadata { return this.#metadata; }
  /** The highest entry known to be confirmed (the last entry once closed). */
  get lastAddConfirmed(): bigint { return this.#lac; }
  get isClosed(): boolean { return this.#metadata.state === 'CLOSED'; }

  /** Newer metadata (after an ensemble change or close) for later reads. */
  updateMetadata(metadata: LedgerMetadata): void {
    this.#metadata = metadata;
    if (metadata.state === 'CLOSED') this.#lac = metadata.lastEntryId;
  }

  /** Entries first..last, all at or below the LAC. */
  async readEntries(first: bigint, last: bigint): Promise<Entry[]> {
    if (last > this.#lac) {
      throw new LedgerClientError('READ_BEYOND_LAC', `entry ${last} of ledger ${this.ledgerId} is past the last add confirmed (${this.#lac})`);
    }
    return this.readUnconfirmed(first, last);
  }

  /** Entries without the LAC check: for recovery tools, which know what they are doing. */
  async readUnconfirmed(first: bigint, last: bigint): Promise<Entry[]> {
    if (first < 0n || last < first) throw new LedgerClientError('INVALID_RANGE', `invalid entry range ${first}..${last}`);
    const reads: Promise<Entry>[] = [];
    for (let id = first; id <= last; id++) reads.push(this.#fetch(id));
    const entries = await Promise.all(reads);
    for (const e of entries) if (e.lastAddConfirmed > this.#lac) this.#lac = e.lastAddConfirmed;
    return entries;
  }

  /** The write set of the entry, sticky bookie first, then ordered by health (suspect bookies last). */
  #replicas(entryId: bigint): string[] {
    const { ensembleSize, writeQuorumSize } = this.#metadata;
    const ensemble = ensembleFor(this.#metadata.ensembles, entryId);
    const replicas = writeSet(entryId, ensembleSize, writeQuorumSize).map((i) => ensemble[i] ?? '');
    const { health } = this.#ctx.pool;
    if (ensembleSize === writeQuorumSize && ensembleSize > 1) {
      if (this.#sticky < 0) this.#sticky = Math.floor(Math.random() * ensembleSize);
      // a suspect sticky bookie hands over to the next one, as BookKeeper moves it on an error
      for (let n = 0; n < ensembleSize && health.isSuspect(ensemble[this.#sticky] ?? ''); n++) this.#sticky = (this.#sticky + 1) % ensembleSize;
      const first = ensemble[this.#sticky] ?? '';
      const at = replicas.indexOf(first);
      if (at > 0) replicas.unshift(...replicas.splice(at, 1));
    }
    return health.order(replicas);
  }

  #fetch(entryId: bigint): Promise<Entry> {
    const shared = this.#detach === undefined ? undefined : this.#ctx.sharedReads;
    return shared === undefined ? this.#fetchOwn(entryId) : shared.entry(this.ledgerId, entryId, () => this.#fetchOwn(entryId));
  }

  #fetchOwn(entryId: bigint): Promise<Entry> {
    return fetchEntry({
      pool: this.#ctx.pool, digest: this.#digest, ledgerId: this.ledgerId, entryId,
      replicas: this.#replicas(entryId), speculativeTimeoutMs: this.#ctx.speculativeReadTimeoutMs ?? DEFAULT_SPECULATIVE_READ_TIMEOUT_MS,
      ...(this.#ctx.metrics === undefined ? {} : { metrics: this.#ctx.metrics }),
    });
  }

  /**
   * READ_LAC to every bookie of the last ensemble; the LAC is the highest of the explicit LACs and
   * of the LACs piggybacked by the last stored entries, once the replies cover every write quorum.
   */
  async readLastAddConfirmed(): Promise<bigint> {
    if (this.isClosed) return this.#lac;
    const ensemble = this.#metadata.ensembles.at(-1)?.[1] ?? [];
    const answered = ensemble.map(() => false);
    let best = this.#lac;
    await new Promise<void>((resolve, reject) => {
      let replies = 0;
      let settled = false;
      const done = (): void => {
        if (settled) return;
        if (isCovered(answered, this.#metadata.writeQuorumSize, this.#metadata.ackQuorumSize)) {
          settled = true;
          resolve();
        } else if (replies === ensemble.length) {
          settled = true;
          reject(new LedgerClientError('BOOKIE_ERROR', `too few bookies of ledger ${this.ledgerId} answered the LAC read to be sure of it`));
        }
      };
      ensemble.forEach((bookieId, index) => {
        this.#ctx.pool.get(bookieId).send({ op: 'READ_LAC', ledgerId: this.ledgerId }).then((r) => {
          replies++;
          if (r.op === 'READ_LAC' && (r.status === 'EOK' || r.status === 'ENOENTRY' || r.status === 'ENOLEDGER')) {
            answered[index] = true;
            if (r.status === 'EOK') best = this.#maxLac(best, r.lacBody, r.lastEntryBody);
          }
          done();
        }, () => { replies++; done(); });
      });
    });
    if (best > this.#lac) this.#lac = best;
    return this.#lac;
  }

  #maxLac(best: bigint, lacBody: Buffer | undefined, lastEntryBody: Buffer | undefined): bigint {
    let lac = best;
    try {
      if (lacBody) {
        const explicit = decodeLac(this.#digest, lacBody, this.ledgerId);
        if (explicit > lac) lac = explicit;
      }
      if (lastEntryBody) {
        // verified before trusting the LAC it carries
        const entry = decodeEntry(this.#digest, lastEntryBody, { ledgerId: this.ledgerId });
        if (entry.lastAddConfirmed > lac) lac = entry.lastAddConfirmed;
      }
    } catch {
      // a damaged reply from one bookie: the others still count
    }
    return lac;
  }

  /**
   * Long poll: resolves as soon as a bookie reports a LAC above `previous` (with entry previous+1
   * when that bookie holds it), or with the current LAC after `timeoutMs`.
   */
  async readLastAddConfirmedAndEntry(previous: bigint, timeoutMs: number): Promise<LongPollResult> {
    if (this.isClosed || this.#lac > previous) return { lastAddConfirmed: this.#lac };
    const shared = this.#detach === undefined ? undefined : this.#ctx.sharedReads;
    const result = shared === undefined
      ? await this.#longPoll(previous, timeoutMs)
      : await shared.longPoll(this.ledgerId, previous, timeoutMs, (t) => this.#longPoll(previous, t));
    if (result.lastAddConfirmed > this.#lac) this.#lac = result.lastAddConfirmed;
    return result.lastAddConfirmed >= this.#lac ? result : { ...result, lastAddConfirmed: this.#lac };
  }

  #longPoll(previous: bigint, timeoutMs: number): Promise<LongPollResult> {
    const ensemble = this.#metadata.ensembles.at(-1)?.[1] ?? [];
    // as BookKeeper: give up waiting once E-A+1 bookies report no progress (the others cannot all be ahead)
    const enough = ensemble.length - this.#metadata.ackQuorumSize + 1;
    return new Promise<LongPollResult>((resolve) => {
      let noProgress = 0;
      let settled = false;
      const settle = (value: { lastAddConfirmed: bigint; entry?: Entry }): void => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      const stalled = (): void => {
        if (++noProgress >= enough) settle({ lastAddConfirmed: this.#lac });
      };
      for (const bookieId of ensemble) {
        this.#ctx.pool.get(bookieId)
          .send({ op: 'READ_ENTRY', ledgerId: this.ledgerId, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC: previous, timeOut: BigInt(timeoutMs) }, timeoutMs + 5000)
          .then((r) => {
            if (r.op !== 'READ_ENTRY' || r.status !== 'EOK' || r.maxLAC === undefined || r.maxLAC <= previous) {
              stalled();
              return;
            }
            let entry: Entry | undefined;
            try {
              if (r.body) entry = decodeEntry(this.#digest, r.body, { ledgerId: this.ledgerId, entryId: previous + 1n });
            } catch {
              entry = undefined; // a damaged piggyback: the caller reads the entry normally
            }
            settle({ lastAddConfirmed: r.maxLAC, ...(entry ? { entry } : {}) });
          }, stalled);
      }
    });
  }
}
