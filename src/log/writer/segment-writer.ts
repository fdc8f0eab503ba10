// The writer of one in-progress log segment (one ledger), DL's BKLogSegmentWriter (§5.3).
//
// Batching is adaptive: a record is sent at once when no data entry is in flight; otherwise records
// gather until the in-flight entry is acked or the buffer reaches maxEntryBytes. The flush timer is
// only a backstop bounding how long a record can sit behind a slow in-flight entry. This replaces
// DL's 1 KiB buffer without a flush timer, which can stall a lone small write forever (§10, §12.15).
//
// Visibility: readers see entries <= LAC, and the LAC rides on the next add. Once the last data
// entry is acked and nothing else is pending, a control record entry is written (DL's
// enableImmediateFlush commit), so readLastAddConfirmed covers the data. We use a control record
// rather than the ledger's explicit LAC because it is what DL readers and recovery expect, it needs
// no bookie-side WRITE_LAC support and it is durable like any entry.
import type { LedgerHandle } from '../../ledger/ledger-handle.js';
import { noopLogger, type Logger } from '../../util/logger.js';
import type { LogMetrics } from '../log-metrics.js';
import { RingQueue } from '../../util/ring-queue.js';
import type { CompressionCodec } from '../format/compression.js';
import { DLSN } from '../format/dlsn.js';
import { ENVELOPE_HEADER_SIZE, encodeEnvelopedEntry, envelopeInPlace } from '../format/dl-entry-envelope.js';
import { LogError } from '../log-error.js';
import { recordSetCount } from '../format/log-record-set.js';
import {
  controlRecord,
  endOfStreamRecord,
  isRecordSet,
  type LogRecord,
  logRecordSize,
  MAX_LOGRECORDSET_SIZE,
  MAX_POSITION,
  MAX_TXID,
  RecordFlags,
} from '../format/log-record.js';
import { EntryRecordWriter } from '../format/entry-records.js';

export interface LogSegmentWriterOptions {
  /** Entry size that triggers a transmit. Default 256 KiB, at most 1,044,480 (DL's entry limit). */
  readonly maxEntryBytes?: number;
  /**
   * Backstop: buffered records are sent at most this long after the first was buffered, even if
   * an entry is still in flight. Default 5 ms (see DEFAULT_FLUSH_INTERVAL_MS); 0 disables it.
   */
  readonly flushIntervalMs?: number;
  /** Entry codec. Default 'none'. */
  readonly compression?: CompressionCodec;
  /**
   * Bytes (20 + payload per record) accepted but not yet acked. A write that would go past it waits
   * in FIFO order for room. Default 8 MiB; must be >= 1,044,480.
   */
  readonly maxPendingBytes?: number;
  /** A write waiting for room longer than this rejects with WRITE_LIMIT_EXCEEDED. Default 30 s. */
  readonly pendingTimeoutMs?: number;
  readonly logger?: Logger;
  /** Counts acknowledged user records (latency from append/write to the ack, records, bytes). */
  readonly metrics?: LogMetrics | undefined;
  /**
   * Called once, synchronously, with the sticky error when the segment fails (fencing, a ledger
   * error, abort), before any pending write is rejected.
   */
  readonly onFailed?: (error: Error) => void;
}

/** Settles one write: exactly one of the two is called, once. */
export type Resolve = (dlsn: DLSN) => void;
export type Reject = (err: unknown) => void;

export interface LogSegmentCompletion {
  /** The last txid written (MAX after end of stream); -1 when the segment is empty. */
  readonly lastTxId: bigint;
  /** The last entry and its last slot, control records included (as recovery would find); -1 if none. */
  readonly lastEntryId: bigint;
  readonly lastSlotId: bigint;
  /** User records in the segment: the last position. */
  readonly recordCount: number;
}

export const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024;
/**
 * A LAN ack usually takes 1-3 ms, so 5 ms rarely fires and batching stays driven by acks; when a
 * bookie is slow it caps the extra queueing delay and lets a second entry go out in parallel.
 */
export const DEFAULT_FLUSH_INTERVAL_MS = 5;
export const DEFAULT_MAX_PENDING_BYTES = 8 * 1024 * 1024;
export const DEFAULT_PENDING_TIMEOUT_MS = 30_000;

interface Waiter {
  readonly slot: bigint;
  readonly resolve: Resolve;
  readonly reject: Reject;
  /** performance.now() when written (0 without metrics); -1: not a user record (end of stream). */
  readonly startedAt: number;
  readonly payloadBytes: number;
}

interface Flight {
  readonly waiters: Waiter[];
  readonly bytes: number;
  readonly control: boolean;
  readonly lastSlot: bigint;
  entryId: bigint | undefined;
}

interface Queued {
  readonly record: LogRecord;
  readonly size: number;
  readonly resolve: Resolve;
  readonly reject: Reject;
  readonly startedAt: number;
  /** Date.now() after which it rejects with WRITE_LIMIT_EXCEEDED. */
  readonly deadline: number;
}

export class LogSegmentWriter {
  readonly lssn: bigint;
  readonly #handle: LedgerHandle;
  readonly #maxEntryBytes: number;
  readonly #flushIntervalMs: number;
  readonly #codec: CompressionCodec;
  readonly #maxPendingBytes: number;
  readonly #pendingTimeoutMs: number;
  readonly #logger: Logger;
  readonly #metrics: LogMetrics | undefined;
  readonly #onFailed: ((error: Error) => void) | undefined;

  #buffer = newEntry();
  #bufferWaiters: Waiter[] = [];
  #bufferBytes = 0;
  #flights = new RingQueue<Flight>();
  #dataInFlight = 0;
  #queue = new RingQueue<Queued>();
  #queuedBytes = 0;
  /** One timer for the whole queue, armed for the head's deadline (not one per queued write). */
  #queueTimer: NodeJS.Timeout | undefined;
  #pendingBytes = 0;
  #backstop: NodeJS.Timeout | undefined;
  #commitScheduled: NodeJS.Immediate | undefined;
  /** A data entry was acked and no entry sent since carries its LAC. */
  #needsCommit = false;
  #idleWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** While > 0, a record is not sent alone just because nothing is in flight (bulk writes). */
  #corked = 0;

  #error: Error | undefined;
  #closed = false;
  #closing: Promise<LogSegmentCompletion> | undefined;
  #endOfStream = false;
  /** Highest txid accepted (checked at write time). */
  #lastTxId = -1n;
  /** User records admitted so far (positions are 1-based). */
  #position = 0;
  #lastEntryId = -1n;
  #lastSlotId = -1n;

  constructor(handle: LedgerHandle, lssn: bigint, options: LogSegmentWriterOptions = {}) {
    const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    if (!Number.isInteger(maxEntryBytes) || maxEntryBytes <= 0 || maxEntryBytes > MAX_LOGRECORDSET_SIZE) {
      throw new RangeError(`maxEntryBytes ${maxEntryBytes} must be in 1..${MAX_LOGRECORDSET_SIZE}`);
    }
    const maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    if (!Number.isInteger(maxPendingBytes) || maxPendingBytes < MAX_LOGRECORDSET_SIZE) {
      throw new RangeError(`maxPendingBytes ${maxPendingBytes} must be an integer >= ${MAX_LOGRECORDSET_SIZE}`);
    }
    const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(flushIntervalMs >= 0)) throw new RangeError(`flushIntervalMs ${flushIntervalMs} must be >= 0`);
    this.#handle = handle;
    this.lssn = lssn;
    this.#maxEntryBytes = maxEntryBytes;
    this.#flushIntervalMs = flushIntervalMs;
    this.#codec = options.compression ?? 'none';
    this.#maxPendingBytes = maxPendingBytes;
    this.#pendingTimeoutMs = options.pendingTimeoutMs ?? DEFAULT_PENDING_TIMEOUT_MS;
    this.#logger = options.logger ?? noopLogger;
    this.#metrics = options.metrics;
    this.#onFailed = options.onFailed;
  }

  /** Bytes accepted and not yet acked (buffered, queued for room or in flight). */
  get pendingBytes(): number { return this.#pendingBytes + this.#queuedBytes; }
  get lastTxId(): bigint { return this.#lastTxId; }
  get recordCount(): number { return this.#position; }
  /** The sticky failure, if any. */
  get error(): Error | undefined { return this.#error; }

  /**
   * Writes a user record (flags 0 or RECORD_SET; the position is assigned here) and calls `resolve`
   * with its DLSN once its entry is acked, strictly in write order, or `reject`. No promise or
   * closure of its own: the caller's promise settles directly. The record is trusted (the log
   * writer checked size, flags and txid order at the API); a closed or failed segment rejects.
   */
  append(record: LogRecord, resolve: Resolve, reject: Reject): void {
    if (this.#error !== undefined || this.#closed || this.#endOfStream) {
      reject(this.#stateError());
      return;
    }
    // the one check left here is the segment's own: positions must stay readable (Java's int)
    if (this.#position >= MAX_POSITION) {
      reject(new LogError('INVALID_RECORD', `log segment ${this.lssn} holds ${this.#position} records, the most a segment can`));
      return;
    }
    this.#lastTxId = record.txid;
    this.#submit(record, resolve, reject, this.#metrics === undefined ? 0 : performance.now());
  }

  /**
   * Until the returned function is called, records gather even when nothing is in flight, so the
   * records of one bulk write share entries (DL: only a bulk's last record triggers a send). The
   * entry size cap and the backstop timer still apply.
   */
  cork(): () => void {
    this.#corked += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#corked -= 1;
      if (this.#corked === 0 && this.#dataInFlight === 0) this.#transmit();
    };
  }

  /** Sends what is buffered and resolves once everything written so far is acked and visible to readers. */
  flush(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#transmit();
    return new Promise((resolve, reject) => {
      this.#idleWaiters.push({ resolve, reject });
      this.#checkIdle();
    });
  }

  /** Writes the end-of-stream record (packed with buffered data), flushes, and returns its DLSN. Later writes reject. */
  async markEndOfStream(): Promise<DLSN> {
    if (this.#error !== undefined || this.#closed || this.#endOfStream) throw this.#stateError();
    this.#endOfStream = true;
    this.#lastTxId = MAX_TXID;
    const dlsn = await new Promise<DLSN>((resolve, reject) => { this.#submit(endOfStreamRecord(), resolve, reject, -1); });
    await this.flush();
    return dlsn;
  }

  /**
   * Flushes, closes the ledger and returns what segment completion needs. Later writes reject
   * with WRITER_CLOSED. After a ledger error it rejects with that error and leaves the ledger alone.
   */
  close(): Promise<LogSegmentCompletion> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * Fails every pending write with `reason` (default WRITER_CLOSED) and leaves the ledger open for
   * the next owner to recover.
   */
  abort(reason?: Error): void {
    this.#closed = true;
    this.#fail(reason ?? new LogError('WRITER_CLOSED', `log segment writer ${this.lssn} was aborted`));
  }

  async #close(): Promise<LogSegmentCompletion> {
    if (this.#error !== undefined) {
      this.#closed = true;
      throw this.#error;
    }
    this.#closed = true;
    await this.flush();
    try {
      await this.#handle.close();
    } catch (err) {
      this.#fail(err);
      throw err;
    }
    return { lastTxId: this.#lastTxId, lastEntryId: this.#lastEntryId, lastSlotId: this.#lastSlotId, recordCount: this.#position };
  }

  /** Why a write is refused: the sticky error, closed, or past end of stream. */
  #stateError(): Error {
    if (this.#error !== undefined) return this.#error;
    if (this.#closed) return new LogError('WRITER_CLOSED', `log segment writer ${this.lssn} is closed`);
    return new LogError('END_OF_STREAM', `log segment ${this.lssn} has reached end of stream`);
  }

  #submit(record: LogRecord, resolve: Resolve, reject: Reject, startedAt: number): void {
    const size = logRecordSize(record);
    if (this.#queue.length === 0 && this.#hasRoom(size)) {
      this.#admit(record, size, resolve, reject, startedAt);
      return;
    }
    this.#queue.push({ record, size, resolve, reject, startedAt, deadline: Date.now() + this.#pendingTimeoutMs });
    this.#queuedBytes += size;
    if (this.#queue.length === 1) this.#armQueueTimer();
  }

  #armQueueTimer(): void {
    const head = this.#queue.peek();
    if (head === undefined || this.#pendingTimeoutMs <= 0) return;
    clearTimeout(this.#queueTimer);
    this.#queueTimer = setTimeout(this.#checkQueueTimeout, Math.max(0, head.deadline - Date.now()));
    this.#queueTimer.unref();
  }

  #hasRoom(size: number): boolean {
    return this.#pendingBytes === 0 || this.#pendingBytes + size <= this.#maxPendingBytes;
  }

  /**
   * The head is the oldest queued write: once it has timed out it rejects with every write queued
   * behind it, so no gap opens in the order. Otherwise the timer moves on to the new head.
   */
  readonly #checkQueueTimeout = (): void => {
    this.#queueTimer = undefined;
    const head = this.#queue.peek();
    if (head === undefined) return;
    if (head.deadline > Date.now()) {
      this.#armQueueTimer();
      return;
    }
    const dropped = this.#dropQueue();
    const error = new LogError('WRITE_LIMIT_EXCEEDED', `no room under maxPendingBytes=${this.#maxPendingBytes} within ${this.#pendingTimeoutMs} ms`);
    for (const q of dropped) q.reject(error);
    this.#checkIdle();
  };

  #dropQueue(): Queued[] {
    clearTimeout(this.#queueTimer);
    this.#queueTimer = undefined;
    this.#queuedBytes = 0;
    return this.#queue.drain();
  }

  #admitQueued(): void {
    while (this.#error === undefined) {
      const head = this.#queue.peek();
      if (!head || !this.#hasRoom(head.size)) break;
      this.#queue.shift();
      this.#queuedBytes -= head.size;
      this.#admit(head.record, head.size, head.resolve, head.reject, head.startedAt);
    }
    if (this.#queue.length === 0) {
      clearTimeout(this.#queueTimer);
      this.#queueTimer = undefined;
    }
  }

  #admit(input: LogRecord, size: number, resolve: Resolve, reject: Reject, startedAt: number): void {
    // positions count user records only; EOS carries the current value
    let record: LogRecord;
    if ((input.flags & RecordFlags.END_OF_STREAM) === 0) {
      const count = isRecordSet(input) ? (recordSetCount(input.payload) ?? 1) : 1;
      // literals, not spreads: this runs once per record written
      record = { txid: input.txid, payload: input.payload, flags: input.flags, position: this.#position + 1 };
      this.#position += count;
    } else {
      record = { txid: input.txid, payload: input.payload, flags: input.flags, position: this.#position };
    }
    if (this.#bufferBytes > 0 && this.#bufferBytes + size > this.#maxEntryBytes) this.#transmit();
    const slot = this.#buffer.append(record);
    this.#bufferWaiters.push({ slot, resolve, reject, startedAt, payloadBytes: input.payload.length });
    this.#bufferBytes += size;
    this.#pendingBytes += size;
    this.#cancelCommit();
    if ((this.#dataInFlight === 0 && this.#corked === 0) || this.#bufferBytes >= this.#maxEntryBytes) {
      this.#transmit();
    } else if (this.#backstop === undefined && this.#flushIntervalMs > 0) {
      this.#backstop = setTimeout(() => {
        this.#backstop = undefined;
        this.#transmit();
      }, this.#flushIntervalMs);
      this.#backstop.unref();
    }
  }

  /** Sends the buffered records as one entry. */
  #transmit(): void {
    clearTimeout(this.#backstop);
    this.#backstop = undefined;
    if (this.#error !== undefined || this.#bufferWaiters.length === 0) return;
    const buffer = this.#buffer;
    const flight: Flight = {
      waiters: this.#bufferWaiters,
      bytes: this.#bufferBytes,
      control: false,
      lastSlot: BigInt(buffer.numRecords - 1),
      entryId: undefined,
    };
    this.#buffer = newEntry();
    this.#bufferWaiters = [];
    this.#bufferBytes = 0;
    this.#dataInFlight += 1;
    this.#send(flight, buffer);
  }

  #send(flight: Flight, entry: EntryRecordWriter): void {
    let payload: Buffer;
    try {
      // uncompressed, the envelope's header goes into the entry's headroom: no copy of the records
      payload = this.#codec === 'none' ? envelopeInPlace(entry.withHeadroom()) : encodeEnvelopedEntry(entry.toBuffer(), this.#codec);
    } catch (err) {
      this.#fail(err);
      return;
    }
    // any entry sent now carries the LAC of every entry acked so far
    this.#needsCommit = false;
    this.#flights.push(flight);
    this.#handle.submitEntry(payload, (entryId) => {
      flight.entryId = entryId;
      this.#completeInOrder();
    }, this.#failed);
  }

  readonly #failed = (err: unknown): void => { this.#fail(err); };

  #completeInOrder(): void {
    for (let head = this.#flights.peek(); head?.entryId !== undefined && this.#error === undefined; head = this.#flights.peek()) {
      this.#flights.shift();
      const entryId = head.entryId;
      this.#pendingBytes -= head.bytes;
      this.#lastEntryId = entryId;
      this.#lastSlotId = head.lastSlot;
      if (!head.control) {
        this.#dataInFlight -= 1;
        this.#needsCommit = true;
      }
      for (const w of head.waiters) w.resolve(new DLSN(this.lssn, entryId, w.slot));
      if (this.#metrics !== undefined) this.#count(this.#metrics, head.waiters);
    }
    if (this.#error !== undefined) return;
    this.#admitQueued();
    if (this.#dataInFlight === 0) this.#transmit();
    this.#maybeCommit();
    this.#checkIdle();
  }

  #count(metrics: LogMetrics, acked: readonly Waiter[]): void {
    const now = performance.now();
    let records = 0;
    let bytes = 0;
    for (const w of acked) {
      if (w.startedAt < 0) continue;
      metrics.writeLatency.observe((now - w.startedAt) / 1000);
      records += 1;
      bytes += w.payloadBytes;
    }
    metrics.recordsWritten.inc(records);
    metrics.bytesWritten.inc(bytes);
  }

  /** Schedules a control record once the writer is quiet, so the LAC covers the last data entry. */
  #maybeCommit(): void {
    if (!this.#quiet() || !this.#needsCommit || this.#commitScheduled !== undefined) return;
    // setImmediate: a writer awaiting each write sends its next record first, which carries the LAC
    this.#commitScheduled = setImmediate(() => {
      this.#commitScheduled = undefined;
      if (this.#error !== undefined || !this.#quiet() || !this.#needsCommit) {
        this.#checkIdle();
        return;
      }
      const entry = newEntry();
      entry.append(controlRecord(this.#lastTxId, this.#position));
      this.#send({ waiters: [], bytes: 0, control: true, lastSlot: 0n, entryId: undefined }, entry);
    });
  }

  #cancelCommit(): void {
    if (this.#commitScheduled === undefined) return;
    clearImmediate(this.#commitScheduled);
    this.#commitScheduled = undefined;
  }

  /** Nothing buffered, queued or in flight. */
  #quiet(): boolean {
    return this.#bufferWaiters.length === 0 && this.#queue.length === 0 && this.#flights.length === 0;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#error !== undefined) return;
    if (!this.#quiet() || this.#needsCommit || this.#commitScheduled !== undefined) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** Sticky: the first error fails everything pending and every later call. */
  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.#error = error;
    this.#logger.warn({ err, lssn: String(this.lssn), ledgerId: String(this.#handle.id) }, 'log segment writer failed');
    this.#onFailed?.(error);
    clearTimeout(this.#backstop);
    this.#backstop = undefined;
    this.#cancelCommit();
    const flights = this.#flights.drain();
    const buffered = this.#bufferWaiters;
    const queued = this.#dropQueue();
    const idle = this.#idleWaiters;
    this.#bufferWaiters = [];
    this.#idleWaiters = [];
    this.#buffer = newEntry();
    this.#bufferBytes = 0;
    this.#pendingBytes = 0;
    this.#dataInFlight = 0;
    for (const f of flights) for (const w of f.waiters) w.reject(error);
    for (const w of buffered) w.reject(error);
    for (const q of queued) q.reject(error);
    for (const w of idle) w.reject(error);
  }
}

/** An entry buffer with room for the envelope header in front of its records. */
function newEntry(): EntryRecordWriter {
  return new EntryRecordWriter(MAX_LOGRECORDSET_SIZE, ENVELOPE_HEADER_SIZE);
}
