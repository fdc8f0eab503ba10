// Conversions between our types and node-zookeeper-client's: its Stat carries ZooKeeper longs as 8-byte big-endian
// Buffers, its events and create modes are numbers, and its Transaction builder needs a fix for version 0.
import zookeeper from 'node-zookeeper-client';
import type { ACL, Stat, Transaction } from 'node-zookeeper-client';
import { MetadataError } from '../../errors.js';
import type { CreateMode, MultiOp, MultiResult, NodeStat, WatchEventType } from '../metadata-store.js';

const { CreateMode: ZkCreateMode, Event } = zookeeper;

export const EMPTY = Buffer.alloc(0);

/** Keyed by string so that a lookup of an unchecked value yields undefined. */
export const CREATE_FLAGS: ReadonlyMap<string, number> = new Map<CreateMode, number>([
  ['persistent', ZkCreateMode.PERSISTENT],
  ['ephemeral', ZkCreateMode.EPHEMERAL],
  ['persistent_sequential', ZkCreateMode.PERSISTENT_SEQUENTIAL],
  ['ephemeral_sequential', ZkCreateMode.EPHEMERAL_SEQUENTIAL],
]);

/** The library insists on Buffer (Buffer.isBuffer); a view shares the memory, no copy. */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A jute long (8 bytes, big-endian, signed, as Java's long) as a bigint. */
export function longToBigInt(buf: Buffer): bigint {
  return buf.length === 8 ? buf.readBigInt64BE(0) : 0n;
}

/** Epoch milliseconds fit a double exactly; skipping the bigint saves an allocation per stat. */
function longToNumber(buf: Buffer): number {
  return buf.length === 8 ? buf.readInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4) : 0;
}

export function toNodeStat(stat: Stat): NodeStat {
  return {
    version: stat.version,
    cversion: stat.cversion,
    czxid: longToBigInt(stat.czxid),
    mzxid: longToBigInt(stat.mzxid),
    pzxid: longToBigInt(stat.pzxid),
    ctime: longToNumber(stat.ctime),
    mtime: longToNumber(stat.mtime),
    ephemeralOwner: longToBigInt(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

/** undefined for a type we do not know (newer servers add watch-removal events): not delivered. */
export function toWatchEventType(zkType: number): WatchEventType | undefined {
  switch (zkType) {
    case Event.NODE_CREATED:
      return 'created';
    case Event.NODE_DELETED:
      return 'deleted';
    case Event.NODE_DATA_CHANGED:
      return 'changed';
    case Event.NODE_CHILDREN_CHANGED:
      return 'children';
    default:
      return undefined;
  }
}

/** One entry of a Transaction.commit result: `err` only on a failed multi (type -1). */
export interface TxResult {
  readonly type: number;
  readonly err?: number;
  readonly path?: string;
  readonly stat?: Stat;
}

/** `acls` for created nodes; undefined = the library's default (open). */
export function addToTransaction(tx: Transaction, op: MultiOp, acls: ACL[] | undefined): void {
  switch (op.op) {
    case 'create': {
      const mode = CREATE_FLAGS.get(op.mode ?? 'persistent') ?? ZkCreateMode.PERSISTENT;
      if (acls === undefined) tx.create(op.path, toBuffer(op.data ?? EMPTY), mode);
      else tx.create(op.path, toBuffer(op.data ?? EMPTY), acls, mode);
      return;
    }
    case 'set':
      tx.setData(op.path, toBuffer(op.data), op.version ?? -1);
      break;
    case 'delete':
      tx.remove(op.path, op.version ?? -1);
      break;
    case 'check':
      tx.check(op.path, op.version);
      break;
  }
  // Transaction does `version = version || -1`, which turns a CAS on version 0 into "any version": put the real one back.
  const queued = (tx as unknown as { ops?: { version?: number }[] }).ops?.at(-1);
  if (queued !== undefined) queued.version = op.version ?? -1;
}

/** A successful commit's results, in the order of `ops`. */
export function toMultiResults(ops: readonly MultiOp[], results: readonly TxResult[]): MultiResult[] {
  return ops.map((op, i): MultiResult => {
    const r = results[i];
    switch (op.op) {
      case 'create':
        return { op: 'create', path: r?.path ?? op.path };
      case 'set':
        if (r?.stat === undefined) throw new MetadataError('METADATA_ERROR', 'multi response without a stat', { path: op.path });
        return { op: 'set', stat: toNodeStat(r.stat) };
      case 'delete':
        return { op: 'delete' };
      case 'check':
        return { op: 'check' };
    }
  });
}
