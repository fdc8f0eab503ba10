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
      return 'EIO';
  }
}

export class RequestProcessor {
  readonly #ctx: ProcessorContext;
  /** Fence records not yet synced, so a second fence read of the ledger waits for the first. */
  readonly #fencing = new Map<bigint, Promise<void>>();
  /** The latest journal append: FORCE_LEDGER completes when it is synced. */
  #lastAppend: Promise<void> = Promise.resolve();

  constructor(ctx: ProcessorContext) {
    this.#ctx = ctx;
  }

  process(req: DecodedRequest): Promise<Response> {
    // adds skip the async wrapper: #add's promise never rejects, only its synchronous part can throw
    if (req.op === 'ADD_ENTRY') {
      try {
        return this.#add(req);
      } catch (err) {
        return Promise.resolve(this.#unexpected(req, err));
      }
    }
    return this.#dispatch(req).catch((err: unknown) => this.#unexpected(req, err));
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
   * Synchronous up to the journal append when the write cache has room (the common case): one
   * promise reaction per add between the journal's group sync and the response.
   */
  #add(req: AddEntryRequest): Promise<Response> {
    const { ledgerId, entryId } = req;
    const answer = (status: StatusCode): AddEntryResponse => ({ op: 'ADD_ENTRY', txnId: req.txnId, ledgerId, entryId, status });
    const refuse = (status: StatusCode): Promise<AddEntryResponse> => Promise.resolve(answer(status));
    if (this.#ctx.isReadOnly()) return refuse('EREADONLY');
    if (ledgerId < 0n || entryId < 0n || req.body.length < ENTRY_HEADER_SIZE) return refuse('EBADREQ');
    const header = readEntryHeader(req.body);
    // the envelope is what readers get back and verify: it must name this ledger and entry
    if (header.ledgerId !== ledgerId || header.entryId !== entryId) return refuse('EBADREQ');
    const journaled: Promise<void>[] = [];
    const { storage } = this.#ctx;
    if (!this.#bindKey(ledgerId, req.masterKey, journaled)) return refuse('EUA');
    const fenced = (): boolean => req.recoveryAdd !== true && storage.isFenced(ledgerId);
    if (fenced()) return refuse('EFENCED');
    const journal = (): Promise<AddEntryResponse> => {
      // a fence may have landed while the add waited for write-cache room
      if (fenced()) return refuse('EFENCED');
      this.#ctx.lac.update(ledgerId, header.lastAddConfirmed);
      journaled.push(this.#append({ type: 'addEntry', ledgerId, entryId, entry: req.body }));
      const synced = journaled.length === 1 ? journaled[0] as Promise<void> : Promise.all(journaled);
      return synced.then(() => answer('EOK'), (err: unknown) => {
        this.#ctx.logger.error({ err, ledgerId, entryId }, 'journal write failed');
        return answer('EIO');
      });
    };
    const storageFailed = (err: unknown): AddEntryResponse => {
      if (isWriteFailure(err)) this.#ctx.onWriteFailure(err);
      return answer(storageStatus(err));
    };
    let added: boolean;
    try {
      added = storage.addEntryNow(ledgerId, entryId, req.body);
    } catch (err) {
      return Promise.resolve(storageFailed(err));
    }
    if (added) return journal();
    return storage.addEntry(ledgerId, entryId, req.body)
      .then(journal, storageFailed)
      .catch((err: unknown) => this.#unexpected(req, err));
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
      this.#ctx.logger.error({ err, ledgerId }, 'journal write of a fence failed');
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
      this.#ctx.logger.error({ err, ledgerId }, 'journal write of an explicit LAC failed');
      return answer('EIO');
    }
  }
}
