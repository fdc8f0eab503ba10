// One SegmentListFollower per log (and re-list period) for all the readers of a namespace: the
// readers of a log share its children watch, its re-list timer and its listings, so ZooKeeper reads
// in steady state grow with the number of logs read, not with the number of readers (issue 12:
// every reader re-read every segment znode on each watch and every 5 s). Each reader holds a lease;
// the follower stops when the last lease is closed.
import { noopLogger, type Logger } from '../../util/logger.js';
import type { LogError } from '../log-error.js';
import type { LogMetadataStore } from '../metadata/log-metadata-store.js';
import type { LogSegmentMetadata } from '../metadata/log-segment-metadata.js';
import { SegmentListFollower, type ChangeWait } from './segment-list-follower.js';

/** A reader's handle on a shared follower: its view, and close() to let go. */
export interface SegmentListLease {
  readonly segments: readonly LogSegmentMetadata[];
  readonly version: number;
  readonly error: LogError | undefined;
  /** As SegmentListFollower.whenChanged; also resolves once this lease is closed. */
  whenChanged(since: number): ChangeWait;
  refresh(): Promise<void>;
  /** Idempotent; the follower stops with its last lease. */
  close(): Promise<void>;
}

interface Shared {
  readonly follower: SegmentListFollower;
  readonly started: Promise<unknown>;
  readonly onError: Set<(err: LogError) => void>;
  leases: number;
}

export class SegmentListRegistry {
  readonly #metadata: LogMetadataStore;
  readonly #logger: Logger;
  readonly #shared = new Map<string, Shared>();

  constructor(metadata: LogMetadataStore, logger: Logger = noopLogger) {
    this.#metadata = metadata;
    this.#logger = logger;
  }

  /** Followers running (for tests and stats). */
  get size(): number {
    return this.#shared.size;
  }

  /**
   * A lease on the log's follower, started (listed once) before this resolves; rejects with the
   * listing's error (and holds nothing then). `onError` gets the follower's sticky error once.
   */
  async acquire(logName: string, relistIntervalMs: number, onError: (err: LogError) => void): Promise<SegmentListLease> {
    const key = `${relistIntervalMs}/${logName}`;
    let shared = this.#shared.get(key);
    // a failed follower (log deleted, bad metadata) is not handed to new readers: they list afresh
    if (shared === undefined || shared.follower.error !== undefined) {
      const listeners = new Set<(err: LogError) => void>();
      const follower = new SegmentListFollower(this.#metadata, logName, {
        relistIntervalMs,
        logger: this.#logger,
        onError: (err) => { for (const l of [...listeners]) l(err); },
      });
      shared = { follower, started: follower.start(), onError: listeners, leases: 0 };
      this.#shared.set(key, shared);
    }
    shared.leases += 1;
    shared.onError.add(onError);
    const lease = new Lease(shared, onError, () => this.#release(key, shared));
    try {
      await shared.started;
    } catch (err) {
      await lease.close();
      throw err;
    }
    return lease;
  }

  async #release(key: string, shared: Shared): Promise<void> {
    shared.leases -= 1;
    if (shared.leases > 0) return;
    if (this.#shared.get(key) === shared) this.#shared.delete(key);
    await shared.follower.close();
  }
}

class Lease implements SegmentListLease {
  readonly #shared: Shared;
  readonly #onError: (err: LogError) => void;
  readonly #release: () => Promise<void>;
  /** This lease's waits, woken by close() without touching the other readers' waits. */
  readonly #waits = new Set<() => void>();
  #closing: Promise<void> | undefined;

  constructor(shared: Shared, onError: (err: LogError) => void, release: () => Promise<void>) {
    this.#shared = shared;
    this.#onError = onError;
    this.#release = release;
  }

  get segments(): readonly LogSegmentMetadata[] { return this.#shared.follower.segments; }
  get version(): number { return this.#shared.follower.version; }
  get error(): LogError | undefined { return this.#shared.follower.error; }

  whenChanged(since: number): ChangeWait {
    if (this.#closing !== undefined) return { promise: Promise.resolve(), cancel: () => undefined };
    return this.#shared.follower.whenChanged(since, this.#waits);
  }

  refresh(): Promise<void> {
    return this.#shared.follower.refresh();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#shared.onError.delete(this.#onError);
    for (const wake of [...this.#waits]) wake();
    this.#waits.clear();
    await this.#release();
  }
}
