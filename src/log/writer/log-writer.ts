// The single writer of a log (DL's BKAsyncLogWriter, reference §5): it holds the ownership lock,
// recovers what a previous writer left in progress, starts segments lazily on the first write,
// rolls them by size and by time, and completes them on close. Per-record batching, acks and
// back-pressure live in the segment writer (log-segment-writer.ts).
//
// Rolling (§5.4, simplified): writes that arrive while a segment is rolling wait in order; the new
// ledger is created while the old segment drains; the old segment is completed before the new one
// starts, so a reader's segment list never shows two in-progress segments from one writer.
import type { LedgerClient } from '../../ledger/ledger-client.js';
import type { LedgerHandle } from '../../ledger/ledger-handle.js';
import type { MetadataStore } from '../../metadata/metadata-store.js';
import { retry } from '../../util/backoff.js';
import type { Logger } from '../../util/logger.js';
import { DLogError, InvalidArgumentError } from '../../errors.js';
import type { DLSN } from '../format/dlsn.js';
import type { LogConfig } from '../log-config.js';
import { LogError } from '../log-error.js';
import type { LogMetadataStore, LogVersions } from '../metadata/log-metadata-store.js';
import { LOG_RECORD_HEADER_SIZE, MAX_TXID, userRecord } from '../format/log-record.js';
import { checkWriteRecord, type WriteRecord } from '../format/write-record.js';
import { newInProgressSegment, nextStartSequenceId, type LogSegmentMetadata } from '../metadata/log-segment-metadata.js';
import { LogSegmentWriter, type Reject, type Resolve } from './segment-writer.js';
import { OwnershipLock } from '../metadata/ownership-lock.js';
import { purgeSegments } from './retention.js';
import { recoverInProgressSegments } from './segment-recovery.js';
import { truncateLog } from '../metadata/truncation.js';
import type { LogMetrics } from '../log-metrics.js';

const PURGE_INTERVAL_MS = 60_000;
/** 100 ms doubling: about 6 s in all. */
const LEDGER_CREATE_RETRIES = 6;

export interface LogWriterStats {
  readonly recordsWritten: number;
  /** Payload bytes written. */
  readonly bytesWritten: number;
  /** Segments this writer completed (rolls, end of stream, close). */
  readonly segmentsCompleted: number;
  /** Bytes accepted and not yet acknowledged in the current segment. */
  readonly pendingBytes: number;
  readonly lastTxId: bigint;
}

export interface LogWriterContext {
  readonly logName: string;
  readonly store: MetadataStore;
  readonly metadata: LogMetadataStore;
  readonly ledgers: LedgerClient;
  readonly config: LogConfig;
  /** Written into the lock member; shown to a writer that finds the lock held. */
  readonly clientId: string;
  readonly logger: Logger;
  readonly metrics?: LogMetrics;
}

interface Segment {
  readonly meta: LogSegmentMetadata;
  readonly writer: LogSegmentWriter;
  bytes: number;
  /**
   * Time rolling: set by a timer once half of rollingIntervalMs, then all of it, has passed since
   * the segment started, so a write reads a flag rather than the clock.
   */
  halfTime: boolean;
  timeUp: boolean;
  clock: NodeJS.Timeout | undefined;
}

interface Waiting {
  readonly record: WriteRecord;
  /** Record bytes as counted against maxPendingBytes. */
  readonly bytes: number;
  readonly resolve: Resolve;
  readonly reject: Reject;
  /** Set for a write beyond maxPendingBytes: fails it after pendingTimeoutMs. */
  timer?: NodeJS.Timeout;
}

export class LogWriter {
  readonly logName: string;
  readonly #ctx: LogWriterContext;
  readonly #lock: OwnershipLock;
  #versions: LogVersions;
  /** The newest completed segment: the next completion's startSequenceId follows it. */
  #lastCompleted: LogSegmentMetadata | undefined;
  #segment: Segment | undefined;
  /**
   * The next segment's ledger, created once the current segment is half way to a roll so that the
   * roll does not wait for it; undefined inside if creating it failed (the roll then creates one).
   */
  #nextLedger: Promise<LedgerHandle | undefined> | undefined;
  /** Set while a segment starts or rolls; writes meanwhile wait in #waiting. */
  #transition: Promise<void> | undefined;
  #waiting: Waiting[] = [];
  /** Bytes of #waiting: a roll that takes long (ZooKeeper slow or away) must not buffer without bound. */
  #waitingBytes = 0;
  /** Highest txid accepted: the floor for the next write. */
  #lastTxId: bigint;
  #endOfStream: boolean;
  #error: Error | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #purging: Promise<unknown> | undefined;
  /** When the last purge started (0: never), and whether truncate() ran since. */
  #purgedAt = 0;
  #truncatedSincePurge = false;
  /** Stops counting this writer's pending bytes in the metrics. */
  readonly #untrack: (() => void) | undefined;
  #recordsWritten = 0;
  #bytesWritten = 0;
  #segmentsCompleted = 0;
  #settleClosed!: (err?: Error) => void;
  /**
   * Settles when the writer stops: resolves once close() or abort() finished, rejects with the
   * sticky error as soon as the writer fails (lock lost, ledger fenced, bookies gone), without
   * waiting for the next write. Never an unhandled rejection by itself.
   */
  readonly closed: Promise<void> = new Promise<void>((resolve, reject) => {
    this.#settleClosed = (err) => { if (err === undefined) resolve(); else reject(err); };
  });

  private constructor(ctx: LogWriterContext, lock: OwnershipLock, versions: LogVersions, segments: readonly LogSegmentMetadata[]) {
    this.logName = ctx.logName;
    this.#ctx = ctx;
    this.#lock = lock;
    this.#versions = versions;
    this.#lastCompleted = segments.at(-1);
    const lastTxId = segments.reduce((m, s) => (s.lastTxId > m ? s.lastTxId : m), versions.maxTxId.value);
    this.#lastTxId = lastTxId;
    this.#endOfStream = lastTxId === MAX_TXID;
    lock.on('lost', (err) => {
      ctx.metrics?.lockLost({ logName: ctx.logName, error: err });
      this.#fail(err);
    });
    this.#untrack = ctx.metrics?.trackPending(() => this.#segment?.writer.pendingBytes ?? 0);
    this.closed.catch(() => undefined);
  }

  /**
   * Takes the ownership lock (LOCK_HELD after lockTimeoutMs; `signal` aborts the wait), then recovers
   * in-progress segments.
   */
  static async open(ctx: LogWriterContext, signal?: AbortSignal): Promise<LogWriter> {
    const paths = ctx.metadata.paths(ctx.logName);
    // the log must exist before its lock node can
    await ctx.metadata.openLog(ctx.logName);
    const lock = new OwnershipLock(ctx.store, paths.lock, ctx.clientId, { logger: ctx.logger });
    await lock.acquire(ctx.config.lockTimeoutMs, signal);
    ctx.metrics?.lockAcquired();
    try {
      // versions read under the lock: a previous owner may have changed them until it lost it
      const opened = await ctx.metadata.openLog(ctx.logName);
      const { versions, segments } = await recoverInProgressSegments(
        { logName: ctx.logName, metadata: ctx.metadata, ledgers: ctx.ledgers, password: ctx.config.ledgerPassword, logger: ctx.logger },
        opened,
      );
      const writer = new LogWriter(ctx, lock, versions, segments);
      // retention also runs when a writer opens, so a log that no longer rolls is purged too
      writer.#purge();
      return writer;
    } catch (err) {
      await lock.release().catch(() => undefined);
      throw err;
    }
  }

  /** close() or abort() was called. */
  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /** The highest txid accepted or recovered (the maxtxid floor, 0 for a new log). */
  get lastTxId(): bigint {
    return this.#lastTxId;
  }

  /**
   * Writes one record; resolves with its DLSN once a quorum of bookies has it on disk. Records are
   * acknowledged in write order. Bad input rejects before anything is sent: INVALID_ARGUMENT,
   * RECORD_TOO_LARGE, TRANSACTION_ID_OUT_OF_ORDER (txid below the previous one), END_OF_STREAM.
   */
  asyncWrite(record: WriteRecord): Promise<DLSN> {
    try {
      checkWriteRecord(record);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return this.#write(record);
  }

  /** Writes a record checked by checkWriteRecord: admits it (writer state, txid order) and accepts it. */
  #write(record: WriteRecord): Promise<DLSN> {
    try {
      this.#admit(record);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    // the caller's promise is the only one: the segment writer settles it from the entry's ack
    return new Promise<DLSN>((resolve, reject) => { this.#accept(record, resolve, reject); });
  }

  /** Writes an admitted record to the current segment, or queues it behind a segment start or roll. */
  #accept(record: WriteRecord, resolve: Resolve, reject: Reject): void {
    const segment = this.#segment;
    if (this.#transition === undefined && segment !== undefined && !this.#shouldRoll(segment)) {
      if (this.#nextLedger === undefined && this.#halfWayToRoll(segment)) this.#preallocate();
      this.#writeTo(segment, record, resolve, reject);
      return;
    }
    this.#enqueue({ record, bytes: LOG_RECORD_HEADER_SIZE + record.payload.length, resolve, reject });
    this.#transition ??= this.#startNext();
  }

  /**
   * Queues a write behind a segment start or roll. Within maxPendingBytes it just waits; beyond,
   * it is waiting for room, as in the segment writer: after pendingTimeoutMs it fails with
   * WRITE_LIMIT_EXCEEDED (retriable) and leaves the queue.
   */
  #enqueue(w: Waiting): void {
    const { maxPendingBytes, pendingTimeoutMs } = this.#ctx.config;
    if (this.#waitingBytes + w.bytes > maxPendingBytes && pendingTimeoutMs > 0) {
      w.timer = setTimeout(() => {
        const at = this.#waiting.indexOf(w);
        if (at < 0) return;
        this.#waiting.splice(at, 1);
        this.#waitingBytes -= w.bytes;
        w.reject(new LogError('WRITE_LIMIT_EXCEEDED', `no room under maxPendingBytes=${maxPendingBytes} within ${pendingTimeoutMs} ms while log ${this.logName} starts a segment`));
      }, pendingTimeoutMs);
    }
    this.#waiting.push(w);
    this.#waitingBytes += w.bytes;
  }

  /** Empties the queue (to a new segment, or to fail it). */
  #takeWaiting(): Waiting[] {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    for (const w of waiting) clearTimeout(w.timer);
    return waiting;
  }

  /**
   * Writes the records in order and resolves with their DLSNs. Every record is checked before any is
   * sent, so a bad one rejects the call with nothing written. A failure after that (fencing, a
   * ledger error) rejects the call; records before it may have been acknowledged.
   */
  async writeBulk(records: readonly WriteRecord[]): Promise<DLSN[]> {
    const input: unknown = records;
    if (!Array.isArray(input)) throw new InvalidArgumentError('writeBulk takes an array of records');
    let floor = this.#lastTxId;
    for (const [i, record] of records.entries()) {
      try {
        checkWriteRecord(record);
      } catch (err) {
        if (err instanceof Error) err.message = `record ${i}: ${err.message}`;
        throw err;
      }
      if (record.txid < floor) throw new LogError('TRANSACTION_ID_OUT_OF_ORDER', `record ${i}: txid ${record.txid} is below the previous txid ${floor}`);
      floor = record.txid;
    }
    // the whole batch is buffered before the first entry goes out, so it shares entries
    const uncork = this.#transition === undefined ? this.#segment?.writer.cork() : undefined;
    let written: Array<Promise<DLSN>>;
    try {
      // every record was checked above, so none is checked twice
      written = records.map((r) => this.#write(r));
    } finally {
      uncork?.();
    }
    return Promise.all(written);
  }

  /** Counters since this writer opened. */
  stats(): LogWriterStats {
    return {
      recordsWritten: this.#recordsWritten,
      bytesWritten: this.#bytesWritten,
      segmentsCompleted: this.#segmentsCompleted,
      pendingBytes: this.#segment?.writer.pendingBytes ?? 0,
      lastTxId: this.#lastTxId,
    };
  }

  /** Resolves once everything written so far is acknowledged and visible to readers. */
  async flush(): Promise<void> {
    this.#checkUsable();
    await this.#transition;
    this.#checkUsable();
    await this.#segment?.writer.flush();
  }

  /**
   * Writes the end-of-stream record and completes the segment: readers reach the end of the log
   * and later writes (by any writer) fail with END_OF_STREAM. Returns the record's DLSN.
   */
  async markEndOfStream(): Promise<DLSN> {
    this.#checkUsable();
    if (this.#endOfStream) throw new LogError('END_OF_STREAM', `log ${this.logName} has already reached end of stream`);
    this.#endOfStream = true;
    await this.#transition;
    this.#checkUsable();
    const segment = this.#segment ?? (await this.#start(MAX_TXID, this.#takeNextLedger()));
    try {
      const dlsn = await segment.writer.markEndOfStream();
      await this.#complete(segment);
      return dlsn;
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  /**
   * Marks the segments before `dlsn` truncated (the in-progress segment never is): readers
   * positioned before it start at `dlsn`, and retention may delete the segments wholly before it.
   */
  async truncate(dlsn: DLSN): Promise<void> {
    this.#checkUsable();
    this.#lock.checkOwnership();
    await truncateLog(this.#ctx.metadata, this.logName, dlsn);
    this.#truncatedSincePurge = true;
  }

  /** Drains pending writes, completes the current segment and releases the lock. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closing = this.#close();
      this.#closing.then(() => { this.#settleClosed(); }, (err: unknown) => { this.#settleClosed(asError(err)); });
    }
    return this.#closing;
  }

  /**
   * Fails pending writes with WRITER_CLOSED and releases the lock, leaving the current segment in
   * progress for the next writer to recover.
   */
  async abort(): Promise<void> {
    if (this.#closing !== undefined) {
      await this.#closing.catch(() => undefined);
      return;
    }
    this.#closed = true;
    this.#fail(new LogError('WRITER_CLOSED', `writer of log ${this.logName} was aborted`));
    this.#closing = this.#release();
    this.#closing.then(() => { this.#settleClosed(); }, (err: unknown) => { this.#settleClosed(asError(err)); });
    await this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#transition;
      const segment = this.#segment;
      if (this.#error !== undefined) throw this.#error;
      if (segment !== undefined) await this.#complete(segment);
      await this.#purging;
    } finally {
      await this.#release();
    }
  }

  async #release(): Promise<void> {
    clearTimeout(this.#segment?.clock);
    this.#lock.removeAllListeners('lost');
    this.#untrack?.();
    try {
      await this.#discardNextLedger();
    } finally {
      await this.#lock.release();
    }
  }

  /** Writer state and txid order. */
  #admit(record: WriteRecord): void {
    const { txid } = record;
    this.#checkUsable();
    if (this.#endOfStream) throw new LogError('END_OF_STREAM', `log ${this.logName} has reached end of stream`);
    if (txid < this.#lastTxId) {
      throw new LogError('TRANSACTION_ID_OUT_OF_ORDER', `txid ${txid} is below the previous txid ${this.#lastTxId} of log ${this.logName}`);
    }
    this.#lock.checkOwnership();
    this.#lastTxId = txid;
  }

  #checkUsable(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) throw new LogError('WRITER_CLOSED', `writer of log ${this.logName} is closed`);
  }

  #writeTo(segment: Segment, record: WriteRecord, resolve: Resolve, reject: Reject): void {
    const { payload } = record;
    segment.bytes += LOG_RECORD_HEADER_SIZE + payload.length;
    const buffer = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    this.#recordsWritten += 1;
    this.#bytesWritten += payload.length;
    segment.writer.append(userRecord(record.txid, buffer), resolve, reject);
  }

  #shouldRoll(segment: Segment): boolean {
    const { maxSegmentBytes } = this.#ctx.config;
    return segment.timeUp || (maxSegmentBytes > 0 && segment.bytes >= maxSegmentBytes);
  }

  #halfWayToRoll(segment: Segment): boolean {
    const { maxSegmentBytes } = this.#ctx.config;
    return segment.halfTime || (maxSegmentBytes > 0 && segment.bytes * 2 >= maxSegmentBytes);
  }

  /** Starts the segment's time-rolling clock (see Segment.halfTime); unref'd, cleared when it ends. */
  #startClock(segment: Segment): void {
    const interval = this.#ctx.config.rollingIntervalMs;
    if (interval <= 0) return;
    const half = Math.floor(interval / 2);
    segment.clock = setTimeout(() => {
      segment.halfTime = true;
      segment.clock = setTimeout(() => { segment.timeUp = true; }, interval - half).unref();
    }, half).unref();
  }

  #preallocate(): void {
    this.#nextLedger = this.#createLedger().catch((err: unknown) => {
      this.#ctx.logger.warn({ err, log: this.logName }, 'pre-allocating the next segment ledger failed; the roll creates one');
      return undefined;
    });
  }

  /** The pre-allocated ledger (taken: the next roll pre-allocates again), or a new one. */
  #takeNextLedger(): Promise<LedgerHandle> {
    const next = this.#nextLedger;
    this.#nextLedger = undefined;
    return next === undefined ? this.#createLedger() : next.then((handle) => handle ?? this.#createLedger());
  }

  /** A pre-allocated ledger no segment will use: deleted when the writer closes or aborts. */
  async #discardNextLedger(): Promise<void> {
    const next = this.#nextLedger;
    this.#nextLedger = undefined;
    const handle = await next;
    if (handle !== undefined) await this.#discardLedger(handle);
  }

  /** Completes the current segment (if any), starts the next one and hands it the waiting writes. */
  async #startNext(): Promise<void> {
    try {
      const first = this.#waiting[0];
      if (first === undefined) return;
      const old = this.#segment;
      const ledger = this.#takeNextLedger();
      if (old !== undefined) {
        this.#segment = undefined;
        try {
          await this.#complete(old);
        } catch (err) {
          const unused = await ledger.catch(() => undefined);
          if (unused !== undefined) await this.#discardLedger(unused);
          throw err;
        }
      }
      const segment = await this.#start(first.record.txid, ledger);
      for (const w of this.#takeWaiting()) this.#writeTo(segment, w.record, w.resolve, w.reject);
      if (old !== undefined) this.#purge();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#transition = undefined;
    }
  }

  /**
   * A new segment's ledger. Retriable failures (too few writable bookies for a moment, a metadata
   * connection loss) are retried with backoff for a few seconds before they fail the writer: a
   * bookie restart should not end a writer at its next roll.
   */
  async #createLedger(): ReturnType<LedgerClient['createLedger']> {
    const c = this.#ctx.config;
    return retry(() => this.#ctx.ledgers.createLedger({
      ensembleSize: c.ensembleSize,
      writeQuorumSize: c.writeQuorumSize,
      ackQuorumSize: c.ackQuorumSize,
      digest: c.digest,
      password: c.ledgerPassword,
    }), {
      initialMs: 100,
      retries: LEDGER_CREATE_RETRIES,
      shouldRetry: (err) => err instanceof DLogError && err.retriable && this.#error === undefined,
      onRetry: (err, attempt) => { this.#ctx.logger.warn({ err, log: this.logName, attempt }, 'creating a segment ledger failed; retrying'); },
    });
  }

  /** Starts segment max LSSN + 1 on a new ledger (LSSN max after recovery deleted an empty one). */
  async #start(firstTxId: bigint, ledger = this.#createLedger()): Promise<Segment> {
    const handle = await ledger;
    const c = this.#ctx.config;
    try {
      const lssn = this.#versions.maxLssn.value + 1n;
      const meta = newInProgressSegment({ logSegmentId: handle.id, firstTxId, logSegmentSequenceNo: lssn });
      this.#versions = await this.#ctx.metadata.startSegment(this.logName, meta, this.#versions.maxLssn, this.#versions.maxTxId);
      const writer = new LogSegmentWriter(handle, lssn, {
        maxEntryBytes: c.maxEntryBytes,
        flushIntervalMs: c.flushIntervalMs,
        compression: c.compression,
        maxPendingBytes: c.maxPendingBytes,
        pendingTimeoutMs: c.pendingTimeoutMs,
        logger: this.#ctx.logger,
        metrics: this.#ctx.metrics,
        // a sticky segment failure (fencing, ledger errors) ends the writer; a back-pressure
        // timeout (WRITE_LIMIT_EXCEEDED) fails only the writes it names
        onFailed: (err) => { this.#fail(err); },
      });
      const segment: Segment = { meta, writer, bytes: 0, halfTime: false, timeUp: false, clock: undefined };
      this.#startClock(segment);
      this.#segment = segment;
      return segment;
    } catch (err) {
      await this.#discardLedger(handle);
      throw err;
    }
  }

  /** A new ledger no segment came to reference: deleted, so it does not leak. Best effort. */
  async #discardLedger(handle: LedgerHandle): Promise<void> {
    await handle.close().catch(() => undefined);
    await this.#ctx.ledgers.deleteLedger(handle.id).catch(() => undefined);
  }

  /** Drains and closes the segment's ledger, then records its completion in one versioned multi. */
  async #complete(segment: Segment): Promise<void> {
    clearTimeout(segment.clock);
    const done = await segment.writer.close();
    const completed = segment.meta.complete({
      lastTxId: done.lastTxId,
      recordCount: done.recordCount,
      lastEntryId: done.lastEntryId,
      lastSlotId: done.lastSlotId,
      startSequenceId: nextStartSequenceId(this.#lastCompleted),
    });
    this.#versions = await this.#ctx.metadata.completeSegment(this.logName, segment.meta, completed, this.#versions.maxLssn, this.#versions.maxTxId);
    this.#lastCompleted = completed;
    this.#segmentsCompleted += 1;
    this.#ctx.metrics?.rolled({ logName: this.logName, segment: completed.logSegmentSequenceNo, records: completed.recordCount });
    if (this.#segment === segment) this.#segment = undefined;
  }

  /**
   * Retention after a roll, in the background; a failed purge is retried after a later roll. A purge
   * lists every segment, so it runs only after a truncate() or when a minute (or the retention
   * period, if shorter) has passed since the last one: quick rolls do not pay for it each time.
   */
  #purge(): void {
    const { retentionMs, explicitTruncation } = this.#ctx.config;
    if (retentionMs === 0 || this.#purging !== undefined) return;
    const now = Date.now();
    if (!this.#truncatedSincePurge && now - this.#purgedAt < Math.min(retentionMs, PURGE_INTERVAL_MS)) return;
    this.#purgedAt = now;
    this.#truncatedSincePurge = false;
    const ctx = { metadata: this.#ctx.metadata, ledgers: this.#ctx.ledgers, logName: this.logName, logger: this.#ctx.logger };
    this.#purging = purgeSegments(ctx, { olderThanMs: retentionMs, explicitTruncation })
      .catch((err: unknown) => { this.#ctx.logger.warn({ err, log: this.logName }, 'retention purge failed'); })
      .finally(() => { this.#purging = undefined; });
  }

  /** Sticky: the first failure fails every waiting and later write; the segment is left for recovery. */
  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    const error = asError(err);
    this.#error = error;
    // a failure the user did not ask for (abort() sets #closed first) ends the writer now
    if (!this.#closed) this.#settleClosed(error);
    this.#ctx.logger.warn({ err: error, log: this.logName }, 'log writer failed');
    this.#segment?.writer.abort(error);
    for (const w of this.#takeWaiting()) w.reject(error);
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
