// The MetadataStore of a worker thread: every call is forwarded over a MessagePort to the store a
// metadata-port server runs in the main thread, and comes back with the same result or the same
// typed error. Session state and events (`connected`, `expired`...) mirror the served session, so
// code keyed on the session id (a bookie's ephemeral registration) works unchanged.
import { EventEmitter } from 'node:events';
import type { MessagePort } from 'node:worker_threads';
import { MetadataError } from '../errors.js';
import type {
  CreateOptions, MetadataStore, MetadataStoreEvents, MultiOp, MultiResult, NodeData, NodeStat, SessionState, Watcher,
} from '../metadata/metadata-store.js';
import { reviveError } from './cloned-error.js';
import { compactBytes, type CallMessage, type ServerMessage, type StoreCall } from './metadata-port-server.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

function closedError(): MetadataError {
  return new MetadataError('CLOSED', 'the metadata store is closed');
}

export class PortMetadataStore extends EventEmitter<MetadataStoreEvents> implements MetadataStore {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, Pending>();
  /** One-shot watchers by the id of the call that set them. */
  readonly #watchers = new Map<number, Watcher>();
  #nextId = 0;
  #sessionId = 0n;
  #state: SessionState = 'connecting';
  #closedEmitted = false;
  #closing: Promise<void> | undefined;
  #onHello: (() => void) | undefined;

  private constructor(port: MessagePort) {
    super();
    this.setMaxListeners(0);
    this.#port = port;
  }

  /** Resolves once the server has said which session it serves. */
  static connect(port: MessagePort): Promise<PortMetadataStore> {
    const store = new PortMetadataStore(port);
    return new Promise((resolve, reject) => {
      store.#onHello = () => { resolve(store); };
      port.on('message', (message: ServerMessage) => { store.#receive(message); });
      port.on('close', () => {
        store.#portClosed();
        // no effect once connected
        reject(new MetadataError('CLOSED', 'the metadata port closed before the store was served'));
      });
    });
  }

  get sessionId(): bigint {
    return this.#sessionId;
  }

  get state(): SessionState {
    return this.#state;
  }

  async get(path: string, watcher?: Watcher): Promise<NodeData> {
    const { data, stat } = await this.#call({ method: 'get', path, watch: watcher !== undefined }, watcher) as { data: Uint8Array; stat: NodeStat };
    // structured clone delivers a plain Uint8Array; the interface promises a Buffer
    return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), stat };
  }

  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return await this.#call({ method: 'exists', path, watch: watcher !== undefined }, watcher) as NodeStat | null;
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    return await this.#call({ method: 'children', path, watch: watcher !== undefined }, watcher) as string[];
  }

  async create(path: string, data?: Uint8Array, options?: CreateOptions): Promise<string> {
    return await this.#call({ method: 'create', path, data: data === undefined ? undefined : compactBytes(data), options }) as string;
  }

  async set(path: string, data: Uint8Array, version?: number): Promise<NodeStat> {
    return await this.#call({ method: 'set', path, data: compactBytes(data), version }) as NodeStat;
  }

  async delete(path: string, version?: number): Promise<void> {
    await this.#call({ method: 'delete', path, version });
  }

  async multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    const sent = ops.map((op): MultiOp => ('data' in op ? { ...op, data: compactBytes(op.data) } : op));
    return await this.#call({ method: 'multi', ops: sent }) as MultiResult[];
  }

  async sync(path?: string): Promise<void> {
    await this.#call({ method: 'sync', path });
  }

  /** Ends the served session (its ephemeral nodes go away) and closes the port. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state !== 'closed') {
        // the session ends even when the server reports a failure: the port closes below either way
        await this.#call({ method: 'close' }).catch(() => undefined);
      }
      this.#port.close();
      this.#portClosed();
    })();
    return this.#closing;
  }

  #call(call: StoreCall, watcher?: Watcher): Promise<unknown> {
    if (this.#state === 'closed' || (this.#closing !== undefined && call.method !== 'close')) return Promise.reject(closedError());
    const id = ++this.#nextId;
    const message: CallMessage = { kind: 'call', id, call };
    try {
      this.#port.postMessage(message);
    } catch (err) {
      // DataCloneError: an argument that cannot cross a thread (a function, a class instance with private state)
      return Promise.reject(new MetadataError('BAD_ARGUMENTS', `${call.method}: arguments cannot be sent to the metadata store: ${(err as Error).message}`, {
        ...('path' in call && call.path !== undefined ? { path: call.path } : {}),
        cause: err,
      }));
    }
    if (watcher !== undefined) this.#watchers.set(id, watcher);
    return new Promise((resolve, reject) => { this.#pending.set(id, { resolve, reject }); });
  }

  #receive(message: ServerMessage): void {
    switch (message.kind) {
      case 'result':
      case 'error': {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        if (message.kind === 'result') {
          pending.resolve(message.value);
        } else {
          // a failed call sets no watch
          this.#watchers.delete(message.id);
          pending.reject(reviveError(message.error));
        }
        return;
      }
      case 'watch': {
        const watcher = this.#watchers.get(message.id);
        if (watcher === undefined) return;
        this.#watchers.delete(message.id);
        watcher(message.event);
        return;
      }
      case 'session':
        this.#sessionId = message.sessionId;
        this.#state = message.state;
        switch (message.event) {
          case 'hello':
            this.#onHello?.();
            this.#onHello = undefined;
            return;
          case 'connected':
            this.emit('connected', message.sessionId);
            return;
          case 'suspended':
            this.emit('suspended');
            return;
          case 'expired':
            this.emit('expired', message.sessionId);
            return;
          case 'closed':
            this.#emitClosed();
            return;
        }
    }
  }

  /** The port is gone (closed here, or the main side stopped serving): nothing pending can complete. */
  #portClosed(): void {
    this.#state = 'closed';
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#watchers.clear();
    for (const p of pending) p.reject(closedError());
    this.#emitClosed();
  }

  #emitClosed(): void {
    this.#state = 'closed';
    if (this.#closedEmitted) return;
    this.#closedEmitted = true;
    this.emit('closed');
  }
}
