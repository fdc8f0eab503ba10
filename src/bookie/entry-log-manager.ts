// The entry logs of one ledger directory: appenders that roll at the size limit, shared read
// handles, and retirement of logs that GC emptied.
//
// Retirement is reference counted. A read takes its lease synchronously, in the same tick as the
// index lookup that produced the location (readRecords acquires before its first await). GC retires a
// log only after the index commit that stopped pointing at it, so a lookup after retire() cannot
// name the log, and a lookup before it holds a lease: the file is closed and unlinked when the last
// lease is released.
import { readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  EntryLogWriter,
  LOG_HEADER_SIZE,
  locationLogId,
  locationOffset,
  logFileName,
  openLogForRead,
  parseLogFileName,
  parseRecord,
  readAt,
  recordSize,
  toLocation,
  type Location,
  type EntryLogRecord,
  type ParsedRecord,
} from './entry-log.js';
import { StorageError, ioError } from './storage-error.js';

/** A log's read handle (opened on first use) and the count of reads holding a lease on it. */
class LogHandle {
  readonly file: string;
  refs = 0;
  readonly #dir: string;
  readonly #logId: number;
  #handle: Promise<FileHandle> | undefined;
  #onIdle: (() => void) | undefined;

  constructor(dir: string, logId: number) {
    this.#dir = dir;
    this.#logId = logId;
    this.file = path.join(dir, logFileName(logId));
  }

  handle(): Promise<FileHandle> {
    this.#handle ??= openLogForRead(this.#dir, this.#logId).catch((err: unknown) => {
      this.#handle = undefined;
      throw ioError(`cannot open entry log ${this.file}`, err, this.file);
    });
    return this.#handle;
  }

  release(): void {
    if (--this.refs === 0) this.#onIdle?.();
  }

  /** Closes the read handle once no read holds a lease. */
  async drain(): Promise<void> {
    if (this.refs > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await handle.then((h) => h.close(), () => undefined);
  }
}

export interface ReadResult {
  readonly first: ParsedRecord;
  /** Complete, checksum-verified records that followed `first` in the bytes read (read-ahead). */
  readonly following: readonly ParsedRecord[];
}

export class EntryLogManager {
  readonly dir: string;
  readonly sizeLimit: number;
  readonly #reserveLogId: () => Promise<number>;
  readonly #logs = new Map<number, LogHandle>();
  readonly #writing = new Set<number>();

  private constructor(dir: string, sizeLimit: number, reserveLogId: () => Promise<number>) {
    this.dir = dir;
    this.sizeLimit = sizeLimit;
    this.#reserveLogId = reserveLogId;
  }

  /**
   * Registers the logs in `dir` and deletes the ones not in `committed`: a log without committed
   * index metadata was being written when the process stopped, and no location names it.
   */
  static async open(dir: string, sizeLimit: number, committed: ReadonlySet<number>, reserveLogId: () => Promise<number>): Promise<EntryLogManager> {
    const manager = new EntryLogManager(dir, sizeLimit, reserveLogId);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const logId = parseLogFileName(entry.name);
      if (logId === undefined || !entry.isFile()) continue;
      if (committed.has(logId)) manager.#logs.set(logId, new LogHandle(dir, logId));
      else await unlink(path.join(dir, entry.name));
    }
    return manager;
  }

  /** Logs that are readable (committed, or being written). */
  logIds(): number[] {
    return [...this.#logs.keys()];
  }

  /** True while an appender writes to the log: it is not a GC candidate. */
  isWriting(logId: number): boolean {
    return this.#writing.has(logId);
  }

  async fileSize(logId: number): Promise<number> {
    return (await stat(path.join(this.dir, logFileName(logId)))).size;
  }

  appender(): LogAppender {
    return new LogAppender(this);
  }

  /** @internal for LogAppender */
  async createWriter(): Promise<EntryLogWriter> {
    const writer = await EntryLogWriter.create(this.dir, await this.#reserveLogId());
    this.#logs.set(writer.logId, new LogHandle(this.dir, writer.logId));
    this.#writing.add(writer.logId);
    return writer;
  }

  /** @internal for LogAppender */
  async closeWriter(writer: EntryLogWriter): Promise<void> {
    this.#writing.delete(writer.logId);
    await writer.close().catch(() => undefined);
  }

  /**
   * Reads the record at `location` and, in the same read, up to `readBytes` of what follows.
   * The lease is taken before the first await (see the file comment).
   */
  async readRecords(location: Location, readBytes: number): Promise<ReadResult> {
    const logId = locationLogId(location);
    const offset = locationOffset(location);
    const log = this.#logs.get(logId);
    if (!log) throw new StorageError('STORAGE_IO', `entry log ${logFileName(logId)} is missing`);
    log.refs++;
    try {
      const handle = await log.handle();
      let buf = await readAt(handle, offset, Math.max(readBytes, recordSize(0)));
      let r = parseRecord(buf, 0);
      if (r.kind === 'short' && buf.length >= recordSize(0)) {
        buf = await readAt(handle, offset, r.need);
        r = parseRecord(buf, 0);
      }
      if (r.kind !== 'record') {
        const reason = r.kind === 'short' ? 'record runs past the end of the file' : r.reason;
        throw new StorageError('CORRUPT_ENTRY', `${log.file} at offset ${offset}: ${reason}`, { file: log.file });
      }
      const following: ParsedRecord[] = [];
      for (let pos = r.record.bytes.length, n = parseRecord(buf, pos); n.kind === 'record'; pos += n.record.bytes.length, n = parseRecord(buf, pos)) {
        following.push(n.record);
      }
      return { first: r.record, following };
    } catch (err) {
      throw ioError(`cannot read ${log.file} at offset ${offset}`, err, log.file);
    } finally {
      log.release();
    }
  }

  /** A read handle for scanning the whole log (compaction); call the returned release when done. */
  async openForScan(logId: number): Promise<{ handle: FileHandle; release: () => void }> {
    const log = this.#logs.get(logId);
    if (!log) throw new StorageError('STORAGE_IO', `entry log ${logFileName(logId)} is missing`);
    log.refs++;
    try {
      return { handle: await log.handle(), release: () => { log.release(); } };
    } catch (err) {
      log.release();
      throw err;
    }
  }

  /** Forgets the log and deletes its file once in-flight reads are done. Call after the index commit. */
  async retire(logId: number): Promise<void> {
    const log = this.#logs.get(logId);
    if (!log) return;
    this.#logs.delete(logId);
    await log.drain();
    await unlink(log.file).catch((err: unknown) => {
      throw ioError(`cannot delete ${log.file}`, err, log.file);
    });
  }

  async close(): Promise<void> {
    const logs = [...this.#logs.values()];
    this.#logs.clear();
    await Promise.all(logs.map((l) => l.drain()));
  }
}

/**
 * Appends records to a sequence of logs, rolling when the next record would pass the size limit
 * (a record larger than the limit gets a log of its own). Appends are written, not synced: sync()
 * makes everything appended so far durable. After any failure the appender abandons its logs so
 * that a retry starts on a fresh file instead of after bytes of unknown state.
 */
export class LogAppender {
  readonly #manager: EntryLogManager;
  #current: EntryLogWriter | undefined;
  /** Rolled logs awaiting their sync. */
  #sealed: EntryLogWriter[] = [];
  #bytesWritten = 0;

  constructor(manager: EntryLogManager) {
    this.#manager = manager;
  }

  /** File bytes this appender added: headers of the logs it created and all records. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Resolves with each record's location, in order. */
  async append(records: readonly EntryLogRecord[]): Promise<Location[]> {
    const locations: Location[] = [];
    try {
      let start = 0;
      while (start < records.length) {
        const writer = await this.#writerWithRoom(records[start]?.bytes.length ?? 0);
        let end = start;
        const from = writer.offset;
        let offset = from;
        for (; end < records.length; end++) {
          const size = records[end]?.bytes.length ?? 0;
          if (end > start && offset + size > this.#manager.sizeLimit) break;
          locations.push(toLocation(writer.logId, offset));
          offset += size;
        }
        await writer.append(start === 0 && end === records.length ? records : records.slice(start, end));
        this.#bytesWritten += offset - from;
        start = end;
      }
      return locations;
    } catch (err) {
      await this.#abandon();
      throw err;
    }
  }

  async sync(): Promise<void> {
    try {
      for (const w of this.#sealed) await w.sync();
      await this.#current?.sync();
    } catch (err) {
      await this.#abandon();
      throw err;
    }
    const sealed = this.#sealed;
    this.#sealed = [];
    for (const w of sealed) await this.#manager.closeWriter(w);
  }

  /** Syncs and closes. */
  async close(): Promise<void> {
    await this.sync();
    if (this.#current) await this.#manager.closeWriter(this.#current);
    this.#current = undefined;
  }

  async #writerWithRoom(size: number): Promise<EntryLogWriter> {
    const current = this.#current;
    if (current && (current.offset === LOG_HEADER_SIZE || current.offset + size <= this.#manager.sizeLimit)) return current;
    if (current) this.#sealed.push(current);
    this.#current = await this.#manager.createWriter();
    this.#bytesWritten += this.#current.offset;
    return this.#current;
  }

  async #abandon(): Promise<void> {
    const writers = [...this.#sealed, ...(this.#current ? [this.#current] : [])];
    this.#sealed = [];
    this.#current = undefined;
    for (const w of writers) await this.#manager.closeWriter(w);
  }
}
