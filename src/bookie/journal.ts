// The bookie journal: a write-ahead log of adds, fences, master keys and explicit LACs, each
// acknowledged only once it is durable.
//
// Group commit. Appends are encoded straight into the *gathering* group's buffer. One loop writes
// groups strictly one after another: one write of the whole group (header, records, padding)
// and one durability barrier (an O_DSYNC write, or write + fdatasync). While that is in flight,
// new appends gather into the next group, which is written the moment the previous barrier
// returns; there is no timer unless `maxGroupWaitMicros` asks for one. A group is capped by bytes
// and by record count; a full group is sealed and queued. Acknowledgements resolve in journal
// order: every append of a group gets the group's one promise (a promise per record cost as much
// as the rest of append()). The loop keeps at most one threadpool job in flight per journal, so the journal cannot
// starve the process's other fs/dns work; the application may size UV_THREADPOOL_SIZE, a library
// must not.
//
// Recovery rule (open). Because group k+1 is written only after group k's barrier returned, at
// most one group (the last one of the newest file) can be torn by a crash, and any valid group
// on disk proves that every group before it was synced. So, in the newest file, at the first
// group that fails validation (zero header, bad checksum, wrong seq, runs past the end, bad
// record):
//   - if a valid group header of this file appears at any later aligned offset, the bad group
//     was synced and is now damaged: JOURNAL_CORRUPT with the file and offset;
//   - otherwise it is a torn tail: the non-zero bytes from there on are zeroed (and synced) and
//     appends continue at that offset. The damaged group is dropped whole; none of its records
//     was acknowledged, since acknowledgement needs the barrier that tearing proves did not finish.
// Files older than the newest were complete and synced before the next file was created, so in
// them (checked by replay) any invalid group, any non-zero byte after the data, or a seq gap to
// the next file is JOURNAL_CORRUPT. The one undetectable case, as in every WAL, is damage to the
// very last group of the newest file, which looks exactly like a torn write.
//
// File reuse. Files that removeBefore() retires are kept as spares (up to `spareFiles`) and a roll
// turns one into the next file instead of creating and zero-filling a new one, as BookKeeper's
// journalReuseFiles does. A reused file is marked in its header (journal-format.ts): its data ends
// at the first slot that holds no group of this file, and the stale bytes after it are neither
// zeroed nor an error; a valid group of this file after that point still proves damage.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

import { InvalidArgumentError } from '../errors.js';
import { Histogram, LATENCY_BUCKETS } from '../util/metrics.js';
import { needingRoom } from './disk-full.js';
import { JournalError } from './journal-error.js';
import { JournalFile, syncDirectory, type JournalIoCounters, type JournalSyncMode } from './journal-file.js';
import {
  alignUp,
  encodeGroupHeader,
  FILE_HEADER_BYTES,
  GROUP_HEADER_SIZE,
  isValidAlignment,
  journalFileName,
  parseJournalFileName,
  type FileHeader,
} from './journal-format.js';
import { JournalFileReader, type GroupScan, type TailInspection } from './journal-reader.js';
import { encodedJournalRecordSize, encodeJournalRecord, type JournalRecord } from './journal-record.js';

export type { JournalRecord } from './journal-record.js';
export type { JournalSyncMode } from './journal-file.js';

/** A point in the journal: a file id and a byte offset in it, always on a group boundary. */
export interface JournalPosition {
  readonly fileId: number;
  readonly offset: number;
}

/** Replay from the oldest file present. File ids start at 1. */
export const JOURNAL_START: JournalPosition = Object.freeze({ fileId: 0, offset: 0 });

export function compareJournalPositions(a: JournalPosition, b: JournalPosition): number {
  return a.fileId - b.fileId || a.offset - b.offset;
}

export interface JournalHooks {
  /** Runs right before each group's durability barrier; delay it to model a slow disk, throw to model a failed sync. For tests. */
  beforeSync?: () => Promise<void> | void;
}

export interface JournalOptions {
  /** Roll to a new file when the next group would take the current one past this size. Default 256 MiB (BookKeeper: 2 GiB). */
  maxFileSize?: number;
  /**
   * Zeros are written ahead of the data in steps of this size (see journal-file.ts). The group
   * that triggers a step waits for it (measured: 9-19 ms for 4 MiB, 35-95 ms for 16 MiB on a
   * virtio disk), so the step bounds that stall. Default 4 MiB (BookKeeper: 16 MiB).
   */
  preallocSize?: number;
  /**
   * Groups start at multiples of this (a power of two, 512 B to 1 MiB). Default 4096, the page
   * and filesystem block size, so that no write touches a block holding synced data; each group
   * is padded, which costs file space but no extra device I/O for small groups. BookKeeper pads to 512.
   */
  alignment?: number;
  /** A group takes records up to this many bytes (a larger record gets a group of its own). Default 4 MiB, at most a quarter of maxFileSize. */
  maxGroupBytes?: number;
  /** And at most this many records. Default 8192. */
  maxGroupRecords?: number;
  /**
   * When the journal is idle, wait this long for more appends before writing the first group
   * (rounded up to Node's 1 ms timer resolution). Default 0: write at once; batching then comes
   * from appends that arrive while the previous group is being synced.
   */
  maxGroupWaitMicros?: number;
  /**
   * Files retired by removeBefore() kept (renamed `<name>.spare`) for the next rolls to reuse, so
   * that a roll costs a header write instead of creating and zero-filling a file. Default 2; 0
   * deletes them. Spares take disk space: up to this many times maxFileSize.
   */
  spareFiles?: number;
  /** Default 'dsync' where the platform has O_DSYNC, else 'fdatasync'. */
  syncMode?: JournalSyncMode;
  hooks?: JournalHooks;
}

export interface JournalStats {
  /** Records acknowledged. */
  readonly records: number;
  /** Encoded bytes of the acknowledged records. */
  readonly recordBytes: number;
  /** Groups written and synced. */
  readonly groups: number;
  /** Durability barriers, including those for file creation, preallocation and repair. */
  readonly syncs: number;
  /** Every byte written: records, group headers, padding, file headers, preallocated zeros. */
  readonly bytesWritten: number;
  readonly rolls: number;
  /** Rolls that reused a spare file. */
  readonly reusedFiles: number;
  /** Records appended and not yet acknowledged or failed. */
  readonly pendingRecords: number;
  readonly fileId: number;
  /** Bytes of torn tail zeroed when the journal was opened. */
  readonly repairedBytes: number;
}

export interface ReplayResult {
  readonly records: number;
  readonly groups: number;
  /** Just past the last group replayed. */
  readonly end: JournalPosition;
}

interface ResolvedOptions {
  readonly maxFileSize: number;
  readonly preallocSize: number;
  readonly alignment: number;
  readonly maxGroupBytes: number;
  readonly maxGroupRecords: number;
  readonly maxGroupWaitMicros: number;
  readonly spareFiles: number;
  readonly syncMode: JournalSyncMode;
  readonly beforeSync: (() => Promise<void> | void) | undefined;
}

interface Group {
  /** Header slot, records, then room for padding. */
  readonly buf: Buffer;
  /** Bytes used, header slot included. */
  used: number;
  /** `used` may not pass this; a group always takes its first record. */
  readonly cap: number;
  records: number;
  /** What append() returns for each record of the group. */
  readonly acked: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Recovered {
  readonly file: JournalFile;
  readonly writePos: number;
  readonly nextSeq: bigint;
  readonly repairedBytes: number;
}

const MiB = 1024 * 1024;
const O_DSYNC = (constants as { O_DSYNC?: number }).O_DSYNC;
/** A retired file kept for reuse: `<journal file name>.spare`. */
const SPARE_SUFFIX = '.spare';
/** Free group buffers kept for reuse: one being written, one gathering. */
const SPARE_BUFFERS = 2;

export class Journal {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private failure: JournalError | undefined;
  private closing: Promise<void> | undefined;

  private gathering: Group | undefined;
  private readonly sealed: Group[] = [];
  private inFlight: Group | undefined;
  private loop: Promise<void> | undefined;
  /** Starts a loop that is waiting out `maxGroupWaitMicros`. */
  private wake: (() => void) | undefined;
  private readonly spareBuffers: Buffer[] = [];
  private readonly bufferSize: number;

  private synced: JournalPosition;
  private records = 0;
  private recordBytes = 0;
  private groups = 0;
  private rolls = 0;
  private reusedFiles = 0;
  private pendingRecords = 0;
  /** Seconds per group write with its durability barrier (one O_DSYNC write, or write + fdatasync). */
  readonly syncLatency = new Histogram(LATENCY_BUCKETS);

  private constructor(
    readonly dir: string,
    private readonly opts: ResolvedOptions,
    private readonly io: JournalIoCounters,
    private file: JournalFile,
    /** Where the next group goes in `file`; everything before it is synced. */
    private writePos: number,
    private nextSeq: bigint,
    private readonly repairedBytes: number,
    /** Paths of spare files, for the next rolls. */
    private readonly spares: string[],
  ) {
    this.synced = Object.freeze({ fileId: file.id, offset: writePos });
    // Big enough for a full group padded to either the configured or the reopened file's alignment.
    this.bufferSize = alignUp(GROUP_HEADER_SIZE + opts.maxGroupBytes, Math.max(opts.alignment, file.header.alignment));
  }

  /**
   * Opens (creating if needed) the journal in `dir`: validates the newest file, zeroes a torn
   * tail, and positions appends after the last valid group. Older files are validated by replay().
   * One Journal per directory: the caller (the bookie's directory lock) must ensure it.
   */
  static async open(dir: string, options: JournalOptions = {}): Promise<Journal> {
    const opts = resolveOptions(options);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const io: JournalIoCounters = { syncs: 0, bytesWritten: 0 };
    const ids = await listJournalFiles(dir);
    const spares = (await fs.readdir(dir)).filter((name) => name.endsWith(SPARE_SUFFIX)).map((name) => path.join(dir, name));
    let nextId = 1;
    for (let id = ids.pop(); id !== undefined; id = ids.pop()) {
      const recovered = await recoverNewest(dir, id, opts, io);
      if (recovered !== undefined) {
        return new Journal(dir, opts, io, recovered.file, recovered.writePos, recovered.nextSeq, recovered.repairedBytes, spares);
      }
      nextId = id;
    }
    // a torn file left by a failure here is deleted by the next open (an invalid header) or reopened (a valid one)
    const file = await needingRoom(dir, 'a new journal file (preallocated)', opts.preallocSize,
      () => JournalFile.create(dir, nextId, 1n, opts.alignment, opts.preallocSize, opts.syncMode, io));
    return new Journal(dir, opts, io, file, file.dataStart, 1n, 0, spares);
  }

  /**
   * Resolves once the record is durable. The record's bytes are copied before this returns, so
   * the caller may reuse its buffers at once. Rejects with InvalidArgumentError for a record
   * that cannot be encoded, JOURNAL_CLOSED after close(), JOURNAL_IO once a write failed.
   */
  append(record: JournalRecord): Promise<void> {
    if (this.state !== 'open' || this.failure !== undefined) return Promise.reject(this.unavailable());
    const size = encodedJournalRecordSize(record);
    const maxRecord = this.opts.maxFileSize - this.opts.alignment - GROUP_HEADER_SIZE;
    if (size > maxRecord) return Promise.reject(new InvalidArgumentError(`journal record of ${size} bytes exceeds the limit of ${maxRecord} bytes`));

    let group = this.gathering;
    if (group !== undefined && (group.used + size > group.cap || group.records >= this.opts.maxGroupRecords)) {
      this.sealed.push(group);
      this.gathering = group = undefined;
      this.wake?.(); // a full group does not wait for the group timer
    }
    group ??= this.gathering = this.newGroup(size);
    try {
      encodeJournalRecord(record, group.buf, group.used, size);
    } catch (err) {
      if (group.records === 0) {
        this.gathering = undefined;
        this.recycle(group);
      }
      return Promise.reject(new InvalidArgumentError(`cannot encode journal record: ${(err as Error).message}`, { cause: err }));
    }
    group.used += size;
    this.pendingRecords++;
    group.records++;
    this.schedule();
    return group.acked;
  }

  /**
   * The end of the synced data: every acknowledged record lies before it, every record not yet
   * synced after it. The storage layer takes this mark, flushes, then persists the mark; replay
   * from it then covers everything the flush may have missed.
   */
  markCheckpoint(): JournalPosition {
    return this.synced;
  }

  /** Bytes of journal files from `position` to the synced end (group headers and padding included): what a replay from it reads. */
  async bytesSince(position: JournalPosition): Promise<number> {
    const synced = this.synced;
    let bytes = 0;
    for (const id of await listJournalFiles(this.dir)) {
      if (id < position.fileId || id > synced.fileId) continue;
      const end = id === synced.fileId ? synced.offset : (await fs.stat(path.join(this.dir, journalFileName(id)))).size;
      bytes += Math.max(0, end - (id === position.fileId ? position.offset : 0));
    }
    return bytes;
  }

  /**
   * Retires the files that lie wholly before `position` (ids below its file id), never the
   * current one: kept as spares up to `spareFiles`, the rest deleted. Returns their ids. Not to
   * be run concurrently with replay().
   */
  async removeBefore(position: JournalPosition): Promise<number[]> {
    if (position.fileId > this.synced.fileId) {
      throw new InvalidArgumentError(`position in file ${position.fileId} is past the synced end of the journal (file ${this.synced.fileId})`);
    }
    const removed: number[] = [];
    for (const id of await listJournalFiles(this.dir)) {
      if (id >= position.fileId || id >= this.file.id) break;
      const name = path.join(this.dir, journalFileName(id));
      // (a spare of that name is left from a journal that started over at id 1: never clobber it)
      if (this.spares.length < this.opts.spareFiles && !this.spares.includes(name + SPARE_SUFFIX)) {
        await fs.rename(name, name + SPARE_SUFFIX);
        this.spares.push(name + SPARE_SUFFIX);
      } else {
        await fs.unlink(name);
      }
      removed.push(id);
    }
    // a retired file must not come back under its journal name once a spare's header is rewritten
    if (removed.length > 0) await syncDirectory(this.dir);
    return removed;
  }

  /**
   * Calls `onRecord` (awaiting it when it returns a promise) for every record from `from` (a
   * checkpoint, or JOURNAL_START) to the synced end, in journal order, validating every group
   * and file on the way. Throws JOURNAL_MISSING when `from`'s file or a later one is absent and
   * JOURNAL_CORRUPT for damage; nothing is skipped.
   */
  async replay(from: JournalPosition, onRecord: (record: JournalRecord) => Promise<void> | void): Promise<ReplayResult> {
    const synced = this.synced;
    if (compareJournalPositions(from, synced) > 0) throw new InvalidArgumentError(`replay position ${from.fileId}:${from.offset} is past the synced end ${synced.fileId}:${synced.offset}`);
    const ids = (await listJournalFiles(this.dir)).filter((id) => id <= synced.fileId);
    const first = from.fileId === 0 ? ids[0] : from.fileId;
    if (first === undefined || !ids.includes(first)) throw this.missing(first ?? synced.fileId);
    let expectedId = first;
    let prevLastSeq: bigint | undefined;
    let records = 0;
    let groups = 0;
    let end = from;
    for (const id of ids) {
      if (id < first) continue;
      if (id !== expectedId) throw this.missing(expectedId);
      expectedId++;
      const filePath = path.join(this.dir, journalFileName(id));
      const reader = await JournalFileReader.open(filePath, id);
      try {
        const header = reader.header;
        if (header === undefined) throw corrupt(filePath, 0, 'invalid file header');
        if (prevLastSeq !== undefined && header.firstGroupSeq !== prevLastSeq + 1n) {
          throw corrupt(filePath, 0, `file starts at group ${header.firstGroupSeq} but the previous file ended at group ${prevLastSeq}`);
        }
        const start = id === from.fileId ? Math.max(from.offset, header.alignment) : header.alignment;
        if (start % header.alignment !== 0) throw new InvalidArgumentError(`replay offset ${start} is not a group boundary of ${filePath}`);
        const live = id === synced.fileId;
        const limit = live ? synced.offset : reader.size;
        const scan = await reader.scan(start, limit, start === header.alignment ? header.firstGroupSeq : undefined, async (batch) => {
          for (const record of batch) {
            const pending = onRecord(record);
            if (pending !== undefined) await pending;
          }
        });
        if (scan.problem !== undefined) throw corrupt(filePath, scan.problem.offset, scan.problem.reason);
        if (live) {
          if (scan.end < limit) throw corrupt(filePath, scan.end, `zeroed group inside the synced region (which ends at ${limit})`);
        } else {
          const tail = await reader.inspectTail(scan.end);
          if (header.reused && tail.validGroupAt !== undefined) {
            throw corrupt(filePath, scan.end, `no valid group at offset ${scan.end}, yet a valid group follows at offset ${tail.validGroupAt}`);
          }
          if (!header.reused && tail.dirtyEnd > scan.end) throw corrupt(filePath, scan.end, 'non-zero bytes after the last valid group of a completed file');
        }
        prevLastSeq = scan.lastSeq ?? (start === header.alignment ? header.firstGroupSeq - 1n : undefined);
        records += scan.records;
        groups += scan.groups;
        end = { fileId: id, offset: scan.end };
      } finally {
        await reader.close();
      }
    }
    return { records, groups, end };
  }

  stats(): JournalStats {
    return {
      records: this.records,
      recordBytes: this.recordBytes,
      groups: this.groups,
      syncs: this.io.syncs,
      bytesWritten: this.io.bytesWritten,
      rolls: this.rolls,
      reusedFiles: this.reusedFiles,
      pendingRecords: this.pendingRecords,
      fileId: this.file.id,
      repairedBytes: this.repairedBytes,
    };
  }

  /** Stops taking appends, writes and syncs everything already appended, closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closing';
      this.wake?.();
      while (this.loop !== undefined) await this.loop;
      this.state = 'closed';
      await this.file.close();
    })();
    return this.closing;
  }

  private missing(fileId: number): JournalError {
    const file = path.join(this.dir, journalFileName(fileId));
    return new JournalError('JOURNAL_MISSING', `journal file ${file} is missing`, { file });
  }

  private unavailable(): JournalError {
    return this.failure ?? new JournalError('JOURNAL_CLOSED', `journal ${this.dir} is closed`);
  }

  private newGroup(firstRecordSize: number): Group {
    const cap = GROUP_HEADER_SIZE + Math.max(this.opts.maxGroupBytes, firstRecordSize);
    const standard = cap === GROUP_HEADER_SIZE + this.opts.maxGroupBytes;
    const buf = (standard ? this.spareBuffers.pop() : undefined) ?? Buffer.allocUnsafe(standard ? this.bufferSize : alignUp(cap, this.bufferAlignment()));
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const acked = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // a group that failed before any append took its promise must not be an unhandled rejection
    acked.catch(() => undefined);
    return { buf, used: GROUP_HEADER_SIZE, cap, records: 0, acked, resolve, reject };
  }

  private bufferAlignment(): number {
    return Math.max(this.opts.alignment, this.file.header.alignment);
  }

  private recycle(group: Group): void {
    if (group.buf.length === this.bufferSize && this.spareBuffers.length < SPARE_BUFFERS) this.spareBuffers.push(group.buf);
  }

  /** Starts the write loop unless it is running; a running loop picks new groups up by itself. */
  private schedule(): void {
    if (this.loop !== undefined) return;
    const waitMs = Math.ceil(this.opts.maxGroupWaitMicros / 1000);
    this.loop = new Promise<void>((resolve) => {
      if (waitMs > 0 && this.sealed.length === 0 && this.state === 'open') {
        const timer = setTimeout(resolve, waitMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      } else {
        // Not a timer: lets the appends of the current event-loop turn (e.g. one socket read) join the group.
        setImmediate(resolve);
      }
    }).then(() => this.runLoop());
  }

  private async runLoop(): Promise<void> {
    this.wake = undefined;
    try {
      for (let group = this.nextGroup(); group !== undefined; group = this.nextGroup()) {
        this.inFlight = group;
        await this.writeGroup(group);
        this.inFlight = undefined;
        this.acknowledge(group);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.loop = undefined;
    }
  }

  private nextGroup(): Group | undefined {
    const sealed = this.sealed.shift();
    if (sealed !== undefined) return sealed;
    const group = this.gathering;
    this.gathering = undefined;
    return group;
  }

  private async writeGroup(group: Group): Promise<void> {
    let length = alignUp(group.used, this.file.header.alignment);
    if (this.writePos > this.file.dataStart && this.writePos + length > this.opts.maxFileSize) {
      await this.roll();
      length = alignUp(group.used, this.file.header.alignment);
    }
    await this.file.ensureAllocated(this.writePos + length, this.opts.preallocSize, this.opts.maxFileSize);
    encodeGroupHeader(group.buf, this.file.header.salt, { seq: this.nextSeq, bodyLength: group.used - GROUP_HEADER_SIZE, recordCount: group.records });
    group.buf.fill(0, group.used, length);
    const startedAt = performance.now();
    await this.file.writeDurable(group.buf, length, this.writePos, this.opts.beforeSync);
    this.syncLatency.observe((performance.now() - startedAt) / 1000);
    this.nextSeq++;
    this.writePos += length;
    this.synced = Object.freeze({ fileId: this.file.id, offset: this.writePos });
  }

  private async roll(): Promise<void> {
    const { alignment, preallocSize, syncMode } = this.opts;
    const spare = this.spares.shift();
    const next = spare === undefined
      ? await JournalFile.create(this.dir, this.file.id + 1, this.nextSeq, alignment, preallocSize, syncMode, this.io)
      : await JournalFile.reuse(spare, this.dir, this.file.id + 1, this.nextSeq, alignment, syncMode, this.io);
    if (spare !== undefined) this.reusedFiles++;
    const previous = this.file;
    this.file = next;
    this.writePos = next.dataStart;
    this.rolls++;
    await previous.close();
  }

  private acknowledge(group: Group): void {
    const count = group.records;
    this.records += count;
    this.recordBytes += group.used - GROUP_HEADER_SIZE;
    this.groups++;
    this.pendingRecords -= count;
    group.resolve();
    this.recycle(group);
  }

  /** After a failed write or sync nothing is retried (see JOURNAL_IO): every pending append fails. */
  private fail(cause: unknown): void {
    const error = new JournalError('JOURNAL_IO', `journal write to ${this.file.path} failed; reopen the journal and replay before appending again`, {
      cause,
      file: this.file.path,
    });
    this.failure = error;
    for (const group of [this.inFlight, ...this.sealed, this.gathering]) {
      if (group === undefined) continue;
      this.pendingRecords -= group.records;
      group.reject(error);
    }
    this.inFlight = this.gathering = undefined;
    this.sealed.length = 0;
  }
}

function corrupt(file: string, offset: number, reason: string): JournalError {
  return new JournalError('JOURNAL_CORRUPT', `${file} is corrupt at offset ${offset}: ${reason}`, { file, offset });
}

async function listJournalFiles(dir: string): Promise<number[]> {
  const ids: number[] = [];
  for (const name of await fs.readdir(dir)) {
    const id = parseJournalFileName(name);
    if (id !== undefined) ids.push(id);
  }
  return ids.sort((a, b) => a - b);
}

/**
 * Applies the recovery rule (top of this file) to file `id`, the newest one. Returns undefined
 * after deleting a file whose creation was torn (an invalid header and nothing but zeros after
 * it: groups are only written once a file's header is durable), so the previous file is newest.
 */
async function recoverNewest(dir: string, id: number, opts: ResolvedOptions, io: JournalIoCounters): Promise<Recovered | undefined> {
  const filePath = path.join(dir, journalFileName(id));
  const reader = await JournalFileReader.open(filePath, id);
  let scanned: { header: FileHeader; scan: GroupScan; tail: TailInspection; size: number } | undefined;
  try {
    const header = reader.header;
    if (header === undefined) {
      if ((await reader.inspectTail(FILE_HEADER_BYTES)).dirtyEnd > FILE_HEADER_BYTES) throw corrupt(filePath, 0, 'invalid file header on a file that holds data');
    } else {
      const scan = await reader.scan(header.alignment, reader.size, header.firstGroupSeq);
      scanned = { header, scan, tail: await reader.inspectTail(scan.end), size: reader.size };
    }
  } finally {
    await reader.close();
  }
  if (scanned === undefined) {
    await fs.unlink(filePath);
    await syncDirectory(dir);
    return undefined;
  }

  const { header, scan, tail, size } = scanned;
  if (tail.validGroupAt !== undefined) {
    const offset = scan.problem?.offset ?? scan.end;
    throw corrupt(filePath, offset, `${scan.problem?.reason ?? 'zeroed group header'}, yet a valid group follows at offset ${tail.validGroupAt}`);
  }
  const file = await JournalFile.openForAppend(filePath, header, size, opts.syncMode, io);
  // a zero-filled file gets its zeros back; in a reused file stale bytes end the data anyway, so
  // only a torn group's header (valid, with a bad body) is zeroed
  const repairTo = header.reused ? (scan.problem === undefined ? scan.end : Math.min(scan.end + header.alignment, size)) : tail.dirtyEnd;
  try {
    if (repairTo > scan.end) {
      await file.zeroFill(scan.end, repairTo);
      await file.sync();
    }
  } catch (err) {
    await file.close();
    throw err;
  }
  return { file, writePos: scan.end, nextSeq: scan.lastSeq === undefined ? header.firstGroupSeq : scan.lastSeq + 1n, repairedBytes: Math.max(0, repairTo - scan.end) };
}

function resolveOptions(options: JournalOptions): ResolvedOptions {
  const alignment = options.alignment ?? 4096;
  if (!isValidAlignment(alignment)) throw new InvalidArgumentError(`alignment must be a power of two from 512 to 1048576, got ${alignment}`);
  const maxFileSize = intOption('maxFileSize', options.maxFileSize, 256 * MiB, 4 * alignment, 0xffff_ffff);
  const syncMode = options.syncMode ?? (O_DSYNC === undefined ? 'fdatasync' : 'dsync');
  if (syncMode === 'dsync' && O_DSYNC === undefined) throw new InvalidArgumentError(`syncMode 'dsync' needs O_DSYNC, which this platform lacks`);
  return {
    maxFileSize,
    preallocSize: intOption('preallocSize', options.preallocSize, Math.min(4 * MiB, maxFileSize), alignment, maxFileSize),
    alignment,
    maxGroupBytes: intOption('maxGroupBytes', options.maxGroupBytes, Math.min(4 * MiB, Math.floor(maxFileSize / 4)), 1, maxFileSize),
    maxGroupRecords: intOption('maxGroupRecords', options.maxGroupRecords, 8192, 1, 0xffff_ffff),
    maxGroupWaitMicros: intOption('maxGroupWaitMicros', options.maxGroupWaitMicros, 0, 0, 10_000_000),
    spareFiles: intOption('spareFiles', options.spareFiles, 2, 0, 64),
    syncMode,
    beforeSync: options.hooks?.beforeSync,
  };
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}
