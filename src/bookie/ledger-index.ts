// The ledger index: one LMDB environment (`<dir>/index/`) with four sub-databases, binary keys and
// values, big-endian:
//   locations  ledgerId(8) ‖ entryId(8)  →  location(8): u32 logId · u32 offset (entry-log.ts)
//   ledgers    ledgerId(8)               →  u8 version(1) · u8 flags(1 fenced, 2 key, 4 explicit LAC)
//                                           · u16 keyLen · key · u16 lacLen · lac
//   logs       logId(4)                  →  (ledgerId(8) · bytes(8))*  live record bytes per ledger
//   meta       'nextLogId'               →  u32
// A log appears in `logs` from the commit that first points a location at it until GC drops it,
// so a log file without a `logs` row holds nothing the index refers to. Every transaction that
// adds locations adds their accounting too.
//
// Every write goes through one queue: a transaction (at most TXN_BATCH puts), for the last one of
// an operation a wait for LMDB's fsync, then the in-memory copy of `logs` is updated. Serialising
// them keeps that copy equal to what is committed, whichever of flush, ledger deletion and
// compaction gets there first.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { MAX_LOG_ID, locationLogId, locationOffset, readLocation, writeLocation, type Location, type EntryLogRecord } from './entry-log.js';
import { checkIndexFile, verifyIndex, type IndexVerification } from './index-check.js';
import { StorageError, ioError } from './storage-error.js';

export interface LedgerState {
  /** The bound master key; zero-length or undefined means none is bound yet. */
  masterKey: Buffer | undefined;
  fenced: boolean;
  /** The last explicit-LAC envelope received, as sent by the client. */
  explicitLac: Buffer | undefined;
}

export interface Relocation {
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  readonly from: Location;
  readonly to: Location;
  /** Record bytes, for GC accounting. */
  readonly size: number;
}

export interface LedgerIndexOpenOptions {
  /** Walk the whole index in a child process (index-check.ts), not only its meta pages. Default true. */
  readonly fullCheck?: boolean;
  /** What the full check found (it rejects with INDEX_CORRUPT for a damaged index). */
  readonly onChecked?: (result: IndexVerification) => void;
  /** A write (commit or its fsync) failed: whatever operation it served rejects with the same error. */
  readonly onWriteFailure?: (err: StorageError) => void;
  /** Runs before each write transaction, named by what it does ('commit a compaction', 'delete locations', ...); throw to model a failed write. For tests. */
  readonly beforeWrite?: (what: string) => void;
}

const MAX_U64 = 0xffffffffffffffffn;
/** Writes per LMDB transaction: a transaction's callback runs on the event loop (about 3 µs a put
 *  here), so bounding it keeps adds and reads flowing during a large flush, deletion or compaction. */
export const TXN_BATCH = 8192;
const NEXT_LOG_ID = Buffer.from('nextLogId');
const STATE_VERSION = 1;

function entryKey(ledgerId: bigint, entryId: bigint): Buffer {
  const key = Buffer.allocUnsafe(16);
  key.writeBigUInt64BE(ledgerId, 0);
  key.writeBigUInt64BE(entryId, 8);
  return key;
}

// Hot paths reuse one key and one value buffer: LMDB copies both during the call, and DataView
// writes of bigints are an order of magnitude faster than Buffer#writeBigUInt64BE.
const scratchKey = Buffer.allocUnsafe(16);
const scratchKeyView = new DataView(scratchKey.buffer, scratchKey.byteOffset, 16);
const scratchLocation = Buffer.allocUnsafe(8);

function scratchEntryKey(ledgerId: bigint, entryId: bigint): Buffer {
  scratchKeyView.setBigUint64(0, ledgerId);
  scratchKeyView.setBigUint64(8, entryId);
  return scratchKey;
}

function locationValue(location: Location): Buffer {
  writeLocation(scratchLocation, location);
  return scratchLocation;
}

function ledgerKey(ledgerId: bigint): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(ledgerId);
  return key;
}

function logKey(logId: number): Buffer {
  const key = Buffer.allocUnsafe(4);
  key.writeUInt32BE(logId);
  return key;
}

function encodeState(state: LedgerState): Buffer {
  const key = state.masterKey ?? Buffer.alloc(0);
  const lac = state.explicitLac ?? Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(6 + key.length + lac.length);
  buf.writeUInt8(STATE_VERSION, 0);
  buf.writeUInt8((state.fenced ? 1 : 0) | (state.masterKey ? 2 : 0) | (state.explicitLac ? 4 : 0), 1);
  buf.writeUInt16BE(key.length, 2);
  key.copy(buf, 4);
  buf.writeUInt16BE(lac.length, 4 + key.length);
  lac.copy(buf, 6 + key.length);
  return buf;
}

function decodeState(buf: Buffer): LedgerState {
  const flags = buf.readUInt8(1);
  const keyLen = buf.readUInt16BE(2);
  const lacLen = buf.readUInt16BE(4 + keyLen);
  return {
    masterKey: flags & 2 ? Buffer.from(buf.subarray(4, 4 + keyLen)) : undefined,
    fenced: (flags & 1) !== 0,
    explicitLac: flags & 4 ? Buffer.from(buf.subarray(6 + keyLen, 6 + keyLen + lacLen)) : undefined,
  };
}

function encodeLogBytes(perLedger: ReadonlyMap<bigint, number>): Buffer {
  const buf = Buffer.allocUnsafe(16 * perLedger.size);
  let pos = 0;
  for (const [ledgerId, bytes] of perLedger) {
    buf.writeBigUInt64BE(ledgerId, pos);
    buf.writeBigUInt64BE(BigInt(bytes), pos + 8);
    pos += 16;
  }
  return buf;
}

function decodeLogBytes(buf: Buffer): Map<bigint, number> {
  const map = new Map<bigint, number>();
  for (let pos = 0; pos + 16 <= buf.length; pos += 16) map.set(buf.readBigUInt64BE(pos), Number(buf.readBigUInt64BE(pos + 8)));
  return map;
}

export class LedgerIndex {
  readonly #root: RootDatabase;
  readonly #locations: Database<Buffer, Buffer>;
  readonly #ledgers: Database<Buffer, Buffer>;
  readonly #logs: Database<Buffer, Buffer>;
  readonly #meta: Database<Buffer, Buffer>;
  /** Mirror of the `logs` database. */
  readonly #logBytes = new Map<number, Map<bigint, number>>();
  #nextLogId: number;
  #tail: Promise<unknown> = Promise.resolve();
  /** The last commit failed. */
  #failed = false;
  readonly #onWriteFailure: ((err: StorageError) => void) | undefined;
  readonly #beforeWrite: ((what: string) => void) | undefined;

  private constructor(root: RootDatabase, options: LedgerIndexOpenOptions) {
    this.#root = root;
    this.#onWriteFailure = options.onWriteFailure;
    this.#beforeWrite = options.beforeWrite;
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
    this.#locations = root.openDB<Buffer, Buffer>({ name: 'locations', ...binary });
    this.#ledgers = root.openDB<Buffer, Buffer>({ name: 'ledgers', ...binary });
    this.#logs = root.openDB<Buffer, Buffer>({ name: 'logs', ...binary });
    this.#meta = root.openDB<Buffer, Buffer>({ name: 'meta', ...binary });
    for (const { key, value } of this.#logs.getRange()) this.#logBytes.set(key.readUInt32BE(0), decodeLogBytes(value));
    this.#nextLogId = this.#meta.get(NEXT_LOG_ID)?.readUInt32BE(0) ?? 1;
  }

  static async open(dir: string, options: LedgerIndexOpenOptions = {}): Promise<LedgerIndex> {
    const { fullCheck = true, onChecked } = options;
    const indexDir = path.join(dir, 'index');
    // LMDB crashes the process on a damaged file: check it first (index-check.ts)
    if (await checkIndexFile(indexDir) && fullCheck) onChecked?.(await verifyIndex(indexDir, dir));
    try {
      await mkdir(indexDir, { recursive: true, mode: 0o700 });
      // no event-turn batching: all our writes are explicit transactions, and on a failed commit
      // lmdb rejects the batch's own promise, which nobody can observe (an unhandled rejection)
      return new LedgerIndex(open({ path: indexDir, maxDbs: 4, eventTurnBatching: false }), options);
    } catch (err) {
      throw ioError(`cannot open the ledger index in ${indexDir}`, err);
    }
  }

  getLocation(ledgerId: bigint, entryId: bigint): Location | undefined {
    const value = this.#locations.getBinaryFast(scratchEntryKey(ledgerId, entryId));
    return value ? readLocation(value) : undefined;
  }

  /** The indexed entries first..last of the ledger with their locations, ascending: one cursor walk in one read transaction. */
  locations(ledgerId: bigint, first: bigint, last: bigint): { entryId: bigint; location: Location }[] {
    const found: { entryId: bigint; location: Location }[] = [];
    for (const { key, value } of this.#locations.getRange({ start: entryKey(ledgerId, first), end: entryKey(ledgerId, last + 1n) })) {
      found.push({ entryId: key.readBigUInt64BE(8), location: readLocation(value) });
    }
    return found;
  }

  /** The highest indexed entry id of the ledger: a reverse seek from (ledgerId, MAX). */
  lastEntryId(ledgerId: bigint): bigint | undefined {
    for (const { key } of this.#locations.getRange({ start: entryKey(ledgerId, MAX_U64), reverse: true, limit: 1 })) {
      if (key.readBigUInt64BE(0) === ledgerId) return key.readBigUInt64BE(8);
    }
    return undefined;
  }

  /** Up to `limit` indexed entry ids of the ledger from `from` on, ascending. */
  entryIds(ledgerId: bigint, from: bigint, limit: number): bigint[] {
    const ids: bigint[] = [];
    for (const { key } of this.#locations.getRange({ start: entryKey(ledgerId, from), end: entryKey(ledgerId + 1n, 0n), limit })) {
      ids.push(key.readBigUInt64BE(8));
    }
    return ids;
  }

  loadLedgers(): Map<bigint, LedgerState> {
    const states = new Map<bigint, LedgerState>();
    for (const { key, value } of this.#ledgers.getRange()) states.set(key.readBigUInt64BE(0), decodeState(value));
    return states;
  }

  /** Logs that hold (or held, until GC drops them) indexed records. */
  committedLogIds(): Set<number> {
    return new Set(this.#logBytes.keys());
  }

  /** Record bytes of ledgers not deleted, per log, as of the last commit. */
  liveBytes(logId: number): number {
    let sum = 0;
    for (const bytes of this.#logBytes.get(logId)?.values() ?? []) sum += bytes;
    return sum;
  }

  /** True if a ledger accounted in the log has a location in it at or after `offset`. */
  refersBeyond(logId: number, offset: number): boolean {
    for (const ledgerId of this.#logBytes.get(logId)?.keys() ?? []) {
      for (const { value } of this.#locations.getRange({ start: entryKey(ledgerId, 0n), end: entryKey(ledgerId + 1n, 0n) })) {
        const location = readLocation(value);
        if (locationLogId(location) === logId && locationOffset(location) >= offset) return true;
      }
    }
    return false;
  }

  /** A fresh entry log id, durably reserved so that it is never handed out twice. */
  reserveLogId(): Promise<number> {
    return this.#write(
      'reserve a log id',
      () => {
        if (this.#nextLogId > MAX_LOG_ID) throw new StorageError('STORAGE_IO', `entry log ids are exhausted (${MAX_LOG_ID})`);
        this.#meta.putSync(NEXT_LOG_ID, logKey(this.#nextLogId + 1));
        return this.#nextLogId;
      },
      (id) => {
        this.#nextLogId = id + 1;
      },
    );
  }

  /**
   * The checkpoint commit: records written at `locations` (same order), their accounting, and the
   * ledger states, in transactions of at most TXN_BATCH locations with the states in the last;
   * resolves once all are durable. A crash part-way leaves some locations committed, each with
   * its accounting; the journal replays the whole flush, since its mark has not moved.
   */
  async commitFlush(records: readonly EntryLogRecord[], locations: readonly Location[], states: ReadonlyMap<bigint, LedgerState>): Promise<void> {
    if (locations.length !== records.length) throw new RangeError(`${records.length} records but ${locations.length} locations`);
    for (let start = 0; start === 0 || start < records.length; start += TXN_BATCH) {
      const end = Math.min(start + TXN_BATCH, records.length);
      const last = end === records.length;
      const deltas = new Map<number, Map<bigint, number>>();
      for (let i = start; i < end; i++) addBytes(deltas, locations[i] ?? 0, records[i]?.ledgerId ?? 0n, records[i]?.bytes.length ?? 0);
      await this.#write(
        'commit a flush',
        () => {
          for (let i = start; i < end; i++) {
            const r = records[i];
            if (r) this.#locations.putSync(scratchEntryKey(r.ledgerId, r.entryId), locationValue(locations[i] ?? 0));
          }
          if (last) for (const [ledgerId, state] of states) this.#ledgers.putSync(ledgerKey(ledgerId), encodeState(state));
          return this.#putLogBytes(this.#merged(deltas));
        },
        (merged) => { this.#install(merged); },
        last,
      );
    }
  }

  /** Removes the ledgers' locations, TXN_BATCH per transaction; not necessarily durable yet. */
  async removeLocations(ledgerIds: readonly bigint[]): Promise<void> {
    for (const ledgerId of ledgerIds) {
      let removed: number;
      do {
        removed = await this.#write('delete locations', () => this.#removeLocations(ledgerId, TXN_BATCH), () => undefined, false);
      } while (removed === TXN_BATCH);
    }
  }

  /**
   * Removes the ledgers' locations, then their states and accounting; durable when it resolves.
   * If interrupted, the ledgers are still listed and GC deletes them again.
   */
  async deleteLedgers(ledgerIds: readonly bigint[]): Promise<void> {
    await this.removeLocations(ledgerIds);
    const doomed = new Set(ledgerIds);
    await this.#write(
      'delete ledgers',
      () => {
        for (const ledgerId of doomed) this.#ledgers.removeSync(ledgerKey(ledgerId));
        const changed = new Map<number, Map<bigint, number>>();
        for (const [logId, perLedger] of this.#logBytes) {
          if (![...perLedger.keys()].some((id) => doomed.has(id))) continue;
          changed.set(logId, new Map([...perLedger].filter(([id]) => !doomed.has(id))));
        }
        return this.#putLogBytes(changed);
      },
      (changed) => { this.#install(changed); },
    );
  }

  /** Forgets logs that no location points to any more. */
  dropLogs(logIds: readonly number[]): Promise<void> {
    return this.#write(
      'drop logs',
      () => {
        for (const logId of logIds) this.#logs.removeSync(logKey(logId));
      },
      () => {
        for (const logId of logIds) this.#logBytes.delete(logId);
      },
    );
  }

  /**
   * Compaction's commit, TXN_BATCH moves per transaction: points each entry at its copy if the
   * index still points at the original (a ledger deleted or an entry rewritten meanwhile keeps its
   * newer state); with `dropLogId`, the last transaction forgets the source log. Durable when it
   * resolves with the number of entries moved.
   */
  async relocate(moves: readonly Relocation[], dropLogId?: number): Promise<number> {
    let moved = 0;
    for (let start = 0; start === 0 || start < moves.length; start += TXN_BATCH) {
      const batch = moves.slice(start, start + TXN_BATCH);
      const last = start + TXN_BATCH >= moves.length;
      const drop = last ? dropLogId : undefined;
      moved += await this.#write(
        'commit a compaction',
        () => {
          const deltas = new Map<number, Map<bigint, number>>();
          let n = 0;
          for (const m of batch) {
            if (this.getLocation(m.ledgerId, m.entryId) !== m.from) continue;
            this.#locations.putSync(scratchEntryKey(m.ledgerId, m.entryId), locationValue(m.to));
            addBytes(deltas, m.to, m.ledgerId, m.size);
            n++;
          }
          if (drop !== undefined) this.#logs.removeSync(logKey(drop));
          return { merged: this.#putLogBytes(this.#merged(deltas)), n };
        },
        ({ merged }) => {
          this.#install(merged);
          if (drop !== undefined) this.#logBytes.delete(drop);
        },
        last,
      ).then((r) => r.n);
    }
    return moved;
  }

  /**
   * lmdb (3.5) closes an environment only once every commit's flush settled, and the flush of a
   * failed commit settles when a later commit succeeds: after a failure, one that changes nothing
   * goes first. If that fails too (the disk still full) the environment is left to the process's
   * exit, with an error, rather than a close that never returns.
   */
  async close(): Promise<void> {
    await this.#tail;
    if (this.#failed) {
      await this.#write('commit before closing (after a failed commit)', () => { this.#meta.putSync(NEXT_LOG_ID, logKey(this.#nextLogId)); }, () => undefined);
    }
    await this.#root.close();
  }

  /** Removes up to `limit` of the ledger's locations; returns how many. */
  #removeLocations(ledgerId: bigint, limit: number): number {
    const keys = [...this.#locations.getKeys({ start: entryKey(ledgerId, 0n), end: entryKey(ledgerId + 1n, 0n), limit })];
    for (const key of keys) this.#locations.removeSync(key);
    return keys.length;
  }

  #merged(deltas: ReadonlyMap<number, ReadonlyMap<bigint, number>>): Map<number, Map<bigint, number>> {
    const merged = new Map<number, Map<bigint, number>>();
    for (const [logId, delta] of deltas) {
      const perLedger = new Map(this.#logBytes.get(logId));
      for (const [ledgerId, bytes] of delta) perLedger.set(ledgerId, (perLedger.get(ledgerId) ?? 0) + bytes);
      merged.set(logId, perLedger);
    }
    return merged;
  }

  #putLogBytes(changed: Map<number, Map<bigint, number>>): Map<number, Map<bigint, number>> {
    for (const [logId, perLedger] of changed) this.#logs.putSync(logKey(logId), encodeLogBytes(perLedger));
    return changed;
  }

  #install(changed: ReadonlyMap<number, Map<bigint, number>>): void {
    for (const [logId, perLedger] of changed) this.#logBytes.set(logId, perLedger);
  }

  /**
   * Runs `txn` in a transaction after every earlier write, then `after`. With `durable`, waits for
   * LMDB's fsync first, which also covers every earlier commit.
   */
  #write<T>(what: string, txn: () => T, after: (result: T) => void, durable = true): Promise<T> {
    const run = async (): Promise<T> => {
      let result: T;
      try {
        this.#beforeWrite?.(what);
        const committed = this.#root.transaction(txn);
        // taken now and observed at once: when the commit fails, lmdb rejects this flush promise
        // too, and nobody would be listening if we only asked for it after a successful commit
        const flushed = durable ? Promise.resolve(this.#root.flushed) : undefined;
        flushed?.catch(() => undefined);
        result = await committed;
        if (flushed) await flushed;
      } catch (err) {
        // lmdb hangs the disk's error (ENOSPC, EIO) on a failed commit as a promise it rejects
        // afterwards; unobserved, that rejection would kill the process
        const detail = (err as { commitError?: unknown } | undefined)?.commitError;
        if (detail instanceof Promise) detail.catch(() => undefined);
        const failure = ioError(`the ledger index could not ${what}`, err);
        this.#failed = true;
        this.#onWriteFailure?.(failure);
        throw failure;
      }
      this.#failed = false;
      after(result);
      return result;
    };
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }
}

function addBytes(deltas: Map<number, Map<bigint, number>>, location: Location, ledgerId: bigint, bytes: number): void {
  const logId = locationLogId(location);
  let perLedger = deltas.get(logId);
  if (!perLedger) deltas.set(logId, (perLedger = new Map<bigint, number>()));
  perLedger.set(ledgerId, (perLedger.get(ledgerId) ?? 0) + bytes);
}
