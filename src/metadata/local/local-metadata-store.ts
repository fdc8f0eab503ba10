// The embedded MetadataStore backend: ZooKeeper's data model kept in a local directory, for a
// single process (a standalone deployment, tests). Each instance is one session; instances on the
// same directory in one process share one database, so they see each other's changes and watches.
import { EventEmitter } from 'node:events';
import { MetadataError } from '../../errors.js';
import type {
  CreateMode, CreateOptions, MetadataStore, MetadataStoreEvents, MultiOp, MultiResult, NodeData, NodeStat,
  SessionState, Watcher,
} from '../metadata-store.js';
import { validatePath } from '../path.js';
import { LocalDatabase } from './local-database.js';
import type { LocalDatabaseOptions, LocalDatabaseStats, Session } from './local-database.js';
import type { Request } from './znode-tree.js';

export type { LocalStoreLogger } from './local-database.js';

/**
 * `logger` receives recovery and failure messages; `compactionThreshold` (bytes, default 16 MiB)
 * is the log size that triggers a snapshot. The options of the first open of a directory apply:
 * later opens in the same process share that database.
 */
export type LocalMetadataStoreOptions = LocalDatabaseOptions;

const MODES: ReadonlySet<string> = new Set<CreateMode>(['persistent', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential']);
const EMPTY = Buffer.alloc(0);

/** Checks a request from untyped callers and copies its data, so later changes by the caller do not leak in. */
function toRequest(op: MultiOp, failedOp: number | undefined, createParents = false): Request {
  const bad = (message: string): MetadataError => failedOp === undefined
    ? new MetadataError('BAD_ARGUMENTS', message, { path: op.path })
    : new MetadataError('BAD_ARGUMENTS', `multi op ${failedOp}: ${message}`, { path: op.path, failedOp });
  const data = (bytes: Uint8Array | undefined): Buffer => {
    if (bytes === undefined) return EMPTY;
    if (!(bytes instanceof Uint8Array)) throw bad('data must be a Uint8Array');
    return Buffer.from(bytes);
  };
  const version = (v: number | undefined): number => {
    if (v === undefined) return -1;
    if (!Number.isInteger(v)) throw bad(`version must be an integer, not ${v}`);
    return v;
  };
  switch (op.op) {
    case 'create': {
      const mode = op.mode ?? 'persistent';
      if (!MODES.has(mode)) throw bad(`unknown create mode ${mode}`);
      return { op: 'create', path: op.path, data: data(op.data), mode, createParents };
    }
    case 'set':
      return { op: 'set', path: op.path, data: data(op.data), version: version(op.version) };
    case 'delete':
      return { op: 'delete', path: op.path, version: version(op.version) };
    case 'check':
      return { op: 'check', path: op.path, version: version(op.version) };
  }
}

export class LocalMetadataStore extends EventEmitter<MetadataStoreEvents> implements MetadataStore {
  readonly #db: LocalDatabase;
  #session: Session;
  #state: SessionState = 'connected';
  #expiring: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(db: LocalDatabase) {
    super();
    // one store is shared by every registration, registry and lock of a process: many listeners is normal
    this.setMaxListeners(0);
    this.#db = db;
    this.#session = db.openSession();
  }

  /**
   * Opens the store in `dir`, creating the directory if needed. Rejects with STORE_LOCKED when
   * another process has it open and STORE_CORRUPT when its files are damaged beyond a torn last write.
   */
  static async open(dir: string, options: LocalMetadataStoreOptions = {}): Promise<LocalMetadataStore> {
    const db = await LocalDatabase.acquire(dir, options);
    let store: LocalMetadataStore;
    try {
      store = new LocalMetadataStore(db);
    } catch (err) {
      await db.release();
      throw err;
    }
    const { sessionId } = store;
    // On a later turn, so that the caller can attach listeners once `open` resolved.
    setImmediate(() => {
      if (store.#state === 'connected' && store.sessionId === sessionId) store.emit('connected', sessionId);
    });
    return store;
  }

  get sessionId(): bigint {
    return this.#session.id;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Counters of the shared database: transactions, log syncs, snapshots. */
  get stats(): LocalDatabaseStats {
    return this.#db.stats;
  }

  async get(path: string, watcher?: Watcher): Promise<NodeData> {
    return this.#db.getData(this.#live(), path, watcher);
  }

  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return this.#db.exists(this.#live(), path, watcher);
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    return this.#db.children(this.#live(), path, watcher);
  }

  async create(path: string, data?: Uint8Array, options: CreateOptions = {}): Promise<string> {
    const session = this.#live();
    const op: MultiOp = { op: 'create', path, data: data ?? EMPTY, mode: options.mode ?? 'persistent' };
    const [result] = await this.#db.submit(session, [toRequest(op, undefined, options.createParents ?? false)], false);
    if (result?.op !== 'create') throw new Error('local metadata store: create produced no result');
    return result.path;
  }

  async set(path: string, data: Uint8Array, version = -1): Promise<NodeStat> {
    const [result] = await this.#db.submit(this.#live(), [toRequest({ op: 'set', path, data, version }, undefined)], false);
    if (result?.op !== 'set') throw new Error('local metadata store: set produced no result');
    return result.stat;
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.#db.submit(this.#live(), [toRequest({ op: 'delete', path, version }, undefined)], false);
  }

  async multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    return this.#db.submit(this.#live(), ops.map((op, index) => toRequest(op, index)), true);
  }

  async sync(path?: string): Promise<void> {
    const session = this.#live();
    if (path !== undefined) validatePath(path);
    await this.#db.sync(session);
  }

  /**
   * Test and operations hook: expires the current session the way ZooKeeper would. Its ephemeral
   * nodes are deleted, its watches will never fire, operations fail with SESSION_EXPIRED and
   * 'expired' is emitted; then, as the ZooKeeper backend does, a new session is opened and
   * 'connected' is emitted with its id.
   */
  async expireSession(): Promise<void> {
    if (this.#expiring !== undefined) return this.#expiring;
    const expired = this.#live();
    this.#state = 'expired';
    this.#expiring = (async () => {
      try {
        await this.#db.closeSession(expired, 'SESSION_EXPIRED');
      } finally {
        this.#expiring = undefined;
      }
      this.emit('expired', expired.id);
      if (this.#state === 'closed') return;
      this.#session = this.#db.openSession();
      this.#state = 'connected';
      this.emit('connected', this.#session.id);
    })();
    return this.#expiring;
  }

  /** Ends the session, deleting its ephemeral nodes durably, and lets go of the directory. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closed';
    try {
      // an expiry in progress ends the session itself; it reported its own failure
      await this.#expiring?.catch(() => undefined);
      await this.#db.closeSession(this.#session, 'CLOSED');
    } finally {
      await this.#db.release();
      this.emit('closed');
    }
  }

  #live(): Session {
    if (this.#state === 'closed') throw new MetadataError('CLOSED', 'the metadata store is closed');
    if (this.#state === 'expired') {
      throw new MetadataError('SESSION_EXPIRED', `metadata session 0x${this.#session.id.toString(16)} has expired`);
    }
    return this.#session;
  }
}
