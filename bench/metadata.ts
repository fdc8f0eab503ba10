// Pipelined create/get throughput through the MetadataStore adapters vs the raw ZooKeeper client on
// the same server, and the local backend. Rounds alternate raw/adapter so drift on a noisy machine
// hits both; medians and ratios are what to compare.
//   npm run build && node --import tsx bench/metadata.ts [--ops 20000] [--window 1000] [--rounds 3]
// DLOG_BENCH_ZK=host:port uses an existing server instead of starting one.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zookeeper from 'node-zookeeper-client';
// the built library, as users run it (tsx would add its own per-function helpers to src/)
import { LocalMetadataStore, ZkMetadataStore, type MetadataStore } from '../lib/metadata/index.js';
import { startZooKeeper } from '../lib/cli/zookeeper-server.js';
import { benchArgs } from './bench-args.js';
import { fmt, median, pipelined } from './stats.js';

const args = benchArgs({ ops: 20_000, window: 1000, rounds: 3 });
const OPS = args.ops;
const WINDOW = args.window;
const ROUNDS = args.rounds;
const PAYLOAD = randomBytes(100);

function rawConnect(connectString: string): Promise<zookeeper.Client> {
  return new Promise((resolve) => {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 30000 });
    c.once('connected', () => { resolve(c); });
    c.connect();
  });
}

function rawCall(fn: (cb: (err: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => { fn((err) => { if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err))); else resolve(); }); });
}

type Bench = (root: string) => Promise<{ create: number; get: number }>;

function adapterBench(store: MetadataStore): Bench {
  return async (root) => {
    await store.create(root);
    const create = await pipelined(OPS, WINDOW, (i) => store.create(`${root}/n${i}`, PAYLOAD));
    const get = await pipelined(OPS, WINDOW, (i) => store.get(`${root}/n${i}`));
    return { create, get };
  };
}

function rawBench(client: zookeeper.Client): Bench {
  return async (root) => {
    await rawCall((cb) => { client.create(root, cb); });
    const create = await pipelined(OPS, WINDOW, (i) => rawCall((cb) => { client.create(`${root}/n${i}`, PAYLOAD, cb); }));
    const get = await pipelined(OPS, WINDOW, (i) => rawCall((cb) => { client.getData(`${root}/n${i}`, cb); }));
    return { create, get };
  };
}

async function rounds(benches: Record<string, Bench>): Promise<Record<string, { create: number; get: number }>> {
  const results: Record<string, { create: number[]; get: number[] }> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, bench] of Object.entries(benches)) {
      const { create, get } = await bench(`/bench-${name}-${r}-${randomBytes(4).toString('hex')}`);
      const acc = (results[name] ??= { create: [], get: [] });
      acc.create.push(create);
      acc.get.push(get);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { create: median(v.create), get: median(v.get) }]));
}

function print(title: string, results: Record<string, { create: number; get: number }>, base?: string): void {
  console.log(`\n${title} (${fmt(OPS)} ops of ${PAYLOAD.length} B, ${WINDOW} in flight, median of ${ROUNDS} rounds)`);
  console.log('backend'.padEnd(22) + 'create ops/s'.padStart(14) + 'get ops/s'.padStart(14) + (base ? '  vs ' + base : ''));
  const ref = base ? results[base] : undefined;
  for (const [name, r] of Object.entries(results)) {
    const ratio = ref ? `  create ${fmt(r.create / ref.create, 2)}x, get ${fmt(r.get / ref.get, 2)}x` : '';
    console.log(name.padEnd(22) + fmt(r.create).padStart(14) + fmt(r.get).padStart(14) + ratio);
  }
}

async function main(): Promise<void> {
  const server = process.env.DLOG_BENCH_ZK ? undefined : await startZooKeeper();
  const connectString = process.env.DLOG_BENCH_ZK ?? server?.connectString ?? '';
  const raw = await rawConnect(connectString);
  const adapter = await ZkMetadataStore.connect(connectString);
  print(`ZooKeeper ${connectString}`, await rounds({ 'raw client': rawBench(raw), 'zk adapter': adapterBench(adapter) }), 'raw client');
  raw.close();
  await adapter.close();
  await server?.stop();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-bench-local-'));
  const local = await LocalMetadataStore.open(dir);
  print(`local backend ${dir}`, await rounds({ local: adapterBench(local) }));
  await local.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
