// The one coordination interface every layer uses. It follows ZooKeeper's data model (a tree of
// versioned znodes, ephemeral and sequential nodes, one-shot watches, atomic multi) so that the
// zk backend is a thin adapter and the local backend can promise the same semantics.
import type { EventEmitter } from 'node:events';

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

/** A znode's stat. Versions are numbers; ZooKeeper longs (zxids, session ids) are bigint. */
export interface NodeStat {
  /** Data version: incremented by every `set`. The value to pass for a CAS. */
  readonly version: number;
  /** Children version: incremented by every child create (and, on ZooKeeper, by deletes too). Sequential suffixes come from it. */
  readonly cversion: number;
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly pzxid: bigint;
  /** Creation and last modification time, milliseconds since the epoch. */
  readonly ctime: number;
  readonly mtime: number;
  /** Session id of the owner of an ephemeral node, 0n for a persistent one. */
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
}

export interface NodeData {
  readonly data: Buffer;
  readonly stat: NodeStat;
}

export type WatchEventType = 'created' | 'deleted' | 'changed' | 'children';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly path: string;
}

/** One-shot: called at most once, for the first change after it was set. */
export type Watcher = (event: WatchEvent) => void;

export interface CreateOptions {
  /** Default 'persistent'. */
  mode?: CreateMode;
  /** Create missing parents as persistent empty nodes (an existing parent is not an error). */
  createParents?: boolean;
}

/** `version: -1` (the default) matches any version. */
export type MultiOp =
  | { readonly op: 'create'; readonly path: string; readonly data?: Uint8Array; readonly mode?: CreateMode }
  | { readonly op: 'set'; readonly path: string; readonly data: Uint8Array; readonly version?: number }
  | { readonly op: 'delete'; readonly path: string; readonly version?: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number };

export type MultiResult =
  | { readonly op: 'create'; readonly path: string }
  | { readonly op: 'set'; readonly stat: NodeStat }
  | { readonly op: 'delete' }
  | { readonly op: 'check' };

/**
 * - `connected`: a session is established (after start, after a reconnect, or a new session after expiry);
 * - `suspended`: the connection is lost; the session may still be alive, operations wait or fail retriably;
 * - `expired`: the session is gone: its ephemeral nodes are deleted and its watches will never fire.
 *   The store then opens a new session by itself and emits `connected` with the new id;
 * - `closed`: `close()` was called.
 */
export type SessionState = 'connecting' | 'connected' | 'suspended' | 'expired' | 'closed';

export interface MetadataStoreEvents {
  connected: [sessionId: bigint];
  suspended: [];
  expired: [sessionId: bigint];
  closed: [];
}

export interface MetadataStore extends EventEmitter<MetadataStoreEvents> {
  /** The current session's id (changes after an expiry). */
  readonly sessionId: bigint;
  readonly state: SessionState;

  /** Rejects with NO_NODE when missing. The watcher fires on 'changed' or 'deleted'. */
  get(path: string, watcher?: Watcher): Promise<NodeData>;
  /** Resolves null when missing. The watcher fires on 'created', 'changed' or 'deleted'. */
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null>;
  /** Child names (not full paths), sorted. The watcher fires on 'children' or 'deleted'. */
  children(path: string, watcher?: Watcher): Promise<string[]>;
  /** Resolves with the created path (with the 10-digit suffix for sequential modes). */
  create(path: string, data?: Uint8Array, options?: CreateOptions): Promise<string>;
  /** Compare-and-set: rejects with BAD_VERSION unless `version` is -1 or the current version. */
  set(path: string, data: Uint8Array, version?: number): Promise<NodeStat>;
  /** Rejects with NOT_EMPTY when the node has children, BAD_VERSION on a version mismatch. */
  delete(path: string, version?: number): Promise<void>;
  /**
   * All operations apply or none does. On failure rejects with the failing operation's error code
   * and `failedOp` set to its index.
   */
  multi(ops: readonly MultiOp[]): Promise<MultiResult[]>;
  /** Waits until this client sees every update committed before the call. */
  sync(path?: string): Promise<void>;
  /** Ends the session (its ephemeral nodes go away) and releases resources. Idempotent. */
  close(): Promise<void>;
}
