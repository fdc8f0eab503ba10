// MetadataStore over a real ZooKeeper ensemble, on node-zookeeper-client (pure JS, callback API). One client object is one
// ZooKeeper session: the library reconnects within a session by itself, and we replace the client when the session expires.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import zookeeper from 'node-zookeeper-client';
import type { ACL, Client, Event as ZkEvent, Exception, Stat } from 'node-zookeeper-client';
import { InvalidArgumentError, MetadataError } from '../../errors.js';
import { noopLogger, type Logger } from '../../util/logger.js';
import type {
  CreateOptions, MetadataStore, MetadataStoreEvents, MultiOp, MultiResult, NodeData, NodeStat, SessionState, Watcher,
} from '../metadata-store.js';
import { parentOf, validatePath } from '../path.js';
import './zk-client-compat.js';
import { credentialProblem, type AclEntry } from './zk-credentials.js';
import { fromZkCode, toMetadataError, ZK_RUNTIME_INCONSISTENCY } from './zk-errors.js';
import {
  addToTransaction, CREATE_FLAGS, EMPTY, longToBigInt, toBuffer, toMultiResults, toNodeStat, toWatchEventType, type TxResult,
} from './zk-stat.js';

export interface ZkStoreOptions {
  /** Requested session timeout; the server may negotiate it into its [min, max]. Default 30000. */
  sessionTimeoutMs?: number;
  /** How long `connect()` (and each attempt to open a new session after an expiry) may take. Default 15000. */
  connectTimeoutMs?: number;
  /** How long an operation waits for a connection before OPERATION_TIMEOUT. Default: sessionTimeoutMs. */
  operationTimeoutMs?: number;
  /**
   * ZooKeeper digest credentials `user:password`, added to every session (re-added after an
   * expiry). Nodes created then get creator-all ACLs, plus world-read unless `worldReadable` is false.
   */
  auth?: string;
  /** With `auth`: let sessions without the credentials read (not change) the nodes. Default true. */
  worldReadable?: boolean;
  logger?: Logger;
}

type ZkCallbackError = Error | Exception | null;
type Done<T> = (err: unknown, value?: T) => void;

/** One node-zookeeper-client instance, i.e. one ZooKeeper session. */
interface Session {
  readonly client: Client;
  sessionId: bigint;
  connected: boolean;
  /** Runs while disconnected: the session is declared expired if no reconnect happens before it fires. */
  expiryTimer: NodeJS.Timeout | undefined;
  watchdog: NodeJS.Timeout | undefined;
  lastHeard: number;
  /** Rejecters of the calls handed to this client and not answered yet. */
  readonly inflight: Set<(err: MetadataError) => void>;
}

/** A call waiting for a connection. */
interface Waiter {
  /** The session the call was waiting for (its expiry fails the call), undefined if there was none. */
  readonly session: Session | undefined;
  readonly resolve: (session: Session) => void;
  readonly reject: (err: MetadataError) => void;
  timer?: NodeJS.Timeout;
}

const MULTI_OPS: readonly string[] = ['create', 'set', 'delete', 'check'];
/** One notification object per user watcher: a watcher set both as a data and a child watch of a path fires once (as in Java). */
const delivered = new WeakMap<ZkEvent, WeakSet<Watcher>>();
const watchedSockets = new WeakSet<Socket>();

function checkVersion(version: number, path: string, failedOp?: number): void {
  if (!Number.isInteger(version) || version < -1 || version > 0x7fffffff) {
    throw new MetadataError('BAD_ARGUMENTS', `invalid version ${version}`, { path, ...(failedOp === undefined ? {} : { failedOp }) });
  }
}

/** Creator-all (the `auth` scheme: every identity of the creating session), and world-read when asked. */
function nodeAcls(worldReadable: boolean): ACL[] {
  const { ACL: Acl, Id, Permission } = zookeeper;
  const acls = [new Acl(Permission.ALL, new Id('auth', ''))];
  if (worldReadable) acls.push(new Acl(Permission.READ, new Id('world', 'anyone')));
  return acls;
}
/** How long close() waits for closeSession's answer: a server answers in milliseconds, a hung one never. */
const CLOSE_SESSION_WAIT_MS = 2000;

function closedError(): MetadataError {
  return new MetadataError('CLOSED', 'the metadata store is closed');
}

/** The library's internals we need (it exposes no read timeout): the current socket. */
function socketOf(client: Client): Socket | undefined {
  return (client as unknown as { connectionManager?: { socket?: Socket } }).connectionManager?.socket;
}

/** Ends a client for good (no reconnects; closeSession if it is connected). Never throws. */
function closeClient(client: Client): void {
  try {
    client.close();
  } catch {
    // close() throws if called before the client created its first socket; it is CLOSING anyway and will not retry
  }
}

export class ZkMetadataStore extends EventEmitter<MetadataStoreEvents> implements MetadataStore {
  readonly #connectString: string;
  readonly #sessionTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #operationTimeoutMs: number;
  readonly #log: Logger;
  readonly #auth: Buffer | undefined;
  /** ACLs of created nodes; undefined = the library's default (open). */
  readonly #acls: ACL[] | undefined;
  #session: Session | undefined;
  #lastSessionId = 0n;
  #state: SessionState = 'connecting';
  readonly #waiters = new Set<Waiter>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #abortOpen: ((err: MetadataError) => void) | undefined;
  #wakeBackoff: (() => void) | undefined;
  #requests = 0;

  private constructor(connectString: string, options: ZkStoreOptions) {
    super();
    // one store is shared by every registration, registry and lock of a process: many listeners is normal
    this.setMaxListeners(0);
    this.#connectString = connectString;
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.#operationTimeoutMs = options.operationTimeoutMs ?? this.#sessionTimeoutMs;
    this.#log = options.logger ?? noopLogger;
    this.#auth = options.auth === undefined ? undefined : Buffer.from(options.auth);
    this.#acls = options.auth === undefined ? undefined : nodeAcls(options.worldReadable ?? true);
  }

  /** Resolves once a session is established; rejects with CONNECTION_LOSS after `connectTimeoutMs`. */
  static async connect(connectString: string, options: ZkStoreOptions = {}): Promise<ZkMetadataStore> {
    for (const key of ['sessionTimeoutMs', 'connectTimeoutMs', 'operationTimeoutMs'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
        throw new MetadataError('BAD_ARGUMENTS', `${key} must be a positive number, got ${value}`);
      }
    }
    if (options.auth !== undefined && !/^[^:]+:.+$/s.test(options.auth)) {
      throw new InvalidArgumentError('ZooKeeper auth must be user:password');
    }
    const store = new ZkMetadataStore(connectString, options);
    await store.#open();
    return store;
  }

  /** The current session's id; after an expiry and until the new session is up, the expired one's. */
  get sessionId(): bigint {
    return this.#session?.sessionId ?? this.#lastSessionId;
  }

  /** The current session's password: lets a second client attach to this session (how tests force a real expiry). */
  get sessionPassword(): Buffer | undefined {
    return this.#session?.client.getSessionPassword();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Requests sent to ZooKeeper so far (one per call; a multi counts once): benchmarks and tests take deltas. */
  get requestCount(): number {
    return this.#requests;
  }

  /**
   * With digest credentials: fails with AUTH_FAILED, naming the user, when the ACL of `path` (or
   * of its nearest existing ancestor) lets only other digest credentials change it, which the
   * first write would otherwise find out as NO_AUTH (see zk-credentials.ts). A no-op without
   * credentials: a session without them may still read.
   */
  async checkCredentials(path: string): Promise<void> {
    if (this.#auth === undefined) return;
    const auth = this.#auth.toString();
    for (let p = path; ; p = parentOf(p)) {
      const acls = await this.#call<AclEntry[] | null>(p, (client, done) => {
        client.getACL(p, (err, list) => {
          const missing = err instanceof zookeeper.Exception && err.getCode() === zookeeper.Exception.NO_NODE;
          // the client sets `permission` (its typings say `perms`)
          done(missing ? null : err, missing || err ? null : list.map((a) => ({ permission: (a as unknown as AclEntry).permission, id: a.id })));
        });
      });
      if (acls !== null) {
        const problem = credentialProblem(acls, auth, p);
        if (problem !== undefined) throw new MetadataError('AUTH_FAILED', problem, { path: p });
        return;
      }
      if (p === '/') return;
    }
  }

  // The read and write calls below are not `async`: each saves the promise hops of an async
  // wrapper, which the bench showed as the adapter's main cost on pipelined reads. Validation
  // errors still come back as rejections (#call), never as throws.
  get(path: string, watcher?: Watcher): Promise<NodeData> {
    return this.#call<NodeData>(path, (client, done) => {
      const cb = (err: ZkCallbackError, d: Buffer | null | undefined, s: Stat): void => {
        done(err, err ? undefined : { data: d ?? EMPTY, stat: toNodeStat(s) });
      };
      const w = this.#wrap(path, watcher);
      if (w) client.getData(path, w, cb);
      else client.getData(path, cb);
    });
  }

  exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return this.#call<NodeStat | null>(path, (client, done) => {
      const cb = (err: ZkCallbackError, s: Stat | null | undefined): void => { done(err, s ? toNodeStat(s) : null); };
      const w = this.#wrap(path, watcher);
      if (w) client.exists(path, w, cb);
      else client.exists(path, cb);
    });
  }

  children(path: string, watcher?: Watcher): Promise<string[]> {
    return this.#call<string[]>(path, (client, done) => {
      const cb = (err: ZkCallbackError, c: string[] | undefined): void => { done(err, c ? [...c].sort() : []); };
      const w = this.#wrap(path, watcher);
      if (w) client.getChildren(path, w, cb);
      else client.getChildren(path, cb);
    });
  }

  async create(path: string, data: Uint8Array = EMPTY, options: CreateOptions = {}): Promise<string> {
    validatePath(path);
    const mode = options.mode ?? 'persistent';
    const flags = CREATE_FLAGS.get(mode);
    if (flags === undefined) throw new MetadataError('BAD_ARGUMENTS', `unknown create mode ${mode}`, { path });
    const buf = toBuffer(data);
    if (options.createParents !== true) return this.#createNode(path, buf, flags);
    // Optimistic: parents usually exist, so only pay for them after a NO_NODE.
    try {
      return await this.#createNode(path, buf, flags);
    } catch (err) {
      if (!(err instanceof MetadataError) || err.code !== 'NO_NODE') throw err;
    }
    const parent = parentOf(path);
    let prefix = '';
    for (const part of parent === '/' ? [] : parent.slice(1).split('/')) {
      prefix = `${prefix}/${part}`;
      try {
        await this.#createNode(prefix, EMPTY, zookeeper.CreateMode.PERSISTENT);
      } catch (err) {
        if (!(err instanceof MetadataError) || err.code !== 'NODE_EXISTS') throw err; // a concurrent creator won: fine
      }
    }
    return this.#createNode(path, buf, flags);
  }

  set(path: string, data: Uint8Array, version = -1): Promise<NodeStat> {
    return this.#call<NodeStat>(path, (client, done) => {
      checkVersion(version, path);
      client.setData(path, toBuffer(data), version, (err, s) => { done(err, err ? undefined : toNodeStat(s)); });
    });
  }

  delete(path: string, version = -1): Promise<void> {
    return this.#call<undefined>(path, (client, done) => {
      checkVersion(version, path);
      client.remove(path, version, (err) => { done(err); });
    });
  }

  async multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    if (this.#closed) throw closedError();
    ops.forEach((op, i) => {
      try {
        validatePath(op.path);
        if (!MULTI_OPS.includes(op.op)) throw new MetadataError('BAD_ARGUMENTS', `unknown multi op ${op.op}`);
        if (op.op !== 'create') checkVersion(op.version ?? -1, op.path);
        else if (!CREATE_FLAGS.has(op.mode ?? 'persistent')) throw new MetadataError('BAD_ARGUMENTS', 'unknown create mode');
      } catch (err) {
        const e = toMetadataError(err, op.path);
        throw new MetadataError(e.code, e.message, { path: op.path, failedOp: i, cause: e });
      }
    });
    if (ops.length === 0) return [];
    const results = await this.#call<TxResult[]>(undefined, (client, done) => {
      const tx = client.transaction();
      for (const op of ops) addToTransaction(tx, op, this.#acls);
      tx.commit((err: ZkCallbackError, res: unknown) => {
        const list = Array.isArray(res) ? (res as TxResult[]) : undefined;
        if (err === null) {
          done(list === undefined || list.length !== ops.length ? new MetadataError('METADATA_ERROR', 'malformed multi response') : null, list);
          return;
        }
        // The failing op carries the real code; ops before it report 0 and ops after it RUNTIME_INCONSISTENCY.
        const failed = list?.findIndex((r) => r.err !== undefined && r.err !== 0 && r.err !== ZK_RUNTIME_INCONSISTENCY) ?? -1;
        const code = failed >= 0 ? list?.[failed]?.err : undefined;
        if (code === undefined) { done(err); return; }
        done(fromZkCode(code, ops[failed]?.path, { failedOp: failed, cause: err }));
      });
    });
    return toMultiResults(ops, results);
  }

  async sync(path = '/'): Promise<void> {
    validatePath(path);
    // The library has no sync opcode; a multi (even a lone check) is a write through the leader's commit pipeline, so once it
    // returns the server we are connected to has applied everything committed before it.
    await this.multi([{ op: 'check', path: '/', version: -1 }]);
  }

  /** Closes the session (the server deletes its ephemeral nodes) and rejects later calls with CLOSED. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#state = 'closed';
    this.#abortOpen?.(closedError());
    this.#wakeBackoff?.();
    for (const w of this.#waiters) this.#settleWaiter(w, closedError());
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) {
      // Wait (bounded) for the server to answer closeSession, so that our ephemeral nodes are gone when close() resolves.
      const answered = session.connected ? once(session.client, 'disconnected', Math.min(this.#sessionTimeoutMs, CLOSE_SESSION_WAIT_MS)) : undefined;
      this.#discard(session, closedError());
      await answered;
      // unanswered (a hung or blackholed server): drop the socket, or it keeps the process alive
      socketOf(session.client)?.destroy();
    }
    this.#emit('closed');
  }

  #createNode(path: string, data: Buffer, flags: number): Promise<string> {
    const acls = this.#acls;
    return this.#call<string>(path, (client, done) => {
      if (acls === undefined) client.create(path, data, flags, done);
      else client.create(path, data, acls, flags, done);
    });
  }

  /** Runs one client call on a connected session, as a promise. */
  #call<T>(path: string | undefined, invoke: (client: Client, done: Done<T>) => void): Promise<T> {
    if (path !== undefined) {
      try {
        validatePath(path);
      } catch (err) {
        return Promise.reject(toMetadataError(err, path));
      }
    }
    const current = this.#session;
    // the common case goes straight to the client: no extra promise hop per operation
    if (!this.#closed && current?.connected === true) return this.#send(current, path, invoke);
    return this.#connected().then((session) => {
      // the session may have been dropped while the wait resumed
      if (this.#closed) throw closedError();
      if (session !== this.#session) throw new MetadataError('SESSION_EXPIRED', 'the ZooKeeper session expired', path === undefined ? {} : { path });
      return this.#send(session, path, invoke);
    });
  }

  #send<T>(session: Session, path: string | undefined, invoke: (client: Client, done: Done<T>) => void): Promise<T> {
    this.#requests += 1;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (err: MetadataError): void => {
        if (settled) return;
        settled = true;
        session.inflight.delete(fail);
        reject(err);
      };
      session.inflight.add(fail);
      try {
        invoke(session.client, (err, value) => {
          if (settled) return; // already failed by an expiry or close
          settled = true;
          session.inflight.delete(fail);
          if (err !== null && err !== undefined) reject(toMetadataError(err, path));
          else resolve(value as T);
        });
      } catch (err) {
        fail(toMetadataError(err, path));
      }
    });
  }

  /** The connected session, or a wait for one (the same session reconnecting, or a new one after an expiry). */
  #connected(): Promise<Session> {
    if (this.#closed) return Promise.reject(closedError());
    const current = this.#session;
    if (current?.connected === true) return Promise.resolve(current);
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter = { session: current, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.#settleWaiter(waiter, new MetadataError('OPERATION_TIMEOUT', `no ZooKeeper connection within ${this.#operationTimeoutMs} ms`));
      }, this.#operationTimeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #settleWaiter(waiter: Waiter, outcome: Session | MetadataError): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (outcome instanceof MetadataError) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  /** Creates a client and resolves once it has a session, which becomes the current one. */
  #open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let client: Client;
      try {
        client = zookeeper.createClient(this.#connectString, { sessionTimeout: this.#sessionTimeoutMs, retries: 0 });
      } catch (err) {
        reject(toMetadataError(err)); // the library asserts on a malformed connect string
        return;
      }
      const session: Session = {
        client, sessionId: 0n, connected: false, expiryTimer: undefined, watchdog: undefined, lastHeard: 0, inflight: new Set(),
      };
      let opening = true;
      const finish = (err?: MetadataError): void => {
        if (!opening) return;
        opening = false;
        clearTimeout(timer);
        this.#abortOpen = undefined;
        if (err === undefined) {
          this.#adopt(session);
          resolve();
        } else {
          closeClient(client);
          reject(err);
        }
      };
      const timer = setTimeout(() => {
        finish(new MetadataError('CONNECTION_LOSS', `no ZooKeeper session with ${this.#connectString} within ${this.#connectTimeoutMs} ms`));
      }, this.#connectTimeoutMs);
      this.#abortOpen = finish;
      client.on('connected', () => {
        if (opening) finish(this.#closed ? closedError() : undefined);
        else this.#onConnected(session);
      });
      client.on('disconnected', () => { this.#onDisconnected(session); });
      client.on('expired', () => { this.#onExpired(session, 'the server reported it on reconnect'); });
      if (this.#auth !== undefined) client.addAuthInfo('digest', this.#auth);
      client.on('authenticationFailed', () => { this.#log.error({ sessionId: session.sessionId.toString(16) }, 'ZooKeeper authentication failed'); });
      client.connect();
    });
  }

  #adopt(session: Session): void {
    session.sessionId = longToBigInt(session.client.getSessionId());
    this.#lastSessionId = session.sessionId;
    this.#session = session;
    this.#log.info({ sessionId: session.sessionId.toString(16) }, 'ZooKeeper session established');
    this.#onConnected(session);
  }

  #onConnected(session: Session): void {
    if (session !== this.#session || this.#closed) return;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    session.connected = true;
    this.#state = 'connected';
    this.#armWatchdog(session);
    for (const w of this.#waiters) this.#settleWaiter(w, session);
    this.#emit('connected', session.sessionId);
  }

  #onDisconnected(session: Session): void {
    if (session !== this.#session || this.#closed || !session.connected) return;
    session.connected = false;
    this.#state = 'suspended';
    // The library only learns of an expiry when it reconnects; a partitioned client must learn it after the session timeout.
    const timeout = session.client.getSessionTimeout();
    session.expiryTimer = setTimeout(() => { this.#onExpired(session, `not reconnected within the ${timeout} ms session timeout`); }, timeout);
    this.#log.warn({ sessionId: session.sessionId.toString(16) }, 'ZooKeeper connection lost; session suspended');
    this.#emit('suspended');
  }

  #onExpired(session: Session, why: string): void {
    if (session !== this.#session || this.#closed) return;
    this.#session = undefined;
    this.#state = 'expired';
    const expired = (): MetadataError => new MetadataError('SESSION_EXPIRED', `ZooKeeper session 0x${session.sessionId.toString(16)} expired`);
    this.#discard(session, expired());
    for (const w of this.#waiters) if (w.session === session) this.#settleWaiter(w, expired());
    this.#log.warn({ sessionId: session.sessionId.toString(16) }, `ZooKeeper session expired: ${why}`);
    this.#emit('expired', session.sessionId);
    void this.#reopen();
  }

  /** Opens a new session after an expiry, retrying with backoff until it succeeds or the store is closed. */
  async #reopen(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        await this.#open();
        return;
      } catch (err) {
        if (this.#isClosed()) return;
        this.#log.warn({ err, attempt }, 'could not open a new ZooKeeper session; retrying');
        const delay = Math.min(200 * 2 ** attempt, 5000) * (0.5 + Math.random() / 2);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.#wakeBackoff = () => { clearTimeout(t); resolve(); };
        });
        this.#wakeBackoff = undefined;
      }
    }
  }

  /** A call, not a field read, so that TypeScript does not carry a narrowing of `#closed` across an await. */
  #isClosed(): boolean {
    return this.#closed;
  }

  /** Drops a session's client: its unanswered calls fail with `err`, its watches never fire. */
  #discard(session: Session, err: MetadataError): void {
    session.connected = false;
    clearTimeout(session.expiryTimer);
    clearInterval(session.watchdog);
    for (const fail of [...session.inflight]) fail(err);
    closeClient(session.client);
  }

  /**
   * The library pings after a third of the session timeout of idleness but never notices a missing answer, so a silent
   * partition (no FIN/RST) would leave it "connected" forever. As Java's client, drop the socket when nothing was read for
   * two thirds of the session timeout; the library then reconnects and we get 'disconnected' and the expiry timer.
   */
  #armWatchdog(session: Session): void {
    const socket = socketOf(session.client);
    if (socket === undefined) return;
    session.lastHeard = Date.now();
    if (!watchedSockets.has(socket)) {
      watchedSockets.add(socket);
      socket.on('data', () => { session.lastHeard = Date.now(); });
    }
    if (session.watchdog !== undefined) return;
    session.watchdog = setInterval(() => {
      const readTimeout = (session.client.getSessionTimeout() * 2) / 3;
      if (!session.connected || Date.now() - session.lastHeard <= readTimeout) return;
      this.#log.warn({ sessionId: session.sessionId.toString(16) }, `nothing read from ZooKeeper for ${Math.round(readTimeout)} ms; reconnecting`);
      socketOf(session.client)?.destroy();
    }, Math.max(50, Math.floor(this.#sessionTimeoutMs / 6)));
    session.watchdog.unref();
  }

  #wrap(path: string, watcher: Watcher | undefined): ((event: ZkEvent) => void) | undefined {
    if (watcher === undefined) return undefined;
    return (event: ZkEvent) => {
      const type = toWatchEventType(event.getType());
      if (type === undefined) return;
      let seen = delivered.get(event);
      if (seen === undefined) delivered.set(event, (seen = new WeakSet()));
      if (seen.has(watcher)) return;
      seen.add(watcher);
      try {
        watcher({ type, path });
      } catch (err) {
        // a throw would unwind into the library's socket reader and lose the rest of the packet
        this.#log.error({ err, path }, 'a metadata watcher threw');
      }
    };
  }

  /** Listeners run inside library callbacks: a throw must not break the session state machine. */
  #emit<K extends keyof MetadataStoreEvents>(event: K, ...args: MetadataStoreEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: MetadataStoreEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.#log.error({ err, event }, 'a metadata store listener threw');
    }
  }
}

/** Resolves on the emitter's next `event`, or after `timeoutMs`. */
function once(emitter: EventEmitter, event: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      emitter.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    emitter.once(event, done);
  });
}
