// A bookie's presence in the metadata store, in BookKeeper's layout: an ephemeral node
// `<root>/available/<bookieId>` while writable, `<root>/available/readonly/<bookieId>` while
// read-only. After a session expiry the store opens a new session and we register again, instead
// of exiting as Java bookies do (BookKeeper pain point: bookies die on ZooKeeper expiry).
import { randomUUID } from 'node:crypto';
import { MetadataError } from '../errors.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { joinPath } from '../metadata/path.js';
import type { Logger } from '../util/logger.js';

// byte for byte what Java's LedgerLayout.serialize() writes (no trailing newline)
const LAYOUT = '2\norg.apache.bookkeeper.meta.HierarchicalLedgerManagerFactory:1';
const RETRY_MS = 250;

export class Registration {
  readonly #store: MetadataStore;
  readonly #root: string;
  readonly #bookieId: string;
  readonly #logger: Logger;
  #readOnly = false;
  #started = false;
  #closed = false;
  /** Serialises (re-)registrations so a mode switch never races a re-register. */
  #chain: Promise<void> = Promise.resolve();
  readonly #onConnected = (): void => { this.#enqueue(); };

  constructor(store: MetadataStore, ledgersRoot: string, bookieId: string, logger: Logger) {
    this.#store = store;
    this.#root = ledgersRoot;
    this.#bookieId = bookieId;
    this.#logger = logger;
  }

  get writablePath(): string { return joinPath(this.#root, `available/${this.#bookieId}`); }
  get readOnlyPath(): string { return joinPath(this.#root, `available/readonly/${this.#bookieId}`); }
  get readOnly(): boolean { return this.#readOnly; }

  /** Registers, and re-registers after every new session (the root must be formatted: formatLedgersRoot). */
  async start(): Promise<void> {
    this.#started = true;
    this.#store.on('connected', this.#onConnected);
    this.#enqueue();
    await this.#chain;
  }

  /** Moves between `available/` and `available/readonly/`; before start(), chooses where start() registers. */
  async setReadOnly(readOnly: boolean): Promise<void> {
    if (this.#readOnly === readOnly) return;
    this.#readOnly = readOnly;
    this.#logger.warn({ bookieId: this.#bookieId, readOnly }, readOnly ? 'bookie is now read-only' : 'bookie is writable again');
    if (!this.#started) return;
    this.#enqueue();
    await this.#chain;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#store.off('connected', this.#onConnected);
    await this.#chain;
    for (const p of [this.writablePath, this.readOnlyPath]) await this.#deleteOwn(p);
  }

  #enqueue(): void {
    this.#chain = this.#chain.then(() => this.#register()).catch((err: unknown) => {
      this.#logger.error({ err, bookieId: this.#bookieId }, 'bookie registration failed');
    });
  }

  async #register(): Promise<void> {
    while (!this.#closed) {
      const [want, other] = this.#readOnly ? [this.readOnlyPath, this.writablePath] : [this.writablePath, this.readOnlyPath];
      try {
        await this.#deleteOwn(other);
        const stat = await this.#store.exists(want);
        if (stat?.ephemeralOwner === this.#store.sessionId) return;
        if (stat === null) {
          await this.#store.create(want, new Uint8Array(0), { mode: 'ephemeral' });
          this.#logger.info({ path: want }, 'bookie registered');
          return;
        }
        // a node of our previous session that ZooKeeper has not expired yet: wait for it to go
      } catch (err) {
        if (!(err instanceof MetadataError) || !(err.retriable || err.code === 'NODE_EXISTS' || err.code === 'SESSION_EXPIRED')) throw err;
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  async #deleteOwn(path: string): Promise<void> {
    const stat = await this.#store.exists(path).catch(() => null);
    if (stat?.ephemeralOwner !== this.#store.sessionId) return;
    await this.#store.delete(path).catch((err: unknown) => {
      if (!(err instanceof MetadataError && err.code === 'NO_NODE')) throw err;
    });
  }
}

async function createIfMissing(store: MetadataStore, path: string, data?: Uint8Array): Promise<void> {
  await store.create(path, data, { createParents: true }).catch((err: unknown) => {
    if (!(err instanceof MetadataError && err.code === 'NODE_EXISTS')) throw err;
  });
}

/**
 * Creates what BookKeeperAdmin.initNewCluster creates when missing: the root, `available`,
 * `available/readonly`, LAYOUT and INSTANCEID (the cluster's identity, which cookies carry).
 */
export async function formatLedgersRoot(store: MetadataStore, ledgersRoot: string): Promise<void> {
  const readonly = joinPath(ledgersRoot, 'available/readonly');
  if (!await store.exists(readonly)) await createIfMissing(store, readonly);
  await createIfMissing(store, joinPath(ledgersRoot, 'LAYOUT'), Buffer.from(LAYOUT));
  await createIfMissing(store, joinPath(ledgersRoot, 'INSTANCEID'), Buffer.from(randomUUID()));
}
