// Clusters for the interop tests on the shared test ZooKeeper: a fresh ledgers root per cluster,
// Java bookies (initialised the way Java expects: BookKeeperAdmin.initNewCluster) or our bookie
// processes (which format the root themselves), a Java harness connected as a BK client, and our
// LedgerClient on the same root.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from 'mocha';
import { LedgerClient } from '../../../src/ledger/ledger-client.js';
import { ZkMetadataStore } from '../../../src/metadata/zk/zk-metadata-store.js';
import { startBookieProcess, type BookieProcess } from '../../support/bookie-process.js';
import { zooKeeper } from '../../support/hooks.js';
import { JavaBookie, JavaHarness, requireJava } from './java.js';

/** One bookie of either kind, as the tests need it. */
export interface AnyBookie {
  readonly kind: 'java' | 'ours';
  readonly bookieId: string;
  kill(): Promise<void>;
  /** Starts it again on the same directories and port. */
  restart(): Promise<void>;
}

export interface InteropCluster {
  readonly zk: string;
  readonly root: string;
  /** `zk+hierarchical://<zk><root>`, the Java metadata service URI. */
  readonly javaUri: string;
  readonly store: ZkMetadataStore;
  readonly java: JavaHarness;
  readonly client: LedgerClient;
  readonly bookies: AnyBookie[];
  readonly dir: string;
  close(): Promise<void>;
}

export interface ClusterSpec {
  readonly version: string;
  /** One entry per bookie: a Java bookie with its storage, or one of our bookie processes. */
  readonly bookies: readonly ('java' | 'java-db' | 'ours')[];
}

export async function startInteropCluster(ctx: Context, name: string, spec: ClusterSpec): Promise<InteropCluster> {
  const java = requireJava(ctx);
  const zk = await zooKeeper(ctx);
  const root = `/ledgers-${name}-${process.pid}-${Date.now()}`;
  const javaUri = `zk+hierarchical://${zk}${root}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), `dlog-interop-${name}-`));
  const store = await ZkMetadataStore.connect(zk);
  const harness = await JavaHarness.start(java, spec.version);
  const bookies: AnyBookie[] = [];
  const ours: BookieProcess[] = [];
  const javas: JavaBookie[] = [];
  let client: LedgerClient | undefined;
  const close = async (): Promise<void> => {
    await client?.close();
    await harness.close();
    await Promise.all([...ours.map((b) => b.kill()), ...javas.map((b) => b.kill())]);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Java bookies refuse an uninitialised root; ours create what is missing
    if (spec.bookies.some((k) => k !== 'ours')) await harness.call('init', javaUri);
    await Promise.all(spec.bookies.map(async (kind, i) => {
      const bdir = path.join(dir, `b${i}`);
      if (kind === 'ours') {
        const b = await startBookieProcess({ metadata: `zk://${zk}${root}`, dir: bdir, sessionTimeoutMs: 4000 });
        ours.push(b);
        bookies[i] = { kind, get bookieId() { return b.bookieId; }, kill: () => b.kill(), restart: () => b.restart() };
      } else {
        const b = await JavaBookie.start(java, spec.version, store, root, { metadataServiceUri: javaUri, dir: bdir, storage: kind === 'java-db' ? 'db' : 'default' });
        javas.push(b);
        bookies[i] = { kind: 'java', bookieId: b.bookieId, kill: () => b.kill(), restart: () => b.restart(store, root) };
      }
    }));
    await harness.call('bk', javaUri);
    client = await LedgerClient.open({ store, ledgersRoot: root, requestTimeoutMs: 3000 });
  } catch (err) {
    await close();
    throw err;
  }
  return { zk, root, javaUri, store, java: harness, client, bookies, dir, close };
}

export const hex = (b: Uint8Array): string => (b.length === 0 ? '-' : Buffer.from(b).toString('hex'));

/** Deterministic distinct payloads: `<tag>-<i>` padded with i-dependent bytes to `size`. */
export function payload(tag: string, i: number, size = 100): Buffer {
  const b = Buffer.alloc(size);
  for (let j = 0; j < size; j++) b[j] = (i * 31 + j * 7) & 0xff;
  b.write(`${tag}-${i}`);
  return b;
}

/** Parses the harness's `entryId:hex,...` answer. */
export function parseEntries(answer: string): { entryId: bigint; payload: Buffer }[] {
  if (answer === '') return [];
  return answer.split(',').map((e) => {
    const [id, h] = e.split(':') as [string, string];
    return { entryId: BigInt(id), payload: h === '-' ? Buffer.alloc(0) : Buffer.from(h, 'hex') };
  });
}
