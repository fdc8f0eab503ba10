// On-disk layout of a journal file (all integers big-endian):
//
//   block 0 (`alignment` bytes): file header
//     'DLJN' | u32 version | u64 fileId | u64 firstGroupSeq | u32 salt | u32 alignment | u32 crc32c(bytes 0..31)
//   then groups, each starting at a multiple of `alignment`:
//     'DLJG' | u32 crc32c(seed = salt, bytes 8..23) | u64 seq | u32 bodyLength | u32 recordCount
//     body: recordCount records (journal-record.ts), then zero padding to the next aligned offset
//   then zeros (preallocated, never yet written), or, in a reused file, stale bytes.
//
// A group is what one write + sync covered, so it is the unit of recovery: it is replayed whole
// or not at all. `seq` runs on across files (a file header names the seq of its first group), so
// a lost group or file shows up as a gap. The random per-file `salt` seeds the group-header
// checksum: bytes inside an entry payload cannot pass for a group header, nor can a header copied
// from another file. Groups are aligned so that writing a group never rewrites a disk block that
// holds an already-synced group: a torn write can only damage the group being written.
//
// Version 2 marks a *reused* file: an old file recycled (journal.ts) instead of a new one created
// and zero-filled. Its bytes after the data are stale groups of earlier files, so the data ends at
// the first slot that is not a group of this file: a stale header fails the checksum (another
// salt), and even under a colliding salt carries a seq below this file's firstGroupSeq (seqs only
// grow). Version 1 files were zero-filled: there the data ends at the first all-zero slot.
import { crc32c } from '@node-rs/crc32';

export const FILE_MAGIC = 0x444c4a4e; // 'DLJN'
/** Created and zero-filled. */
export const FILE_VERSION = 1;
/** Reused: stale bytes may follow the data. */
export const FILE_VERSION_REUSED = 2;
/** Bytes of the header block that are not padding. */
export const FILE_HEADER_BYTES = 36;
export const GROUP_MAGIC = 0x444c4a47; // 'DLJG'
export const GROUP_HEADER_SIZE = 24;

export const MIN_ALIGNMENT = 512;
export const MAX_ALIGNMENT = 1 << 20;

export interface FileHeader {
  readonly fileId: number;
  readonly firstGroupSeq: bigint;
  readonly salt: number;
  /** Also the size of the header block: the first group starts here. */
  readonly alignment: number;
  /** Version 2: stale bytes may follow the data. */
  readonly reused: boolean;
}

export interface GroupHeader {
  readonly seq: bigint;
  readonly bodyLength: number;
  readonly recordCount: number;
}

const FILE_NAME = /^([0-9a-f]{16})\.jnl$/;

/** Sixteen hex digits, so that names sort in id order. */
export function journalFileName(fileId: number): string {
  return `${fileId.toString(16).padStart(16, '0')}.jnl`;
}

export function parseJournalFileName(name: string): number | undefined {
  const hex = FILE_NAME.exec(name)?.[1];
  if (hex === undefined) return undefined;
  const id = Number.parseInt(hex, 16);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export function isValidAlignment(alignment: number): boolean {
  return Number.isInteger(alignment) && alignment >= MIN_ALIGNMENT && alignment <= MAX_ALIGNMENT && (alignment & (alignment - 1)) === 0;
}

/** The whole header block, zero-padded to `alignment`. */
export function encodeFileHeader(header: FileHeader): Buffer {
  const buf = Buffer.alloc(header.alignment);
  buf.writeUInt32BE(FILE_MAGIC, 0);
  buf.writeUInt32BE(header.reused ? FILE_VERSION_REUSED : FILE_VERSION, 4);
  buf.writeBigUInt64BE(BigInt(header.fileId), 8);
  buf.writeBigUInt64BE(header.firstGroupSeq, 16);
  buf.writeUInt32BE(header.salt, 24);
  buf.writeUInt32BE(header.alignment, 28);
  buf.writeUInt32BE(crc32c(buf.subarray(0, 32)), 32);
  return buf;
}

/** The header in `buf` (the file's first bytes), or undefined when it is not a valid header for `fileId`. */
export function decodeFileHeader(buf: Buffer, fileId: number): FileHeader | undefined {
  if (buf.length < FILE_HEADER_BYTES) return undefined;
  const version = buf.readUInt32BE(4);
  if (buf.readUInt32BE(0) !== FILE_MAGIC || (version !== FILE_VERSION && version !== FILE_VERSION_REUSED)) return undefined;
  if (crc32c(buf.subarray(0, 32)) !== buf.readUInt32BE(32)) return undefined;
  if (buf.readBigUInt64BE(8) !== BigInt(fileId)) return undefined;
  const alignment = buf.readUInt32BE(28);
  if (!isValidAlignment(alignment)) return undefined;
  return { fileId, firstGroupSeq: buf.readBigUInt64BE(16), salt: buf.readUInt32BE(24), alignment, reused: version === FILE_VERSION_REUSED };
}

export function encodeGroupHeader(buf: Buffer, salt: number, header: GroupHeader): void {
  buf.writeUInt32BE(GROUP_MAGIC, 0);
  buf.writeBigUInt64BE(header.seq, 8);
  buf.writeUInt32BE(header.bodyLength, 16);
  buf.writeUInt32BE(header.recordCount, 20);
  buf.writeUInt32BE(crc32c(buf.subarray(8, GROUP_HEADER_SIZE), salt), 4);
}

/**
 * 'zero' for an all-zero slot (the end of the written data), 'invalid' for anything else that
 * is not a header of this file, otherwise the header.
 */
export function decodeGroupHeader(buf: Buffer, offset: number, salt: number): GroupHeader | 'zero' | 'invalid' {
  if (offset + GROUP_HEADER_SIZE > buf.length) return isZero(buf.subarray(offset)) ? 'zero' : 'invalid';
  const slot = buf.subarray(offset, offset + GROUP_HEADER_SIZE);
  if (slot.readUInt32BE(0) !== GROUP_MAGIC) return isZero(slot) ? 'zero' : 'invalid';
  if (crc32c(slot.subarray(8), salt) !== slot.readUInt32BE(4)) return 'invalid';
  return { seq: slot.readBigUInt64BE(8), bodyLength: slot.readUInt32BE(16), recordCount: slot.readUInt32BE(20) };
}

let zeros = Buffer.alloc(0);

/** A shared all-zero buffer of at least `size` bytes. Never written to. */
export function zeroBuffer(size: number): Buffer {
  if (zeros.length < size) zeros = Buffer.alloc(Math.max(size, 64 * 1024));
  return zeros;
}

export function isZero(buf: Buffer): boolean {
  return buf.equals(zeroBuffer(buf.length).subarray(0, buf.length));
}
