// The bookie's ledger storage, after BookKeeper's DbLedgerStorage: adds land in a write cache,
// a flush writes them sorted to an entry log, fsyncs it and then commits their locations (and the
// ledger states changed since the last flush) to the LMDB index. Reads try the write caches, then
// the read cache, then index + entry log (ledger-storage-reader.ts). One instance per directory.
//
// Durability contract: when flush() resolves, every addEntry and ledger-state change (master key,
// fence, explicit LAC) that completed before flush() was called is durable here, so the bookie may
// advance its journal mark. deleteLedger() is durable when it resolves. Between flushes, additions
// live in memory and in the bookie's journal, which replays them (all setters are idempotent).
// A write cache that fills up starts a flush by itself; that only makes data durable sooner.
import { mkdir } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { Histogram, LATENCY_BUCKETS } from '../util/metrics.js';
import { LOG_HEADER_SIZE, MAX_ENVELOPE_SIZE, MAX_LOG_SIZE } from './entry-log.js';
import { EntryLogManager, type LogAppender } from './entry-log-manager.js';
import { GarbageCollector, type GcOptions, type GcReport, type LivenessCheck } from './garbage-collector.js';
import { LedgerIndex, TXN_BATCH, type LedgerState } from './ledger-index.js';
import { EntryReader } from './ledger-storage-reader.js';
import { StorageError } from './storage-error.js';
import { ChunkPool } from './chunk-pool.js';
import { takeCleanShutdownMark, writeCleanShutdownMark } from './clean-shutdown-mark.js';
import { CHUNK_SIZE, WriteCache, compareIds } from './write-cache.js';

export interface LedgerStorageOptions {
  /** The ledger directory: entry logs `<hex id>.log` and the index in `index/`. Created if missing. */
  readonly dir: string;
  /**
   * Both write caches together (each gets half). Default 64 MiB. Their 1 MiB chunks are recycled
   * through a pool of two halves' worth, so they hold at most twice this (in steady state about
   * 1.5 times: both halves plus the one flushed last, resting before reuse), and allocate nothing.
   */
  readonly writeCacheBytes?: number;
  /** Read cache bound; 0 disables it. Default 64 MiB. */
  readonly readCacheBytes?: number;
  /** Bytes read past a sequentially read entry and cached. Default 64 KiB; 0 disables read-ahead. */
  readonly readAheadBytes?: number;
  /** An entry log rolls before passing this size. Default 1 GiB, at most 4 GiB. */
  readonly entryLogSizeLimit?: number;
  /** How long an add waits for write cache space before failing with TOO_MANY_REQUESTS. Default 10 s. */
  readonly maxThrottleMs?: number;
  readonly logger?: Logger;
  readonly hooks?: LedgerStorageHooks;
  /**
   * Walk the whole index at every start. By default it is walked only after an unclean stop (a
   * crash, a kill, a failed close); its meta pages and length are checked at every start.
   */
  readonly verifyIndex?: boolean;
  /**
   * Told of every failed index write (a checkpoint's commit, a ledger deletion, a compaction, a
   * log id reservation), however it was started, and of a failed flush of a full write cache
   * (entry log or index): the bookie turns read-only on it.
   */
  readonly onWriteFailure?: (err: unknown) => void;
}

export interface LedgerStorageHooks {
  /** Runs before each flush's entry-log sync; throw to model a failed write or fsync (EIO, ENOSPC). For tests. */
  beforeEntryLogSync?: () => Promise<void> | void;
  /** Runs before each ledger index write transaction, named by what it does (ledger-index.ts); throw to model a failed write. For tests. */
  beforeIndexWrite?: (what: string) => void;
}

const MAX_ID = 0x7fffffffffffffffn;
export const DEFAULT_WRITE_CACHE_BYTES = 64 << 20;
export const DEFAULT_READ_CACHE_BYTES = 64 << 20;

function checkId(name: string, id: bigint, min: bigint): void {
  if (id < min || id > MAX_ID) throw new InvalidArgumentError(`${name} ${id} is out of range`);
}

/** Runs `fn` now; its result or exception as a promise, so promise-returning methods never throw. */
function settle<T>(fn: () => T | Promise<T>): Promise<T> {
  return new Promise((resolve) => {
    resolve(fn()); // a throw in the executor rejects
  });
}

/** What this storage's write caches hold and its flushes did, for the bookie's metrics. */
export interface StorageActivity {
  readonly writeCacheBytes: number;
  readonly writeCacheEntries: number;
  /** Flushes that wrote entries or ledger states (entry log append, fsync, index commit). */
  readonly flushes: number;
  readonly flushedEntries: number;
  readonly flushedBytes: number;
}

export class LedgerStorage {
  /** Seconds per flush: entry log append, its fsync and the index commit. */
  readonly flushLatency = new Histogram(LATENCY_BUCKETS);
  /** Seconds per getEntry: from a write cache, the read cache or an entry log. */
  readonly readLatency = new Histogram(LATENCY_BUCKETS);
  #flushes = 0;
  #flushedEntries = 0;
  #flushedBytes = 0;
  readonly #dir: string;
  readonly #index: LedgerIndex;
  readonly #logs: EntryLogManager;
  readonly #appender: LogAppender;
  readonly #gc: GarbageCollector;
  readonly #reader: EntryReader;
  readonly #maxThrottleMs: number;
  readonly #logger: Logger;
  readonly #onWriteFailure: ((err: unknown) => void) | undefined;
  readonly #states: Map<bigint, LedgerState>;
  /** Ledger states changed since the last flush started. */
  #dirty = new Map<bigint, LedgerState>();
  #active: WriteCache;
  /** Being written by a flush; after a failed flush it keeps its entries for the next one. */
  #flushing: WriteCache;
  readonly #hooks: LedgerStorageHooks | undefined;
  #roomWaiters: (() => void)[] = [];
  /** Flushes, ledger deletions and GC's choice of logs run one at a time, in call order. */
  #tail: Promise<unknown> = Promise.resolve();
  #pendingFlush: Promise<void> | undefined;
  #collecting: Promise<GcReport> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(index: LedgerIndex, logs: EntryLogManager, options: LedgerStorageOptions) {
    this.#dir = options.dir;
    this.#index = index;
    this.#logs = logs;
    this.#appender = logs.appender();
    this.#states = index.loadLedgers();
    const writeCacheBytes = options.writeCacheBytes ?? DEFAULT_WRITE_CACHE_BYTES;
    const half = Math.max(1, Math.floor(writeCacheBytes / 2));
    // two halves' worth: one released by the last flush (resting), one to fill the active half from
    const pool = new ChunkPool(CHUNK_SIZE, 2 * (Math.ceil(half / CHUNK_SIZE) + 1));
    this.#active = new WriteCache(half, pool);
    this.#flushing = new WriteCache(half, pool);
    this.#reader = new EntryReader(index, logs, { readCacheBytes: options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES, readAheadBytes: options.readAheadBytes ?? 64 << 10 });
    this.#maxThrottleMs = options.maxThrottleMs ?? 10_000;
    this.#hooks = options.hooks;
    this.#logger = options.logger ?? noopLogger;
    this.#onWriteFailure = options.onWriteFailure;
    this.#gc = new GarbageCollector({
      index,
      logs,
      ledgerIds: () => [...this.#states.keys()],
      deleteLedgers: (ids) => this.#deleteLedgers(ids),
      exclusive: (fn) => this.#exclusive(fn),
      logger: this.#logger,
    });
  }

  static async open(options: LedgerStorageOptions): Promise<LedgerStorage> {
    const limit = options.entryLogSizeLimit ?? 1 << 30;
    if (!Number.isInteger(limit) || limit <= LOG_HEADER_SIZE || limit > MAX_LOG_SIZE) {
      throw new InvalidArgumentError(`entryLogSizeLimit must be an integer in (${LOG_HEADER_SIZE}, ${MAX_LOG_SIZE}], got ${limit}`);
    }
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const { dir, logger } = options;
    const clean = await takeCleanShutdownMark(dir);
    const fullCheck = !clean || options.verifyIndex === true;
    if (!fullCheck) logger?.info({ dir }, 'ledger index: stopped cleanly, its full check is skipped (meta pages checked)');
    const index = await LedgerIndex.open(dir, {
      fullCheck,
      onChecked: ({ rows, damagedRecords }) => {
        logger?.info({ dir, rows, afterUncleanStop: !clean }, `ledger index: checked in full (${rows} rows)`);
        if (damagedRecords > 0) logger?.warn({ dir, records: damagedRecords }, `${damagedRecords} indexed entries have damaged entry-log records: reads of them fail with CORRUPT_ENTRY (other replicas serve them)`);
      },
      ...(options.onWriteFailure === undefined ? {} : { onWriteFailure: options.onWriteFailure }),
      ...(options.hooks?.beforeIndexWrite === undefined ? {} : { beforeWrite: options.hooks.beforeIndexWrite }),
    });
    try {
      const logs = await EntryLogManager.open(options.dir, limit, index.committedLogIds(), () => index.reserveLogId());
      return new LedgerStorage(index, logs, options);
    } catch (err) {
      await index.close();
      throw err;
    }
  }

  ledgerExists(ledgerId: bigint): boolean {
    return this.#states.has(ledgerId);
  }

  /**
   * Binds the ledger's master key (creating the ledger) and resolves true, or false when this key
   * is already bound. A different bound key fails with MASTER_KEY_MISMATCH; an empty key binds nothing.
   */
  setMasterKey(ledgerId: bigint, masterKey: Uint8Array): boolean {
    this.#checkOpen();
    const state = this.#ledger(ledgerId);
    const bound = state.masterKey;
    if (bound && bound.length > 0) {
      if (bound.equals(masterKey)) return false;
      throw new StorageError('MASTER_KEY_MISMATCH', `ledger ${ledgerId} is bound to another master key`);
    }
    if (masterKey.length === 0) return false;
    state.masterKey = Buffer.from(masterKey);
    this.#dirty.set(ledgerId, state);
    return true;
  }

  /** The bound master key, empty when none is bound. */
  getMasterKey(ledgerId: bigint): Buffer {
    return this.#existing(ledgerId).masterKey ?? Buffer.alloc(0);
  }

  /** Fences the ledger (creating it); resolves true if it was not fenced before. */
  setFenced(ledgerId: bigint): Promise<boolean> {
    return settle(() => {
      this.#checkOpen();
      const state = this.#ledger(ledgerId);
      if (state.fenced) return false;
      state.fenced = true;
      this.#dirty.set(ledgerId, state);
      return true;
    });
  }

  isFenced(ledgerId: bigint): boolean {
    return this.#existing(ledgerId).fenced;
  }

  /** Stores the explicit-LAC envelope (creating the ledger), replacing any earlier one. */
  setExplicitLac(ledgerId: bigint, lacEnvelope: Uint8Array): void {
    this.#checkOpen();
    const state = this.#ledger(ledgerId);
    state.explicitLac = Buffer.from(lacEnvelope);
    this.#dirty.set(ledgerId, state);
  }

  getExplicitLac(ledgerId: bigint): Buffer | undefined {
    return this.#existing(ledgerId).explicitLac;
  }

  /**
   * Copies the envelope into the write cache (creating the ledger). When both caches are full it
   * waits up to maxThrottleMs for a flush to free one, then fails with TOO_MANY_REQUESTS.
   * An entry is immutable in BookKeeper: adding it again must carry the same bytes.
   */
  async addEntry(ledgerId: bigint, entryId: bigint, envelope: Uint8Array): Promise<void> {
    if (this.addEntryNow(ledgerId, entryId, envelope)) return;
    await this.#waitForRoom(envelope.length);
    this.#ledger(ledgerId);
    this.#active.put(ledgerId, entryId, envelope);
  }

  /**
   * addEntry() without the wait, for the bookie's add path (an await per add is measurable):
   * adds and returns true, or returns false, adding nothing, when the write cache is full. Throws
   * what addEntry() rejects with.
   */
  addEntryNow(ledgerId: bigint, entryId: bigint, envelope: Uint8Array): boolean {
    this.#checkOpen();
    checkId('ledgerId', ledgerId, 0n);
    checkId('entryId', entryId, 0n);
    if (envelope.length > MAX_ENVELOPE_SIZE) throw new InvalidArgumentError(`entry of ${envelope.length} bytes exceeds ${MAX_ENVELOPE_SIZE}`);
    if (!this.#active.hasRoom(envelope.length)) return false;
    this.#ledger(ledgerId);
    this.#active.put(ledgerId, entryId, envelope);
    return true;
  }

  /**
   * addEntryNow() that never writes: a full active cache is swapped into the (empty) flushing one,
   * left for the next flush. For a start on a full disk, where the replayed journal must stay in
   * memory; false once both halves are full.
   */
  holdEntry(ledgerId: bigint, entryId: bigint, envelope: Uint8Array): boolean {
    if (this.addEntryNow(ledgerId, entryId, envelope)) return true;
    if (!this.#flushing.isEmpty) return false;
    [this.#active, this.#flushing] = [this.#flushing, this.#active];
    return this.addEntryNow(ledgerId, entryId, envelope);
  }

  /**
   * The envelope as added; entryId -1 means the ledger's last stored entry. The buffer may be
   * shared with the caches: do not modify it.
   */
  async getEntry(ledgerId: bigint, entryId: bigint): Promise<Buffer> {
    this.#checkOpen();
    checkId('entryId', entryId, -1n);
    this.#existing(ledgerId);
    const id = entryId === -1n ? this.lastEntryId(ledgerId) : entryId;
    if (id === undefined) throw new StorageError('NO_ENTRY', `ledger ${ledgerId} has no entries`);
    const startedAt = performance.now();
    const entry = this.#active.get(ledgerId, id) ?? this.#flushing.get(ledgerId, id) ?? await this.#reader.read(ledgerId, id);
    this.readLatency.observe((performance.now() - startedAt) / 1000);
    return entry;
  }

  /**
   * The entry when it is in memory (a write cache or the read cache), without an await; undefined
   * when it must be read from disk (getEntry) or does not exist. The ledger must exist.
   */
  getEntryNow(ledgerId: bigint, entryId: bigint): Buffer | undefined {
    this.#checkOpen();
    if (entryId < 0n) return undefined;
    const startedAt = performance.now();
    const entry = this.#active.get(ledgerId, entryId) ?? this.#flushing.get(ledgerId, entryId) ?? this.#reader.cached(ledgerId, entryId);
    if (entry !== undefined) this.readLatency.observe((performance.now() - startedAt) / 1000);
    return entry;
  }

  /** Starts reading the given entries (ascending) that are not in memory into the read cache: see EntryReader.prefetch. */
  prefetch(ledgerId: bigint, entryIds: readonly bigint[]): Promise<unknown> | undefined {
    this.#checkOpen();
    return this.#reader.prefetch(ledgerId, entryIds.filter((id) => this.#active.get(ledgerId, id) === undefined && this.#flushing.get(ledgerId, id) === undefined));
  }

  activity(): StorageActivity {
    return {
      writeCacheBytes: this.#active.bytes + this.#flushing.bytes,
      writeCacheEntries: this.#active.entries + this.#flushing.entries,
      flushes: this.#flushes,
      flushedEntries: this.#flushedEntries,
      flushedBytes: this.#flushedBytes,
    };
  }

  /** The ledger's highest stored entry id, or undefined when it has none. */
  lastEntryId(ledgerId: bigint): bigint | undefined {
    let last = this.#index.lastEntryId(ledgerId);
    for (const cache of [this.#active, this.#flushing]) {
      const id = cache.lastEntryId(ledgerId);
      if (id !== undefined && (last === undefined || id > last)) last = id;
    }
    return last;
  }

  /**
   * The ledger's stored entry ids, ascending, read from the index in batches with a turn of the
   * event loop between them (a ledger may hold millions). Throws NO_LEDGER for an unknown ledger.
   */
  async *entryIds(ledgerId: bigint): AsyncGenerator<bigint> {
    this.#checkOpen();
    this.#existing(ledgerId);
    const cached = [...new Set([...this.#active.entryIds(ledgerId), ...this.#flushing.entryIds(ledgerId)])].sort(compareIds);
    let c = 0;
    for (let from = 0n; ;) {
      const batch = this.#index.entryIds(ledgerId, from, TXN_BATCH);
      for (const id of batch) {
        while (c < cached.length && (cached[c] as bigint) < id) yield cached[c++] as bigint;
        if (cached[c] === id) c++;
        yield id;
      }
      if (batch.length < TXN_BATCH) break;
      from = (batch.at(-1) as bigint) + 1n;
      await new Promise((resolve) => setImmediate(resolve));
    }
    while (c < cached.length) yield cached[c++] as bigint;
  }

  /** The checkpoint (see the file comment). Concurrent calls share a flush that has not started. */
  flush(): Promise<void> {
    return settle(() => {
      this.#checkOpen();
      this.#pendingFlush ??= this.#exclusive(() => {
        this.#pendingFlush = undefined;
        return this.#doFlush();
      });
      return this.#pendingFlush;
    });
  }

  /** Deletes the ledger's entries and state; durable when it resolves. */
  deleteLedger(ledgerId: bigint): Promise<void> {
    return settle(() => {
      this.#checkOpen();
      return this.#deleteLedgers([ledgerId]);
    });
  }

  /** Ledger ids stored here, ascending. */
  listLedgers(): Promise<bigint[]> {
    return Promise.resolve([...this.#states.keys()].sort(compareIds));
  }

  /** Runs garbage collection (garbage-collector.ts); a call during a run shares that run. */
  collectGarbage(isLive: LivenessCheck, options: GcOptions = {}): Promise<GcReport> {
    return settle(() => {
      this.#checkOpen();
      this.#collecting ??= this.#gc.collect(isLive, options).finally(() => {
        this.#collecting = undefined;
      });
      return this.#collecting;
    });
  }

  /**
   * Waits for a running GC, flushes, closes the files, and marks the stop clean
   * (clean-shutdown-mark.ts). With `flush: false` the write caches are dropped unwritten: for a
   * bookie whose journal still holds them (its start-up flush never succeeded, as on a full disk).
   */
  close(options: { flush?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#wakeWaiters();
      await this.#collecting?.catch(() => undefined);
      try {
        if (options.flush !== false) await this.#exclusive(() => this.#doFlush());
      } finally {
        await this.#appender.close().catch(() => undefined);
        await this.#logs.close();
        await this.#index.close();
      }
      // reached only when the final flush and every close succeeded
      await writeCleanShutdownMark(this.#dir);
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closing) throw new StorageError('STORAGE_CLOSED', 'ledger storage is closed');
  }

  #existing(ledgerId: bigint): LedgerState {
    const state = this.#states.get(ledgerId);
    if (!state) throw new StorageError('NO_LEDGER', `ledger ${ledgerId} does not exist`);
    return state;
  }

  /** The ledger's state, created (and marked for the next flush) when missing. */
  #ledger(ledgerId: bigint): LedgerState {
    checkId('ledgerId', ledgerId, 0n);
    let state = this.#states.get(ledgerId);
    if (!state) {
      state = { masterKey: undefined, fenced: false, explicitLac: undefined };
      this.#states.set(ledgerId, state);
      this.#dirty.set(ledgerId, state);
    }
    return state;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(fn, fn);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async #waitForRoom(length: number): Promise<void> {
    const deadline = Date.now() + this.#maxThrottleMs;
    while (!this.#active.hasRoom(length)) {
      this.flush().catch((err: unknown) => {
        this.#logger.error({ err }, 'ledger storage flush failed');
        // a checkpoint's failure reaches the bookie through its caller; this flush has none
        if (!(err instanceof StorageError && err.code === 'STORAGE_CLOSED')) this.#onWriteFailure?.(err);
      });
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await this.#roomChanged(remaining))) {
        throw new StorageError('TOO_MANY_REQUESTS', `write cache full for ${this.#maxThrottleMs} ms`);
      }
      this.#checkOpen();
    }
  }

  /** Resolves true when a cache swap or flush may have made room, false after `timeoutMs`. */
  #roomChanged(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#roomWaiters = this.#roomWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#roomWaiters.push(wake);
    });
  }

  #wakeWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  async #doFlush(): Promise<void> {
    if (!this.#flushing.isEmpty) await this.#writeOut();
    [this.#active, this.#flushing] = [this.#flushing, this.#active];
    this.#wakeWaiters();
    await this.#writeOut();
  }

  /** Writes the flushing cache and the dirty ledger states: entry log, fsync, index commit. */
  async #writeOut(): Promise<void> {
    const cache = this.#flushing;
    const states = this.#dirty;
    if (cache.isEmpty && states.size === 0) return;
    this.#dirty = new Map();
    const startedAt = performance.now();
    try {
      const records = cache.sorted();
      const locations = await this.#appender.append(records);
      await this.#hooks?.beforeEntryLogSync?.();
      await this.#appender.sync();
      await this.#index.commitFlush(records, locations, states);
      this.flushLatency.observe((performance.now() - startedAt) / 1000);
      this.#flushes++;
      this.#flushedEntries += records.length;
      this.#flushedBytes += cache.bytes;
    } catch (err) {
      for (const [ledgerId, state] of states) {
        if (this.#states.get(ledgerId) === state) this.#dirty.set(ledgerId, state);
      }
      throw err;
    }
    cache.clear();
    this.#wakeWaiters();
  }

  /**
   * The bulk of the locations goes first, while flushes continue; the rest (entries a concurrent
   * flush indexed meanwhile), the states and the accounting go in the exclusive section, so that
   * no flush commits locations of a deleted ledger after its state is gone.
   */
  async #deleteLedgers(ledgerIds: readonly bigint[]): Promise<void> {
    await this.#index.removeLocations(ledgerIds);
    await this.#exclusive(async () => {
      for (const ledgerId of ledgerIds) {
        this.#states.delete(ledgerId);
        this.#dirty.delete(ledgerId);
        this.#active.deleteLedger(ledgerId);
        this.#flushing.deleteLedger(ledgerId);
      }
      this.#reader.forget(ledgerIds);
      await this.#index.deleteLedgers(ledgerIds);
    });
  }
}
