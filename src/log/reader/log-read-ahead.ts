// The read-ahead of a log reader (DL's ReadAheadEntryReader, §6.3): walks the segments in LSSN
// order from a start DLSN, one LogSegmentReader at a time, and hands decoded records to a bounded
// sink. It issues one read at a time (so a pause cannot cause the double read of §10.3), tails an
// in-progress segment up to its LAC with long polls, and reopens the segment's ledger once its znode
// says completed. After the first segment it only ever moves from LSSN n to n + 1, so a missing
// segment is an LSSN_GAP error rather than a silent skip (§10.2).
import type { LedgerClient } from '../../ledger/ledger-client.js';
import type { LedgerHandle } from '../../ledger/ledger-handle.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Logger } from '../../util/logger.js';
import { DLSN } from '../format/dlsn.js';
import { LogError } from '../log-error.js';
import type { LogMetadataStore } from '../metadata/log-metadata-store.js';
import { type LogSegmentMetadata, nextStartSequenceId, SEQUENCE_ID_VERSION } from '../metadata/log-segment-metadata.js';
import { LogSegmentReader, type ReadRecord, type ReadResult, type RecordRun } from './segment-reader.js';
import { SegmentListRegistry, type SegmentListLease } from './segment-list-registry.js';
import { dlsnNotLessThanTxId } from './txid-search.js';

export interface LogRecordWithDLSN extends ReadRecord {
  /** startSequenceId of the segment + position − 1 (see startSequenceIdOf for old segments). */
  readonly sequenceId: bigint;
}

/** Where a reader starts: a DLSN, or the first record with txid >= fromTxId. Default InitialDLSN. */
export interface ReadStart {
  readonly from?: DLSN;
  readonly fromTxId?: bigint;
}

/** The user records of one entry (none empty); shared with the other readers of the entry: read-only. */
export type LogRecordRun = readonly LogRecordWithDLSN[];

/** Where the read-ahead puts what it reads. */
export interface ReadAheadSink {
  /** Records in log order, each exactly once, one run per entry. */
  deliver(runs: readonly LogRecordRun[]): void;
  /** The end-of-stream record was reached, after everything delivered. */
  endOfStream(): void;
  /** The first (sticky) error; nothing else follows. */
  fail(err: Error): void;
  /** Resolves once there is room for more records; undefined when there is room now (no await, no promise). */
  waitForRoom(): Promise<void> | undefined;
}

export interface ReadAheadConfig {
  readonly logName: string;
  readonly metadata: LogMetadataStore;
  readonly ledgers: LedgerClient;
  readonly password?: Uint8Array;
  readonly logger: Logger;
  /** Most entries per ledger read. */
  readonly batchEntries: number;
  /** Bytes a ledger read aims at (see LogSegmentReaderOptions.batchBytes). */
  readonly batchBytes: number;
  /** Ledger reads in flight ahead of the one being delivered. */
  readonly batchesAhead: number;
  readonly longPollTimeoutMs: number;
  readonly relistIntervalMs: number;
  /** The namespace's shared segment-list followers; without one, this reader follows the list alone. */
  readonly segmentLists?: SegmentListRegistry;
}

interface Cursor {
  segment: LogSegmentMetadata;
  readonly handle: LedgerHandle;
  readonly reader: LogSegmentReader;
  readonly startSequenceId: bigint;
  /** Records were delivered from this segment. */
  readAny: boolean;
  /** The read in flight; kept across list changes so its records are never dropped. */
  pending: Promise<ReadResult> | undefined;
}

/** A read result, or the segment list changed first. */
const LIST_CHANGED = Symbol('list changed');

export class LogReadAhead {
  readonly #config: ReadAheadConfig;
  readonly #list: SegmentListLease;
  readonly #sink: ReadAheadSink;
  /** Position of the next record to fetch. */
  #next: DLSN;
  /** A segment was opened: from now on LSSNs must follow one by one. */
  #positioned = false;
  #cursor: Cursor | undefined;
  #appliedVersion = -1;
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(config: ReadAheadConfig, list: SegmentListLease, start: DLSN, sink: ReadAheadSink) {
    this.#config = config;
    this.#list = list;
    this.#next = start;
    this.#sink = sink;
  }

  /** Lists the segments, resolves the start position (txid search if asked) and starts reading. */
  static async open(config: ReadAheadConfig, start: ReadStart, sink: ReadAheadSink): Promise<LogReadAhead> {
    if (start.from !== undefined && start.fromTxId !== undefined) {
      throw new InvalidArgumentError('a reader starts from a DLSN or from a txid, not both');
    }
    let readAhead: LogReadAhead | undefined;
    const lists = config.segmentLists ?? new SegmentListRegistry(config.metadata, config.logger);
    const list = await lists.acquire(config.logName, config.relistIntervalMs, (err) => {
      if (readAhead) readAhead.#fail(err);
    });
    const segments = list.segments;
    try {
      const from = start.fromTxId === undefined
        ? start.from ?? DLSN.InitialDLSN
        : await dlsnNotLessThanTxId(segments, start.fromTxId, config);
      readAhead = new LogReadAhead(config, list, from, sink);
    } catch (err) {
      await list.close();
      throw err;
    }
    if (list.error) readAhead.#fail(list.error);
    else readAhead.#loop = readAhead.#run();
    return readAhead;
  }

  /** Stops reading and releases its lease on the segment list and the ledger handle; resolves when all is idle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#list.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (!this.#isStopped()) {
        // the awaits only when needed: with a thousand tailing readers, each is a promise and a
        // microtask per reader and entry
        const room = this.#sink.waitForRoom();
        if (room !== undefined) await room;
        const version = this.#list.version;
        if (version !== this.#appliedVersion || this.#list.error) await this.#apply(version);
        if (this.#isStopped()) break;
        const cursor = this.#cursor ?? (await this.#openNext());
        if (cursor === undefined) {
          await this.#list.whenChanged(version).promise; // the segment to read next is not there yet
          continue;
        }
        const result = await this.#read(cursor, version);
        if (this.#isStopped() || result === LIST_CHANGED) continue;
        if (Array.isArray(result)) {
          this.#deliver(cursor, result);
        } else if (result === 'end-of-stream') {
          this.#sink.endOfStream();
          break;
        } else if (cursor.segment.inProgress) {
          // Ledger closed, znode not yet completed: wait for it, so the next segment's sequence ids
          // derive from this one's final record count.
          await this.#list.whenChanged(version).promise;
        } else {
          await this.#dropCursor();
          this.#next = DLSN.firstOf(cursor.segment.logSegmentSequenceNo + 1n);
        }
      }
    } catch (err) {
      this.#fail(await this.#explain(err));
    } finally {
      await this.#dropCursor();
      await this.#list.close();
    }
  }

  /** A method, as stop() and list errors flip it across awaits. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  /** The cursor's read, or LIST_CHANGED if the listing changed first (the read stays pending). */
  async #read(cursor: Cursor, version: number): Promise<ReadResult | typeof LIST_CHANGED> {
    if (cursor.pending === undefined) {
      // an open ledger is tailed with long polls (whatever the znode says, so we never spin)
      const pending = cursor.reader.readNext(cursor.handle.isClosed ? 0 : this.#config.longPollTimeoutMs);
      pending.catch(() => undefined); // awaited below, or abandoned with its cursor
      cursor.pending = pending;
    }
    const change = this.#list.whenChanged(version);
    try {
      const result = await Promise.race([cursor.pending, change.promise.then((): typeof LIST_CHANGED => LIST_CHANGED)]);
      if (result !== LIST_CHANGED) cursor.pending = undefined;
      return result;
    } finally {
      change.cancel();
    }
  }

  #deliver(cursor: Cursor, runs: readonly RecordRun[]): void {
    const last = runs.at(-1)?.at(-1);
    if (last === undefined) return;
    cursor.readAny = true;
    this.#next = last.dlsn.next();
    // the segment reader gave every record its sequenceId when it had a start (see #open)
    if (cursor.startSequenceId >= 0n) {
      this.#sink.deliver(runs as readonly LogRecordRun[]);
      return;
    }
    const base = cursor.startSequenceId - 1n;
    const withSequenceId = (r: ReadRecord): LogRecordWithDLSN => ({ dlsn: r.dlsn, txid: r.txid, payload: r.payload, position: r.position, sequenceId: base + BigInt(r.position) });
    this.#sink.deliver(runs.map((run) => run.map(withSequenceId)));
  }

  /** Applies a new listing to the open segment: reopen once completed, fail on impossible changes. */
  async #apply(version: number): Promise<void> {
    if (this.#list.error) throw this.#list.error;
    if (version === this.#appliedVersion) return;
    this.#appliedVersion = version;
    const cursor = this.#cursor;
    if (cursor === undefined) return;
    const was = cursor.segment;
    const lssn = was.logSegmentSequenceNo;
    const now = this.#list.segments.find((s) => s.logSegmentSequenceNo === lssn);
    const inconsistent = (what: string): LogError =>
      new LogError('INCONSISTENT_LOG_METADATA', `log ${this.#config.logName}: segment ${lssn} ${what}`);
    if (now === undefined || now.logSegmentId !== was.logSegmentId) {
      // a completed segment purged under the reader: its ledger reads tell whether data is gone
      if (now === undefined && !was.inProgress) return;
      // recovery deletes an empty in-progress segment (§11) and may start the same LSSN again
      if (!was.inProgress || cursor.readAny) {
        throw inconsistent(now === undefined ? 'vanished while in progress with records' : `changed ledger ${was.logSegmentId} -> ${now.logSegmentId}`);
      }
      await this.#dropCursor();
      return;
    }
    if (!was.inProgress && now.inProgress) throw inconsistent('went from completed back to in progress');
    if (was.inProgress && !now.inProgress) {
      // its ledger is closed now: reopen it to read up to the last entry, from where we are
      await this.#dropCursor();
      return;
    }
    cursor.segment = now;
  }

  /** Opens the segment holding #next, or undefined if it is not listed yet. */
  async #openNext(): Promise<Cursor | undefined> {
    const segments = this.#list.segments;
    for (const seg of segments) {
      const lssn = seg.logSegmentSequenceNo;
      if (lssn < this.#next.logSegmentSequenceNo) continue;
      if (lssn > this.#next.logSegmentSequenceNo) {
        if (this.#positioned) {
          throw new LogError('LSSN_GAP', `log ${this.#config.logName}: segment ${this.#next.logSegmentSequenceNo} is gone before this reader read it (next listed: ${lssn})`);
        }
        // the start lies before the oldest segment left (retention purged the rest)
        this.#config.logger.debug({ from: this.#next.toString(), lssn: String(lssn) }, 'start position precedes the oldest segment');
        this.#next = seg.firstDLSN;
      }
      if (seg.isTruncated) {
        this.#next = DLSN.firstOf(lssn + 1n);
        continue;
      }
      if (seg.isPartiallyTruncated && this.#next.compare(seg.minActiveDLSN) < 0) this.#next = seg.minActiveDLSN;
      const startSequenceId = startSequenceIdOf(segments, seg);
      if (startSequenceId === undefined) return undefined;
      return this.#open(seg, startSequenceId);
    }
    return undefined;
  }

  async #open(segment: LogSegmentMetadata, startSequenceId: bigint): Promise<Cursor> {
    const { ledgers, password, batchEntries, batchBytes, logger } = this.#config;
    const handle = await ledgers.openLedger(segment.logSegmentId, { recover: false, ...(password === undefined ? {} : { password }) });
    const reader = new LogSegmentReader(handle, segment.logSegmentSequenceNo, {
      from: this.#next,
      // records then carry their sequenceId: delivered as they are, shared with the other readers
      ...(startSequenceId >= 0n ? { startSequenceId } : {}),
      readAheadEntries: batchEntries,
      batchesAhead: this.#config.batchesAhead,
      batchBytes,
      enveloped: segment.envelopedEntries,
      logger,
    });
    this.#positioned = true;
    this.#cursor = { segment, handle, reader, startSequenceId, readAny: false, pending: undefined };
    return this.#cursor;
  }

  async #dropCursor(): Promise<void> {
    const cursor = this.#cursor;
    this.#cursor = undefined;
    cursor?.reader.abandon();
    await cursor?.handle.close();
  }

  #fail(err: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#config.logger.warn({ err, next: this.#next.toString() }, 'log reader failed');
    this.#sink.fail(err);
    void this.#list.close();
  }

  /** A read failure caused by the log's deletion is reported as such (§10.8), not as a ledger error. */
  async #explain(err: unknown): Promise<Error> {
    if (err instanceof LogError && err === this.#list.error) return err;
    await this.#list.refresh();
    return this.#list.error ?? (err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * A segment's startSequenceId: stored in completed v5 segments; for an in-progress v5 segment, the
 * previous segment's startSequenceId + recordCount (0 for the log's first segment or after a pre-v5
 * one), as DL's PerStreamLogSegmentCache assigns it; undefined while the previous segment is still
 * in progress (the caller waits for its completion). Pre-v5 segments get DL's synthesized
 * Long.MIN_VALUE + (lssn << 32), so their sequence ids are ordered but not contiguous across segments.
 */
function startSequenceIdOf(segments: readonly LogSegmentMetadata[], seg: LogSegmentMetadata): bigint | undefined {
  if (!seg.inProgress || seg.version < SEQUENCE_ID_VERSION) return seg.effectiveStartSequenceId;
  const prev = segments.find((s) => s.logSegmentSequenceNo === seg.logSegmentSequenceNo - 1n);
  // the writer completes this segment with the same rule
  return prev?.inProgress === true ? undefined : nextStartSequenceId(prev);
}
