// Ledger metadata znodes in BookKeeper's (Long)HierarchicalLedgerManager layout: one znode per
// ledger at its hierarchical path, its data the serialised LedgerMetadata (v3 written, v1-v3 read),
// every change a compare-and-set on the znode version.
import { MetadataError } from '../errors.js';
import type { MetadataStore, Watcher } from '../metadata/metadata-store.js';
import { joinPath, parentOf } from '../metadata/path.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { decodeLedgerMetadata, encodeLedgerMetadata, type LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import { ledgerIdFromPath, ledgerPath, type LedgerLayout } from '../ledger-metadata/ledger-paths.js';
import { LedgerClientError } from './ledger-client-error.js';

export interface VersionedLedgerMetadata {
  readonly metadata: LedgerMetadata;
  /** The znode's data version: what the next write must expect. */
  readonly version: number;
}

export interface LedgerManagerOptions {
  /** 'hierarchical' (default, BookKeeper's default: short ids in 2/4/4 form) or 'long-hierarchical'. */
  layout?: LedgerLayout;
  logger?: Logger;
}

/** How often create retries after a concurrent delete removed the directory it had just made. */
const CREATE_ATTEMPTS = 3;

export class LedgerManager {
  readonly #store: MetadataStore;
  readonly #root: string;
  readonly #layout: LedgerLayout;
  readonly #log: Logger;

  constructor(store: MetadataStore, ledgersRoot: string, options: LedgerManagerOptions = {}) {
    this.#store = store;
    this.#root = ledgersRoot;
    this.#layout = options.layout ?? 'hierarchical';
    this.#log = options.logger ?? noopLogger;
  }

  /** The znode path of a ledger's metadata. */
  pathOf(ledgerId: bigint): string {
    return ledgerPath(this.#root, ledgerId, this.#layout);
  }

  /**
   * Creates the ledger's znode (and missing parent directories). When it already exists this is
   * still a success if the stored metadata carries our cToken: an earlier attempt of this very
   * create went through, so retrying a create that failed retriably is safe. Otherwise
   * LEDGER_EXISTS: the caller picks another id.
   */
  async create(ledgerId: bigint, metadata: LedgerMetadata): Promise<VersionedLedgerMetadata> {
    const path = this.pathOf(ledgerId);
    const data = encodeLedgerMetadata(metadata);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#store.create(path, data, { createParents: true });
        return { metadata, version: 0 };
      } catch (err) {
        if (!(err instanceof MetadataError)) throw err;
        // a concurrent delete pruned the empty parent between its creation and ours
        if (err.code === 'NO_NODE' && attempt < CREATE_ATTEMPTS) continue;
        if (err.code !== 'NODE_EXISTS') throw err;
      }
      return this.#existingCreate(ledgerId, metadata);
    }
  }

  async #existingCreate(ledgerId: bigint, metadata: LedgerMetadata): Promise<VersionedLedgerMetadata> {
    const exists = (): LedgerClientError =>
      new LedgerClientError('LEDGER_EXISTS', `ledger ${ledgerId} already exists`, { ledgerId });
    if (metadata.cToken === undefined) throw exists();
    let stored: VersionedLedgerMetadata;
    try {
      stored = await this.read(ledgerId);
    } catch (err) {
      // deleted again since: it was someone else's, and the id is no longer safe to reuse
      if (err instanceof LedgerClientError && err.code === 'NO_SUCH_LEDGER') throw exists();
      throw err;
    }
    if (stored.metadata.cToken !== metadata.cToken) throw exists();
    this.#log.debug({ ledgerId }, 'ledger create retried: the znode is ours');
    return stored;
  }

  /** Rejects with NO_SUCH_LEDGER when there is no znode. The watcher fires on a change or delete. */
  async read(ledgerId: bigint, watcher?: Watcher): Promise<VersionedLedgerMetadata> {
    try {
      const { data, stat } = await this.#store.get(this.pathOf(ledgerId), watcher);
      return { metadata: decodeLedgerMetadata(data), version: stat.version };
    } catch (err) {
      throw this.#translate(err, ledgerId);
    }
  }

  /**
   * Replaces the metadata if the znode is still at `expectedVersion`; resolves with the new version.
   * METADATA_VERSION_CONFLICT otherwise: the caller must re-read, its copy is stale.
   */
  async write(ledgerId: bigint, metadata: LedgerMetadata, expectedVersion: number): Promise<number> {
    try {
      const stat = await this.#store.set(this.pathOf(ledgerId), encodeLedgerMetadata(metadata), expectedVersion);
      return stat.version;
    } catch (err) {
      throw this.#translate(err, ledgerId);
    }
  }

  /**
   * BookKeeper's MetadataUpdateLoop: while `predicate` holds for the current metadata, write
   * `transform` of it with a CAS; on a conflict read again and re-decide. Resolves with the metadata
   * as written, or as found once the predicate no longer holds (nothing written then). Either
   * function may throw to abort the loop with that error. `current` (a copy the caller already
   * holds) saves the first read; a stale one costs one conflict.
   */
  async update(
    ledgerId: bigint,
    predicate: (metadata: LedgerMetadata) => boolean,
    transform: (metadata: LedgerMetadata) => LedgerMetadata,
    current?: VersionedLedgerMetadata,
  ): Promise<VersionedLedgerMetadata> {
    let value = current ?? (await this.read(ledgerId));
    while (predicate(value.metadata)) {
      const metadata = transform(value.metadata);
      try {
        return { metadata, version: await this.write(ledgerId, metadata, value.version) };
      } catch (err) {
        if (!(err instanceof LedgerClientError && err.code === 'METADATA_VERSION_CONFLICT')) throw err;
      }
      value = await this.read(ledgerId);
    }
    return value;
  }

  /**
   * Deletes the znode (CAS unless `version` is -1), then, as BookKeeper does, the directories it
   * leaves empty; those are best effort.
   */
  async delete(ledgerId: bigint, version = -1): Promise<void> {
    const path = this.pathOf(ledgerId);
    try {
      await this.#store.delete(path, version);
    } catch (err) {
      throw this.#translate(err, ledgerId);
    }
    // up to the ledger's top-level directory, never the root
    for (let dir = parentOf(path); dir !== this.#root && dir !== '/'; dir = parentOf(dir)) {
      if (!(await this.#deleteIfEmpty(dir))) return;
    }
  }

  async #deleteIfEmpty(dir: string): Promise<boolean> {
    try {
      await this.#store.delete(dir);
      return true;
    } catch (err) {
      // NOT_EMPTY is the usual answer; other failures just leave an empty directory behind
      if (!(err instanceof MetadataError && err.code === 'NOT_EMPTY')) this.#log.debug({ err, dir }, 'could not prune a ledger directory');
      return false;
    }
  }

  /**
   * The ids of all ledgers under the root, ascending, in either path form. Anything that is not a
   * ledger directory (BookKeeper's available, cookies, LAYOUT, idgen..., foreign nodes) is skipped.
   */
  async listLedgerIds(): Promise<bigint[]> {
    await this.#store.sync(this.#root);
    const ids: bigint[] = [];
    const walk = async (dir: string, widths: readonly number[]): Promise<void> => {
      const [width, ...rest] = widths;
      if (width === undefined) return;
      const pattern = rest.length === 0 ? new RegExp(`^L\\d{${width}}$`) : new RegExp(`^\\d{${width}}$`);
      const names = (await this.#childrenOrNone(dir)).filter((name) => pattern.test(name));
      if (rest.length === 0) {
        for (const name of names) {
          const id = ledgerIdFromPath(this.#root, joinPath(dir, name));
          if (id !== undefined) ids.push(id);
        }
        return;
      }
      await Promise.all(names.map((name) => walk(joinPath(dir, name), rest)));
    };
    // the short form's top level has 2 digits, the long form's 3; the hybrid layout uses both
    const tops = await this.#childrenOrNone(this.#root);
    await Promise.all(tops.flatMap((name) => {
      const widths = /^\d{2}$/.test(name) ? [4, 4] : /^\d{3}$/.test(name) ? [4, 4, 4, 4] : undefined;
      return widths === undefined ? [] : [walk(joinPath(this.#root, name), widths)];
    }));
    return ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A directory deleted while we walk is just empty. */
  async #childrenOrNone(path: string): Promise<string[]> {
    try {
      return await this.#store.children(path);
    } catch (err) {
      if (err instanceof MetadataError && err.code === 'NO_NODE') return [];
      throw err;
    }
  }

  #translate(err: unknown, ledgerId: bigint): unknown {
    if (!(err instanceof MetadataError)) return err;
    if (err.code === 'NO_NODE') {
      return new LedgerClientError('NO_SUCH_LEDGER', `ledger ${ledgerId} does not exist`, { ledgerId, cause: err });
    }
    if (err.code === 'BAD_VERSION') {
      const message = `the metadata of ledger ${ledgerId} changed since it was read`;
      return new LedgerClientError('METADATA_VERSION_CONFLICT', message, { ledgerId, cause: err });
    }
    return err;
  }
}
