// Our bookie next to Apache BookKeeper's Java bookie under the same client (ours): 1 KiB adds at 1
// and 256 in flight, E1 and E3 (W=E, A=min(E,2)), journal fsync on in both, three bookie processes
// of one kind per run on one ZooKeeper. Prints adds/s, latency percentiles and the bookies' CPU per
// add (all bookie processes together), then our/Java ratios. The Java bookie runs with its full JIT
// and is warmed up for --warmup seconds before each measured run, as ours is.
//   npm run bench:interop [-- --seconds 5 --warmup 3 --bk 4.18.2]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LedgerClient } from '../lib/ledger/ledger-client.js';
import { ZkMetadataStore } from '../lib/metadata/zk/zk-metadata-store.js';
import { startZooKeeper } from '../lib/cli/zookeeper-server.js';
import { JavaBookie, JavaHarness, findJavaToolchain } from '../test/interop/support/java.js';
import { startBenchCluster } from './bookie-cluster.js';
import { fmt, percentile } from './stats.js';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '3' }, bk: { type: 'string', default: '4.18.2' },
} });
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);

/** utime + stime of a process from /proc/<pid>/stat, in seconds. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Result { readonly adds: number; readonly p50: number; readonly p99: number; readonly bookieUs: number }

async function run(client: LedgerClient, pids: readonly number[], ensemble: number, inFlight: number, seconds: number): Promise<Result> {
  const lh = await client.createLedger({ ensembleSize: ensemble, writeQuorumSize: ensemble, ackQuorumSize: Math.min(ensemble, 2), digest: 'CRC32C' });
  const payload = Buffer.alloc(1024, 7);
  const lat: number[] = [];
  const cpu = (): number => pids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0);
  const end = performance.now() + seconds * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await lh.addEntry(payload);
      lat.push(performance.now() - t);
    }
  };
  const cpu0 = cpu();
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const secs = (performance.now() - start) / 1000;
  const bookieUs = ((cpu() - cpu0) * 1e6) / lat.length;
  await lh.close();
  lat.sort((a, b) => a - b);
  return { adds: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), bookieUs };
}

async function measure(kind: string, client: LedgerClient, pids: readonly number[]): Promise<Map<string, Result>> {
  const out = new Map<string, Result>();
  for (const ensemble of [1, 3]) {
    for (const inFlight of [1, 256]) {
      await run(client, pids, ensemble, inFlight, WARMUP);
      const r = await run(client, pids, ensemble, inFlight, SECONDS);
      out.set(`E${ensemble} ${inFlight}`, r);
      console.log(`${kind.padEnd(6)} E${ensemble} ${String(inFlight).padStart(4)} in flight: ${fmt(r.adds).padStart(7)} adds/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  bookies ${fmt(r.bookieUs, 1)} µs CPU/add`);
    }
  }
  return out;
}

async function ours(): Promise<Map<string, Result>> {
  const cluster = await startBenchCluster('interop-ours', 3);
  const store = await ZkMetadataStore.connect(cluster.zk);
  const client = await LedgerClient.open({ store, ledgersRoot: cluster.ledgersRoot });
  try {
    return await measure('ours', client, cluster.bookiePids);
  } finally {
    await client.close();
    await store.close();
    await cluster.stop();
  }
}

async function java(javaBin: string): Promise<Map<string, Result>> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlog-bench-interop-java-'));
  const zk = await startZooKeeper({ forceSync: false });
  const root = '/ledgers';
  const uri = `zk+hierarchical://${zk.connectString}${root}`;
  const store = await ZkMetadataStore.connect(zk.connectString);
  const harness = await JavaHarness.start(javaBin, values.bk);
  await harness.call('init', uri);
  await harness.close();
  const bookies = await Promise.all([0, 1, 2].map((i) => JavaBookie.start(javaBin, values.bk, store, root, { metadataServiceUri: uri, dir: path.join(tmp, `b${i}`), storage: 'db', bench: true })));
  const client = await LedgerClient.open({ store, ledgersRoot: root });
  try {
    return await measure('java', client, bookies.map((b) => b.pid ?? -1));
  } finally {
    await client.close();
    await Promise.all(bookies.map((b) => b.kill('SIGTERM')));
    await store.close();
    await zk.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const javaBin = findJavaToolchain();
if (javaBin === null) throw new Error('bench:interop needs JDK 17 and Maven');
console.log(`Java bookie: bookkeeper-server ${values.bk}, DbLedgerStorage, journalSyncData=true; ${SECONDS} s runs after ${WARMUP} s warm-up; load ${os.loadavg()[0]?.toFixed(1)}`);
const mine = await ours();
const theirs = await java(javaBin);
console.log('\nours / Java: adds/s ratio, bookie CPU per add ratio (below 1 = ours cheaper)');
for (const [key, r] of mine) {
  const j = theirs.get(key);
  if (j === undefined) continue;
  console.log(`${key.padEnd(8)} adds/s ${fmt(r.adds / j.adds, 2)}x   CPU/add ${fmt(r.bookieUs / j.bookieUs, 2)}x`);
}
