// A reader's view of a log's segment list: a children watch on <root>/ledgers plus a periodic
// re-list. Watches are one-shot and can be lost (session expiry, a failed re-arm), and a reader that
// trusts them alone silently stops following the writer (§10.1, apache/distributedlog#244), so the
// re-list is a safety net that runs whatever the watch does. Listings read only the segment znodes
// that are new or changed (SegmentListCache); the periodic one also checks every known znode's stat.
import { noopLogger, type Logger } from '../../util/logger.js';
import { LogError } from '../log-error.js';
import type { LogMetadataStore } from '../metadata/log-metadata-store.js';
import type { LogSegmentMetadata } from '../metadata/log-segment-metadata.js';
import { SegmentListCache } from '../metadata/segment-list-cache.js';

export interface SegmentListFollowerOptions {
  /** Period of the safety-net re-list. */
  readonly relistIntervalMs: number;
  /** Called once with the first sticky error (a LogError from listing: log deleted, LSSN gap, bad metadata). */
  readonly onError: (err: LogError) => void;
  readonly logger?: Logger;
}

/** A wait for the next change; cancel() drops it (so waits that lose a race do not pile up). */
export interface ChangeWait {
  readonly promise: Promise<void>;
  cancel(): void;
}

export class SegmentListFollower {
  readonly #metadata: LogMetadataStore;
  readonly #logName: string;
  readonly #options: SegmentListFollowerOptions;
  readonly #logger: Logger;
  #segments: readonly LogSegmentMetadata[] = [];
  readonly #cache = new SegmentListCache();
  /** The next listing is the periodic one: it checks every known znode. */
  #verify = false;
  #version = 0;
  #error: LogError | undefined;
  #watchArmed = false;
  #refreshing: Promise<void> | undefined;
  /** Refreshes asked for: one asked while a listing ran needs another (that listing may predate the change). */
  #requests = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(metadata: LogMetadataStore, logName: string, options: SegmentListFollowerOptions) {
    this.#metadata = metadata;
    this.#logName = logName;
    this.#options = options;
    this.#logger = options.logger ?? noopLogger;
  }

  /** Lists the segments (rejecting with the listing's error) and starts following them. */
  async start(): Promise<readonly LogSegmentMetadata[]> {
    await this.refresh();
    if (this.#error) throw this.#error;
    this.#timer = setInterval(() => {
      this.#verify = true;
      void this.refresh();
    }, this.#options.relistIntervalMs);
    this.#timer.unref();
    return this.#segments;
  }

  /** The latest listing, sorted by LSSN. */
  get segments(): readonly LogSegmentMetadata[] {
    return this.#segments;
  }

  /** Bumped on every change of the listing. */
  get version(): number {
    return this.#version;
  }

  /** Segment znodes read and stat'ed by the listings so far. */
  get znodeReads(): { readonly reads: number; readonly stats: number } {
    return { reads: this.#cache.reads, stats: this.#cache.stats };
  }

  /** The sticky listing error, if any. */
  get error(): LogError | undefined {
    return this.#error;
  }

  /**
   * Resolves once `version` moved past `since`, or on an error or close. The wake-up is also put in
   * `also` until it runs or is cancelled, so that its owner (a reader's lease) can wake it early.
   */
  whenChanged(since: number, also?: Set<() => void>): ChangeWait {
    if (this.#version !== since || this.#error || this.#closed) return { promise: Promise.resolve(), cancel: () => undefined };
    let wake: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        this.#waiters.delete(wake);
        also?.delete(wake);
        resolve();
      };
    });
    this.#waiters.add(wake);
    also?.add(wake);
    return {
      promise,
      cancel: () => {
        this.#waiters.delete(wake);
        also?.delete(wake);
      },
    };
  }

  /** Lists again now; never rejects (errors go to `error` and onError). */
  refresh(): Promise<void> {
    this.#requests += 1;
    if (this.#refreshing) return this.#refreshing;
    this.#refreshing = this.#listUntilSettled().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#notify();
    await this.#refreshing;
  }

  async #listUntilSettled(): Promise<void> {
    let served: number;
    do {
      served = this.#requests;
      await this.#list();
    } while (served !== this.#requests && !this.#ended());
  }

  /** Closed or failed: no more listings (a method, as these change across awaits). */
  #ended(): boolean {
    return this.#closed || this.#error !== undefined;
  }

  async #list(): Promise<void> {
    if (this.#ended()) return;
    // one outstanding watch at a time: it re-arms on the listing after it fired
    const watch = !this.#watchArmed;
    this.#watchArmed = true;
    const verify = this.#verify;
    this.#verify = false;
    try {
      const { segments, changed } = await this.#metadata.listSegmentsCached(this.#logName, this.#cache, { ...(watch ? { watcher: this.#onWatch } : {}), verify });
      if (!changed) return;
      this.#segments = segments;
      this.#version += 1;
      this.#notify();
    } catch (err) {
      if (watch) this.#watchArmed = false;
      if (verify) this.#verify = true;
      if (this.#ended()) return;
      if (err instanceof LogError) {
        this.#error = err;
        this.#notify();
        this.#options.onError(err);
        return;
      }
      // connection trouble: the next re-list tries again
      this.#logger.warn({ err, log: this.#logName }, 'listing log segments failed; retrying at the next re-list');
    }
  }

  readonly #onWatch = (): void => {
    this.#watchArmed = false;
    if (!this.#closed) void this.refresh();
  };

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
