// On-disk formats of the local metadata store: the transaction log and the snapshot.
//
// Log: a sequence of records [u32 length][u32 crc32c(payload)][payload], one transaction each:
//   u64 zxid | u32 zxid minus the first zxid of its write batch | f64 time | u32 op count | ops
// an op being u8 kind, a length-prefixed UTF-8 path, then for a create a u64 ephemeral owner and
// length-prefixed data, for a set length-prefixed data, for a delete nothing. Little-endian.
// Zxids are consecutive, so a gap is damage. The batch start lets recovery tell a torn last write
// (truncated away) from damage to acknowledged records: a batch is only written after the batch
// before it was synced, so a valid record of a later batch behind damaged bytes proves corruption.
//
// Sync mark: u64 snapshot zxid | u64 log length | u32 crc32c of those 16 bytes, little-endian,
// rewritten in place after each sync of the log (not synced itself: it is written after the log
// sync, so what reaches the disk never claims more than was synced; a torn mark fails its crc and
// is ignored). Damage to the log before that length is damage to acknowledged transactions.
//
// Snapshot: 'DLMSNAP1' [u32 length][u32 crc32c(payload)][payload] where the payload is
//   u32 session epoch | u64 zxid | u32 node count | nodes, each after its parent:
//   path, data, i32 version, i32 cversion, u64 czxid, mzxid, pzxid, f64 ctime, mtime, u64 owner.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { MetadataError } from '../../errors.js';
import { ZNodeTree } from './znode-tree.js';
import type { Txn, TxnOp } from './znode-tree.js';
import { writeFileAtomic } from '../../util/atomic-file.js';

export const LOG_FILE = 'metadata.log';
export const SNAPSHOT_FILE = 'metadata.snapshot';
export const SNAPSHOT_TMP_FILE = 'metadata.snapshot.tmp';
export const SYNC_MARK_FILE = 'metadata.synced';
export const SYNC_MARK_SIZE = 20;

/** How much of the log that follows the snapshot at `snapshotZxid` was synced. */
export interface SyncMark {
  readonly snapshotZxid: bigint;
  readonly logLength: number;
}

export function encodeSyncMark(mark: SyncMark): Buffer {
  const buf = Buffer.alloc(SYNC_MARK_SIZE);
  buf.writeBigUInt64LE(mark.snapshotZxid, 0);
  buf.writeBigUInt64LE(BigInt(mark.logLength), 8);
  buf.writeUInt32LE(crc32c(buf.subarray(0, 16)), 16);
  return buf;
}

/** The mark in `dir`, or undefined when missing or torn (then nothing can be claimed). */
export function readSyncMark(dir: string): SyncMark | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(join(dir, SYNC_MARK_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (buf.length < SYNC_MARK_SIZE || crc32c(buf.subarray(0, 16)) !== buf.readUInt32LE(16)) return undefined;
  return { snapshotZxid: buf.readBigUInt64LE(0), logLength: Number(buf.readBigUInt64LE(8)) };
}

const HEADER = 8;
/** zxid, batch delta, time and op count: anything shorter is not a record. */
const MIN_PAYLOAD = 24;
const SNAPSHOT_MAGIC = Buffer.from('DLMSNAP1', 'latin1');
const OP_CREATE = 1;
const OP_SET = 2;
const OP_DELETE = 3;

class ByteWriter {
  #buf: Buffer;
  #len = 0;

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(capacity, 64));
  }

  get length(): number {
    return this.#len;
  }

  /** Grows the buffer: call it before reading `this.#buf`, which it may replace. */
  #reserve(n: number): number {
    if (this.#len + n > this.#buf.length) {
      let capacity = this.#buf.length * 2;
      while (capacity < this.#len + n) capacity *= 2;
      const grown = Buffer.allocUnsafe(capacity);
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    const at = this.#len;
    this.#len += n;
    return at;
  }

  raw(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.#buf.set(bytes, at);
  }

  u8(v: number): void {
    const at = this.#reserve(1);
    this.#buf.writeUInt8(v, at);
  }

  u32(v: number): void {
    const at = this.#reserve(4);
    this.#buf.writeUInt32LE(v, at);
  }

  i32(v: number): void {
    const at = this.#reserve(4);
    this.#buf.writeInt32LE(v, at);
  }

  u64(v: bigint): void {
    const at = this.#reserve(8);
    this.#buf.writeBigUInt64LE(v, at);
  }

  f64(v: number): void {
    const at = this.#reserve(8);
    this.#buf.writeDoubleLE(v, at);
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u32(n);
    const at = this.#reserve(n);
    this.#buf.write(s, at, 'utf8');
  }

  /** Fills in the [length][crc] header reserved at `start` for the payload written since. */
  seal(start: number): void {
    const payload = this.#buf.subarray(start + HEADER, this.#len);
    this.#buf.writeUInt32LE(payload.length, start);
    this.#buf.writeUInt32LE(crc32c(payload) >>> 0, start + 4);
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

class ByteReader {
  readonly #buf: Buffer;
  #off = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  get done(): boolean {
    return this.#off === this.#buf.length;
  }

  #take(n: number): number {
    if (n > this.#buf.length - this.#off) throw new RangeError('field runs past the end');
    const at = this.#off;
    this.#off += n;
    return at;
  }

  u8(): number {
    return this.#buf.readUInt8(this.#take(1));
  }

  u32(): number {
    return this.#buf.readUInt32LE(this.#take(4));
  }

  i32(): number {
    return this.#buf.readInt32LE(this.#take(4));
  }

  u64(): bigint {
    return this.#buf.readBigUInt64LE(this.#take(8));
  }

  f64(): number {
    return this.#buf.readDoubleLE(this.#take(8));
  }

  /** A copy, so that node data does not pin the whole file buffer. */
  bytes(): Buffer {
    const n = this.u32();
    const at = this.#take(n);
    return Buffer.from(this.#buf.subarray(at, at + n));
  }

  str(): string {
    const n = this.u32();
    const at = this.#take(n);
    return this.#buf.toString('utf8', at, at + n);
  }
}

function corrupt(file: string, message: string, cause?: unknown): MetadataError {
  return new MetadataError('STORE_CORRUPT', `metadata store file ${file} is corrupt: ${message}`, { cause });
}

/** The log records of one write batch. */
export function encodeBatch(txns: readonly Txn[]): Buffer {
  const batchStart = txns[0]?.zxid ?? 0n;
  const w = new ByteWriter(txns.length * 128);
  for (const txn of txns) {
    const start = w.length;
    w.u64(0n); // header, sealed below
    w.u64(txn.zxid);
    w.u32(Number(txn.zxid - batchStart));
    w.f64(txn.time);
    w.u32(txn.ops.length);
    for (const op of txn.ops) {
      switch (op.kind) {
        case 'create':
          w.u8(OP_CREATE);
          w.str(op.path);
          w.u64(op.ephemeralOwner);
          w.bytes(op.data);
          break;
        case 'set':
          w.u8(OP_SET);
          w.str(op.path);
          w.bytes(op.data);
          break;
        case 'delete':
          w.u8(OP_DELETE);
          w.str(op.path);
          break;
      }
    }
    w.seal(start);
  }
  return w.finish();
}

interface Record {
  readonly txn: Txn;
  readonly batchStart: bigint;
  readonly end: number;
}

function decodePayload(payload: Buffer): { txn: Txn; batchStart: bigint } {
  const r = new ByteReader(payload);
  const zxid = r.u64();
  const batchStart = zxid - BigInt(r.u32());
  const time = r.f64();
  const ops: TxnOp[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const kind = r.u8();
    const path = r.str();
    if (kind === OP_CREATE) {
      const ephemeralOwner = r.u64();
      ops.push({ kind: 'create', path, ephemeralOwner, data: r.bytes() });
    } else if (kind === OP_SET) {
      ops.push({ kind: 'set', path, data: r.bytes() });
    } else if (kind === OP_DELETE) {
      ops.push({ kind: 'delete', path });
    } else {
      throw new RangeError(`unknown op kind ${kind}`);
    }
  }
  if (!r.done) throw new RangeError('trailing bytes');
  return { txn: { zxid, time, ops }, batchStart };
}

/** The checksummed record at `off`, or undefined when the bytes there are not one. */
function recordAt(buf: Buffer, off: number, file: string): Record | undefined {
  if (buf.length - off < HEADER + MIN_PAYLOAD) return undefined;
  const length = buf.readUInt32LE(off);
  if (length < MIN_PAYLOAD || length > buf.length - off - HEADER) return undefined;
  const payload = buf.subarray(off + HEADER, off + HEADER + length);
  if ((crc32c(payload) >>> 0) !== buf.readUInt32LE(off + 4)) return undefined;
  try {
    return { ...decodePayload(payload), end: off + HEADER + length };
  } catch (err) {
    // a matching checksum over an undecodable payload is a writer bug, not a torn write
    throw corrupt(file, `record at offset ${off} cannot be decoded`, err);
  }
}

/**
 * Throws STORE_CORRUPT when a record of a batch later than the damaged record's (which has zxid
 * `damaged` at most) lies anywhere behind offset `from`; otherwise the damage is a torn last write.
 * Records up to the snapshot's zxid are ignored: losing them loses nothing.
 */
function assertTornTail(buf: Buffer, from: number, damaged: bigint, snapshotZxid: bigint, file: string): void {
  const lowest = damaged > snapshotZxid ? damaged : snapshotZxid + 1n;
  const window = 1n << 32n;
  for (let p = from + 1; buf.length - p >= HEADER + MIN_PAYLOAD; p++) {
    // cheap plausibility test before the checksum: the zxid field must be in range
    const zxid = buf.readBigUInt64LE(p + HEADER);
    if (zxid < lowest || zxid - lowest > window) continue;
    const record = recordAt(buf, p, file);
    if (record === undefined) continue;
    if (record.batchStart > damaged) {
      throw corrupt(file, `the record at offset ${from} is damaged but acknowledged records follow it ` +
        `(zxid ${record.txn.zxid} at offset ${p}); restore the directory from a backup`);
    }
    p = record.end - 1;
  }
}

export interface LogContents {
  /** Transactions newer than the snapshot, in order. */
  readonly txns: Txn[];
  /** Length of the intact prefix; anything after it was a torn last write. */
  readonly validBytes: number;
}

export function scanLog(buf: Buffer, snapshotZxid: bigint, file: string): LogContents {
  const txns: Txn[] = [];
  let off = 0;
  let last: bigint | undefined;
  while (off < buf.length) {
    const record = recordAt(buf, off, file);
    if (record === undefined) {
      assertTornTail(buf, off, last === undefined ? snapshotZxid + 1n : last + 1n, snapshotZxid, file);
      break;
    }
    const { zxid } = record.txn;
    // The first record may predate the snapshot (records queued while it was written are logged
    // after it), but must not start after it; later records are consecutive.
    if (last === undefined ? zxid > snapshotZxid + 1n : zxid !== last + 1n) {
      throw corrupt(file, `record at offset ${off} has zxid ${zxid} after zxid ${last ?? snapshotZxid}: transactions are missing`);
    }
    if (zxid > snapshotZxid) txns.push(record.txn);
    last = zxid;
    off = record.end;
  }
  return { txns, validBytes: off };
}

export interface SnapshotState {
  readonly tree: ZNodeTree;
  /** Session epoch of the process that wrote it. */
  readonly epoch: number;
  /** The last transaction it contains. */
  readonly zxid: bigint;
}

export function encodeSnapshot(tree: ZNodeTree, epoch: number, zxid: bigint): Buffer {
  const w = new ByteWriter(64 * 1024);
  w.raw(SNAPSHOT_MAGIC);
  w.u64(0n); // header, sealed below
  w.u32(epoch);
  w.u64(zxid);
  w.u32(tree.size);
  for (const [path, node] of tree.entries()) {
    w.str(path);
    w.bytes(node.data);
    w.i32(node.version);
    w.i32(node.cversion);
    w.u64(node.czxid);
    w.u64(node.mzxid);
    w.u64(node.pzxid);
    w.f64(node.ctime);
    w.f64(node.mtime);
    w.u64(node.ephemeralOwner);
  }
  w.seal(SNAPSHOT_MAGIC.length);
  return w.finish();
}

/** Reads the snapshot in `dir`; a directory without one is an empty tree at zxid 0. */
export function readSnapshot(dir: string): SnapshotState {
  const file = join(dir, SNAPSHOT_FILE);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { tree: new ZNodeTree(), epoch: 0, zxid: 0n };
    throw err;
  }
  // The snapshot is renamed into place only once complete, so any damage is corruption.
  const start = SNAPSHOT_MAGIC.length;
  if (buf.length < start + HEADER || !buf.subarray(0, start).equals(SNAPSHOT_MAGIC)) {
    throw corrupt(file, 'not a snapshot (bad magic)');
  }
  const payload = buf.subarray(start + HEADER);
  if (buf.readUInt32LE(start) !== payload.length || buf.readUInt32LE(start + 4) !== (crc32c(payload) >>> 0)) {
    throw corrupt(file, 'length or checksum mismatch');
  }
  try {
    const r = new ByteReader(payload);
    const epoch = r.u32();
    const zxid = r.u64();
    const tree = new ZNodeTree();
    for (let n = r.u32(); n > 0; n--) {
      const path = r.str();
      tree.load(path, {
        data: r.bytes(), version: r.i32(), cversion: r.i32(), czxid: r.u64(), mzxid: r.u64(), pzxid: r.u64(),
        ctime: r.f64(), mtime: r.f64(), ephemeralOwner: r.u64(),
      });
    }
    if (!r.done) throw new RangeError('trailing bytes');
    return { tree, epoch, zxid };
  } catch (err) {
    throw corrupt(file, (err as Error).message, err);
  }
}

/** Replaces the snapshot atomically: temp file, fsync, rename, directory fsync. */
export async function writeSnapshot(dir: string, image: Buffer): Promise<void> {
  await writeFileAtomic(dir, SNAPSHOT_FILE, image, SNAPSHOT_TMP_FILE);
}
