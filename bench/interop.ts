// Side by side with Apache BookKeeper / DistributedLog (Java), one command, same machine, same
// settings (1 KiB, CRC32C, journal fsync on in every bookie), three bookie processes of one kind
// per cluster on one ZooKeeper:
//   (a) our bookie vs the Java bookie under our ledger client: adds/s and bookie CPU per add;
//   (b) the Java BK client vs ours against the same bookies (ours, then Java's): adds/s and client
//       CPU per add (ours: this process; Java: the harness JVM, from /proc);
//   (c) Java DL's AsyncLogWriter vs our LogWriter (E3 W3 A2), one at a time and pipelined:
//       records/s and p50/p99.
// Ledger rows: E1 (W1 A1) and E3 (W3 A2), 1 and 256 in flight. Every row runs once to warm up
// (JIT, connections) and then --runs times; the tables print the medians. Java runs with its
// full JIT (-Xmx1g), bookkeeper-server / distributedlog-core --bk.
//   npm run bench:interop [-- --seconds 3 --warmup 2 --runs 3 --bk 4.18.2 --parts a,b,c]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Namespace } from '../lib/index.js';
import { LedgerClient } from '../lib/ledger/ledger-client.js';
import { ZkMetadataStore } from '../lib/metadata/zk/zk-metadata-store.js';
import { startZooKeeper } from '../lib/cli/zookeeper-server.js';
import { JavaBookie, JavaHarness, findJavaToolchain } from '../test/interop/support/java.js';
import { startBenchCluster } from './bookie-cluster.js';
import { benchArgs } from './bench-args.js';
import { fmt, median, percentile } from './stats.js';

const args = benchArgs({ seconds: 3, warmup: 2, runs: 3, bk: '4.18.2', parts: 'a,b,c' });
const SECONDS = args.seconds;
const WARMUP = args.warmup;
const RUNS = args.runs;
const PARTS = new Set(args.parts.split(','));
const SIZE = 1024;
const LEDGER_ROWS = [1, 3].flatMap((ensemble) => [1, 256].map((inFlight) => ({ ensemble, inFlight })));
const DL_ROWS = [1, 256];
/**
 * Java DL writer settings (harness `dlns`: E3 W3 A2 plus these). `immediate`: every write is sent
 * at once (outputBufferSize 0, immediateFlushEnabled), and after each transmit Java writes a
 * control record to advance the LAC. `batched`: records collect up to 16 KiB or 2 ms (periodic
 * flush), Java's batching, which ours does adaptively (flushIntervalMs 5). Both without the BK
 * client's default 5,000 adds/s rate limit per ledger (`bkc.throttle=0`).
 */
const JAVA_DL_MODES: readonly [string, string[]][] = [
  ['immediate', ['bkc.throttle=0']],
  ['batched', ['bkc.throttle=0', 'outputBufferSize=16384', 'immediateFlushEnabled=false', 'periodicFlushFrequencyMilliSeconds=2']],
];

/** utime + stime of a process from /proc/<pid>/stat, in seconds. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const ownCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** One timed run: ops/s, latency p50/p99 (ms), client and bookie CPU µs per op. */
interface Sample { readonly rate: number; readonly p50: number; readonly p99: number; readonly clientUs: number; readonly bookieUs: number }

interface Bookies {
  readonly kind: 'ours' | 'java';
  readonly zk: string;
  readonly root: string;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** Runs `once` (one run of `seconds`) to warm up, then RUNS times; the medians of each field. */
async function medianOf(once: (seconds: number) => Promise<Sample>): Promise<Sample> {
  await once(WARMUP);
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await once(SECONDS));
  const m = (f: keyof Sample): number => median(samples.map((s) => s[f]));
  return { rate: m('rate'), p50: m('p50'), p99: m('p99'), clientUs: m('clientUs'), bookieUs: m('bookieUs') };
}

/** `inFlight` lanes each awaiting its own op for `seconds`; CPU of this process (client) and of `bookiePids`. */
async function nodeRun(op: () => Promise<unknown>, inFlight: number, seconds: number, bookiePids: readonly number[]): Promise<Sample> {
  const bookieCpu = (): number => bookiePids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0);
  const lat: number[] = [];
  const b0 = bookieCpu();
  const c0 = ownCpuSeconds();
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await op();
      lat.push(performance.now() - t);
    }
  }));
  const secs = (performance.now() - start) / 1000;
  const clientUs = ((ownCpuSeconds() - c0) * 1e6) / lat.length;
  const bookieUs = ((bookieCpu() - b0) * 1e6) / lat.length;
  lat.sort((a, b) => a - b);
  return { rate: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), clientUs, bookieUs };
}

/** A harness bench command (`count ns p50µs p99µs`), with the JVM's and the bookies' CPU around it. */
async function javaRun(harness: JavaHarness, command: (string | number)[], bookiePids: readonly number[]): Promise<Sample> {
  const bookieCpu = (): number => bookiePids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0);
  const pid = harness.pid;
  if (pid === undefined) throw new Error('the Java harness has no process id');
  const b0 = bookieCpu();
  const j0 = procCpuSeconds(pid);
  const [count, ns, p50, p99] = (await harness.call(...command)).split(' ').map(Number) as [number, number, number, number];
  return {
    rate: count / (ns / 1e9), p50: p50 / 1000, p99: p99 / 1000,
    clientUs: ((procCpuSeconds(pid) - j0) * 1e6) / count, bookieUs: ((bookieCpu() - b0) * 1e6) / count,
  };
}

function line(label: string, s: Sample, unit: string): void {
  console.log(`${label.padEnd(34)} ${fmt(s.rate).padStart(7)} ${unit}/s  p50 ${fmt(s.p50, 2)} ms  p99 ${fmt(s.p99, 2)} ms  client ${fmt(s.clientUs, 1)} µs CPU/op  bookies ${fmt(s.bookieUs, 1)} µs CPU/op`);
}

async function ourBookies(): Promise<Bookies> {
  const cluster = await startBenchCluster('interop-ours', 3);
  return { kind: 'ours', zk: cluster.zk, root: cluster.ledgersRoot, pids: cluster.bookiePids, stop: () => cluster.stop() };
}

async function javaBookies(javaBin: string): Promise<Bookies> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlog-bench-interop-java-'));
  const zk = await startZooKeeper({ forceSync: false });
  const root = '/ledgers';
  const uri = `zk+hierarchical://${zk.connectString}${root}`;
  const store = await ZkMetadataStore.connect(zk.connectString);
  const harness = await JavaHarness.start(javaBin, args.bk);
  await harness.call('init', uri);
  await harness.close();
  const bookies = await Promise.all([0, 1, 2].map((i) => JavaBookie.start(javaBin, args.bk, store, root,
    { metadataServiceUri: uri, dir: path.join(tmp, `b${i}`), storage: 'db', bench: true })));
  await store.close();
  return {
    kind: 'java', zk: zk.connectString, root, pids: bookies.map((b) => b.pid ?? -1),
    stop: async () => {
      await Promise.all(bookies.map((b) => b.kill('SIGTERM')));
      await zk.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

type Results = Map<string, Sample>;

/** Every row against one set of bookies: `<part> <client> <row>` → median sample. */
async function measure(javaBin: string, bookies: Bookies): Promise<Results> {
  const out: Results = new Map();
  const store = await ZkMetadataStore.connect(bookies.zk);
  const client = await LedgerClient.open({ store, ledgersRoot: bookies.root });
  const harness = await JavaHarness.start(javaBin, args.bk, true);
  const at = `on ${bookies.kind} bookies`;
  try {
    // the Java client rate-limits each ledger handle to `throttle` (5,000) adds/s by default; ours has no such limit
    await harness.call('bk', `zk+hierarchical://${bookies.zk}${bookies.root}`, 'throttle=0');
    if (PARTS.has('a') || PARTS.has('b')) {
      for (const { ensemble, inFlight } of LEDGER_ROWS) {
        const row = `E${ensemble} ${inFlight}`;
        const ack = Math.min(ensemble, 2);
        const ours = await medianOf(async (seconds) => {
          const lh = await client.createLedger({ ensembleSize: ensemble, writeQuorumSize: ensemble, ackQuorumSize: ack, digest: 'CRC32C' });
          const payload = Buffer.alloc(SIZE, 7);
          try {
            return await nodeRun(() => lh.addEntry(payload), inFlight, seconds, bookies.pids);
          } finally {
            await lh.close();
          }
        });
        out.set(`ledger ours ${row}`, ours);
        line(`our client ${at}, ${row}`, ours, 'adds');
        if (!PARTS.has('b')) continue;
        const java = await medianOf((seconds) => javaRun(harness, ['benchadd', ensemble, ensemble, ack, inFlight, seconds, SIZE], bookies.pids));
        out.set(`ledger java ${row}`, java);
        line(`Java client ${at}, ${row}`, java, 'adds');
      }
    }
    if (PARTS.has('c')) {
      const nsUri = `distributedlog://${bookies.zk}/messaging-bench/ns`;
      await harness.call('dlbind', nsUri, bookies.zk, bookies.root);
      const ns = await Namespace.open(nsUri);
      try {
        let n = 0;
        for (const inFlight of DL_ROWS) {
          const ours = await medianOf(async (seconds) => {
            const log = await ns.openLog(`ours-${n++}`, { create: true });
            const writer = await log.openWriter();
            const payload = Buffer.alloc(SIZE, 0x61);
            let txid = 1n;
            try {
              return await nodeRun(() => writer.asyncWrite({ txid: txid++, payload }), inFlight, seconds, bookies.pids);
            } finally {
              await writer.close();
            }
          });
          out.set(`dl ours ${inFlight}`, ours);
          line(`our LogWriter ${at}, ${inFlight} in flight`, ours, 'recs');
          for (const [mode, settings] of JAVA_DL_MODES) {
            if (mode === 'batched' && inFlight === 1) continue; // one at a time never fills a buffer: the periodic flush would set the pace
            await harness.call('dlns', nsUri, ...settings);
            const java = await medianOf((seconds) => javaRun(harness, ['benchdl', `java-${n++}`, inFlight, seconds, SIZE], bookies.pids));
            out.set(`dl java-${mode} ${inFlight}`, java);
            line(`Java AsyncLogWriter (${mode}) ${at}, ${inFlight} in flight`, java, 'recs');
          }
        }
      } finally {
        await ns.close();
      }
    }
  } finally {
    await harness.close();
    await client.close();
    await store.close();
  }
  return out;
}

const javaBin = findJavaToolchain();
if (javaBin === null) throw new Error('bench:interop needs JDK 17 and Maven');
console.log(`bookkeeper-server / distributedlog-core ${args.bk}; Java bookies: DbLedgerStorage, journalSyncData=true; `
  + `${SIZE} B; ${RUNS} runs of ${SECONDS} s per row after a ${WARMUP} s warm-up, medians; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const results = new Map<Bookies['kind'], Results>();
for (const start of [ourBookies, () => javaBookies(javaBin)]) {
  const bookies = await start();
  try {
    results.set(bookies.kind, await measure(javaBin, bookies));
  } finally {
    await bookies.stop();
  }
}
const ours = results.get('ours') ?? new Map<string, Sample>();
const java = results.get('java') ?? new Map<string, Sample>();
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : `${fmt(a / b, 2)}x`);
if (PARTS.has('a')) {
  console.log('\n(a) our bookie / Java bookie, under our client: adds/s, bookie CPU per add (below 1 = ours cheaper)');
  for (const { ensemble, inFlight } of LEDGER_ROWS) {
    const key = `ledger ours E${ensemble} ${inFlight}`;
    console.log(`E${ensemble} ${String(inFlight).padStart(3)} in flight: adds/s ${ratio(ours.get(key)?.rate, java.get(key)?.rate)}   bookie CPU/add ${ratio(ours.get(key)?.bookieUs, java.get(key)?.bookieUs)}`);
  }
}
if (PARTS.has('b')) {
  console.log('\n(b) our client / Java client, same bookies: adds/s, client CPU per add (below 1 = ours cheaper)');
  for (const [kind, r] of results) {
    for (const { ensemble, inFlight } of LEDGER_ROWS) {
      const o = r.get(`ledger ours E${ensemble} ${inFlight}`);
      const j = r.get(`ledger java E${ensemble} ${inFlight}`);
      console.log(`${kind} bookies, E${ensemble} ${String(inFlight).padStart(3)} in flight: adds/s ${ratio(o?.rate, j?.rate)}   client CPU/add ${ratio(o?.clientUs, j?.clientUs)}`);
    }
  }
}
if (PARTS.has('c')) {
  console.log('\n(c) our LogWriter / Java AsyncLogWriter: records/s, p50, p99 (latency below 1 = ours faster)');
  for (const [kind, r] of results) {
    for (const inFlight of DL_ROWS) {
      const o = r.get(`dl ours ${inFlight}`);
      for (const [mode] of JAVA_DL_MODES) {
        const j = r.get(`dl java-${mode} ${inFlight}`);
        if (j === undefined) continue;
        console.log(`${kind} bookies, ${String(inFlight).padStart(3)} in flight, Java ${mode}: records/s ${ratio(o?.rate, j.rate)}   p50 ${ratio(o?.p50, j.p50)}   p99 ${ratio(o?.p99, j.p99)}`);
      }
    }
  }
}
