// The reader of one log segment (one ledger), DL's BKLogSegmentEntryReader plus the record filtering
// of BKAsyncLogReader (§6.1–6.3): positions by DLSN, drops control records and records before the
// start, surfaces end of stream, reads only up to the LAC and long-polls once caught up.
//
// Read-ahead: entries are fetched in batches of up to readAheadEntries (never past the known LAC),
// sized by batchBytes once the entry size is known, and up to batchesAhead next batches are fetched
// in the background while the caller handles the current one: a catch-up of small entries is bound
// by round trips and by requests per socket write, not by the bookies.
import type { LedgerHandle } from '../../ledger/ledger-handle.js';
import type { Entry } from '../../protocol/bk-entry-envelope.js';
import { InvalidArgumentError } from '../../errors.js';
import { noopLogger, type Logger } from '../../util/logger.js';
import { DLSN } from '../format/dlsn.js';
import { decodeEnvelopedEntry } from '../format/dl-entry-envelope.js';
import { isControl, isEndOfStream } from '../format/log-record.js';
import { readEntryRecords } from '../format/entry-records.js';

export interface LogSegmentReaderOptions {
  /** First position to return; records before it are skipped. Default: the segment's start. */
  readonly from?: DLSN;
  /** The segment's startSequenceId (v5 metadata), to give records a sequenceId. */
  readonly startSequenceId?: bigint;
  /** Most entries fetched per read. Default 16. */
  readonly readAheadEntries?: number;
  /** Batches fetched ahead of the caller. Default 1. */
  readonly batchesAhead?: number;
  /**
   * Bytes a batch aims at: once entries were read, a batch holds about this many bytes of them (at
   * least one entry, at most readAheadEntries); the first batch is a quarter of readAheadEntries.
   * Default: none, every batch is readAheadEntries entries.
   */
  readonly batchBytes?: number;
  /** Entries carry the enveloped header (segment metadata version >= 4). Default true. */
  readonly enveloped?: boolean;
  readonly logger?: Logger;
}

export interface ReadRecord {
  readonly dlsn: DLSN;
  readonly txid: bigint;
  readonly payload: Buffer;
  /** The record's 1-based position in its segment (the writer's count of user records). */
  readonly position: number;
  readonly sequenceId?: bigint;
}

/**
 * The user records of one entry, in order. A run of a whole entry is the same array for every
 * reader of that entry in this process: read-only, never to be modified.
 */
export type RecordRun = readonly ReadRecord[];

/** Runs of consecutive entries (none empty), or where the segment ended. */
export type ReadResult = RecordRun[] | 'end-of-segment' | 'end-of-stream';

export const DEFAULT_READ_AHEAD_ENTRIES = 16;
/** Pause after a long poll that ended early without progress (DL's readAheadWaitTime). */
const POLL_BACKOFF_MS = 200;

export class LogSegmentReader {
  readonly lssn: bigint;
  readonly #handle: LedgerHandle;
  readonly #from: DLSN;
  readonly #startSequenceId: bigint | undefined;
  readonly #readAhead: number;
  readonly #enveloped: boolean;
  readonly #logger: Logger;

  readonly #batchesAhead: number;
  readonly #batchBytes: number | undefined;
  /** What this reader decodes entries for (segment, sequence ids, envelope): see #decoded. */
  readonly #decodeKey: string;
  /** Entries fetched and their payload bytes, for the batch size. */
  #entriesFetched = 0;
  #bytesFetched = 0;
  /** Next entry to fetch (fetched entries may wait in #prefetch). */
  #nextEntryId: bigint;
  /** Highest LAC seen from the ledger. */
  #lac: bigint;
  /** The batches being fetched ahead of the caller, oldest first. */
  #prefetch: Promise<Entry[]>[] = [];
  #endOfStream = false;
  #error: Error | undefined;
  /** The read-ahead let go of this reader: a read failing after that (client closed) is expected. */
  #abandoned = false;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(handle: LedgerHandle, lssn: bigint, options: LogSegmentReaderOptions = {}) {
    const from = options.from ?? DLSN.firstOf(lssn);
    if (from.logSegmentSequenceNo > lssn) {
      throw new InvalidArgumentError(`start DLSN (${from.logSegmentSequenceNo}, ${from.entryId}, ${from.slotId}) is past segment ${lssn}`);
    }
    const readAhead = options.readAheadEntries ?? DEFAULT_READ_AHEAD_ENTRIES;
    if (!Number.isInteger(readAhead) || readAhead < 1) {
      throw new InvalidArgumentError(`readAheadEntries must be a positive integer, got ${readAhead}`);
    }
    this.lssn = lssn;
    this.#handle = handle;
    this.#from = from;
    this.#startSequenceId = options.startSequenceId;
    this.#readAhead = readAhead;
    this.#batchesAhead = options.batchesAhead ?? 1;
    this.#batchBytes = options.batchBytes;
    if (!Number.isInteger(this.#batchesAhead) || this.#batchesAhead < 1) {
      throw new InvalidArgumentError(`batchesAhead must be a positive integer, got ${this.#batchesAhead}`);
    }
    this.#enveloped = options.enveloped ?? true;
    this.#decodeKey = `${lssn}:${options.startSequenceId}:${this.#enveloped}`;
    this.#logger = options.logger ?? noopLogger;
    this.#nextEntryId = from.logSegmentSequenceNo === lssn && from.entryId > 0n ? from.entryId : 0n;
    this.#lac = handle.lastAddConfirmed;
  }

  /** Highest LAC this reader has seen. */
  get lastAddConfirmed(): bigint {
    return this.#lac;
  }

  /**
   * The next batch of user records; [] when caught up on an open ledger and nothing arrived within
   * `waitMs`; 'end-of-segment' once a closed ledger is consumed; 'end-of-stream' after the records
   * before an EOS record. Errors are sticky. Calls are served one at a time, in order.
   */
  readNext(waitMs = 0): Promise<ReadResult> {
    const result = this.#chain.then(() => this.#readNext(waitMs));
    this.#chain = result.catch(() => undefined);
    return result;
  }

  /** No more reads will be awaited: a long poll still in flight may fail quietly (the reader is closing). */
  abandon(): void {
    this.#abandoned = true;
  }

  async #readNext(waitMs: number): Promise<ReadResult> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#endOfStream) return 'end-of-stream';
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        const entries = await this.#fetch(deadline);
        if (entries === 'end-of-segment') return entries;
        if (entries.length === 0) return [];
        const { runs, endOfStream } = this.#decode(entries);
        if (endOfStream) return runs.length > 0 ? runs : 'end-of-stream';
        // Start the next batch while the caller handles this one.
        this.#startPrefetch();
        if (runs.length > 0) return runs;
        // only control records (or records before the start): keep going
      }
    } catch (err) {
      this.#error = err instanceof Error ? err : new Error(String(err));
      if (!this.#abandoned) this.#logger.warn({ err, lssn: String(this.lssn), ledgerId: String(this.#handle.id) }, 'log segment reader failed');
      throw err;
    }
  }

  /** The next entries up to the LAC, waiting until `deadline` for the LAC to move. */
  async #fetch(deadline: number): Promise<Entry[] | 'end-of-segment'> {
    const ahead = this.#prefetch.shift();
    if (ahead) return ahead;
    for (;;) {
      this.#lac = maxOf(this.#lac, this.#handle.lastAddConfirmed);
      if (this.#nextEntryId <= this.#lac) return this.#readBatch();
      if (this.#handle.isClosed) return 'end-of-segment';
      // Caught up on an open ledger: long-poll for the next entry.
      const wait = Math.max(0, deadline - Date.now());
      const { lastAddConfirmed, entry } = await this.#handle.readLastAddConfirmedAndEntry(this.#lac, wait);
      this.#lac = maxOf(this.#lac, lastAddConfirmed);
      if (entry && entry.entryId === this.#nextEntryId && entry.entryId <= this.#lac) {
        this.#nextEntryId += 1n;
        return [entry];
      }
      if (this.#nextEntryId <= this.#lac) return this.#readBatch();
      const left = deadline - Date.now();
      if (left <= 0) return [];
      // The poll gave up early (bookies erroring): back off as DL's readAheadWaitTime does.
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, POLL_BACKOFF_MS)));
    }
  }

  /** Reads [next, min(next + batch size - 1, LAC)] and advances. Caller ensures next <= LAC. */
  #readBatch(): Promise<Entry[]> {
    const first = this.#nextEntryId;
    const last = minOf(first + BigInt(this.#batchEntries()) - 1n, this.#lac);
    this.#nextEntryId = last + 1n;
    return this.#handle.readEntries(first, last).then((entries) => {
      for (const e of entries) this.#bytesFetched += e.payload.length;
      this.#entriesFetched += entries.length;
      return entries;
    });
  }

  #batchEntries(): number {
    if (this.#batchBytes === undefined) return this.#readAhead;
    if (this.#entriesFetched === 0) return Math.ceil(this.#readAhead / 4);
    const perEntry = Math.max(1, this.#bytesFetched / this.#entriesFetched);
    return Math.max(1, Math.min(this.#readAhead, Math.floor(this.#batchBytes / perEntry)));
  }

  #startPrefetch(): void {
    if (this.#endOfStream) return;
    this.#lac = maxOf(this.#lac, this.#handle.lastAddConfirmed);
    while (this.#prefetch.length < this.#batchesAhead && this.#nextEntryId <= this.#lac) {
      const p = this.#readBatch();
      p.catch(() => undefined); // surfaced when the caller awaits it
      this.#prefetch.push(p);
    }
  }

  /**
   * User records at or after the start, one run per entry; stops at an EOS record. An entry past
   * the start without an EOS record is passed on as its shared run: no per-record work per reader.
   */
  #decode(entries: Entry[]): { runs: RecordRun[]; endOfStream: boolean } {
    const runs: RecordRun[] = [];
    for (const entry of entries) {
      const decoded = this.#decoded(entry);
      // only the entry holding the start position has records before it
      const checkFrom = this.lssn === this.#from.logSegmentSequenceNo && entry.entryId <= this.#from.entryId;
      if (!checkFrom && !decoded.endOfStream) {
        if (decoded.users.length > 0) runs.push(decoded.users);
        continue;
      }
      const run: ReadRecord[] = [];
      for (const r of decoded.records) {
        if (checkFrom && r.record.dlsn.compare(this.#from) < 0) continue;
        if (r.kind === 'end-of-stream') {
          this.#endOfStream = true;
          this.#prefetch = [];
          if (run.length > 0) runs.push(run);
          return { runs, endOfStream: true };
        }
        if (r.kind === 'user') run.push(r.record);
      }
      if (run.length > 0) runs.push(run);
    }
    return { runs, endOfStream: false };
  }

  /**
   * The entry's records, decoded once for every reader of it in this process: readers of one log
   * get the same Entry objects from the shared reads, and then the same (read-only) records.
   */
  #decoded(entry: Entry): DecodedEntry {
    const key = this.#decodeKey;
    const cached = decodedEntries.get(entry);
    if (cached?.key === key) return cached;
    const bytes = this.#enveloped ? decodeEnvelopedEntry(entry.payload) : entry.payload;
    const opts = this.#startSequenceId === undefined ? {} : { startSequenceId: this.#startSequenceId };
    const records: DecodedRecord[] = [];
    const users: ReadRecord[] = [];
    let endOfStream = false;
    for (const r of readEntryRecords(bytes, opts)) {
      const dlsn = new DLSN(this.lssn, entry.entryId, r.slotId);
      const record: ReadRecord = r.sequenceId === undefined
        ? { dlsn, txid: r.txid, payload: r.payload, position: r.position }
        : { dlsn, txid: r.txid, payload: r.payload, position: r.position, sequenceId: r.sequenceId };
      const kind = isEndOfStream(r) ? 'end-of-stream' : isControl(r) ? 'control' : 'user';
      records.push({ kind, record });
      if (kind === 'user') users.push(record);
      else if (kind === 'end-of-stream') endOfStream = true;
    }
    const decoded: DecodedEntry = { key, records, users, endOfStream };
    decodedEntries.set(entry, decoded);
    return decoded;
  }
}

interface DecodedRecord {
  readonly kind: 'user' | 'control' | 'end-of-stream';
  readonly record: ReadRecord;
}

interface DecodedEntry {
  /** What the entry was decoded for (segment, sequence ids, envelope). */
  readonly key: string;
  readonly records: readonly DecodedRecord[];
  /** The user records alone: the run handed to every reader that reads the whole entry. */
  readonly users: RecordRun;
  /** The entry holds an EOS record. */
  readonly endOfStream: boolean;
}

/** Entries decoded by some segment reader. */
const decodedEntries = new WeakMap<Entry, DecodedEntry>();

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
