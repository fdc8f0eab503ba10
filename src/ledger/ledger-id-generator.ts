// Ledger ids drawn from ZooKeeper sequential znodes, as BookKeeper's LongZkLedgerIdGenerator (which
// wraps ZkLedgerIdGenerator) does it, so that Java clients and ours share one id space:
//   short: create EPHEMERAL_SEQUENTIAL <root>/idgen/ID-, id = the 10-digit suffix, delete the node;
//          valid while the suffix is below 2^31-1.
//   long:  once <root>/idgen-long exists ("63-bit mode", entered when a short id overflows), the
//          same under <root>/idgen-long/HOB-<hi>/ID- with id = hi << 32 | lo, hi being the newest
//          HOB directory; when lo overflows, HOB-<hi+1> is created. Only the 3 newest HOB
//          directories are kept.
import { MetadataError } from '../errors.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { joinPath } from '../metadata/path.js';
import { noopLogger, type Logger } from '../util/logger.js';
import {
  hobPath, IDGEN_LONG_NODE, idGenPath, longIdGenPath, longLedgerId, parseHob, shortLedgerId,
} from '../ledger-metadata/ledger-paths.js';

export interface LedgerIdGeneratorOptions {
  logger?: Logger;
}

const EMPTY = new Uint8Array(0);
/** BookKeeper keeps this many HOB directories: older ones are full and only collect garbage. */
const KEPT_HOB_DIRS = 3;

export class LedgerIdGenerator {
  readonly #store: MetadataStore;
  readonly #root: string;
  readonly #log: Logger;
  /** Whether idgen-long exists; looked up once (shared by concurrent calls), then known. */
  #longMode: Promise<boolean> | undefined;
  /** HOB numbers under idgen-long as last listed; undefined when they must be listed again. */
  #hobs: number[] | undefined;

  constructor(store: MetadataStore, ledgersRoot: string, options: LedgerIdGeneratorOptions = {}) {
    this.#store = store;
    this.#root = ledgersRoot;
    this.#log = options.logger ?? noopLogger;
  }

  /** A ledger id no other generator on the same store and root hands out. */
  async generate(): Promise<bigint> {
    if (await this.#isLongMode()) return this.#generateLong();
    const id = shortLedgerId(await this.#createSequential(idGenPath(this.#root), true));
    if (id !== undefined) return id;
    // 31-bit ids are used up: switch to 63-bit mode, for every client (they see idgen-long).
    this.#log.info({ root: this.#root }, 'short ledger ids overflowed, switching to long ledger ids');
    await this.#createIfMissing(this.#longRoot);
    this.#longMode = Promise.resolve(true);
    return this.#generateLong();
  }

  get #longRoot(): string {
    return joinPath(this.#root, IDGEN_LONG_NODE);
  }

  #isLongMode(): Promise<boolean> {
    if (this.#longMode === undefined) {
      const check = this.#store.exists(this.#longRoot).then((stat) => stat !== null);
      this.#longMode = check;
      // a failed look-up is not remembered: the next call asks again
      check.catch(() => {
        if (this.#longMode === check) this.#longMode = undefined;
      });
    }
    return this.#longMode;
  }

  async #generateLong(): Promise<bigint> {
    for (;;) {
      const listed = this.#hobs === undefined;
      const hobs = this.#hobs ?? (this.#hobs = await this.#listHobs());
      const hob = hobs.at(-1);
      if (hob === undefined) {
        // a cached empty list may be stale; a fresh one means nobody has started: HOB starts at 1
        if (listed) await this.#createHob(1);
        else this.#hobs = undefined;
        continue;
      }
      let created: string;
      try {
        // No createParents, unlike BookKeeper: a HOB directory that vanished was collected as full,
        // and re-creating it would restart its sequence and repeat ids.
        created = await this.#createSequential(longIdGenPath(this.#root, hob), false);
      } catch (err) {
        if (!(err instanceof MetadataError && err.code === 'NO_NODE')) throw err;
        this.#hobs = undefined;
        continue;
      }
      if (hobs.length > KEPT_HOB_DIRS) await this.#collectHobs(hobs);
      const id = longLedgerId(hob, created);
      if (id !== undefined) return id;
      await this.#createHob(hob + 1);
    }
  }

  /** Sorted ascending. */
  async #listHobs(): Promise<number[]> {
    const names = await this.#store.children(this.#longRoot);
    return names.flatMap((name) => parseHob(name) ?? []).sort((a, b) => a - b);
  }

  async #createHob(hob: number): Promise<void> {
    await this.#createIfMissing(hobPath(this.#root, hob));
    this.#hobs = undefined;
  }

  /** Deletes all but the newest HOB directories; failures only cost garbage, never the id. */
  async #collectHobs(hobs: readonly number[]): Promise<void> {
    this.#hobs = undefined;
    await Promise.all(hobs.slice(0, -KEPT_HOB_DIRS).map(async (hob) => {
      const path = hobPath(this.#root, hob);
      try {
        // version 0 as in BookKeeper: a HOB directory's data is never set
        await this.#store.delete(path, 0);
      } catch (err) {
        this.#log.debug({ err, path }, 'could not delete an old HOB directory');
      }
    }));
  }

  /** Creates the EPHEMERAL_SEQUENTIAL node and deletes it without waiting: the id is its name. */
  async #createSequential(prefix: string, createParents: boolean): Promise<string> {
    const created = await this.#store.create(prefix, EMPTY, { mode: 'ephemeral_sequential', createParents });
    this.#store.delete(created).catch((err: unknown) => {
      // the node is ephemeral: at worst it lingers until the session ends
      this.#log.warn({ err, path: created }, 'could not delete an id generation node');
    });
    return created;
  }

  async #createIfMissing(path: string): Promise<void> {
    try {
      await this.#store.create(path, EMPTY, { createParents: true });
    } catch (err) {
      // another generator won the race to create it
      if (!(err instanceof MetadataError && err.code === 'NODE_EXISTS')) throw err;
    }
  }
}
