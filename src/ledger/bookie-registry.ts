// The bookies currently registered, read from BookKeeper's layout: writable ones are the children
// of <root>/available (except the `readonly` directory), read-only ones the children of
// <root>/available/readonly. Children watches keep both sets current; as watches are one-shot and
// die with an expired session, each is re-armed by the reload it triggers and after every
// 'connected' (a new session, or a reconnect that may have missed changes).
import { EventEmitter } from 'node:events';
import { MetadataError } from '../errors.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { joinPath } from '../metadata/path.js';
import { noopLogger, type Logger } from '../util/logger.js';

export interface BookieSets {
  readonly writable: ReadonlySet<string>;
  readonly readOnly: ReadonlySet<string>;
}

export interface BookieRegistryEvents {
  /** Either set changed. The sets are snapshots: they are replaced, never modified. */
  change: [sets: BookieSets];
}

export interface BookieRegistryOptions {
  /** Delay before a failed reload is tried again. Default 1000 ms. */
  retryMs?: number;
  logger?: Logger;
}

const READONLY_NODE = 'readonly';

/** One watched directory. */
interface Watched {
  readonly path: string;
  readonly toSet: (children: readonly string[]) => Set<string>;
  names: ReadonlySet<string>;
  /** Bumped by every load: only the watcher of the latest load may trigger the next one. */
  generation: number;
  /** The running reload loop, and whether another pass is owed because something fired meanwhile. */
  running: Promise<void> | undefined;
  dirty: boolean;
  retryTimer: NodeJS.Timeout | undefined;
}

export class BookieRegistry extends EventEmitter<BookieRegistryEvents> {
  readonly #store: MetadataStore;
  readonly #retryMs: number;
  readonly #log: Logger;
  readonly #writable: Watched;
  readonly #readOnly: Watched;
  #closed = false;
  readonly #onConnected = (): void => {
    this.#kick(this.#writable);
    this.#kick(this.#readOnly);
  };

  constructor(store: MetadataStore, ledgersRoot: string, options: BookieRegistryOptions = {}) {
    super();
    this.#store = store;
    this.#retryMs = options.retryMs ?? 1000;
    this.#log = options.logger ?? noopLogger;
    const available = joinPath(ledgersRoot, 'available');
    this.#writable = watched(available, (children) => new Set(children.filter((name) => name !== READONLY_NODE)));
    this.#readOnly = watched(joinPath(available, READONLY_NODE), (children) => new Set(children));
  }

  /** Loads both sets and arms the watches. A missing `available` directory means no bookies yet. */
  async start(): Promise<void> {
    this.#store.on('connected', this.#onConnected);
    try {
      await Promise.all([this.#refresh(this.#writable), this.#refresh(this.#readOnly)]);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  writable(): ReadonlySet<string> {
    return this.#writable.names;
  }

  readOnly(): ReadonlySet<string> {
    return this.#readOnly.names;
  }

  /** Stops following changes; watches still armed in the store fire into nothing. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#store.off('connected', this.#onConnected);
    for (const w of [this.#writable, this.#readOnly]) clearTimeout(w.retryTimer);
    await Promise.allSettled([this.#writable.running, this.#readOnly.running]);
  }

  /** A reload nobody awaits: failures are retried after `retryMs`. */
  #kick(w: Watched): void {
    if (this.#closed) return;
    clearTimeout(w.retryTimer);
    this.#refresh(w).catch((err: unknown) => {
      if (this.#closed) return;
      this.#log.warn({ err, path: w.path }, 'could not read the registered bookies; retrying');
      w.retryTimer = setTimeout(() => { this.#kick(w); }, this.#retryMs).unref();
    });
  }

  /** Serialised per directory, so an older answer never overwrites a newer one. */
  #refresh(w: Watched): Promise<void> {
    w.dirty = true;
    w.running ??= this.#drain(w).finally(() => { w.running = undefined; });
    return w.running;
  }

  async #drain(w: Watched): Promise<void> {
    while (w.dirty && !this.#closed) {
      w.dirty = false;
      await this.#load(w);
    }
  }

  async #load(w: Watched): Promise<void> {
    const generation = ++w.generation;
    const watcher = (): void => {
      if (w.generation === generation) this.#kick(w);
    };
    let children: string[];
    try {
      children = await this.#store.children(w.path, watcher);
    } catch (err) {
      if (!(err instanceof MetadataError && err.code === 'NO_NODE')) throw err;
      // a missing node takes no children watch: watch for its creation instead
      if ((await this.#store.exists(w.path, watcher)) !== null) {
        w.dirty = true; // created in between: list it
        return;
      }
      children = [];
    }
    if (this.#closed) return;
    const names = w.toSet(children);
    if (sameSet(names, w.names)) return;
    w.names = names;
    this.emit('change', { writable: this.#writable.names, readOnly: this.#readOnly.names });
  }
}

function watched(path: string, toSet: (children: readonly string[]) => Set<string>): Watched {
  return { path, toSet, names: new Set(), generation: 0, running: undefined, dirty: false, retryTimer: undefined };
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
