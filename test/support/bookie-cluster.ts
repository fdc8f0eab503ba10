// Three in-process bookies on loopback, registered under their own ledgers root on the shared test
// ZooKeeper, plus ledger clients on it: the setup of the ledger and log-segment integration tests.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from 'mocha';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
import { LedgerClient, type LedgerClientOptions } from '../../src/ledger/ledger-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { zooKeeper } from './hooks.js';

export interface BookieCluster {
  readonly store: ZkMetadataStore;
  readonly ledgersRoot: string;
  readonly bookies: readonly Bookie[];
  /** A new ledger client (closed by close()), with `options` beyond its store and root. */
  client(options?: Omit<LedgerClientOptions, 'store' | 'ledgersRoot'>): Promise<LedgerClient>;
  close(): Promise<void>;
}

export async function startBookieCluster(ctx: Context, name: string, size = 3): Promise<BookieCluster> {
  const zk = await zooKeeper(ctx);
  const root = `/ledgers-${name}-${process.pid}-${Date.now()}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), `dlog-${name}-`));
  const store = await ZkMetadataStore.connect(zk);
  const bookies: Bookie[] = [];
  for (let i = 0; i < size; i++) {
    bookies.push(await startBookie({ metadata: `zk://${zk}${root}`, dir: path.join(dir, `b${i}`), port: 0, gcIntervalMs: 0 }));
  }
  const clients: LedgerClient[] = [];
  return {
    store,
    ledgersRoot: root,
    bookies,
    client: async (options = {}) => {
      const c = await LedgerClient.open({ ...options, store, ledgersRoot: root });
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) await c.close();
      for (const b of bookies) await b.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
