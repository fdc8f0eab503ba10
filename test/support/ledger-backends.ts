// Ledger-level test deployments without ZooKeeper or child processes, both on the local metadata
// store in a temporary directory: `fake`, in-memory bookies behind the BookieConnections seam
// (scriptable), and `real`, three in-process bookies on loopback with their TCP BookiePool. The
// bookie behaviour suite runs on both; the fast unit tests of the writers and readers use `fake`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
import { BookiePool } from '../../src/ledger/bookie-pool.js';
import type { BookieConnections } from '../../src/ledger/bookie-transport.js';
import { LedgerClient, type LedgerClientOptions } from '../../src/ledger/ledger-client.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import { FakeBookieCluster } from './fake-bookies.js';

export const LEDGERS_ROOT = '/ledgers';

export interface LedgerDeployment {
  readonly kind: 'fake' | 'real';
  readonly store: LocalMetadataStore;
  /** Bookie ids, registered as writable under LEDGERS_ROOT. */
  readonly bookieIds: readonly string[];
  /** The fakes (`fake` only), for scripting. */
  readonly fakes?: FakeBookieCluster;
  /** Raw connections to the bookies (closed by close()). */
  connections(): BookieConnections;
  /** A ledger client (closed by close()). */
  client(options?: Partial<LedgerClientOptions>): Promise<LedgerClient>;
  /** Another session on the same metadata store (closed by close()): a second process, as the store sees it. */
  session(): Promise<LocalMetadataStore>;
  close(): Promise<void>;
}

export async function startLedgerDeployment(kind: LedgerDeployment['kind'], bookies = 3): Promise<LedgerDeployment> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dlog-ledgers-${kind}-`));
  const metadataDir = path.join(dir, 'metadata');
  const store = await LocalMetadataStore.open(metadataDir);
  const closers: Array<() => Promise<void> | void> = [];
  let connections: (timeoutMs?: number) => BookieConnections;
  let bookieIds: string[];
  let fakes: FakeBookieCluster | undefined;
  let real: Bookie[] = [];
  if (kind === 'fake') {
    fakes = new FakeBookieCluster(bookies);
    await fakes.register(store, LEDGERS_ROOT);
    const cluster = fakes;
    connections = (timeoutMs) => cluster.connections(timeoutMs);
    bookieIds = cluster.bookies.map((b) => b.id);
  } else {
    for (let i = 0; i < bookies; i++) {
      real.push(await startBookie({ metadata: store, ledgersRoot: LEDGERS_ROOT, dir: path.join(dir, `bookie-${i}`), port: 0, gcIntervalMs: 0 }));
    }
    connections = (timeoutMs) => new BookiePool(timeoutMs === undefined ? {} : { requestTimeoutMs: timeoutMs });
    bookieIds = real.map((b) => b.bookieId);
  }
  return {
    kind, store, bookieIds, ...(fakes ? { fakes } : {}),
    connections: () => {
      const c = connections();
      closers.push(() => { c.close(); });
      return c;
    },
    client: async (options = {}) => {
      const client = await LedgerClient.open({ store, ledgersRoot: LEDGERS_ROOT, connections: connections(options.requestTimeoutMs), ...options });
      closers.push(() => client.close());
      return client;
    },
    session: async () => {
      const session = await LocalMetadataStore.open(metadataDir);
      closers.push(() => session.close());
      return session;
    },
    close: async () => {
      for (const close of closers.splice(0).reverse()) await close();
      for (const b of real) await b.close();
      real = [];
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mocha hooks: a fresh `fake` deployment of `bookies` for each test, handed to `use`, closed after it. */
export function eachFakeDeployment(bookies: number, use: (d: LedgerDeployment, fakes: FakeBookieCluster) => void): void {
  let d: LedgerDeployment | undefined;
  beforeEach(async () => {
    d = await startLedgerDeployment('fake', bookies);
    use(d, d.fakes as FakeBookieCluster);
  });
  afterEach(async () => { await d?.close(); });
}
