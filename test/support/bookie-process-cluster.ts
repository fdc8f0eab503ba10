// `dlog bookie` processes registered under their own ledgers root on the shared test ZooKeeper,
// plus ledger clients on it: the setup of the ledger-client fault tests that kill, stop or pause
// real bookie processes. close() closes every client, kills every bookie and removes the dirs.
import path from 'node:path';
import type { Context } from 'mocha';
import { LedgerClient, type LedgerClientOptions } from '../../src/ledger/ledger-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { startBookieProcess, type BookieProcess, type BookieProcessOptions } from './bookie-process.js';
import { removeDir, tempDir, uniqueRoot } from './bookie-test-utils.js';
import { zooKeeper } from './hooks.js';
import { waitFor } from './wait-for.js';

/** Bookie options other than where they live (the ZooKeeper session timeout), and how many to start at once. */
export interface BookieProcessClusterOptions extends Pick<BookieProcessOptions, 'sessionTimeoutMs'> {
  readonly bookies: number;
}

export interface BookieProcessCluster {
  readonly store: ZkMetadataStore;
  readonly ledgersRoot: string;
  /** Every bookie, in the order they became ready; addBookie/removeBookie change it. */
  readonly bookies: readonly BookieProcess[];
  byId(bookieId: string): BookieProcess;
  /** Starts one more bookie on a directory of its own. */
  addBookie(): Promise<BookieProcess>;
  /** Kills a bookie and drops it from `bookies`. */
  removeBookie(bookie: BookieProcess): Promise<void>;
  /** A new ledger client (closed by close()), with `options` beyond its store and root. */
  client(options?: Omit<LedgerClientOptions, 'store' | 'ledgersRoot'>): Promise<LedgerClient>;
  /** Waits until `c` sees exactly `count` writable bookies (default: all of them); registrations follow sessions. */
  waitForWritable(c: LedgerClient, count?: number, timeoutMs?: number): Promise<void>;
  /** For afterEach: resumes paused bookies and restarts killed or stopped ones. */
  heal(): Promise<void>;
  close(): Promise<void>;
}

export async function startBookieProcessCluster(ctx: Context, name: string, options: BookieProcessClusterOptions): Promise<BookieProcessCluster> {
  const zk = await zooKeeper(ctx);
  const root = uniqueRoot(name);
  const dir = await tempDir(name);
  const store = await ZkMetadataStore.connect(zk);
  const bookies: BookieProcess[] = [];
  const clients: LedgerClient[] = [];
  const { bookies: count, ...bookieOptions } = options;
  let dirs = 0;
  const start = (): Promise<BookieProcess> => startBookieProcess({ ...bookieOptions, metadata: `zk://${zk}${root}`, dir: path.join(dir, `b${dirs++}`) });
  const close = async (): Promise<void> => {
    for (const c of clients) await c.close();
    await Promise.all(bookies.map((b) => b.kill()));
    await store.close();
    await removeDir(dir);
  };
  try {
    // each is listed once ready, so a failed start still leaves the others to close()
    await Promise.all(Array.from({ length: count }, async () => { bookies.push(await start()); }));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    store,
    ledgersRoot: root,
    bookies,
    byId: (bookieId) => {
      const b = bookies.find((x) => x.bookieId === bookieId);
      if (b === undefined) throw new Error(`no bookie process with id ${bookieId}`);
      return b;
    },
    addBookie: async () => {
      const b = await start();
      bookies.push(b);
      return b;
    },
    removeBookie: async (b) => {
      await b.kill();
      bookies.splice(bookies.indexOf(b), 1);
    },
    client: async (clientOptions = {}) => {
      const c = await LedgerClient.open({ ...clientOptions, store, ledgersRoot: root });
      clients.push(c);
      return c;
    },
    waitForWritable: async (c, count = bookies.length, timeoutMs = 30_000) => {
      await waitFor(() => c.writableBookies().size === count, timeoutMs, `${count} writable bookies`);
    },
    heal: async () => {
      for (const b of bookies) b.resume();
      await Promise.all(bookies.filter((b) => !b.running).map((b) => b.restart()));
    },
    close,
  };
}
