// What a bookie answers to each BookKeeper v3 request (bookkeeper.md §1.4). Every outcome is a
// status code in a response; process() never rejects.
//
// Ordering rules that durability depends on:
// - ledger storage is updated before the journal append, so that a checkpoint mark taken after an
//   append always covers a storage state that holds it (bookie.ts checkpoints);
// - an add is answered only after its journal group is synced;
// - a fence is answered only after the fence record is synced, and an add that was waiting while
//   the ledger got fenced is refused: a fenced writer never gets an ack for data written after it.
import { statfs } from 'node:fs/promises';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { readEntryHeader, ENTRY_HEADER_SIZE } from '../protocol/bk-entry-envelope.js';
import { EntriesAvailabilityBuilder } from '../protocol/entries-availability.js';
import type {
  AddEntryRequest, AddEntryResponse, DecodedRequest, GetListOfEntriesOfLedgerRequest, GetListOfEntriesOfLedgerResponse, ReadEntryRequest, ReadEntryResponse, ReadLacRequest, ReadLacResponse,
  Response, StatusCode, WriteLacRequest, WriteLacResponse,
} from '../protocol/protocol-types.js';
import type { Journal, JournalRecord } from './journal.js';
import type { LacTracker } from './lac-tracker.js';
import type { LedgerDirsStorage } from './ledger-dirs-storage.js';
import { StorageError } from './storage-error.js';

export interface ProcessorContext {
  readonly storage: LedgerDirsStorage;
  readonly journal: Journal;
  readonly lac: LacTracker;
  /** The directory whose disk GET_BOOKIE_INFO reports. */
  readonly ledgerDir: string;
  readonly isReadOnly: () => boolean;
  /** A journal or storage write failed: the bookie must stop taking writes at once. */
  readonly onWriteFailure: (err: unknown) => void;
  readonly logger: Logger;
}

/** A storage failure that says the disk or the index is broken, not that the request was wrong. */
function isWriteFailure(err: unknown): boolean {
  return !(err instanceof StorageError) || err.code === 'STORAGE_IO';
}

/** Long polls longer than this are cut short (a client asking for hours holds memory for hours). */
const MAX_LONG_POLL_MS = 60_000;

function storageStatus(err: unknown): StatusCode {
  if (!(err instanceof StorageError)) return 'EIO';
  switch (err.code) {
    case 'NO_LEDGER': return 'ENOLEDGER';
    case 'NO_ENTRY': return 'ENOENTRY';
    case 'MASTER_KEY_MISMATCH': return 'EUA';
    case 'TOO_MANY_REQUESTS': return 'ETOOMANYREQUESTS';
    case 'CORRUPT_ENTRY':
    case 'STORAGE_IO':
    case 'STORAGE_CLOSED':
    case 'INDEX_CORRUPT':
      return 'EIO';
  }
}

function addAnswer(req: AddEntryRequest, status: StatusCode): AddEntryResponse {
  return { op: 'ADD_ENTRY', txnId: req.txnId, ledgerId: req.ledgerId, entryId: req.entryId, status };
}

/** Where #add puts the outcome of each add it did not refuse at once (addAll groups them). */
interface AddSink {
  /** `response` (EOK) goes out once `synced` resolves. */
  journaled(response: AddEntryResponse, synced: Promise<void>): void;
  /** The add waits for write-cache room; the promise never rejects. */
  later(pending: Promise<Response>): void;
}

export class RequestProcessor {
  readonly #ctx: ProcessorContext;
  /** Fence records not yet synced, so a second fence read of the ledger waits for the first. */
  readonly #fencing = new Map<bigint, Promise<void>>();
  /** The latest journal append: FORCE_LEDGER completes when it is synced. */
  #lastAppend: Promise<void> = Promise.resolve();
  /** A failed journal group fails every add in it: one line a second, not one per add. */
  readonly #journalErrors: RateLimitedLog;

  constructor(ctx: ProcessorContext) {
    this.#ctx = ctx;
    this.#journalErrors = new RateLimitedLog(ctx.logger);
  }

  process(req: DecodedRequest): Promise<Response> {
    if (req.op === 'ADD_ENTRY') return new Promise((resolve) => { this.addAll([req], (responses) => { resolve(responses[0] as Response); }); });
    return this.#dispatch(req).catch((err: unknown) => this.#unexpected(req, err));
  }

  /**
   * The adds of one socket read, as one group: each is checked, put in the write cache and
   * appended to the journal now, in order; `answer` gets the responses in batches, one call per
   * journal group that made them durable (the journal gives every record of a group the same
   * promise), one for refusals (after a microtask), one per add that had to wait for write-cache room. So the common
   * case costs one promise reaction per socket read, not one per add. `answer` must not throw.
   */
  addAll(reqs: readonly AddEntryRequest[], answer: (responses: Response[]) => void): void {
    const refused: Response[] = [];
    let waiting: AddEntryResponse[] = [];
    let waitingOn: Promise<void> | undefined;
    const release = (): void => {
      if (waitingOn === undefined) return;
      const responses = waiting;
      waitingOn.then(() => { answer(responses); }, (err: unknown) => {
        this.#journalErrors.error('add', { err, adds: responses.length }, 'journal write failed');
        answer(responses.map((r) => ({ ...r, status: 'EIO' })));
      });
      waiting = [];
      waitingOn = undefined;
    };
    const sink: AddSink = {
      journaled: (response, synced) => {
        if (synced !== waitingOn) release();
        waitingOn = synced;
        waiting.push(response);
      },
      later: (pending) => { void pending.then((response) => { answer([response]); }); },
    };
    for (const req of reqs) {
      try {
        const refusal = this.#add(req, sink);
        if (refusal !== undefined) refused.push(refusal);
      } catch (err) {
        refused.push(this.#unexpected(req, err));
      }
    }
    release();
    // never synchronously: the caller is still starting requests
    if (refused.length > 0) queueMicrotask(() => { answer(refused); });
  }

  /**
   * The entry reads of one socket read, as one group: the reads of entries in memory (a write
   * cache, the read cache) are answered without an await, all in one `answer` call after a
   * microtask; the others are prefetched per ledger (one index walk, one file read for adjacent
   * entries, see EntryReader.prefetch), and once that is done, those now in memory are answered in
   * one call and the rest one by one as process() answers them. The answers are those process()
   * gives. `answer` must not throw.
   */
  readAll(reqs: readonly ReadEntryRequest[], answer: (responses: Response[]) => void): void {
    const later = this.#answerNow(reqs, answer);
    const fetched = this.#prefetch(later);
    if (fetched === undefined) this.#answerEach(later, answer);
    else void fetched.then(() => { this.#answerEach(this.#answerNow(later, answer), answer); });
  }

  /** Answers (after a microtask, in one call) the reads #readNow can answer; returns the others. */
  #answerNow(reqs: readonly ReadEntryRequest[], answer: (responses: Response[]) => void): ReadEntryRequest[] {
    const now: Response[] = [];
    const later: ReadEntryRequest[] = [];
    for (const req of reqs) {
      try {
        const response = this.#readNow(req);
        if (response === undefined) later.push(req);
        else now.push(response);
      } catch (err) {
        now.push(this.#unexpected(req, err));
      }
    }
    // never synchronously: the caller is still starting requests
    if (now.length > 0) queueMicrotask(() => { answer(now); });
    return later;
  }

  #answerEach(reqs: readonly ReadEntryRequest[], answer: (responses: Response[]) => void): void {
    for (const req of reqs) void this.process(req).then((response) => { answer([response]); });
  }

  /** The answer of a plain entry read that needs no await (refused, or the entry and the LAC known in memory); else undefined. */
  #readNow(req: ReadEntryRequest): ReadEntryResponse | undefined {
    if (req.flag !== undefined || req.previousLAC !== undefined || req.entryId < 0n) return undefined;
    const { ledgerId, txnId, entryId } = req;
    const { storage } = this.#ctx;
    if (!storage.ledgerExists(ledgerId)) return { op: 'READ_ENTRY', txnId, ledgerId, entryId, status: 'ENOLEDGER' };
    const maxLAC = this.#ctx.lac.get(ledgerId);
    if (maxLAC === undefined) return undefined;
    const body = storage.getEntryNow(ledgerId, entryId);
    return body === undefined ? undefined : { op: 'READ_ENTRY', txnId, ledgerId, entryId, status: 'EOK', maxLAC, body };
  }

  /** Starts the disk reads of plain entry reads, per ledger in ascending entry order; resolves when they are done (never rejects), undefined when none started. */
  #prefetch(reads: readonly ReadEntryRequest[]): Promise<unknown> | undefined {
    const byLedger = new Map<bigint, bigint[]>();
    for (const req of reads) {
      if (req.flag !== undefined || req.previousLAC !== undefined || req.entryId < 0n || !this.#ctx.storage.ledgerExists(req.ledgerId)) continue;
      const ids = byLedger.get(req.ledgerId);
      if (ids === undefined) byLedger.set(req.ledgerId, [req.entryId]);
      else ids.push(req.entryId);
    }
    const started: Promise<unknown>[] = [];
    for (const [ledgerId, ids] of byLedger) {
      if (ids.length < 2) continue;
      try {
        const done = this.#ctx.storage.prefetch(ledgerId, [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        if (done !== undefined) started.push(done);
      } catch (err) {
        // only an optimisation: the reads themselves report what is wrong
        this.#ctx.logger.debug({ err, ledgerId }, 'batched read-ahead failed');
      }
    }
    return started.length === 0 ? undefined : Promise.all(started);
  }

  #unexpected(req: DecodedRequest, err: unknown): Response {
    this.#ctx.logger.error({ err, op: req.op }, 'unexpected failure processing a request');
    return { op: 'STATUS_ONLY', operation: req.op === 'UNSUPPORTED' ? req.operation : req.op, txnId: req.txnId, status: 'EIO' };
  }

  async #dispatch(req: Exclude<DecodedRequest, AddEntryRequest>): Promise<Response> {
    const { txnId } = req;
    switch (req.op) {
      case 'READ_ENTRY':
        return this.#read(req);
      case 'READ_LAC':
        return this.#readLac(req);
      case 'WRITE_LAC':
        return this.#writeLac(req);
      case 'FORCE_LEDGER':
        await this.#lastAppend.catch(() => undefined);
        return { op: 'FORCE_LEDGER', txnId, ledgerId: req.ledgerId, status: 'EOK' };
      case 'GET_BOOKIE_INFO': {
        const fs = await statfs(this.#ctx.ledgerDir, { bigint: true });
        return { op: 'GET_BOOKIE_INFO', txnId, status: 'EOK', totalDiskCapacity: fs.blocks * fs.bsize, freeDiskSpace: fs.bavail * fs.bsize };
      }
      case 'AUTH':
      case 'START_TLS':
        // connection-level: bookie-server.ts answers them before the processor sees a request
        return { op: 'STATUS_ONLY', operation: req.op, txnId, status: 'EBADREQ' };
      case 'GET_LIST_OF_ENTRIES_OF_LEDGER':
        return this.#listEntries(req);
      case 'UNSUPPORTED':
        return { op: 'STATUS_ONLY', operation: req.operation, txnId, status: req.reason === 'BAD_VERSION' ? 'EBADVERSION' : 'EBADREQ' };
    }
  }

  /** Which entries this bookie holds, as Java's bookie answers it (ENOLEDGER for an unknown ledger). */
  async #listEntries(req: GetListOfEntriesOfLedgerRequest): Promise<GetListOfEntriesOfLedgerResponse> {
    const { txnId, ledgerId } = req;
    try {
      const builder = new EntriesAvailabilityBuilder();
      for await (const id of this.#ctx.storage.entryIds(ledgerId)) builder.add(id);
      return { op: 'GET_LIST_OF_ENTRIES_OF_LEDGER', txnId, ledgerId, status: 'EOK', availabilityOfEntriesOfLedger: builder.toBuffer() };
    } catch (err) {
      // NO_LEDGER is the client's question; anything else (a list too long for a frame, a failed index read) is ours to log
      if (!(err instanceof StorageError && err.code === 'NO_LEDGER')) this.#ctx.logger.warn({ err, ledgerId }, 'cannot list the entries of a ledger');
      return { op: 'GET_LIST_OF_ENTRIES_OF_LEDGER', txnId, ledgerId, status: storageStatus(err) };
    }
  }

  #append(record: JournalRecord): Promise<void> {
    const appended = this.#ctx.journal.append(record);
    this.#lastAppend = appended;
    appended.catch(this.#ctx.onWriteFailure);
    return appended;
  }

  /** Binds the master key on first use (journaled); false when another key is bound. */
  #bindKey(ledgerId: bigint, masterKey: Buffer, journaled: Promise<void>[]): boolean {
    try {
      if (this.#ctx.storage.setMasterKey(ledgerId, masterKey)) journaled.push(this.#append({ type: 'masterKey', ledgerId, masterKey }));
      return true;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'MASTER_KEY_MISMATCH') return false;
      throw err;
    }
  }

  /**
   * Synchronous up to the journal append when the write cache has room (the common case), and
   * without a closure per add on that path. Returns the answer of an add refused at once;
   * otherwise the add's outcome goes to `sink`.
   */
  #add(req: AddEntryRequest, sink: AddSink): AddEntryResponse | undefined {
    const { ledgerId, entryId } = req;
    if (this.#ctx.isReadOnly()) return addAnswer(req, 'EREADONLY');
    if (ledgerId < 0n || entryId < 0n || req.body.length < ENTRY_HEADER_SIZE) return addAnswer(req, 'EBADREQ');
    const header = readEntryHeader(req.body);
    // the envelope is what readers get back and verify: it must name this ledger and entry
    if (header.ledgerId !== ledgerId || header.entryId !== entryId) return addAnswer(req, 'EBADREQ');
    const journaled: Promise<void>[] = [];
    const { storage } = this.#ctx;
    if (!this.#bindKey(ledgerId, req.masterKey, journaled)) return addAnswer(req, 'EUA');
    if (this.#fenced(req)) return addAnswer(req, 'EFENCED');
    let added: boolean;
    try {
      added = storage.addEntryNow(ledgerId, entryId, req.body);
    } catch (err) {
      return this.#storageFailed(req, err);
    }
    if (added) {
      sink.journaled(addAnswer(req, 'EOK'), this.#journalAdd(req, header.lastAddConfirmed, journaled));
      return undefined;
    }
    sink.later(storage.addEntry(ledgerId, entryId, req.body)
      .then((): AddEntryResponse | Promise<AddEntryResponse> => {
        // a fence may have landed while the add waited for write-cache room
        if (this.#fenced(req)) return addAnswer(req, 'EFENCED');
        return this.#journalAdd(req, header.lastAddConfirmed, journaled).then(() => addAnswer(req, 'EOK'), (err: unknown) => {
          this.#journalErrors.error('add', { err, ledgerId, entryId }, 'journal write failed');
          return addAnswer(req, 'EIO');
        });
      }, (err: unknown) => this.#storageFailed(req, err))
      .catch((err: unknown) => this.#unexpected(req, err)));
    return undefined;
  }

  #fenced(req: AddEntryRequest): boolean {
    return req.recoveryAdd !== true && this.#ctx.storage.isFenced(req.ledgerId);
  }

  /** Appends the add; its promise also covers `journaled` (a first add's master key record, usually in the same group). */
  #journalAdd(req: AddEntryRequest, lac: bigint, journaled: Promise<void>[]): Promise<void> {
    const { ledgerId, entryId } = req;
    this.#ctx.lac.update(ledgerId, lac);
    const appended = this.#append({ type: 'addEntry', ledgerId, entryId, entry: req.body });
    if (journaled.length === 0) return appended;
    journaled.push(appended);
    return Promise.all(journaled).then(() => undefined);
  }

  #storageFailed(req: AddEntryRequest, err: unknown): AddEntryResponse {
    if (isWriteFailure(err)) this.#ctx.onWriteFailure(err);
    return addAnswer(req, storageStatus(err));
  }

  /** The bookie's LAC for a ledger; after a restart, the LAC piggybacked by its last stored entry. */
  async #lacOf(ledgerId: bigint): Promise<bigint | undefined> {
    const known = this.#ctx.lac.get(ledgerId);
    if (known !== undefined) return known;
    try {
      const last = await this.#ctx.storage.getEntry(ledgerId, -1n);
      const lac = readEntryHeader(last).lastAddConfirmed;
      this.#ctx.lac.update(ledgerId, lac);
      return lac;
    } catch {
      return undefined;
    }
  }

  async #fence(ledgerId: bigint, masterKey: Buffer): Promise<StatusCode> {
    const journaled: Promise<void>[] = [];
    if (!this.#bindKey(ledgerId, masterKey, journaled)) return 'EUA';
    if (await this.#ctx.storage.setFenced(ledgerId)) {
      const synced = Promise.all([...journaled, this.#append({ type: 'fence', ledgerId })]).then(() => undefined);
      this.#fencing.set(ledgerId, synced);
      void synced.finally(() => { if (this.#fencing.get(ledgerId) === synced) this.#fencing.delete(ledgerId); }).catch(() => undefined);
      journaled.push(synced);
    } else {
      const inFlight = this.#fencing.get(ledgerId);
      if (inFlight) journaled.push(inFlight);
    }
    try {
      await Promise.all(journaled);
      return 'EOK';
    } catch (err) {
      this.#journalErrors.error('fence', { err, ledgerId }, 'journal write of a fence failed');
      return 'EIO';
    }
  }

  async #read(req: ReadEntryRequest): Promise<ReadEntryResponse> {
    const { ledgerId, txnId } = req;
    const answer = (status: StatusCode, extra: Partial<ReadEntryResponse> = {}): ReadEntryResponse =>
      ({ op: 'READ_ENTRY', txnId, ledgerId, entryId: req.entryId, status, ...extra });
    if (req.entryId < -1n) return answer('EBADREQ');
    if (req.flag === 'FENCE_LEDGER') {
      if (req.masterKey === undefined) return answer('EUA');
      const fenced = await this.#fence(ledgerId, req.masterKey);
      if (fenced !== 'EOK') return answer(fenced);
      // as Java's bookie: a fencing read's answer carries no maxLAC
      return this.#readEntry(req, req.entryId, answer, false);
    }
    if (req.previousLAC !== undefined) return this.#longPoll(req, req.previousLAC, answer);
    if (req.flag === 'ENTRY_PIGGYBACK') return answer('EBADREQ');
    return this.#readEntry(req, req.entryId, answer);
  }

  async #readEntry(
    req: ReadEntryRequest, entryId: bigint, answer: (status: StatusCode, extra?: Partial<ReadEntryResponse>) => ReadEntryResponse,
    withMaxLac = true,
  ): Promise<ReadEntryResponse> {
    const { storage } = this.#ctx;
    if (!storage.ledgerExists(req.ledgerId)) return answer('ENOLEDGER');
    const maxLAC = await this.#lacOf(req.ledgerId);
    const lac = maxLAC === undefined || !withMaxLac ? {} : { maxLAC };
    try {
      const body = await storage.getEntry(req.ledgerId, entryId);
      return answer('EOK', { ...lac, entryId, body });
    } catch (err) {
      const status = storageStatus(err);
      if (status === 'EIO') this.#ctx.logger.error({ err, ledgerId: req.ledgerId, entryId }, 'entry read failed');
      return answer(status, lac);
    }
  }

  async #longPoll(
    req: ReadEntryRequest, previousLAC: bigint, answer: (status: StatusCode, extra?: Partial<ReadEntryResponse>) => ReadEntryResponse,
  ): Promise<ReadEntryResponse> {
    const piggyback = req.flag === 'ENTRY_PIGGYBACK';
    if (piggyback && req.entryId !== -1n) return answer('EBADREQ');
    if (!this.#ctx.storage.ledgerExists(req.ledgerId)) return answer('ENOLEDGER');
    await this.#lacOf(req.ledgerId);
    const timeout = Math.min(Number(req.timeOut ?? 0n), MAX_LONG_POLL_MS);
    const lac = await this.#ctx.lac.waitAbove(req.ledgerId, previousLAC, timeout);
    // without piggyback Java's bookie reads the requested entry whether or not the LAC moved
    if (!piggyback) return this.#readEntry(req, req.entryId, answer);
    if (lac === undefined || lac <= previousLAC) return answer('EOK', lac === undefined ? {} : { maxLAC: lac });
    const next = previousLAC + 1n;
    const read = await this.#readEntry(req, next, answer);
    // the LAC moved but this bookie may not hold the next entry (not in its write set): still EOK
    return read.status === 'ENOENTRY' ? answer('EOK', { maxLAC: lac, entryId: next }) : read;
  }

  async #readLac(req: ReadLacRequest): Promise<ReadLacResponse> {
    const { storage } = this.#ctx;
    const base = { op: 'READ_LAC', txnId: req.txnId, ledgerId: req.ledgerId } as const;
    // Java's bookie: neither an explicit LAC nor a last entry is ENOENTRY, for an unknown ledger too
    if (!storage.ledgerExists(req.ledgerId)) return { ...base, status: 'ENOENTRY' };
    const lacBody = storage.getExplicitLac(req.ledgerId);
    let lastEntryBody: Buffer | undefined;
    try {
      lastEntryBody = await storage.getEntry(req.ledgerId, -1n);
    } catch (err) {
      const status = storageStatus(err);
      if (status !== 'ENOENTRY') return { ...base, status };
    }
    if (lacBody === undefined && lastEntryBody === undefined) return { ...base, status: 'ENOENTRY' };
    return {
      ...base, status: 'EOK', ...(lacBody === undefined ? {} : { lacBody }), ...(lastEntryBody === undefined ? {} : { lastEntryBody }),
    };
  }

  async #writeLac(req: WriteLacRequest): Promise<WriteLacResponse> {
    const { ledgerId } = req;
    const answer = (status: StatusCode): WriteLacResponse => ({ op: 'WRITE_LAC', txnId: req.txnId, ledgerId, status });
    if (this.#ctx.isReadOnly()) return answer('EREADONLY');
    const journaled: Promise<void>[] = [];
    if (!this.#bindKey(ledgerId, req.masterKey, journaled)) return answer('EUA');
    this.#ctx.storage.setExplicitLac(ledgerId, req.body);
    this.#ctx.lac.update(ledgerId, req.lac);
    journaled.push(this.#append({ type: 'explicitLac', ledgerId, lac: req.lac, lacEnvelope: req.body }));
    try {
      await Promise.all(journaled);
      return answer('EOK');
    } catch (err) {
      this.#journalErrors.error('lac', { err, ledgerId }, 'journal write of an explicit LAC failed');
      return answer('EIO');
    }
  }
}
