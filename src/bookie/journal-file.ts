// One journal file open for appending.
//
// Preallocation writes real zeros ahead of the data. Node has no fallocate(), and fallocate would
// not be enough anyway: it leaves *unwritten* extents, and the first write into one converts the
// extent, a metadata change that the next fdatasync must commit to the filesystem journal.
// ftruncate is worse (a hole: block allocation on every write). Once the zeros are on disk, a
// group write is a pure overwrite of allocated, initialised blocks inside the file size, so
// fdatasync only flushes data (plus the device cache), not size or extent metadata. The zero
// fill costs one extra sequential write per `preallocSize` bytes.
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import path from 'node:path';

import { encodeFileHeader, journalFileName, zeroBuffer, type FileHeader } from './journal-format.js';

/**
 * How a write is made durable. 'dsync' opens the file with O_DSYNC so that each write returns
 * only once its data is durable, as write + fdatasync would, but in one threadpool job instead of
 * two. 'fdatasync' issues an explicit FileHandle.datasync() after the write.
 */
export type JournalSyncMode = 'dsync' | 'fdatasync';

/** Counters shared by every file of one journal. */
export interface JournalIoCounters {
  /** Durability barriers: fdatasync calls, or writes on an O_DSYNC file. */
  syncs: number;
  bytesWritten: number;
}

const ZERO_PIECE = 1 << 20;

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class JournalFile {
  private constructor(
    readonly path: string,
    readonly header: FileHeader,
    private readonly handle: FileHandle,
    private readonly dsync: boolean,
    private readonly io: JournalIoCounters,
    /** Bytes known to exist in the file: data, then preallocated zeros (or a reused file's old bytes). */
    private allocated: number,
  ) {}

  get id(): number {
    return this.header.fileId;
  }

  /** Where the first group goes: right after the header block. */
  get dataStart(): number {
    return this.header.alignment;
  }

  /**
   * Creates the file with its header and `preallocSize` bytes of zeros, syncs it and its directory
   * entry: a group may only land in a file whose existence is already durable.
   */
  static async create(
    dir: string,
    fileId: number,
    firstGroupSeq: bigint,
    alignment: number,
    preallocSize: number,
    syncMode: JournalSyncMode,
    io: JournalIoCounters,
  ): Promise<JournalFile> {
    const header: FileHeader = { fileId, firstGroupSeq, salt: randomInt(0x1_0000_0000), alignment, reused: false };
    const filePath = path.join(dir, journalFileName(fileId));
    const dsync = syncMode === 'dsync';
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | (dsync ? constants.O_DSYNC : 0);
    const handle = await fs.open(filePath, flags, 0o600);
    const file = new JournalFile(filePath, header, handle, dsync, io, 0);
    try {
      const block = encodeFileHeader(header);
      await file.write(block, block.length, 0);
      await file.zeroFill(block.length, Math.max(block.length, preallocSize));
      await file.sync();
      await syncDirectory(dir);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return file;
  }

  /**
   * Turns a spare (an old file that removeBefore kept) into file `fileId` without zero-filling it:
   * writes a version-2 header with a new salt and syncs it under the spare's name, then renames
   * and syncs the directory. So the file under the journal name always carries its own header,
   * and its old bytes are never taken for its data (journal-format.ts). Its blocks are already
   * allocated and initialised, which is all preallocation was for.
   */
  static async reuse(
    spare: string,
    dir: string,
    fileId: number,
    firstGroupSeq: bigint,
    alignment: number,
    syncMode: JournalSyncMode,
    io: JournalIoCounters,
  ): Promise<JournalFile> {
    const header: FileHeader = { fileId, firstGroupSeq, salt: randomInt(0x1_0000_0000), alignment, reused: true };
    const dsync = syncMode === 'dsync';
    const handle = await fs.open(spare, constants.O_RDWR | (dsync ? constants.O_DSYNC : 0));
    const filePath = path.join(dir, journalFileName(fileId));
    try {
      const { size } = await handle.stat();
      const file = new JournalFile(filePath, header, handle, dsync, io, size);
      const block = encodeFileHeader(header);
      await file.write(block, block.length, 0);
      await file.sync();
      await fs.rename(spare, filePath);
      await syncDirectory(dir);
      return file;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Reopens an existing file whose header the caller validated; `size` is its current length. */
  static async openForAppend(filePath: string, header: FileHeader, size: number, syncMode: JournalSyncMode, io: JournalIoCounters): Promise<JournalFile> {
    const dsync = syncMode === 'dsync';
    const handle = await fs.open(filePath, constants.O_RDWR | (dsync ? constants.O_DSYNC : 0));
    return new JournalFile(filePath, header, handle, dsync, io, size);
  }

  /**
   * Called before a write that ends at `end`: when it would extend the file, preallocates up to
   * `preallocSize` (capped at `limit`) beyond the current allocation. Only the part past `end` is
   * zero-filled; the write itself covers the rest, so no byte is written twice.
   */
  async ensureAllocated(end: number, preallocSize: number, limit: number): Promise<void> {
    if (end <= this.allocated) return;
    const target = Math.min(this.allocated + preallocSize, limit);
    if (target > end) await this.zeroFill(end, target);
  }

  /** Writes zeros over [from, to) in one vectored write of a shared zero buffer. */
  async zeroFill(from: number, to: number): Promise<void> {
    let position = from;
    while (position < to) {
      const pieces: Buffer[] = [];
      for (let p = position; p < to; p += ZERO_PIECE) pieces.push(zeroBuffer(ZERO_PIECE).subarray(0, Math.min(ZERO_PIECE, to - p)));
      const { bytesWritten } = await this.handle.writev(pieces, position);
      this.account(bytesWritten, to - position);
      position += bytesWritten;
    }
    this.allocated = Math.max(this.allocated, to);
  }

  /**
   * Writes `buf[0, length)` at `position` and returns once it is durable. `beforeSync` runs just
   * before the durability barrier (a test hook for slow or failing syncs).
   */
  async writeDurable(buf: Buffer, length: number, position: number, beforeSync?: () => Promise<void> | void): Promise<void> {
    if (this.dsync) {
      await beforeSync?.();
      await this.write(buf, length, position);
    } else {
      await this.write(buf, length, position);
      await beforeSync?.();
      await this.sync();
    }
  }

  /** fdatasync, or nothing when every write was already synchronous. */
  async sync(): Promise<void> {
    if (this.dsync) return;
    await this.handle.datasync();
    this.io.syncs++;
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async write(buf: Buffer, length: number, position: number): Promise<void> {
    // A regular-file pwrite is short only on errors such as ENOSPC; loop so that the retry reports them.
    for (let done = 0; done < length; ) {
      const { bytesWritten } = await this.handle.write(buf, done, length - done, position + done);
      this.account(bytesWritten, length - done);
      done += bytesWritten;
    }
    this.allocated = Math.max(this.allocated, position + length);
  }

  private account(bytes: number, requested: number): void {
    if (bytes === 0 && requested > 0) throw new Error(`${this.path}: write made no progress`);
    this.io.bytesWritten += bytes;
    if (this.dsync) this.io.syncs++;
  }
}
