// Readers with one replica hung (SIGSTOP: a GC pause, a dead disk and a blackhole look the same),
// against the healthy baseline, on a real ZooKeeper and four bookie processes, E3 W3 A2, 100 B
// records:
// - tailing: a writer paced at RATE records/s, a tailing reader in another namespace; ack→read
//   latency (the reader's read time minus the writer's ack time, one process) p50/p99/p99.9/max,
//   healthy for TAIL_S seconds, then with one bookie of the writer's ensemble hung;
// - catch-up: a reader in a fresh namespace reads the whole log (CATCH_UP records) from the start,
//   healthy and with the hung bookie; records/s overall and after the first second.
// Targets (issue 15): tail p99 <= 100 ms while a replica is hung; catch-up >= 0.5x the healthy rate.
//   node --import tsx bench/faults-hung.ts [--rate 500] [--tail-seconds 10] [--catch-up 20000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startZooKeeper } from '../src/cli/zookeeper-server.js';
import type { DistributedLog } from '../src/log/distributed-log.js';
import { Namespace } from '../src/log/namespace.js';
import type { LogWriter } from '../src/log/writer/log-writer.js';
import { ZkMetadataStore } from '../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../test/support/bookie-process.js';
import { benchArgs } from './bench-args.js';
import { fmt, percentile } from './stats.js';

const args = benchArgs({ rate: 500, 'tail-seconds': 10, 'catch-up': 20_000 });
const RATE = args.rate;
const TAIL_MS = args['tail-seconds'] * 1000;
const CATCH_UP = args['catch-up'];
const PAYLOAD = Buffer.alloc(100, 7);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-faults-hung-'));
const zk = await startZooKeeper({ forceSync: false });
const ledgersRoot = '/hung-ledgers';
const nsRoot = '/hung-ns';
const bookies: BookieProcess[] = [];
for (let i = 0; i < 4; i++) bookies.push(await startBookieProcess({ metadata: `zk://${zk.connectString}${ledgersRoot}`, dir: path.join(dir, `bookie-${i}`), sessionTimeoutMs: 6000 }));
const setup = await ZkMetadataStore.connect(zk.connectString);
await setup.create(nsRoot, Buffer.from(`1\nBKDL\n${JSON.stringify({ 2: { str: ledgersRoot }, 3: { tf: 1 }, 4: { tf: 0 } })}`));
await setup.close();
const uri = `zk://${zk.connectString}${nsRoot}`;

const writerNs = await Namespace.open(uri);
const log = await writerNs.openLog('hung', { create: true });
const writer = await log.openWriter();
let txid = 1n;
const ackedAt = new Map<bigint, number>();

/** Writes at RATE records/s for `ms`, noting each ack's time. */
async function paced(w: LogWriter, ms: number): Promise<void> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; performance.now() - start < ms; i++) {
    const due = start + (i * 1000) / RATE;
    if (due > performance.now()) await sleep(due - performance.now());
    const id = txid++;
    pending.push(w.asyncWrite({ txid: id, payload: PAYLOAD }).then(() => { ackedAt.set(id, performance.now()); }));
  }
  await Promise.all(pending);
}

/** A tailing reader noting ack→read latencies into `into` until stopped. */
function tail(from: DistributedLog, into: { latencies: number[] }, state: { stop: boolean }): Promise<void> {
  return (async () => {
    // at the tail: what was written before is not what this measures
    const last = await from.getLastDLSN().catch(() => undefined);
    const reader = await from.openReader(last === undefined ? {} : { from: last.next() });
    try {
      while (!state.stop) {
        for (const r of await reader.readBulk(1000, { waitMs: 100 })) {
          const acked = ackedAt.get(r.txid);
          // a read can beat the ack callback by a tick: count it as 0
          into.latencies.push(acked === undefined ? 0 : Math.max(0, performance.now() - acked));
        }
      }
    } finally {
      await reader.close();
    }
  })();
}

async function tailPhase(): Promise<number[]> {
  const readerNs = await Namespace.open(uri);
  const into = { latencies: [] as number[] };
  const state = { stop: false };
  const reading = tail(await readerNs.openLog('hung'), into, state);
  await sleep(500); // the reader is at the tail before the measured writes
  into.latencies.length = 0;
  await paced(writer, TAIL_MS);
  await sleep(1000); // the last acks reach the reader
  state.stop = true;
  await reading;
  await readerNs.close();
  return into.latencies.sort((a, b) => a - b);
}

/** Reads the whole log from a fresh namespace: records/s overall and after the first second. */
async function catchUp(): Promise<{ total: number; rate: number; rateAfterFirstSecond: number }> {
  const ns = await Namespace.open(uri);
  const reader = await (await ns.openLog('hung')).openReader();
  const want = Number(txid - 1n);
  const start = performance.now();
  let read = 0;
  let atOneSecond: number | undefined;
  while (read < want) {
    read += (await reader.readBulk(1000, { waitMs: 1000 })).length;
    if (atOneSecond === undefined && performance.now() - start >= 1000) atOneSecond = read;
  }
  const seconds = (performance.now() - start) / 1000;
  await reader.close();
  await ns.close();
  const first = atOneSecond ?? read;
  return { total: seconds, rate: read / seconds, rateAfterFirstSecond: seconds > 1 ? (read - first) / (seconds - 1) : read / seconds };
}

const healthyTail = await tailPhase();
const window: Promise<unknown>[] = [];
while (txid <= BigInt(CATCH_UP)) {
  window.push(writer.asyncWrite({ txid: txid++, payload: PAYLOAD }));
  if (window.length >= 200) await Promise.all(window.splice(0));
}
await Promise.all(window);
const healthyCatchUp = await catchUp();

// hang a bookie of the writer's current ensemble (and of the segments' ensembles before it)
const segments = await log.getLogSegments();
const ledgerId = segments.at(-1)?.logSegmentId;
if (ledgerId === undefined) throw new Error('no segment');
const ensemble = (await writerNs.getLedgerMetadata(ledgerId)).ensembles[0]?.[1] ?? [];
const hung = bookies.find((b) => ensemble.includes(b.bookieId));
if (hung === undefined) throw new Error(`no bookie of ensemble ${ensemble.join(',')} found`);
hung.pause();
const hungTail = await tailPhase();
const hungCatchUp = await catchUp();
hung.resume();

const row = (name: string, xs: number[]): [string, string] => [name, `p50 ${fmt(percentile(xs, 50), 1)}  p99 ${fmt(percentile(xs, 99), 1)}  p99.9 ${fmt(percentile(xs, 99.9), 1)}  max ${fmt(xs.at(-1) ?? NaN, 1)} ms  (${xs.length} records)`];
const rows: [string, string][] = [
  row('tail ack->read, healthy', healthyTail),
  row('tail ack->read, 1 replica hung', hungTail),
  ['catch-up, healthy', `${fmt(healthyCatchUp.rate)} records/s (${fmt(healthyCatchUp.rateAfterFirstSecond)}/s after the first second), ${fmt(healthyCatchUp.total, 2)} s`],
  ['catch-up, 1 replica hung', `${fmt(hungCatchUp.rate)} records/s (${fmt(hungCatchUp.rateAfterFirstSecond)}/s after the first second), ${fmt(hungCatchUp.total, 2)} s`],
  ['catch-up hung/healthy', `${fmt(hungCatchUp.rate / healthyCatchUp.rate, 2)}x (after the first second ${fmt(hungCatchUp.rateAfterFirstSecond / healthyCatchUp.rateAfterFirstSecond, 2)}x)`],
  ['setup', `${RATE} records/s paced for ${TAIL_MS / 1000} s per tail phase, ${Number(txid - 1n)} records caught up, 100 B, E3 W3 A2, 4 bookie processes, load ${os.loadavg()[0]?.toFixed(1)}`],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);

await writer.close();
await writerNs.close();
await killAllBookieProcesses();
await zk.stop();
rmSync(dir, { recursive: true, force: true });
