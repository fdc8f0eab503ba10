// Reads one journal file: validates groups in order and inspects what lies after the last valid
// one. It only reports what it finds; whether a bad group is a torn tail or corruption depends on
// where the file sits in the journal, which journal.ts decides.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

import { checkJournalRecord, decodeJournalRecord, type JournalRecord } from './journal-record.js';
import {
  alignUp,
  decodeFileHeader,
  decodeGroupHeader,
  FILE_HEADER_BYTES,
  GROUP_HEADER_SIZE,
  isZero,
  MAX_ALIGNMENT,
  type FileHeader,
} from './journal-format.js';

export interface GroupScan {
  /** Just past the last valid group (aligned): where the next group belongs. */
  readonly end: number;
  readonly lastSeq: bigint | undefined;
  readonly groups: number;
  readonly records: number;
  /** Set when the bytes at `end` are neither zeros nor a valid group; `offset` is the first bad byte range. */
  readonly problem: { readonly offset: number; readonly reason: string } | undefined;
}

export interface TailInspection {
  /** The first aligned offset after `from` that holds a valid group header of this file (not a stale one of a reused file's past). */
  readonly validGroupAt: number | undefined;
  /** One past the last non-zero byte at or after `from`; equal to `from` when all of it is zero. */
  readonly dirtyEnd: number;
}

/**
 * Sequential reads go through windows of this size, each a fresh buffer so that views handed out
 * stay valid. A multiple of every legal alignment, so no header slot straddles two tail chunks.
 */
const WINDOW = MAX_ALIGNMENT;

export class JournalFileReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
    /** Undefined when the header block is not a valid header for this file id. */
    readonly header: FileHeader | undefined,
  ) {}

  static async open(filePath: string, fileId: number): Promise<JournalFileReader> {
    const handle = await fs.open(filePath, 'r');
    try {
      const { size } = await handle.stat();
      const buf = Buffer.alloc(FILE_HEADER_BYTES);
      const { bytesRead } = await handle.read(buf, 0, FILE_HEADER_BYTES, 0);
      return new JournalFileReader(filePath, handle, size, decodeFileHeader(buf.subarray(0, bytesRead), fileId));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Validates groups from `from` (a group boundary) up to `limit`, calling `onGroup` with each
   * valid group's records, and stops at the first slot that is all zeros, at `limit`, or at the
   * first invalid group (reported as `problem`). `expectedSeq`, when known, is the seq the first
   * group must carry; later groups must follow on by one.
   */
  async scan(
    from: number,
    limit: number,
    expectedSeq: bigint | undefined,
    onGroup?: (records: JournalRecord[]) => Promise<void> | void,
  ): Promise<GroupScan> {
    const { salt, alignment, reused, firstGroupSeq } = this.requireHeader();
    let pos = from;
    let seq = expectedSeq;
    let lastSeq: bigint | undefined;
    let groups = 0;
    let records = 0;
    const stop = (problem?: { offset: number; reason: string }): GroupScan => ({ end: pos, lastSeq, groups, records, problem });

    while (pos < limit) {
      const header = decodeGroupHeader(await this.read(pos, Math.min(GROUP_HEADER_SIZE, limit - pos)), 0, salt);
      if (header === 'zero') break;
      // a reused file's data ends at the first slot holding no group of this file (journal-format.ts)
      if (reused && (header === 'invalid' || header.seq < firstGroupSeq)) break;
      if (header === 'invalid') return stop({ offset: pos, reason: 'invalid group header' });
      if (seq !== undefined && header.seq !== seq) return stop({ offset: pos, reason: `group seq ${header.seq}, expected ${seq}` });
      const groupEnd = pos + GROUP_HEADER_SIZE + header.bodyLength;
      if (groupEnd > limit) return stop({ offset: pos, reason: `group of ${header.bodyLength} bytes runs past offset ${limit}` });

      const buf = await this.read(pos, groupEnd - pos);
      let off = GROUP_HEADER_SIZE;
      for (let i = 0; i < header.recordCount; i++) {
        const size = checkJournalRecord(buf, off, buf.length);
        if (typeof size === 'string') return stop({ offset: pos + off, reason: size });
        off += size;
      }
      if (off !== buf.length) return stop({ offset: pos + off, reason: 'group body longer than its records' });

      if (onGroup !== undefined) {
        const decoded: JournalRecord[] = [];
        for (let p = GROUP_HEADER_SIZE; p < buf.length; p += buf.readUInt32BE(p) + 8) decoded.push(decodeJournalRecord(buf, p));
        await onGroup(decoded);
      }
      groups++;
      records += header.recordCount;
      lastSeq = header.seq;
      seq = header.seq + 1n;
      pos = alignUp(groupEnd, alignment);
    }
    return stop();
  }

  /**
   * Looks at everything from `from` to the end of the file: where the non-zero bytes end, and
   * (when the file header is valid and `from` is aligned) whether any later aligned slot holds a
   * valid group header, which would prove the bytes at `from` were synced once.
   */
  async inspectTail(from: number): Promise<TailInspection> {
    let validGroupAt: number | undefined;
    let dirtyEnd = from;
    for (let start = from; start < this.size; start += WINDOW) {
      const chunk = await this.read(start, WINDOW);
      if (isZero(chunk)) continue;
      let last = chunk.length - 1;
      while (chunk[last] === 0) last--;
      dirtyEnd = start + last + 1;
      if (validGroupAt === undefined && this.header !== undefined) {
        const { alignment, salt, firstGroupSeq } = this.header;
        for (let slot = Math.max(alignUp(from + 1, alignment), start); slot < start + chunk.length; slot += alignment) {
          const header = decodeGroupHeader(chunk, slot - start, salt);
          if (typeof header === 'object' && header.seq >= firstGroupSeq) {
            validGroupAt = slot;
            break;
          }
        }
      }
    }
    return { validGroupAt, dirtyEnd };
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private requireHeader(): FileHeader {
    if (this.header === undefined) throw new Error(`${this.path}: no valid file header`);
    return this.header;
  }

  /** `length` bytes at `offset`, fewer only at the end of the file. */
  private async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    const windowEnd = this.windowStart + this.window.length;
    if (offset >= this.windowStart && end <= windowEnd) return this.window.subarray(offset - this.windowStart, end - this.windowStart);
    const want = Math.max(end - offset, Math.min(WINDOW, this.size - offset));
    const buf = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await this.handle.read(buf, filled, want - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.window = buf.subarray(0, filled);
    this.windowStart = offset;
    return this.window.subarray(0, Math.min(end - offset, filled));
  }
}
