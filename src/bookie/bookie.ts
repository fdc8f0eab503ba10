// A BookKeeper-compatible storage node: journal + ledger storage + the v3 protocol server +
// registration in the metadata store, with periodic checkpoints, garbage collection and a disk
// monitor. `startBookie` is what `dlog bookie` and the embedded mode run.
import { mkdir, realpath, statfs } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, MetadataError } from '../errors.js';
import { certificateValidityProblem } from '../util/certificate-validity.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { parseMetadataUri } from '../metadata/metadata-uri.js';
import { openMetadataStore } from '../metadata/open-metadata-store.js';
import { ZkMetadataStore } from '../metadata/zk/zk-metadata-store.js';
import { retry } from '../util/backoff.js';
import { lockDir, unlockDir } from '../util/dir-lock.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame-decoder.js';
import { ledgerPath } from '../ledger-metadata/ledger-paths.js';
import type { TokenAuthOptions } from '../protocol/auth-plugins.js';
import { BookieError } from './bookie-error.js';
import { startAdminHttp } from './admin-http.js';
import { BookieMetrics } from './bookie-metrics.js';
import { BookieServer } from './bookie-server.js';
import { checkCookies } from './cookie-check.js';
import { checkDirLayout } from './dir-layout.js';
import { SecurityPolicy, type BookieTlsOptions } from './connection-security.js';
import { anyDiskOver, DiskMonitor } from './disk-monitor.js';
import type { GcReport } from './garbage-collector.js';
import { Journal, type JournalOptions, type JournalRecord, type JournalStats } from './journal.js';
import { LacTracker } from './lac-tracker.js';
import { LedgerDirsStorage } from './ledger-dirs-storage.js';
import { DEFAULT_WRITE_CACHE_BYTES, type LedgerStorageOptions } from './ledger-storage.js';
import { formatLedgersRoot, Registration } from './registration.js';
import { bounded, CleanupStack } from '../util/cleanup-stack.js';
import { RequestProcessor } from './request-processor.js';

export interface BookieOptions {
  /**
   * Where the bookie registers and finds ledger metadata: a metadata URI whose path is the ledgers
   * root (`zk://127.0.0.1:2181/ledgers`; a bare `/` means `/ledgers`), or an open MetadataStore.
   */
  metadata: string | MetadataStore;
  /** The ledgers root when `metadata` is a store. Default `/ledgers`. */
  ledgersRoot?: string;
  /**
   * Data directory: the journal goes to `<dir>/journal`, ledger storage to `<dir>/ledgers`, unless
   * `journalDir` / `ledgerDirs` say otherwise. Required unless both of those are given.
   */
  dir?: string;
  /** The journal's directory; on a disk of its own, adds are not slowed by ledger flushes and reads. */
  journalDir?: string;
  /**
   * Ledger storage directories, one per disk; ledger L lives in `ledgerDirs[L mod n]`. The list
   * (length and order) is fixed once the bookie has stored data: a changed list fails with
   * BOOKIE_DIRS_CHANGED. Default `[<dir>/ledgers]`.
   */
  ledgerDirs?: readonly string[];
  /** One ledger dir: the same as `ledgerDirs: [ledgerDir]` (the option before there were several). */
  ledgerDir?: string;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Default 3181; 0 picks a free port. */
  port?: number;
  /** Default `<host>:<port>` (with the port actually bound). */
  bookieId?: string;
  /** Largest frame accepted, length prefix included. Default 5 MiB, as BookKeeper. */
  maxFrameSize?: number;
  /** Requests in progress per connection before the bookie stops reading it. Default 10000. */
  maxInFlightPerConnection?: number;
  /** Entry reads (long polls aside) in progress per connection before it stops reading it. Default 128. */
  maxInFlightReadsPerConnection?: number;
  /** Response bytes queued for a peer that does not read them before its requests wait. Default 16 MiB. */
  maxQueuedResponseBytes?: number;
  /** Client connections; more are closed at once (with a rate-limited warning). Default 1000. */
  maxConnections?: number;
  /** A connection idle this long (nothing in progress, no traffic) is closed; clients reconnect on use. 0 = never. Default 10 min. */
  idleTimeoutMs?: number;
  /** Storage flush + journal mark. Default 10 s. */
  checkpointIntervalMs?: number;
  /** Garbage collection of deleted ledgers and compaction. Default 10 min; 0 turns it off. */
  gcIntervalMs?: number;
  /** Entry logs with less live data than this fraction are compacted. Default 0.5. */
  compactionThreshold?: number;
  /** Disk usage fraction above which the bookie turns read-only. Default 0.95. */
  diskUsageThreshold?: number;
  /** ...and below which it becomes writable again. Default 0.90 (at most diskUsageThreshold). */
  diskUsageWarnThreshold?: number;
  diskCheckIntervalMs?: number;
  /** ZooKeeper session timeout when `metadata` is a zk URI. */
  sessionTimeoutMs?: number;
  /** ZooKeeper digest credentials `user:password` when `metadata` is a zk URI; the nodes it creates get creator-all ACLs. */
  zkAuth?: string;
  /** With zkAuth: the nodes it creates stay world-readable. Default true. */
  zkWorldReadable?: boolean;
  /** TLS through START_TLS (PEM contents). Without it the bookie answers START_TLS with EBADREQ. */
  tls?: BookieTlsOptions;
  /** Require clients to authenticate (AUTH operation) with this plugin; unauthenticated ones get EUA. */
  auth?: TokenAuthOptions;
  /** Serve the admin HTTP endpoint (/metrics, /heartbeat, /api/v1/bookie/...) on this port; 0 picks one. Default off. */
  httpPort?: number;
  /** Address of the admin endpoint. Default: `host`. */
  httpHost?: string;
  journal?: JournalOptions;
  storage?: Omit<LedgerStorageOptions, 'dir' | 'logger' | 'onWriteFailure'>;
  logger?: Logger;
}

export interface BookieInfo {
  readonly bookieId: string;
  readonly journalDir: string;
  readonly ledgerDir: string;
  readonly readOnly: boolean;
  readonly version: string;
  /** Bytes free to this user, and the size, of the ledger directory's disk. */
  readonly freeSpace: number;
  readonly totalSpace: number;
}

export interface Bookie {
  readonly bookieId: string;
  readonly address: { readonly host: string; readonly port: number };
  readonly readOnly: boolean;
  /** Flushes ledger storage and advances the journal mark now. */
  checkpoint(): Promise<void>;
  /** Runs garbage collection now. */
  collectGarbage(): Promise<GcReport>;
  /** Where the admin HTTP endpoint listens, when `httpPort` was given. */
  readonly httpAddress: { readonly host: string; readonly port: number } | undefined;
  /** Turns read-only on or off by hand (a full disk or a failed write keeps it read-only whatever this says). */
  setReadOnly(readOnly: boolean): Promise<void>;
  /** Prometheus text exposition of the bookie's metrics. */
  metricsText(): string;
  /** Id, directories, disk space, state and version: the admin endpoint's /api/v1/bookie/info. */
  info(): Promise<BookieInfo>;
  /** Counters: the journal's groups, syncs and records (group commit at work). */
  stats(): { readonly journal: JournalStats };
  /** Stops serving, deregisters, checkpoints and closes. Idempotent. */
  close(): Promise<void>;
}

/** Reported by /api/v1/bookie/info. */
const BOOKIE_VERSION = '0.1.0';

/** Gauges read at scrape time from the journal, the storage, the server and the state; the histograms their owners record. */
function registerStateMetrics(metrics: BookieMetrics, journal: Journal, storage: LedgerDirsStorage, server: BookieServer, isReadOnly: () => boolean): void {
  const r = metrics.registry;
  r.addHistogram('journal_sync_latency_seconds', 'Journal group write with its durability barrier (O_DSYNC write, or write + fdatasync): what every add waits for.', journal.syncLatency);
  storage.storages.forEach((part, i) => {
    const dir = { dir: storage.dirs[i] ?? String(i) };
    r.gauge('write_cache_bytes', 'Bytes in the write caches of a ledger directory, waiting for a flush to its entry log.', () => part.activity().writeCacheBytes, 'gauge', dir);
    r.gauge('write_cache_entries', 'Entries in the write caches of a ledger directory.', () => part.activity().writeCacheEntries, 'gauge', dir);
    r.gauge('entry_log_flushes_total', 'Write-cache flushes to the entry log (checkpoints and full caches).', () => part.activity().flushes, 'counter', dir);
    r.gauge('entry_log_flushed_entries_total', 'Entries written to entry logs by flushes.', () => part.activity().flushedEntries, 'counter', dir);
    r.gauge('entry_log_flushed_bytes_total', 'Write-cache bytes written to entry logs by flushes.', () => part.activity().flushedBytes, 'counter', dir);
    r.addHistogram('entry_log_flush_latency_seconds', 'One flush: entry log append, its fsync and the index commit.', part.flushLatency, dir);
    r.addHistogram('storage_read_latency_seconds', 'One entry read from ledger storage: write cache, read cache or entry log.', part.readLatency, dir);
  });
  r.gauge('journal_records_total', 'Records the journal acknowledged (after fsync).', () => journal.stats().records, 'counter');
  r.gauge('journal_groups_total', 'Journal groups written and synced; records/groups is the group-commit size.', () => journal.stats().groups, 'counter');
  r.gauge('journal_syncs_total', 'Journal durability barriers (fdatasync), file creation included.', () => journal.stats().syncs, 'counter');
  r.gauge('journal_bytes_written_total', 'Bytes written to journal files.', () => journal.stats().bytesWritten, 'counter');
  r.gauge('journal_pending_records', 'Records appended and not yet synced.', () => journal.stats().pendingRecords);
  r.gauge('connections', 'Open client connections.', () => server.connections);
  r.gauge('read_only', '1 when the bookie refuses adds (full disk or set by an operator).', () => (isReadOnly() ? 1 : 0));
}
/** Each wait on the metadata store while closing: a stop must not hang on an unreachable ZooKeeper. */
const METADATA_CLOSE_MS = 1000;

function fraction(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError(`${name} must be within [0, 1], got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function positive(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Puts a replayed record back into storage. An entry goes into the write cache only, and false says
 * it has no room: the caller flushes, or, with `hold` (a start on a full disk, where nothing can be
 * flushed), the entry is held in the flushing half too, and false says it does not fit at all.
 */
async function applyRecord(storage: LedgerDirsStorage, lac: LacTracker, record: JournalRecord, hold: boolean): Promise<boolean> {
  switch (record.type) {
    case 'masterKey':
      storage.setMasterKey(record.ledgerId, record.masterKey);
      return true;
    case 'fence':
      await storage.setFenced(record.ledgerId);
      return true;
    case 'explicitLac':
      storage.setExplicitLac(record.ledgerId, record.lacEnvelope);
      lac.update(record.ledgerId, record.lac);
      return true;
    case 'addEntry': {
      const { ledgerId, entryId, entry } = record;
      const part = storage.of(ledgerId);
      if (!(hold ? part.holdEntry(ledgerId, entryId, entry) : part.addEntryNow(ledgerId, entryId, entry))) return false;
      lac.update(ledgerId, Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength).readBigInt64BE(16));
      return true;
    }
  }
}

/** Takes the lock of each directory (real paths) once: the journal may share a ledger dir. */
function lockAll(dirs: readonly string[]): string[] {
  const locked: string[] = [];
  for (const dir of new Set(dirs)) {
    try {
      lockDir(dir, (message) => new BookieError('BOOKIE_LOCKED', `bookie ${message}`));
    } catch (err) {
      for (const d of locked) unlockDir(d);
      throw err;
    }
    locked.push(dir);
  }
  return locked;
}

/** The journal and ledger dirs as real paths, created if missing; ledger dirs must be distinct. */
async function bookieDirs(options: BookieOptions): Promise<{ journalDir: string; ledgerDirs: string[] }> {
  const { dir } = options;
  const under = (name: string, sub: string): string => {
    if (dir === undefined) throw new InvalidArgumentError(`dir is required when ${name} is not given`);
    return path.join(dir, sub);
  };
  const journal = options.journalDir ?? under('journalDir', 'journal');
  if (options.ledgerDirs !== undefined && options.ledgerDir !== undefined) throw new InvalidArgumentError('give ledgerDirs or ledgerDir, not both');
  const ledgers = options.ledgerDirs ?? [options.ledgerDir ?? under('ledgerDirs', 'ledgers')];
  if (ledgers.length === 0) throw new InvalidArgumentError('ledgerDirs must name at least one directory');
  const real = async (d: string): Promise<string> => {
    await mkdir(d, { recursive: true, mode: 0o700 });
    return realpath(d);
  };
  const journalDir = await real(journal);
  const ledgerDirs: string[] = [];
  for (const d of ledgers) {
    const r = await real(d);
    if (ledgerDirs.includes(r)) throw new InvalidArgumentError(`ledger dir ${d} is listed twice (as ${r})`);
    ledgerDirs.push(r);
  }
  return { journalDir, ledgerDirs };
}

export async function startBookie(options: BookieOptions): Promise<Bookie> {
  const logger = options.logger ?? noopLogger;
  const host = options.host ?? '127.0.0.1';
  const port = nonNegative('port', options.port ?? 3181);
  if (port > 65535) throw new InvalidArgumentError(`port must be at most 65535, got ${port}`);
  const threshold = fraction('diskUsageThreshold', options.diskUsageThreshold ?? 0.95);
  const warnThreshold = Math.min(threshold, fraction('diskUsageWarnThreshold', options.diskUsageWarnThreshold ?? 0.9));
  const checkpointIntervalMs = nonNegative('checkpointIntervalMs', options.checkpointIntervalMs ?? 10_000);
  const gcIntervalMs = nonNegative('gcIntervalMs', options.gcIntervalMs ?? 600_000);
  const compactionThreshold = fraction('compactionThreshold', options.compactionThreshold ?? 0.5);
  // certificates and plugin are checked before any directory is touched
  const security = new SecurityPolicy(options.tls, options.auth);
  const expired = options.tls === undefined ? undefined : certificateValidityProblem(options.tls.cert);
  if (expired !== undefined) throw new InvalidArgumentError(`bookie TLS: ${expired}; clients would refuse every handshake`);
  let ledgersRoot = options.ledgersRoot ?? '/ledgers';
  if (typeof options.metadata === 'string') {
    const uri = parseMetadataUri(options.metadata);
    if (uri.path !== '/') ledgersRoot = uri.path;
  }
  const { journalDir, ledgerDirs } = await bookieDirs(options);
  // the dir whose disk GET_BOOKIE_INFO and info() report
  const ledgerDir = ledgerDirs[0] ?? journalDir;

  const cleanups = new CleanupStack(logger);
  const unwind = (): Promise<void> => cleanups.unwind();
  try {
    const locked = lockAll([journalDir, ...ledgerDirs]);
    cleanups.push(() => { for (const d of locked) unlockDir(d); });
    await checkDirLayout(journalDir, ledgerDirs);

    const store = typeof options.metadata === 'string'
      ? await openMetadataStore(options.metadata, {
        logger,
        ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
        ...(options.zkAuth === undefined ? {} : { zkAuth: options.zkAuth }),
        ...(options.zkWorldReadable === undefined ? {} : { zkWorldReadable: options.zkWorldReadable }),
      })
      : options.metadata;
    if (typeof options.metadata === 'string') cleanups.push(() => bounded(store.close(), METADATA_CLOSE_MS, 'closing the metadata session', logger));
    // wrong --zk-auth: fail now, naming the user, rather than at registration with a bare NO_AUTH
    if (store instanceof ZkMetadataStore) await store.checkCredentials(ledgersRoot);
    // a lost connection on a loaded machine is retried here, as registration does later
    const withRetry = <T>(what: string, fn: () => Promise<T>): Promise<T> => retry(fn, {
      initialMs: 100, maxMs: 2000, retries: 10,
      shouldRetry: (err) => err instanceof MetadataError && err.retriable,
      onRetry: (err, attempt, delayMs) => { logger.warn({ err, attempt, delayMs }, `${what}: retrying`); },
    });
    // cookies before anything is written to the dirs: refuse another cluster's or bookie's data
    await withRetry('formatting the ledgers root', () => formatLedgersRoot(store, ledgersRoot));
    const fixedId = options.bookieId ?? (port === 0 ? undefined : `${host}:${port}`);
    const cookies = await withRetry('checking cookies', () => checkCookies({ store, ledgersRoot, journalDir, ledgerDirs, bookieId: fixedId, logger }));

    // a failed index write, whoever started it (checkpoint, full write cache, GC, compaction), is a
    // failed write: reported to onWriteFailure below once the bookie is up (start-up handles its own)
    const failures: { report?: (err: unknown) => void } = {};
    const storage = await LedgerDirsStorage.open(ledgerDirs, { ...options.storage, logger, onWriteFailure: (err) => failures.report?.(err) });
    // set while the start-up flush has not succeeded (a full disk): a stop then writes nothing,
    // the journal keeps every record since the last checkpoint for the next start to replay
    let startFlushPending = false;
    cleanups.push(() => storage.close({ flush: !startFlushPending }));
    const journal = await Journal.open(journalDir, options.journal);
    cleanups.push(() => journal.close());
    const { repairedBytes, fileId } = journal.stats();
    // never acknowledged (a write the crash cut short), but an operator should see it happened
    if (repairedBytes > 0) logger.warn({ journalDir, fileId, bytes: repairedBytes }, `journal: dropped a torn tail of ${repairedBytes} bytes (never acknowledged)`);
    const lac = new LacTracker();
    cleanups.push(() => { lac.close(); });

    // On a full disk the start-up flush fails inside LMDB, and closing LMDB after that waits
    // forever: the bookie starts read-only instead, the replayed records served from its write
    // cache (and still in the journal), and flushes them once space frees.
    startFlushPending = await anyDiskOver([journalDir, ...ledgerDirs], threshold);
    /** A flush during the replay that failed (a disk under the threshold without room for it). */
    let replayFlushError: Error | undefined;
    // restart: everything journaled after the last checkpoint goes back into storage
    const mark = await storage.readCheckpointMark();
    let overflow = false;
    const replayed = await journal.replay(mark, async (record) => {
      if (await applyRecord(storage, lac, record, startFlushPending)) return;
      if (!startFlushPending) {
        // the write cache is full: flush it, or, if that fails, hold the rest as on a full disk
        // (read-only at once, no wait for room that will not come)
        try {
          await storage.flush();
        } catch (err) {
          replayFlushError = err as Error;
          startFlushPending = true;
          logger.error({ err }, 'a flush during the journal replay failed: holding the rest of it in the write cache, starting read-only until a flush succeeds');
        }
        if (await applyRecord(storage, lac, record, startFlushPending)) return;
      }
      overflow = true;
      throw new BookieError('BOOKIE_DISK_FULL', 'the journal to replay does not fit in the write cache');
    }).catch(async (err: unknown) => {
      if (!overflow) throw err;
      // refused rather than half started: the journal is untouched, a start with space replays it all
      const bytes = await journal.bytesSince(mark);
      const cache = options.storage?.writeCacheBytes ?? DEFAULT_WRITE_CACHE_BYTES;
      const why = replayFlushError === undefined ? `disk usage is over ${threshold}` : `a flush during the replay failed (${replayFlushError.message})`;
      throw new BookieError('BOOKIE_DISK_FULL', `${why} and the journal to replay (${bytes} bytes from ${mark.fileId}:${mark.offset}) does not fit in the write cache (${cache} bytes), which must hold it while nothing can be flushed: free about ${bytes} bytes in ${ledgerDirs.join(', ')} (or give a larger write cache) and start again; the journal is kept`, { cause: replayFlushError ?? err });
    });
    logger.info({ records: replayed.records, from: mark }, 'journal replayed');

    let checkpointing: Promise<void> | undefined;
    const checkpoint = (): Promise<void> => {
      checkpointing ??= (async () => {
        const position = journal.markCheckpoint();
        await storage.flush();
        await storage.writeCheckpointMark(position);
        await journal.removeBefore(position);
      })().finally(() => { checkpointing = undefined; });
      return checkpointing;
    };
    let diskFull = false;
    if (startFlushPending) {
      if (replayFlushError === undefined) logger.warn({ threshold }, 'disk usage over the threshold at start: starting read-only, the start-up flush waits for space');
    } else {
      try {
        await checkpoint();
      } catch (err) {
        startFlushPending = true;
        logger.error({ err }, 'the start-up flush failed: starting read-only until a flush succeeds');
      }
    }
    // a close before the start-up flush succeeded skips the flush for the same reason
    cleanups.push(() => (startFlushPending ? undefined : checkpoint()));

    // read-only while the disk is over its threshold, and for good (until a restart) once a
    // journal or storage write failed: never registered writable while answering EIO; or because
    // an operator asked (admin endpoint)
    let readOnly = startFlushPending;
    let writeFailure = false;
    let forcedReadOnly = false;
    /** Set once registered; a failure before that only sets `readOnly`, which registration reads. */
    const registered: { current?: Registration } = {};
    const applyMode = async (): Promise<void> => {
      readOnly = diskFull || writeFailure || forcedReadOnly || startFlushPending;
      await registered.current?.setReadOnly(readOnly);
    };
    const finishStartFlush = async (): Promise<void> => {
      await checkpoint();
      startFlushPending = false;
      logger.info({}, 'the start-up flush is done');
    };
    const onWriteFailure = (err: unknown): void => {
      if (writeFailure) return;
      writeFailure = true;
      logger.error({ err }, 'a journal or storage write failed: the bookie is read-only until restarted');
      void applyMode();
    };
    failures.report = onWriteFailure;
    const metrics = new BookieMetrics();
    const processor = new RequestProcessor({ storage, journal, lac, ledgerDir, isReadOnly: () => readOnly, onWriteFailure, logger });
    const server = await BookieServer.listen(processor, {
      host, port, logger, security, metrics,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      maxInFlightPerConnection: positive('maxInFlightPerConnection', options.maxInFlightPerConnection ?? 10_000),
      maxInFlightReadsPerConnection: positive('maxInFlightReadsPerConnection', options.maxInFlightReadsPerConnection ?? 128),
      maxQueuedResponseBytes: positive('maxQueuedResponseBytes', options.maxQueuedResponseBytes ?? 16 * 1024 * 1024),
      maxConnections: positive('maxConnections', options.maxConnections ?? 1000),
      idleTimeoutMs: nonNegative('idleTimeoutMs', options.idleTimeoutMs ?? 600_000),
    });
    cleanups.push(() => server.close());
    const bound = server.address;
    const bookieId = options.bookieId ?? `${host}:${bound.port}`;
    await withRetry('writing cookies', () => cookies.stamp(bookieId));

    const registration = new Registration(store, ledgersRoot, bookieId, logger);
    registered.current = registration;
    await registration.setReadOnly(readOnly);
    const monitor = new DiskMonitor({
      dirs: [journalDir, ...ledgerDirs], threshold, warnThreshold, logger,
      intervalMs: options.diskCheckIntervalMs ?? 10_000,
      onChange: async (full) => {
        diskFull = full;
        // writable again only with the start-up flush done
        if (!full && startFlushPending) await finishStartFlush().catch((err: unknown) => { logger.error({ err }, 'the start-up flush failed again; staying read-only'); });
        await applyMode();
      },
    });
    // the first disk check comes before registering: a full bookie registers read-only at once,
    // never for a moment as writable (as BookKeeper's BookieStateManager does)
    await monitor.start();
    cleanups.push(() => monitor.stop());
    await registration.start();
    // ZooKeeper may be gone or hung: the registration is ephemeral and ends with the session anyway
    cleanups.push(() => bounded(registration.close(), METADATA_CLOSE_MS, 'deregistering', logger));

    const isLive = async (ids: readonly bigint[]): Promise<ReadonlySet<bigint>> => {
      await store.sync(ledgersRoot);
      const live = new Set<bigint>();
      await Promise.all(ids.map(async (id) => {
        if ((await store.exists(ledgerPath(ledgersRoot, id))) !== null) live.add(id);
      }));
      return live;
    };
    const gcRuns = metrics.registry.counter('gc_runs_total', 'Garbage collection runs.');
    const gcDeletedLedgers = metrics.registry.counter('gc_deleted_ledgers_total', 'Ledgers garbage collection removed from storage.');
    const gcCompactedLogs = metrics.registry.counter('gc_compacted_entry_logs_total', 'Entry logs compacted.');
    const gcReclaimed = metrics.registry.counter('gc_reclaimed_bytes_total', 'Entry log bytes freed by garbage collection, net of compaction writes.');
    const collectGarbage = async (): Promise<GcReport> => {
      // checkpoint first: otherwise a crash before the next one would replay the journal records
      // of the ledgers deleted here and bring them back
      await checkpoint();
      const before = await storage.listLedgers();
      const report = await storage.collectGarbage(isLive, { compactionThreshold });
      const kept = new Set(await storage.listLedgers());
      for (const id of before) if (!kept.has(id)) lac.forget(id);
      gcRuns.inc();
      gcDeletedLedgers.inc(report.deletedLedgers);
      gcCompactedLogs.inc(report.compactedLogs);
      gcReclaimed.inc(report.bytesReclaimed);
      return report;
    };

    let closing: Promise<void> | undefined;
    const timers = new Map<string, NodeJS.Timeout>();
    const every = (ms: number, what: string, fn: () => Promise<unknown>): void => {
      if (ms === 0) return;
      const tick = (): void => {
        const timer = setTimeout(() => {
          void fn()
            .catch((err: unknown) => { logger.error({ err }, `${what} failed`); })
            .finally(() => { if (closing === undefined) tick(); });
        }, ms);
        timer.unref();
        timers.set(what, timer);
      };
      tick();
    };
    // a failed flush of the index or the entry logs is a failed write too (LMDB: `Commit failed`, ENOSPC)
    every(checkpointIntervalMs, 'checkpoint', async () => {
      // a pending start-up flush is retried (not a new failure) once the disk is not full
      if (startFlushPending) {
        if (diskFull) return;
        await finishStartFlush();
        await applyMode();
        return;
      }
      await checkpoint().catch((err: unknown) => {
        onWriteFailure(err);
        throw err;
      });
    });
    every(gcIntervalMs, 'garbage collection', collectGarbage);
    cleanups.push(() => { for (const timer of timers.values()) clearTimeout(timer); });

    registerStateMetrics(metrics, journal, storage, server, () => readOnly);
    const setReadOnly = async (ro: boolean): Promise<void> => {
      forcedReadOnly = ro;
      await applyMode();
      logger.info({ readOnly, forced: ro, diskFull, writeFailure }, 'bookie state set');
    };
    let httpAddress: Bookie['httpAddress'];
    const bookie: Bookie = {
      get httpAddress() { return httpAddress; },
      bookieId,
      address: { host, port: bound.port },
      get readOnly() { return readOnly; },
      setReadOnly,
      metricsText: () => metrics.registry.prometheusText(),
      info: async () => {
        const fs = await statfs(ledgerDir);
        return {
          bookieId, journalDir, ledgerDir, readOnly, version: BOOKIE_VERSION,
          freeSpace: fs.bavail * fs.bsize, totalSpace: fs.blocks * fs.bsize,
        };
      },
      checkpoint,
      collectGarbage,
      stats: () => ({ journal: journal.stats() }),
      close: () => {
        closing ??= unwind();
        return closing;
      },
    };
    if (options.httpPort !== undefined) {
      const admin = await startAdminHttp(bookie, { host: options.httpHost ?? host, port: options.httpPort, logger });
      cleanups.push(() => admin.close());
      httpAddress = admin.address;
    }
    logger.info({ bookieId, host, port: bound.port, journalDir, ledgerDirs }, 'bookie serving');
    return bookie;
  } catch (err) {
    await unwind().catch((cleanupErr: unknown) => { logger.error({ err: cleanupErr }, 'cleanup after a failed start failed'); });
    throw err;
  }
}
