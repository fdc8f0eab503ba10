// Serves one MetadataStore over a MessagePort to a PortMetadataStore on the other side (a bookie's
// worker thread): the local store's database lives in the main thread and cannot be shared with a
// worker, so the worker forwards each call here. The served store is one session that belongs to
// the port: when the other side closes the store or goes away (its thread ended), the session ends
// and its ephemeral nodes (a bookie's registration) are deleted, as a ZooKeeper session expiry would.
import type { MessagePort } from 'node:worker_threads';
import type {
  CreateOptions, MetadataStore, MultiOp, SessionState, WatchEvent,
} from '../metadata/metadata-store.js';
import { cloneError, type ClonedError } from './cloned-error.js';

/** One MetadataStore call. `watch` asks for a one-shot watcher, reported under the call's id. */
export type StoreCall =
  | { readonly method: 'get' | 'exists' | 'children'; readonly path: string; readonly watch: boolean }
  | { readonly method: 'create'; readonly path: string; readonly data: Uint8Array | undefined; readonly options: CreateOptions | undefined }
  | { readonly method: 'set'; readonly path: string; readonly data: Uint8Array; readonly version: number | undefined }
  | { readonly method: 'delete'; readonly path: string; readonly version: number | undefined }
  | { readonly method: 'multi'; readonly ops: readonly MultiOp[] }
  | { readonly method: 'sync'; readonly path: string | undefined }
  | { readonly method: 'close' };

export interface CallMessage {
  readonly kind: 'call';
  readonly id: number;
  readonly call: StoreCall;
}

/** `hello` is the first message, so the other side knows the session before its first call. */
export type SessionEventName = 'hello' | 'connected' | 'suspended' | 'expired' | 'closed';

export type ServerMessage =
  | { readonly kind: 'result'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly error: ClonedError }
  | { readonly kind: 'watch'; readonly id: number; readonly event: WatchEvent }
  | { readonly kind: 'session'; readonly event: SessionEventName; readonly state: SessionState; readonly sessionId: bigint };

/**
 * Structured clone copies a view's whole backing ArrayBuffer: a 10-byte Buffer from Node's 8 KiB
 * pool would cross as 8 KiB. Views over part of a buffer are copied down to their own bytes.
 */
export function compactBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

export interface MetadataPortServer {
  /** Stops serving, closes the port and the served store (ending its session). Idempotent. */
  close(): Promise<void>;
}

async function dispatch(store: MetadataStore, call: StoreCall, watcher: ((event: WatchEvent) => void) | undefined): Promise<unknown> {
  switch (call.method) {
    case 'get': {
      const { data, stat } = await store.get(call.path, watcher);
      return { data: compactBytes(data), stat };
    }
    case 'exists':
      return store.exists(call.path, watcher);
    case 'children':
      return store.children(call.path, watcher);
    case 'create':
      return store.create(call.path, call.data, call.options);
    case 'set':
      return store.set(call.path, call.data, call.version);
    case 'delete':
      return store.delete(call.path, call.version);
    case 'multi':
      return store.multi(call.ops);
    case 'sync':
      return store.sync(call.path);
    case 'close':
      return store.close();
  }
}

/** Serves `store` on `port`; the server owns both from now on. */
export function serveMetadataStore(store: MetadataStore, port: MessagePort): MetadataPortServer {
  const post = (message: ServerMessage): void => { port.postMessage(message); };
  const session = (event: SessionEventName): void => {
    post({ kind: 'session', event, state: store.state, sessionId: store.sessionId });
  };
  const onConnected = (): void => { session('connected'); };
  const onSuspended = (): void => { session('suspended'); };
  const onExpired = (): void => { session('expired'); };
  const onClosed = (): void => { session('closed'); };

  const onMessage = (message: CallMessage): void => {
    const { id, call } = message;
    const watcher = 'watch' in call && call.watch ? (event: WatchEvent): void => { post({ kind: 'watch', id, event }); } : undefined;
    dispatch(store, call, watcher).then(
      (value) => { post({ kind: 'result', id, value }); },
      (err: unknown) => { post({ kind: 'error', id, error: cloneError(err) }); },
    );
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      port.off('message', onMessage);
      port.off('close', onPortClose);
      store.off('connected', onConnected);
      store.off('suspended', onSuspended);
      store.off('expired', onExpired);
      store.off('closed', onClosed);
      port.close();
      await store.close();
    })();
    return closing;
  };
  const onPortClose = (): void => { void close(); };

  session('hello');
  store.on('connected', onConnected);
  store.on('suspended', onSuspended);
  store.on('expired', onExpired);
  store.on('closed', onClosed);
  port.on('message', onMessage);
  port.on('close', onPortClose);
  return { close };
}
