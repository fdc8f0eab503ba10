// The cluster the client-side benchmarks run against: a real ZooKeeper and bookie PROCESSES of the
// built CLI (`dlog bookie`), registered under one ledgers root, in a temporary directory; and the
// namespace a log bench runs on (that cluster's, or one given with --uri).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startZooKeeper } from '../lib/cli/zookeeper-server.js';
import { Namespace } from '../lib/index.js';

export interface BenchCluster {
  /** The ZooKeeper connect string. */
  readonly zk: string;
  readonly ledgersRoot: string;
  readonly bookieIds: readonly string[];
  /** The bookie processes' pids, in bookieIds order (for /proc/<pid>/stat). */
  readonly bookiePids: readonly number[];
  stop(): Promise<void>;
}

/** Extra node flags for the bookie processes, e.g. BENCH_BOOKIE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
const BOOKIE_NODE_ARGS = (process.env['BENCH_BOOKIE_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

interface Bookie { readonly id: string; readonly child: ChildProcess }

async function startBookie(metadata: string, args: readonly string[]): Promise<Bookie> {
  const cli = new URL('../lib/cli/main.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [...BOOKIE_NODE_ARGS, cli, 'bookie', '--metadata', metadata, ...args, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // a benchmark that crashes must not leave its bookies running
  const kill = (): void => { child.kill('SIGKILL'); };
  process.once('exit', kill);
  child.once('exit', () => { process.off('exit', kill); });
  const lines = createInterface({ input: child.stdout });
  const id = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => { const m = /^bookie (\S+) ready$/.exec(line); if (m?.[1]) resolve(m[1]); });
    child.once('exit', (code) => { reject(new Error(`bookie exited with ${code}`)); });
  });
  return { id, child };
}

function stopBookie(b: Bookie): Promise<void> {
  return new Promise((resolve) => {
    if (b.child.exitCode !== null) { resolve(); return; }
    b.child.once('exit', () => { resolve(); });
    b.child.kill('SIGTERM');
  });
}

/** Bookie i's directory flags, given its own directory under the cluster's temporary one. */
export type DirArgs = (dir: string) => string[];

/** `extraArgs`: more `dlog bookie` options (TLS), the same for every bookie. */
export async function startBenchCluster(
  name: string, bookies = 3, ledgersRoot = '/ledgers', extraArgs: readonly string[] = [], dirArgs: DirArgs = (dir) => ['--dir', dir],
): Promise<BenchCluster> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `dlog-bench-${name}-`));
  const zk = await startZooKeeper({ forceSync: false });
  const metadata = `zk://${zk.connectString}${ledgersRoot}`;
  const started = await Promise.all(Array.from({ length: bookies }, (_, i) => startBookie(metadata, [...dirArgs(path.join(tmp, `b${i}`)), ...extraArgs])));
  return {
    zk: zk.connectString,
    ledgersRoot,
    bookieIds: started.map((b) => b.id),
    bookiePids: started.map((b) => b.child.pid ?? 0),
    stop: async () => {
      await Promise.all(started.map(stopBookie));
      await zk.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Where a namespace bench runs. */
export interface BenchTarget {
  readonly ns: Namespace;
  readonly uri: string;
  /** The cluster started for the bench; undefined when it was given a namespace URI. */
  readonly cluster: BenchCluster | undefined;
}

export interface BenchTargetOptions {
  /**
   * A namespace to run against (the benches' --uri), e.g. zk://host:port/ns; a bare `local:` is the
   * embedded deployment in a temporary directory. Default: a new cluster of 3 bookie processes.
   */
  readonly uri?: string | undefined;
  /** The bookies' directory flags when a cluster is started. */
  readonly dirArgs?: DirArgs;
}

/**
 * Runs `body` on the namespace `options.uri`, or `/bench-<name>` on a new cluster, then closes the
 * namespace (a failed close is reported, not thrown: a writer that failed under overload makes
 * close() report that failure) and stops what it started.
 */
export async function withBenchNamespace(name: string, options: BenchTargetOptions, body: (target: BenchTarget) => Promise<void>): Promise<void> {
  let cluster: BenchCluster | undefined;
  let tmp: string | undefined;
  let uri = options.uri;
  if (uri === undefined) {
    cluster = await startBenchCluster(name, 3, '/ledgers', [], options.dirArgs);
    uri = `zk://${cluster.zk}/bench-${name}`;
  } else if (uri === 'local:') {
    tmp = mkdtempSync(path.join(os.tmpdir(), `dlog-bench-${name}-`));
    uri = `local:${tmp}`;
  }
  try {
    const ns = await Namespace.open(uri);
    try {
      await body({ ns, uri, cluster });
    } finally {
      await ns.close().catch((err: unknown) => { console.error(`closing the namespace: ${err instanceof Error ? err.message : String(err)}`); });
    }
  } finally {
    await cluster?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  }
}
