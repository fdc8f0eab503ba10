// A log reader (DL's AsyncLogReader, §6.1): records from a start position, each once and in order,
// tailing the log as the writer appends and rolls segments. A LogReadAhead fills a buffer bounded in
// entries and bytes; a consumer that stops reading stops the fetching. Errors are sticky: once the
// read-ahead fails, every pending and later read fails with that first error, buffered records
// included. End of stream is a position: it is raised after the records before it were read.
import { InvalidArgumentError } from '../../errors.js';
import type { LedgerClient } from '../../ledger/ledger-client.js';
import { childLogger, noopLogger, type Logger } from '../../util/logger.js';
import { LogError } from '../log-error.js';
import type { LogMetadataStore } from '../metadata/log-metadata-store.js';
import { LOG_RECORD_HEADER_SIZE } from '../format/log-record.js';
import { LogReadAhead, type LogRecordRun, type LogRecordWithDLSN, type ReadAheadSink, type ReadStart } from './log-read-ahead.js';
import { RecordRunQueue } from './record-run-queue.js';
import type { LogMetrics } from '../log-metrics.js';
import type { SegmentListRegistry } from './segment-list-registry.js';

export type { LogRecordWithDLSN, ReadStart } from './log-read-ahead.js';

export interface LogReaderContext {
  readonly logName: string;
  readonly metadata: LogMetadataStore;
  readonly ledgers: LedgerClient;
  /** The ledgers' password (DL's digestPw). Default empty. */
  readonly password?: Uint8Array;
  readonly logger?: Logger;
  readonly metrics?: LogMetrics;
  /** Shares one segment-list follower per log among the namespace's readers (see SegmentListRegistry). */
  readonly segmentLists?: SegmentListRegistry;
}

export interface LogReaderOptions {
  /**
   * Read-ahead stops once this many entries are buffered and unread. A ledger read fetches a
   * quarter of readAheadBytes, at most this many entries (small entries: fewer, larger requests),
   * with up to three such reads in flight ahead of the one being buffered (a catch-up of small
   * entries is bound by round trips). Default 64 (DL's readAheadMaxRecords is 10 entries of at most 1 KiB batches;
   * our entries hold up to 256 KiB, so the byte bound usually applies first).
   */
  readonly readAheadEntries?: number;
  /**
   * Read-ahead stops once the unread records (payload + 20-byte header each) reach this many bytes.
   * One more ledger read may be in flight on top. Default 16 MiB.
   */
  readonly readAheadBytes?: number;
  /** How long one long poll on an in-progress segment waits for a new entry. Default 1000 ms (DL's readLACLongPollTimeout). */
  readonly longPollTimeoutMs?: number;
  /** Period of the safety-net re-list of the segments, on top of the ZooKeeper watch. Default 5000 ms. */
  readonly relistIntervalMs?: number;
}

export const DEFAULT_READ_AHEAD_ENTRIES = 64;
/** Ledger reads (of a quarter of readAheadEntries each) in flight ahead of the one being buffered. */
const READ_BATCHES_AHEAD = 3;
export const DEFAULT_READ_AHEAD_BYTES = 16 * 1024 * 1024;
export const DEFAULT_LONG_POLL_TIMEOUT_MS = 1_000;
export const DEFAULT_RELIST_INTERVAL_MS = 5_000;

interface Waiter {
  readonly max: number;
  readonly resolve: (records: LogRecordWithDLSN[]) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  /** Removes the abort listener of the read's signal, if it had one. */
  unlisten: (() => void) | undefined;
}

export interface ReadOptions {
  /** Aborting it rejects the waiting read with `signal.reason`; no record is lost (the next read gets it). */
  readonly signal?: AbortSignal;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${v}`);
  return v;
}


export class LogReader implements AsyncIterable<LogRecordWithDLSN> {
  readonly #logName: string;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #readAhead: LogReadAhead | undefined;
  /** Unread records, as the read-ahead's runs (shared with the other readers of the log). */
  readonly #unread = new RecordRunQueue();
  #waiters: Waiter[] = [];
  #roomWaiter: (() => void) | undefined;
  #failure: Error | undefined;
  #endOfStream = false;
  #closed = false;
  /**
   * Set while positioned by txid: records below it are dropped until the first that is not. The
   * search positions by the records present at open; on an empty or short log, records written
   * later with a lower txid would otherwise slip in.
   */
  #fromTxId: bigint | undefined;
  #recordsRead = 0;
  #metrics: LogMetrics | undefined;
  /** Stops counting this reader's buffer in the read-ahead gauges. */
  #untrack: (() => void) | undefined;
  #settleClosed!: (err?: Error) => void;
  /**
   * Settles when the reader stops: resolves once close() ran, rejects with the sticky error as soon
   * as the reader fails, without waiting for the next read. Never an unhandled rejection by itself.
   */
  readonly closed: Promise<void> = new Promise<void>((resolve, reject) => {
    this.#settleClosed = (err) => { if (err === undefined) resolve(); else reject(err); };
  });

  private constructor(logName: string, maxEntries: number, maxBytes: number) {
    this.#logName = logName;
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.closed.catch(() => undefined);
  }

  /**
   * Opens a reader at `start` (default: the first readable record). Truncated segments and records
   * below a partially truncated segment's min active DLSN are skipped; `fromTxId` positions at the
   * first record with txid >= it (§6.2), or after the last record when there is none yet.
   * LOG_NOT_FOUND if the log does not exist.
   */
  static async open(ctx: LogReaderContext, start: ReadStart = {}, options: LogReaderOptions = {}): Promise<LogReader> {
    const maxEntries = positiveInteger('readAheadEntries', options.readAheadEntries, DEFAULT_READ_AHEAD_ENTRIES);
    const maxBytes = positiveInteger('readAheadBytes', options.readAheadBytes, DEFAULT_READ_AHEAD_BYTES);
    const reader = new LogReader(ctx.logName, maxEntries, maxBytes);
    reader.#fromTxId = start.fromTxId;
    reader.#metrics = ctx.metrics;
    reader.#readAhead = await LogReadAhead.open(
      {
        logName: ctx.logName,
        metadata: ctx.metadata,
        ledgers: ctx.ledgers,
        ...(ctx.password === undefined ? {} : { password: ctx.password }),
        logger: childLogger(ctx.logger ?? noopLogger, { log: ctx.logName }),
        batchEntries: maxEntries,
        batchBytes: Math.ceil(maxBytes / 4),
        batchesAhead: READ_BATCHES_AHEAD,
        longPollTimeoutMs: positiveInteger('longPollTimeoutMs', options.longPollTimeoutMs, DEFAULT_LONG_POLL_TIMEOUT_MS),
        relistIntervalMs: positiveInteger('relistIntervalMs', options.relistIntervalMs, DEFAULT_RELIST_INTERVAL_MS),
        ...(ctx.segmentLists === undefined ? {} : { segmentLists: ctx.segmentLists }),
      },
      start,
      reader.#sink,
    );
    // only once open: a reader that failed to open would stay in the gauges for good
    reader.#untrack = ctx.metrics?.trackReadAhead(() => reader.stats());
    return reader;
  }

  /** Bytes of unread records held (payload + header each); internal, for tests and stats. */
  get bufferedBytes(): number {
    return this.#unread.bytes;
  }

  /** close() was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Counters since this reader opened. */
  stats(): { readonly recordsRead: number; readonly bufferedBytes: number; readonly bufferedEntries: number } {
    return { recordsRead: this.#recordsRead, bufferedBytes: this.#unread.bytes, bufferedEntries: this.#unread.entries };
  }

  /** Entries with unread records held; internal, for tests and stats. */
  get bufferedEntries(): number {
    return this.#unread.entries;
  }

  /**
   * The next record, waiting for one if need be. Rejects with END_OF_STREAM after the last record of
   * a sealed log, READER_CLOSED after close(), the reader's sticky error, or `signal.reason`.
   */
  async readNext(opts: ReadOptions = {}): Promise<LogRecordWithDLSN> {
    // without a deadline the request resolves only with a record
    return (await this.#request(1, undefined, opts.signal))[0] as LogRecordWithDLSN;
  }

  /**
   * Up to `max` records: those buffered now, or else the first to arrive within `waitMs` (default 0:
   * no wait, possibly []). Same rejections as readNext.
   */
  readBulk(max: number, opts: ReadOptions & { waitMs?: number } = {}): Promise<LogRecordWithDLSN[]> {
    if (!Number.isSafeInteger(max) || max < 1) return Promise.reject(new InvalidArgumentError(`max must be a positive integer, got ${max}`));
    const waitMs = opts.waitMs ?? 0;
    if (!(waitMs >= 0)) return Promise.reject(new InvalidArgumentError(`waitMs must be >= 0, got ${waitMs}`));
    return this.#request(max, waitMs, opts.signal);
  }

  /**
   * Stops the read-ahead and releases its watch, timer and ledger handle. Pending and later reads
   * reject with READER_CLOSED (a for-await loop just ends). Buffered records are dropped.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#drop(() => this.#closedError());
      this.#untrack?.();
    }
    await this.#readAhead?.stop();
    this.#settleClosed();
  }

  /**
   * Records until end of stream or close (then the loop ends normally); other errors are thrown.
   * Leaving the loop early does not close the reader.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<LogRecordWithDLSN> {
    for (;;) {
      let record: LogRecordWithDLSN;
      try {
        record = await this.readNext();
      } catch (err) {
        if (err instanceof LogError && (err.code === 'END_OF_STREAM' || err.code === 'READER_CLOSED')) return;
        throw err;
      }
      yield record;
    }
  }

  readonly #sink: ReadAheadSink = {
    deliver: (runs) => {
      if (this.#closed || this.#failure) return;
      for (const run of runs) {
        const kept = this.#fromTxId === undefined ? run : this.#sinceTxId(run);
        if (kept.length > 0) this.#unread.push(kept);
      }
      while (!this.#unread.isEmpty) {
        const waiter = this.#waiters.shift();
        if (waiter === undefined) break;
        clearTimeout(waiter.timer);
        waiter.unlisten?.();
        waiter.resolve(this.#take(waiter.max));
      }
    },
    endOfStream: () => {
      this.#endOfStream = true;
      // waiters exist only while the buffer is empty
      for (const w of this.#waiters.splice(0)) this.#settle(w, this.#endOfStreamError());
    },
    fail: (err) => {
      if (this.#closed || this.#failure) return;
      this.#failure = err;
      this.#drop(() => err);
      this.#untrack?.();
      this.#settleClosed(err);
    },
    waitForRoom: () => {
      if (this.#hasRoom()) return undefined;
      return new Promise((resolve) => {
        this.#roomWaiter = resolve;
      });
    },
  };

  #request(max: number, waitMs: number | undefined, signal: AbortSignal | undefined): Promise<LogRecordWithDLSN[]> {
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(this.#closedError());
    if (!this.#unread.isEmpty) return Promise.resolve(this.#take(max));
    if (this.#endOfStream) return Promise.reject(this.#endOfStreamError());
    if (waitMs === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { max, resolve, reject, timer: undefined, unlisten: undefined };
      const leave = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        clearTimeout(waiter.timer);
        waiter.unlisten?.();
      };
      if (waitMs !== undefined) {
        waiter.timer = setTimeout(() => {
          leave();
          resolve([]);
        }, waitMs);
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          leave();
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.unlisten = () => { signal.removeEventListener('abort', onAbort); };
      }
      this.#waiters.push(waiter);
    });
  }

  /** The run's records from the first with txid >= #fromTxId on; clears #fromTxId once one is found. */
  #sinceTxId(run: LogRecordRun): LogRecordRun {
    const from = this.#fromTxId ?? 0n;
    const first = run.findIndex((r) => r.txid >= from);
    if (first < 0) return [];
    this.#fromTxId = undefined;
    return first === 0 ? run : run.slice(first);
  }

  /** Removes up to `max` unread records, keeping the counts, and wakes the read-ahead. */
  #take(max: number): LogRecordWithDLSN[] {
    const bytesBefore = this.#unread.bytes;
    const out = this.#unread.take(max);
    this.#recordsRead += out.length;
    this.#metrics?.recordsRead.inc(out.length);
    this.#metrics?.bytesRead.inc(bytesBefore - this.#unread.bytes - out.length * LOG_RECORD_HEADER_SIZE);
    if (this.#hasRoom()) this.#wakeReadAhead();
    return out;
  }

  #hasRoom(): boolean {
    return this.#closed || this.#failure !== undefined
      || (this.#unread.entries < this.#maxEntries && this.#unread.bytes < this.#maxBytes);
  }

  #wakeReadAhead(): void {
    const wake = this.#roomWaiter;
    this.#roomWaiter = undefined;
    wake?.();
  }

  /** Empties the buffer, fails every waiter and lets the read-ahead run into its stop. */
  #drop(error: () => Error): void {
    this.#unread.clear();
    for (const w of this.#waiters.splice(0)) this.#settle(w, error());
    this.#wakeReadAhead();
  }

  #settle(waiter: Waiter, err: Error): void {
    clearTimeout(waiter.timer);
    waiter.unlisten?.();
    waiter.reject(err);
  }

  #closedError(): LogError {
    return new LogError('READER_CLOSED', `reader of log ${this.#logName} is closed`);
  }

  #endOfStreamError(): LogError {
    return new LogError('END_OF_STREAM', `log ${this.#logName} has ended: its writer marked the end of stream`);
  }
}
