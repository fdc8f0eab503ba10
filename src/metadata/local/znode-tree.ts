// The in-memory znode tree and ZooKeeper's rules for changing it. Requests are validated against a
// staged view into a transaction of primitive ops (as ZooKeeper's PrepRequestProcessor does), and
// `apply` executes such a transaction. Log replay runs the same `apply`, so the tree rebuilt after a
// restart is exactly the tree whose changes were acknowledged.
import { MetadataError } from '../../errors.js';
import type { MetadataErrorCode } from '../../errors.js';
import type { CreateMode, MultiResult, NodeStat, WatchEventType } from '../metadata-store.js';
import { parentOf, sequentialSuffix, validatePath } from '../path.js';

export interface ZNode {
  data: Buffer;
  version: number;
  cversion: number;
  readonly czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  readonly ctime: number;
  mtime: number;
  /** Session id of the owner of an ephemeral node, 0n for a persistent one. */
  readonly ephemeralOwner: bigint;
  readonly children: Set<string>;
}

/** A primitive, already validated change; the unit of the log. */
export type TxnOp =
  | { readonly kind: 'create'; readonly path: string; readonly data: Buffer; readonly ephemeralOwner: bigint }
  | { readonly kind: 'set'; readonly path: string; readonly data: Buffer }
  | { readonly kind: 'delete'; readonly path: string };

export interface Txn {
  readonly zxid: bigint;
  /** Milliseconds since the epoch: ctime/mtime of what the transaction creates or changes. */
  readonly time: number;
  readonly ops: readonly TxnOp[];
}

/** A client request, normalised: data copied into a Buffer, defaults filled in. */
export type Request =
  | { readonly op: 'create'; readonly path: string; readonly data: Buffer; readonly mode: CreateMode; readonly createParents: boolean }
  | { readonly op: 'set'; readonly path: string; readonly data: Buffer; readonly version: number }
  | { readonly op: 'delete'; readonly path: string; readonly version: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number };

/** What a transaction did, for watch delivery: `children` is reported on the parent's path. */
export interface TreeEvent {
  readonly path: string;
  readonly type: WatchEventType;
}

export interface PrepareContext {
  /** Session id that owns ephemeral nodes created by the requests. */
  readonly owner: bigint;
  readonly zxid: bigint;
  readonly time: number;
  /** Errors of a multi name the failing request's index in `failedOp`. */
  readonly multi: boolean;
}

export interface Prepared {
  readonly ops: TxnOp[];
  readonly results: MultiResult[];
}

type MutableStat = { -readonly [K in keyof NodeStat]: NodeStat[K] };

const EMPTY = Buffer.alloc(0);

function mutableStat(node: ZNode): MutableStat {
  return {
    version: node.version,
    cversion: node.cversion,
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren: node.children.size,
  };
}

function childName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export class ZNodeTree {
  readonly #nodes = new Map<string, ZNode>();
  readonly #ephemerals = new Map<bigint, Set<string>>();

  constructor() {
    this.#nodes.set('/', {
      data: EMPTY, version: 0, cversion: 0, czxid: 0n, mzxid: 0n, pzxid: 0n,
      ctime: 0, mtime: 0, ephemeralOwner: 0n, children: new Set(),
    });
  }

  static stat(node: ZNode): NodeStat {
    return mutableStat(node);
  }

  get size(): number {
    return this.#nodes.size;
  }

  get(path: string): ZNode | undefined {
    return this.#nodes.get(path);
  }

  /** Paths of the ephemeral nodes owned by `owner`. */
  ephemeralsOf(owner: bigint): readonly string[] {
    return [...(this.#ephemerals.get(owner) ?? [])];
  }

  /** Paths of every ephemeral node, whoever owns it. */
  allEphemerals(): string[] {
    return [...this.#ephemerals.values()].flatMap((paths) => [...paths]);
  }

  /** Every node, each after its parent (the order a snapshot is written and `load`ed in). */
  *entries(): Generator<[string, ZNode]> {
    const stack = ['/'];
    for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
      const node = this.#mustGet(path);
      yield [path, node];
      for (const name of node.children) stack.push(path === '/' ? `/${name}` : `${path}/${name}`);
    }
  }

  /** Restores one node of a snapshot; its parent must have been loaded before. */
  load(path: string, fields: Omit<ZNode, 'children'>): void {
    if (path === '/') {
      this.#nodes.set('/', { ...fields, children: this.#mustGet('/').children });
      return;
    }
    const parent = this.#nodes.get(parentOf(path));
    if (parent === undefined || this.#nodes.has(path)) throw new Error(`snapshot lists ${path} twice or before its parent`);
    parent.children.add(childName(path));
    this.#nodes.set(path, { ...fields, children: new Set() });
    if (fields.ephemeralOwner !== 0n) this.#trackEphemeral(fields.ephemeralOwner, path);
  }

  /**
   * Validates `requests` in order, each seeing the effects of the ones before it, and turns them
   * into primitive ops. Throws the first failure and leaves the tree untouched either way.
   */
  prepare(requests: readonly Request[], ctx: PrepareContext): Prepared {
    const { zxid, time } = ctx;
    // Copy-on-read stats of every node the requests touched; null marks a node deleted by them.
    const staged = new Map<string, MutableStat | null>();
    const look = (path: string): MutableStat | null => {
      const known = staged.get(path);
      if (known !== undefined) return known;
      const node = this.#nodes.get(path);
      const stat = node === undefined ? null : mutableStat(node);
      staged.set(path, stat);
      return stat;
    };
    const mustLook = (path: string): MutableStat => {
      const stat = look(path);
      if (stat === null) throw new Error(`staged view lost ${path}`);
      return stat;
    };
    const addChild = (parentPath: string, path: string, owner: bigint, data: Buffer): TxnOp => {
      const parent = mustLook(parentPath);
      parent.cversion++;
      parent.numChildren++;
      parent.pzxid = zxid;
      staged.set(path, {
        version: 0, cversion: 0, czxid: zxid, mzxid: zxid, pzxid: zxid,
        ctime: time, mtime: time, ephemeralOwner: owner, dataLength: data.length, numChildren: 0,
      });
      return { kind: 'create', path, data, ephemeralOwner: owner };
    };

    const ops: TxnOp[] = [];
    const results: MultiResult[] = [];
    requests.forEach((req, index) => {
      const fail = (code: MetadataErrorCode, message: string, path = req.path): MetadataError =>
        ctx.multi
          ? new MetadataError(code, `multi op ${index} (${req.op} ${req.path}): ${message}`, { path, failedOp: index })
          : new MetadataError(code, message, { path });
      const checkPath = (path: string): void => {
        try {
          validatePath(path);
        } catch (err) {
          throw fail('BAD_ARGUMENTS', (err as Error).message);
        }
      };
      const existing = (path: string): MutableStat => {
        const stat = look(path);
        if (stat === null) throw fail('NO_NODE', `${path} does not exist`);
        return stat;
      };
      const checkVersion = (stat: MutableStat, version: number): void => {
        if (version !== -1 && version !== stat.version) {
          throw fail('BAD_VERSION', `${req.path} is at version ${stat.version}, not ${version}`);
        }
      };

      switch (req.op) {
        case 'create': {
          const sequential = req.mode === 'persistent_sequential' || req.mode === 'ephemeral_sequential';
          const owner = req.mode === 'ephemeral' || req.mode === 'ephemeral_sequential' ? ctx.owner : 0n;
          // As in ZooKeeper, a sequential path is validated with a digit appended, so '/a/' is a
          // valid prefix whose node is named by the counter alone.
          checkPath(sequential ? `${req.path}1` : req.path);
          const parentPath = parentOf(sequential ? `${req.path}1` : req.path);
          if (req.createParents) {
            const missing: string[] = [];
            for (let p = parentPath; p !== '/' && look(p) === null; p = parentOf(p)) missing.unshift(p);
            for (const p of missing) {
              if (mustLook(parentOf(p)).ephemeralOwner !== 0n) {
                throw fail('NO_CHILDREN_FOR_EPHEMERALS', `${parentOf(p)} is ephemeral and cannot have children`, p);
              }
              ops.push(addChild(parentOf(p), p, 0n, EMPTY));
            }
          }
          const parent = look(parentPath);
          if (parent === null) throw fail('NO_NODE', `parent ${parentPath} of ${req.path} does not exist`);
          const path = sequential ? req.path + sequentialSuffix(parent.cversion) : req.path;
          if (look(path) !== null) throw fail('NODE_EXISTS', `${path} already exists`, path);
          if (parent.ephemeralOwner !== 0n) {
            throw fail('NO_CHILDREN_FOR_EPHEMERALS', `${parentPath} is ephemeral and cannot have children`, path);
          }
          ops.push(addChild(parentPath, path, owner, req.data));
          results.push({ op: 'create', path });
          break;
        }
        case 'set': {
          checkPath(req.path);
          const stat = existing(req.path);
          checkVersion(stat, req.version);
          stat.version++;
          stat.mzxid = zxid;
          stat.mtime = time;
          stat.dataLength = req.data.length;
          ops.push({ kind: 'set', path: req.path, data: req.data });
          results.push({ op: 'set', stat: { ...stat } });
          break;
        }
        case 'delete': {
          checkPath(req.path);
          if (req.path === '/') throw fail('BAD_ARGUMENTS', 'the root node cannot be deleted');
          const stat = existing(req.path);
          checkVersion(stat, req.version);
          if (stat.numChildren > 0) throw fail('NOT_EMPTY', `${req.path} has ${stat.numChildren} children`);
          // As in ZooKeeper's DataTree, only a create bumps the parent's cversion (and with it the
          // sequential counter); a delete moves just its pzxid.
          const parent = mustLook(parentOf(req.path));
          parent.numChildren--;
          parent.pzxid = zxid;
          staged.set(req.path, null);
          ops.push({ kind: 'delete', path: req.path });
          results.push({ op: 'delete' });
          break;
        }
        case 'check': {
          checkPath(req.path);
          checkVersion(existing(req.path), req.version);
          results.push({ op: 'check' });
          break;
        }
      }
    });
    return { ops, results };
  }

  /**
   * Executes a prepared (or replayed) transaction, appending what happened to `events`. Throws a
   * plain Error when the transaction does not fit the tree, which only a damaged log can cause.
   */
  apply(txn: Txn, events?: TreeEvent[]): void {
    const { zxid, time } = txn;
    for (const op of txn.ops) {
      const parentPath = parentOf(op.path);
      switch (op.kind) {
        case 'create': {
          const parent = this.#nodes.get(parentPath);
          if (parent === undefined || this.#nodes.has(op.path)) {
            throw new Error(`zxid ${zxid} creates ${op.path}, which exists or has no parent`);
          }
          parent.children.add(childName(op.path));
          parent.cversion++;
          parent.pzxid = zxid;
          this.#nodes.set(op.path, {
            data: op.data, version: 0, cversion: 0, czxid: zxid, mzxid: zxid, pzxid: zxid,
            ctime: time, mtime: time, ephemeralOwner: op.ephemeralOwner, children: new Set(),
          });
          if (op.ephemeralOwner !== 0n) this.#trackEphemeral(op.ephemeralOwner, op.path);
          events?.push({ path: op.path, type: 'created' }, { path: parentPath, type: 'children' });
          break;
        }
        case 'set': {
          const node = this.#nodes.get(op.path);
          if (node === undefined) throw new Error(`zxid ${zxid} sets missing node ${op.path}`);
          node.data = op.data;
          node.version++;
          node.mzxid = zxid;
          node.mtime = time;
          events?.push({ path: op.path, type: 'changed' });
          break;
        }
        case 'delete': {
          const node = this.#nodes.get(op.path);
          const parent = this.#nodes.get(parentPath);
          if (op.path === '/' || node === undefined || parent === undefined || node.children.size > 0) {
            throw new Error(`zxid ${zxid} deletes ${op.path}, which is missing, the root or not empty`);
          }
          parent.children.delete(childName(op.path));
          parent.pzxid = zxid;
          this.#nodes.delete(op.path);
          if (node.ephemeralOwner !== 0n) {
            const owned = this.#ephemerals.get(node.ephemeralOwner);
            owned?.delete(op.path);
            if (owned?.size === 0) this.#ephemerals.delete(node.ephemeralOwner);
          }
          events?.push({ path: op.path, type: 'deleted' }, { path: parentPath, type: 'children' });
          break;
        }
      }
    }
  }

  #mustGet(path: string): ZNode {
    const node = this.#nodes.get(path);
    if (node === undefined) throw new Error(`tree lost ${path}`);
    return node;
  }

  #trackEphemeral(owner: bigint, path: string): void {
    let owned = this.#ephemerals.get(owner);
    if (owned === undefined) this.#ephemerals.set(owner, (owned = new Set()));
    owned.add(path);
  }
}
