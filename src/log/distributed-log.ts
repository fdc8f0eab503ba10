// One log of a namespace (DL's DistributedLogManager, reference §7.1): opens its writer and readers,
// answers position and size questions from the segment list and, for the newest segment, from the
// ledger itself (read without recovery, so asking never fences the writer).
import { InvalidArgumentError } from '../errors.js';
import { checkOptionKeys } from '../util/option-keys.js';
import type { DLSN } from './format/dlsn.js';
import { readLastRecord, type LastRecord } from './reader/last-record-scan.js';
import { resolveLogConfig, type LogConfig } from './log-config.js';
import { LogError } from './log-error.js';
import { LogReader, type LogRecordWithDLSN } from './reader/log-reader.js';
import type { SegmentListRegistry } from './reader/segment-list-registry.js';
import type { LogSegmentMetadata } from './metadata/log-segment-metadata.js';
import { LogWriter, type LogWriterContext } from './writer/log-writer.js';
import { SubscriptionsStore } from './metadata/subscriptions.js';

/** What every log of a namespace shares: the writer's context without a log name. */
export type DistributedLogContext = Omit<LogWriterContext, 'logName'> & {
  /** The namespace's shared segment-list followers, one per log for all its readers. */
  readonly segmentLists?: SegmentListRegistry;
};

const WRITER_KEYS = [
  'lockTimeoutMs', 'maxEntryBytes', 'flushIntervalMs', 'compression', 'maxPendingBytes', 'pendingTimeoutMs',
  'maxSegmentBytes', 'rollingIntervalMs', 'retentionMs', 'explicitTruncation',
  'ensembleSize', 'writeQuorumSize', 'ackQuorumSize', 'digest', 'ledgerPassword',
] as const satisfies readonly (keyof LogConfig)[];
const READER_CONFIG_KEYS = ['readAheadEntries', 'readAheadBytes', 'longPollTimeoutMs', 'relistIntervalMs'] as const satisfies readonly (keyof LogConfig)[];
const READER_KEYS = [...READER_CONFIG_KEYS, 'from', 'fromTxId'];

export type WriterOptions = Partial<Pick<LogConfig, (typeof WRITER_KEYS)[number]>> & {
  /** Aborts the wait for the ownership lock (with lockTimeoutMs != 0): openWriter rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
};

export type ReaderOptions = Partial<Pick<LogConfig, (typeof READER_CONFIG_KEYS)[number]>> & {
  /** Start at this position (records before it are skipped). Default: the first record. */
  readonly from?: DLSN;
  /** Start at the first record whose txid is >= this. */
  readonly fromTxId?: bigint;
};

type Closeable = LogWriter | LogReader;

let writerSeq = 0;

export class DistributedLog {
  readonly name: string;
  readonly #ctx: DistributedLogContext;
  readonly #open = new Set<Closeable>();

  readonly #onClose: (log: DistributedLog) => void;

  /** `onClose` lets the namespace forget a closed log. */
  constructor(name: string, ctx: DistributedLogContext, onClose: (log: DistributedLog) => void = () => undefined) {
    this.name = name;
    this.#ctx = ctx;
    this.#onClose = onClose;
  }

  /**
   * Becomes the log's only writer: takes the ownership lock (LOCK_HELD when another writer keeps it
   * past lockTimeoutMs), fences and completes what a previous writer left in progress.
   */
  async openWriter(options: WriterOptions = {}): Promise<LogWriter> {
    checkOptionKeys(options, [...WRITER_KEYS, 'signal'], 'openWriter');
    const { signal, ...overrides } = options;
    const config = resolveLogConfig(overrides, this.#ctx.config);
    // a lock id per writer: two writers of one namespace share a session, and the lock recipe
    // would let the second claim a lock held under the same (client id, session)
    const clientId = `${this.#ctx.clientId}#${++writerSeq}`;
    const writer = await LogWriter.open({ ...this.#ctx, clientId, logName: this.name, config }, signal);
    return this.#track(writer);
  }

  /** A reader from `from`, from `fromTxId`, or from the first record; it tails the log once caught up. */
  async openReader(options: ReaderOptions = {}): Promise<LogReader> {
    checkOptionKeys(options, READER_KEYS, 'openReader');
    const { from, fromTxId, ...overrides } = options;
    if (from !== undefined && fromTxId !== undefined) throw new InvalidArgumentError('openReader takes from or fromTxId, not both');
    const config = resolveLogConfig(overrides, this.#ctx.config);
    const reader = await LogReader.open(
      {
        logName: this.name,
        metadata: this.#ctx.metadata,
        ledgers: this.#ctx.ledgers,
        password: config.ledgerPassword,
        logger: this.#ctx.logger,
        ...(this.#ctx.segmentLists === undefined ? {} : { segmentLists: this.#ctx.segmentLists }),
        ...(this.#ctx.metrics === undefined ? {} : { metrics: this.#ctx.metrics }),
      },
      { ...(from === undefined ? {} : { from }), ...(fromTxId === undefined ? {} : { fromTxId }) },
      {
        readAheadEntries: config.readAheadEntries,
        readAheadBytes: config.readAheadBytes,
        longPollTimeoutMs: config.longPollTimeoutMs,
        relistIntervalMs: config.relistIntervalMs,
      },
    );
    return this.#track(reader);
  }

  /** The log's segments, oldest first. */
  async getLogSegments(): Promise<LogSegmentMetadata[]> {
    return this.#ctx.metadata.listSegments(this.name);
  }

  /** Where a reader from the beginning starts: the first segment not truncated away. LOG_EMPTY without segments. */
  async getFirstDLSN(): Promise<DLSN> {
    const segments = await this.getLogSegments();
    const first = segments.find((s) => !s.isTruncated);
    if (first === undefined) throw new LogError('LOG_EMPTY', `log ${this.name} has no records`);
    return first.isPartiallyTruncated ? first.minActiveDLSN : first.firstDLSN;
  }

  /** The DLSN of the last user record (acknowledged, up to the LAC). LOG_EMPTY when there is none. */
  async getLastDLSN(): Promise<DLSN> {
    return (await this.#lastUserRecord()).record.dlsn;
  }

  /** The txid of the last user record. LOG_EMPTY when there is none. */
  async getLastTxId(): Promise<bigint> {
    return (await this.#lastUserRecord()).record.txid;
  }

  /**
   * User records in the segments that are not wholly truncated: completed segments count their
   * recorded total, the in-progress one up to its last acknowledged record.
   */
  async getLogRecordCount(): Promise<number> {
    let count = 0;
    for (const segment of await this.getLogSegments()) {
      if (segment.isTruncated) continue;
      count += segment.inProgress ? ((await this.#lastRecordOf(segment))?.position ?? 0) : segment.recordCount;
    }
    return count;
  }

  /** Committed read positions per subscriber id. */
  subscriptions(): SubscriptionsStore {
    return new SubscriptionsStore(this.#ctx.store, this.#ctx.metadata.paths(this.name).subscribers);
  }

  /** Closes the writer (draining it) and the readers opened through this handle. */
  async close(): Promise<void> {
    this.#onClose(this);
    const open = [...this.#open];
    this.#open.clear();
    const results = await Promise.allSettled(open.map((c) => c.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Remembers `c` for close(), forgetting those their users closed already (the set stays bounded). */
  #track<T extends Closeable>(c: T): T {
    for (const o of this.#open) if (o.isClosed) this.#open.delete(o);
    this.#open.add(c);
    return c;
  }

  async #lastUserRecord(): Promise<{ segment: LogSegmentMetadata; record: LastRecord }> {
    const segments = await this.getLogSegments();
    for (let i = segments.length - 1; i >= 0; i--) {
      const segment = segments[i] as LogSegmentMetadata;
      if (segment.isTruncated) break;
      const record = await this.#lastRecordOf(segment);
      if (record !== undefined) return { segment, record };
    }
    throw new LogError('LOG_EMPTY', `log ${this.name} has no records`);
  }

  /** The segment's last user record; an in-progress ledger is read up to its current LAC. */
  async #lastRecordOf(segment: LogSegmentMetadata): Promise<LastRecord | undefined> {
    const handle = await this.#ctx.ledgers.openLedger(segment.logSegmentId, { recover: false, password: this.#ctx.config.ledgerPassword });
    try {
      if (segment.inProgress) await handle.readLastAddConfirmed();
      return await readLastRecord(handle, segment, { includeControl: false });
    } finally {
      await handle.close();
    }
  }
}

export type { LogRecordWithDLSN };
