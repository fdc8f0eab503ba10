// The two deployments the log-level tests run on: `zk`, the shared test ZooKeeper plus three real
// bookie processes with the namespace bound to their ledgers root (DL's binding znode), and `local`,
// the embedded deployment of `local:<dir>` (local metadata store, bookies in worker threads).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from 'mocha';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { Namespace, type NamespaceOptions } from '../../src/log/namespace.js';
import { zooKeeper } from './hooks.js';
import { startBookieProcess, type BookieProcess } from './bookie-process.js';
import { freePort } from '../../src/cli/zookeeper-server.js';
import { FaultProxy } from './fault-proxy.js';

export interface LogDeployment {
  readonly kind: 'zk' | 'local';
  /** A namespace URI unique to this deployment. */
  readonly uri: string;
  /** The shared ZooKeeper's connect string (zk only). */
  readonly zk?: string;
  readonly bookies: readonly BookieProcess[];
  /** With `proxied`: bookies[i] registers as proxies[i]'s address, so every client reaches it through the proxy. */
  readonly proxies: readonly FaultProxy[];
  /** Opens a namespace on it (closed by close()). */
  open(options?: NamespaceOptions): Promise<Namespace>;
  close(): Promise<void>;
}

export type LogBackendKind = LogDeployment['kind'];
export const LOG_BACKENDS: readonly LogBackendKind[] = ['zk', 'local'];

let counter = 0;

export interface DeploymentOptions {
  /** Bookie processes of the zk deployment. Default 3. */
  readonly bookies?: number;
  /** Put a FaultProxy in front of each bookie (zk only). */
  readonly proxied?: boolean;
}

export async function startLogDeployment(ctx: Context, kind: LogBackendKind, name: string, options: DeploymentOptions = {}): Promise<LogDeployment> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dlog-${name}-`));
  const namespaces: Namespace[] = [];
  const track = async (uri: string, options?: NamespaceOptions): Promise<Namespace> => {
    const ns = await Namespace.open(uri, options);
    namespaces.push(ns);
    return ns;
  };
  const closeNamespaces = async (): Promise<void> => {
    for (const ns of namespaces.splice(0)) await ns.close().catch(() => undefined);
  };
  if (kind === 'local') {
    const uri = `local:${path.join(dir, 'data')}`;
    return {
      kind,
      uri,
      bookies: [],
      proxies: [],
      open: (options) => track(uri, options),
      close: async () => {
        await closeNamespaces();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const zk = await zooKeeper(ctx);
  const tag = `${name}-${process.pid}-${Date.now()}-${counter++}`;
  const ledgersRoot = `/ledgers-${tag}`;
  const bookies: BookieProcess[] = [];
  const proxies: FaultProxy[] = [];
  for (let i = 0; i < (options.bookies ?? 3); i++) {
    const bookie = { metadata: `zk://${zk}${ledgersRoot}`, dir: path.join(dir, `bookie-${i}`) };
    if (options.proxied === true) {
      const port = await freePort();
      const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
      proxies.push(proxy);
      bookies.push(await startBookieProcess({ ...bookie, port, bookieId: proxy.address }));
    } else {
      bookies.push(await startBookieProcess(bookie));
    }
  }
  const nsRoot = `/ns-${tag}`;
  const store = await ZkMetadataStore.connect(zk);
  try {
    // DL's binding: `1`, `BKDL`, then BKDLConfigFormat in TJSON (field 2: the ledgers path)
    const binding = `1\nBKDL\n${JSON.stringify({ 2: { str: ledgersRoot }, 3: { tf: 1 }, 4: { tf: 0 } })}`;
    await store.create(nsRoot, Buffer.from(binding));
  } finally {
    await store.close();
  }
  const uri = `zk://${zk}${nsRoot}`;
  return {
    kind,
    uri,
    zk,
    bookies,
    proxies,
    open: (options) => track(uri, options),
    close: async () => {
      await closeNamespaces();
      for (const b of bookies) await b.kill();
      for (const p of proxies) await p.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mocha hooks: one deployment for the enclosing describe, handed to `use` once started, closed after its tests. */
export function logDeploymentFor(kind: LogBackendKind, name: string, use: (d: LogDeployment) => void, options: DeploymentOptions = {}): void {
  let d: LogDeployment | undefined;
  before(async function (this: Context) {
    d = await startLogDeployment(this, kind, name, options);
    use(d);
  });
  after(async () => { await d?.close(); });
}
