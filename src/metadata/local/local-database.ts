// One open metadata directory: the znode tree, the sessions and watches of its clients, and the
// group-committed log that makes each transaction durable before it is acknowledged. Every
// LocalMetadataStore on the same directory in this process shares the instance; the LOCK file
// keeps other processes out.
//
// A transaction is applied to the tree when it is accepted, so that the next request validates
// against it, but its promise resolves and its watches fire only after the fdatasync covering it.
// Reads wait the same way for what they saw, so nothing unsynced is ever observable.
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, open, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MetadataError } from '../../errors.js';
import type { MultiResult, NodeData, NodeStat, WatchEvent, Watcher } from '../metadata-store.js';
import { validatePath } from '../path.js';
import { fsyncDir } from '../../util/atomic-file.js';
import { lockDir, unlockDir } from '../../util/dir-lock.js';
import {
  LOG_FILE, SNAPSHOT_TMP_FILE, SYNC_MARK_FILE, SYNC_MARK_SIZE, encodeBatch, encodeSnapshot, encodeSyncMark, readSnapshot, readSyncMark, scanLog, writeSnapshot,
} from './metadata-log.js';
import { ZNodeTree } from './znode-tree.js';
import type { Prepared, Request, TreeEvent, Txn } from './znode-tree.js';

/** Where the store reports recovery and failure; `console` fits. */
export interface LocalStoreLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface LocalDatabaseOptions {
  readonly logger?: LocalStoreLogger;
  /** Log size in bytes beyond which the tree is snapshotted and the log restarted. */
  readonly compactionThreshold?: number;
}

export interface LocalDatabaseStats {
  /** Transactions made durable since open. */
  readonly transactions: number;
  /** fdatasync calls on the log: fewer than transactions when commits were grouped. */
  readonly syncs: number;
  /** Snapshots written since open, the one at open included. */
  readonly compactions: number;
}

const DEFAULT_COMPACTION_THRESHOLD = 16 * 1024 * 1024;
const SILENT: LocalStoreLogger = { info: () => undefined, warn: () => undefined };

/** A client session: owns ephemeral nodes and watches. */
export class Session {
  readonly id: bigint;
  /** Set once the session ended; the code its operations then fail with. */
  closedWith: 'CLOSED' | 'SESSION_EXPIRED' | undefined;
  /** The last transaction of this session: its reads wait for it, keeping them in order with its writes. */
  lastZxid = 0n;
  /** Watches set by get and exists, which share ZooKeeper's data-watch table. */
  readonly dataWatches = new Map<string, Set<Watcher>>();
  readonly childWatches = new Map<string, Set<Watcher>>();

  constructor(id: bigint) {
    this.id = id;
  }
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Notification {
  readonly session: Session;
  readonly watcher: Watcher;
  readonly event: WatchEvent;
}

interface Commit {
  readonly txn: Txn;
  readonly notifications: readonly Notification[];
  readonly done: Deferred;
}

function latest(...zxids: bigint[]): bigint {
  return zxids.reduce((a, b) => (a > b ? a : b));
}

function addWatch(table: Map<string, Set<Watcher>>, path: string, watcher: Watcher): void {
  let set = table.get(path);
  if (set === undefined) table.set(path, (set = new Set()));
  set.add(watcher);
}

function takeWatches(table: Map<string, Set<Watcher>>, path: string, into: Set<Watcher>): void {
  const set = table.get(path);
  if (set === undefined) return;
  table.delete(path);
  for (const watcher of set) into.add(watcher);
}

// Open databases by real path. `refs` counts acquirers from the start, so that a release while
// another client is still waiting for the open cannot close the database under it.
const opened = new Map<string, { readonly db: Promise<LocalDatabase>; refs: number }>();
// Databases being shut down: a new open of the directory waits for them to let go of the lock.
const closing = new Map<string, Promise<void>>();

export class LocalDatabase {
  readonly dir: string;
  readonly #tree: ZNodeTree;
  readonly #epoch: number;
  readonly #logger: LocalStoreLogger;
  readonly #compactionThreshold: number;
  #log: FileHandle;
  #logSize = 0;
  /** The sync mark file and the snapshot zxid the current log follows. */
  readonly #mark: FileHandle;
  #snapshotZxid: bigint;
  #nextSession = 1;
  readonly #sessions = new Set<Session>();
  #lastAccepted: bigint;
  #durable: bigint;
  #queue: Commit[] = [];
  #inFlight: Commit[] = [];
  /** The running write loop, if any; it never rejects. */
  #flushing: Promise<void> | undefined;
  readonly #waiters = new Map<bigint, Deferred[]>();
  #failure: MetadataError | undefined;
  #stats = { transactions: 0, syncs: 0, compactions: 1 };

  private constructor(dir: string, tree: ZNodeTree, epoch: number, zxid: bigint, log: FileHandle, mark: FileHandle, options: LocalDatabaseOptions) {
    this.dir = dir;
    this.#mark = mark;
    this.#snapshotZxid = zxid;
    this.#tree = tree;
    this.#epoch = epoch;
    this.#lastAccepted = zxid;
    this.#durable = zxid;
    this.#log = log;
    this.#logger = options.logger ?? SILENT;
    this.#compactionThreshold = options.compactionThreshold ?? DEFAULT_COMPACTION_THRESHOLD;
  }

  /** The database of `dir` (created if missing), opened or shared; pair with `release`. */
  static async acquire(dir: string, options: LocalDatabaseOptions): Promise<LocalDatabase> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const real = await realpath(dir);
    for (let shutdown = closing.get(real); shutdown !== undefined; shutdown = closing.get(real)) {
      await shutdown;
    }
    let entry = opened.get(real);
    if (entry === undefined) {
      const created = { db: LocalDatabase.#open(real, options), refs: 0 };
      opened.set(real, created);
      created.db.catch(() => {
        if (opened.get(real) === created) opened.delete(real);
      });
      entry = created;
    }
    entry.refs++;
    return entry.db;
  }

  static async #open(dir: string, options: LocalDatabaseOptions): Promise<LocalDatabase> {
    const logger = options.logger ?? SILENT;
    const failed = (err: unknown): MetadataError => err instanceof MetadataError
      ? err
      : new MetadataError('METADATA_ERROR', `cannot open metadata directory ${dir}: ${(err as Error).message}`, { cause: err });
    try {
      lockDir(dir, (message) => new MetadataError('STORE_LOCKED', `metadata ${message}`));
    } catch (err) {
      throw failed(err);
    }
    try {
      const { tree, epoch, zxid: snapshotZxid } = readSnapshot(dir);
      rmSync(join(dir, SNAPSHOT_TMP_FILE), { force: true });
      let zxid = snapshotZxid;
      const logFile = join(dir, LOG_FILE);
      let logBytes: Buffer | undefined;
      try {
        logBytes = readFileSync(logFile);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (logBytes !== undefined) {
        const { txns, validBytes } = scanLog(logBytes, snapshotZxid, logFile);
        for (const txn of txns) {
          try {
            tree.apply(txn);
          } catch (err) {
            throw new MetadataError('STORE_CORRUPT', `metadata log ${logFile} does not fit its snapshot: ${(err as Error).message}`, { cause: err });
          }
          zxid = txn.zxid;
        }
        const mark = readSyncMark(dir);
        if (mark !== undefined && mark.snapshotZxid === snapshotZxid && validBytes < mark.logLength) {
          throw new MetadataError('STORE_CORRUPT', `metadata log ${logFile} is damaged at offset ${validBytes}, inside the first ${mark.logLength} bytes, which were synced and acknowledged`);
        }
        if (validBytes < logBytes.length) {
          logger.warn(`${logFile}: discarded a torn last write of ${logBytes.length - validBytes} bytes at offset ${validBytes} (never acknowledged)`);
        }
      }
      // Every session of an earlier process is dead: its ephemeral nodes go, in one transaction.
      const orphans = tree.allEphemerals();
      if (orphans.length > 0) {
        tree.apply({ zxid: ++zxid, time: Date.now(), ops: orphans.map((path) => ({ kind: 'delete', path }) as const) });
        logger.info(`${dir}: deleted ${orphans.length} ephemeral nodes of sessions of an earlier process`);
      }
      // Session ids are the epoch in the high 32 bits, so they never repeat across opens; the
      // snapshot written here persists the new epoch before any session exists.
      const nextEpoch = epoch + 1;
      if (nextEpoch >= 2 ** 31) throw new MetadataError('METADATA_ERROR', `${dir}: session epochs exhausted`);
      await writeSnapshot(dir, encodeSnapshot(tree, nextEpoch, zxid));
      const log = await open(logFile, 'w', 0o600);
      let mark: FileHandle | undefined;
      try {
        mark = await open(join(dir, SYNC_MARK_FILE), 'w', 0o600);
        await mark.write(encodeSyncMark({ snapshotZxid: zxid, logLength: 0 }), 0, SYNC_MARK_SIZE, 0);
        await fsyncDir(dir);
      } catch (err) {
        await log.close();
        await mark?.close();
        throw err;
      }
      return new LocalDatabase(dir, tree, nextEpoch, zxid, log, mark, options);
    } catch (err) {
      unlockDir(dir);
      throw failed(err);
    }
  }

  get stats(): LocalDatabaseStats {
    return { ...this.#stats };
  }

  /** Gives up one `acquire`; the last one waits for pending commits, closes the log and unlocks. */
  async release(): Promise<void> {
    const entry = opened.get(this.dir);
    if (entry === undefined || --entry.refs > 0) return;
    opened.delete(this.dir);
    const shutdown = this.#shutdown();
    closing.set(this.dir, shutdown);
    try {
      await shutdown;
    } finally {
      closing.delete(this.dir);
    }
  }

  async #shutdown(): Promise<void> {
    // waits out a compaction too, which runs after the last commit already resolved
    while (this.#flushing !== undefined) await this.#flushing;
    try {
      await this.#log.close();
      await this.#mark.close();
    } finally {
      unlockDir(this.dir);
    }
  }

  openSession(): Session {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#nextSession > 0xffffffff) throw new MetadataError('METADATA_ERROR', `${this.dir}: session ids exhausted; reopen the store`);
    const session = new Session((BigInt(this.#epoch) << 32n) | BigInt(this.#nextSession++));
    this.#sessions.add(session);
    return session;
  }

  /** Ends `session`: its watches are dropped at once and its ephemeral nodes deleted durably. */
  async closeSession(session: Session, reason: 'CLOSED' | 'SESSION_EXPIRED'): Promise<void> {
    if (session.closedWith !== undefined) return;
    session.closedWith = reason;
    this.#sessions.delete(session);
    session.dataWatches.clear();
    session.childWatches.clear();
    const owned = this.#tree.ephemeralsOf(session.id);
    if (owned.length === 0) {
      await this.#waitDurable(session.lastZxid);
      return;
    }
    this.#usable();
    await this.#accept({ zxid: this.#lastAccepted + 1n, time: Date.now(), ops: owned.map((path) => ({ kind: 'delete', path }) as const) });
  }

  async getData(session: Session, path: string, watcher: Watcher | undefined): Promise<NodeData> {
    this.#check(session, path);
    const node = this.#tree.get(path);
    if (node === undefined) {
      await this.#waitDurable(this.#lastAccepted);
      throw new MetadataError('NO_NODE', `${path} does not exist`, { path });
    }
    if (watcher !== undefined) addWatch(session.dataWatches, path, watcher);
    const result = { data: Buffer.from(node.data), stat: ZNodeTree.stat(node) };
    await this.#waitDurable(latest(node.mzxid, node.pzxid, session.lastZxid));
    return result;
  }

  async exists(session: Session, path: string, watcher: Watcher | undefined): Promise<NodeStat | null> {
    this.#check(session, path);
    const node = this.#tree.get(path);
    // a watch on a missing node fires when it is created
    if (watcher !== undefined) addWatch(session.dataWatches, path, watcher);
    if (node === undefined) {
      await this.#waitDurable(this.#lastAccepted);
      return null;
    }
    const stat = ZNodeTree.stat(node);
    await this.#waitDurable(latest(node.mzxid, node.pzxid, session.lastZxid));
    return stat;
  }

  async children(session: Session, path: string, watcher: Watcher | undefined): Promise<string[]> {
    this.#check(session, path);
    const node = this.#tree.get(path);
    if (node === undefined) {
      await this.#waitDurable(this.#lastAccepted);
      throw new MetadataError('NO_NODE', `${path} does not exist`, { path });
    }
    if (watcher !== undefined) addWatch(session.childWatches, path, watcher);
    const names = [...node.children].sort();
    await this.#waitDurable(latest(node.pzxid, session.lastZxid));
    return names;
  }

  /**
   * Validates and applies `requests` as one transaction (synchronously, before the first await),
   * resolving once it is durable. Failures reject only once every accepted mutation is durable,
   * since they may reflect one.
   */
  async submit(session: Session, requests: readonly Request[], multi: boolean): Promise<MultiResult[]> {
    this.#check(session);
    const zxid = this.#lastAccepted + 1n;
    const time = Date.now();
    let prepared: Prepared;
    try {
      prepared = this.#tree.prepare(requests, { owner: session.id, zxid, time, multi });
    } catch (err) {
      await this.#waitDurable(this.#lastAccepted);
      throw err;
    }
    if (prepared.ops.length === 0) {
      // only checks: nothing to log, but they read the latest accepted state
      await this.#waitDurable(this.#lastAccepted);
    } else {
      session.lastZxid = zxid;
      await this.#accept({ zxid, time, ops: prepared.ops });
    }
    return prepared.results;
  }

  /** Resolves once every mutation accepted so far is durable. */
  async sync(session: Session): Promise<void> {
    this.#check(session);
    await this.#waitDurable(this.#lastAccepted);
  }

  #usable(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #check(session: Session, path?: string): void {
    this.#usable();
    if (session.closedWith === 'CLOSED') throw new MetadataError('CLOSED', 'the metadata store is closed');
    if (session.closedWith === 'SESSION_EXPIRED') {
      throw new MetadataError('SESSION_EXPIRED', `metadata session 0x${session.id.toString(16)} has expired`);
    }
    if (path !== undefined) validatePath(path);
  }

  #accept(txn: Txn): Promise<void> {
    const events: TreeEvent[] = [];
    this.#tree.apply(txn, events);
    this.#lastAccepted = txn.zxid;
    const done = deferred();
    this.#queue.push({ txn, notifications: this.#detachWatches(events), done });
    // Yield once so that everything submitted in this turn of the event loop shares the first
    // write; after that, whatever arrives while a sync is in flight forms the next batch.
    this.#flushing ??= new Promise<void>((resolve) => { setImmediate(resolve); }).then(() => this.#flush());
    return done.promise;
  }

  /** Takes the watches `events` trigger off their tables: only later reads can set them again. */
  #detachWatches(events: readonly TreeEvent[]): Notification[] {
    const out: Notification[] = [];
    for (const event of events) {
      for (const session of this.#sessions) {
        if (session.dataWatches.size === 0 && session.childWatches.size === 0) continue;
        const watchers = new Set<Watcher>();
        if (event.type !== 'children') takeWatches(session.dataWatches, event.path, watchers);
        if (event.type === 'children' || event.type === 'deleted') takeWatches(session.childWatches, event.path, watchers);
        for (const watcher of watchers) out.push({ session, watcher, event: { type: event.type, path: event.path } });
      }
    }
    return out;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = (this.#inFlight = this.#queue);
        this.#queue = [];
        const bytes = encodeBatch(batch.map((commit) => commit.txn));
        for (let written = 0; written < bytes.length;) {
          const { bytesWritten } = await this.#log.write(bytes, written, bytes.length - written, this.#logSize + written);
          written += bytesWritten;
        }
        await this.#log.datasync();
        this.#logSize += bytes.length;
        await this.#writeMark();
        this.#stats.syncs++;
        this.#stats.transactions += batch.length;
        this.#inFlight = [];
        for (const commit of batch) this.#complete(commit);
        if (this.#logSize >= this.#compactionThreshold) await this.#compact();
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#flushing = undefined;
    }
  }

  #complete(commit: Commit): void {
    const { zxid } = commit.txn;
    this.#durable = zxid;
    // Queued before the resolutions below so that watch events precede the results they explain.
    for (const notification of commit.notifications) queueMicrotask(() => { this.#notify(notification); });
    commit.done.resolve();
    const waiting = this.#waiters.get(zxid);
    if (waiting === undefined) return;
    this.#waiters.delete(zxid);
    for (const waiter of waiting) waiter.resolve();
  }

  #notify({ session, watcher, event }: Notification): void {
    if (session.closedWith !== undefined) return;
    try {
      watcher(event);
    } catch (err) {
      this.#logger.warn(`metadata watcher for ${event.type} ${event.path} threw: ${String(err)}`);
    }
  }

  /** Snapshots the tree, queued transactions included, and restarts the log empty. */
  async #compact(): Promise<void> {
    const snapshotZxid = this.#lastAccepted;
    await writeSnapshot(this.dir, encodeSnapshot(this.#tree, this.#epoch, snapshotZxid));
    // Queued transactions are in the snapshot and will also be logged: replay skips them by zxid.
    const fresh = await open(join(this.dir, LOG_FILE), 'w', 0o600);
    const old = this.#log;
    this.#log = fresh;
    this.#logSize = 0;
    this.#snapshotZxid = snapshotZxid;
    await this.#writeMark();
    this.#stats.compactions++;
    await old.close();
  }

  /** Records how much of the current log is synced (see the sync mark in metadata-log.ts). */
  async #writeMark(): Promise<void> {
    await this.#mark.write(encodeSyncMark({ snapshotZxid: this.#snapshotZxid, logLength: this.#logSize }), 0, SYNC_MARK_SIZE, 0);
  }

  #waitDurable(zxid: bigint): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (zxid <= this.#durable) return Promise.resolve();
    // every zxid above #durable belongs to a queued commit, whose completion resolves this
    const waiter = deferred();
    const waiting = this.#waiters.get(zxid);
    if (waiting === undefined) this.#waiters.set(zxid, [waiter]);
    else waiting.push(waiter);
    return waiter.promise;
  }

  /** The tree now holds changes the disk may not: refuse everything until the directory is reopened. */
  #fail(err: unknown): void {
    const failure = new MetadataError(
      'METADATA_ERROR',
      `metadata directory ${this.dir}: writing the log failed, the store stopped; reopen it to recover: ${(err as Error).message}`,
      { cause: err },
    );
    this.#failure = failure;
    this.#logger.warn(failure.message);
    for (const commit of [...this.#inFlight, ...this.#queue]) commit.done.reject(failure);
    this.#inFlight = [];
    this.#queue = [];
    for (const waiting of this.#waiters.values()) for (const waiter of waiting) waiter.reject(failure);
    this.#waiters.clear();
  }
}
