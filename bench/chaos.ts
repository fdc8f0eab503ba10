// A randomized fault run: a real ZooKeeper, four bookie processes each behind a fault proxy, two
// writers and two tailing readers (each writer reaching ZooKeeper through a proxy of its own, the
// readers through another, the bookies through a third), E3 W3 A2. Faults come one at a time,
// drawn round by round from a seeded shuffle of every kind, so that a one-minute run injects each
// kind at least once: a bookie SIGSTOPped, SIGKILLed + restarted, blackholed, reset, delayed; its
// disk filled (each bookie dir is a small tmpfs: the bookie turns read-only, is SIGKILLed and
// restarted on the full disk, must start read-only, then turn writable once space frees; needs
// root, otherwise reported as not run); ZooKeeper blackholed for the clients or the bookies
// (shorter than their sessions); a writer cut off from ZooKeeper past its session while a second
// writer takes the log over (the history checker's fencing rule). A writer that fails is
// reopened. At the end everything is healed, each log is read back from its start and the history
// checker runs; the table says what was injected (every kind, with its count) and found, and the
// exit code is 1 on any violation.
//   npm run chaos -- --minutes 2 --seed 1
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startZooKeeper } from '../src/cli/zookeeper-server.js';
import { Namespace } from '../src/log/namespace.js';
import type { LogWriter } from '../src/log/writer/log-writer.js';
import { ZkMetadataStore } from '../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../test/support/bookie-process.js';
import { FaultProxy } from '../test/support/fault-proxy.js';
import { History, recordKey, type HistoryReport } from '../test/support/history.js';
import { seededRandom } from '../test/support/prng.js';
import { fillDisk } from '../test/support/tmpfs.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' } } });
const RUN_MS = Number(values.minutes) * 60_000;
const SEED = Number(values.seed);
const LOGS = ['chaos-0', 'chaos-1'];
/** How long one fault lasts before it is healed. */
const FAULT_MS = 3000;
const CLIENT_SESSION_MS = 10_000;

const random = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-chaos-'));
const zk = await startZooKeeper({ forceSync: false });
const clientZk = await FaultProxy.start(zk.connectString);
const bookieZk = await FaultProxy.start(zk.connectString);
/** Each writer lane's own way to ZooKeeper, so that one writer alone can be cut off. */
const writerZk = new Map<string, FaultProxy>();
for (const logName of LOGS) writerZk.set(logName, await FaultProxy.start(zk.connectString));

/** Each bookie's dir on a tmpfs of its own (size TMPFS_MB) when mounting works (root). */
const TMPFS_MB = 128;
const mounts: string[] = [];
function mountTmpfs(at: string): boolean {
  mkdirSync(at, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m`, 'tmpfs', at], { stdio: 'ignore' });
    mounts.push(at);
    return true;
  } catch {
    return false;
  }
}
const ledgersRoot = '/chaos-ledgers';
const nsRoot = '/chaos-ns';
const proxies: FaultProxy[] = [];
const bookies: BookieProcess[] = [];
let diskFaults = true;
for (let i = 0; i < 4; i++) {
  const port = await freePort();
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
  proxies.push(proxy);
  const mount = path.join(dir, `disk-${i}`);
  diskFaults &&= mountTmpfs(mount);
  bookies.push(await startBookieProcess({
    metadata: `zk://${bookieZk.address}${ledgersRoot}`, dir: path.join(mount, 'bookie'), port, bookieId: proxy.address, sessionTimeoutMs: 6000,
    extraArgs: ['--disk-check-interval-ms', '500'],
  }));
}
const setup = await ZkMetadataStore.connect(zk.connectString);
await setup.create(nsRoot, Buffer.from(`1\nBKDL\n${JSON.stringify({ 2: { str: ledgersRoot }, 3: { tf: 1 }, 4: { tf: 0 } })}`));
await setup.close();
const uri = `zk://${clientZk.address}${nsRoot}`;

const FAULT_KINDS = [
  'SIGSTOP bookie', 'SIGKILL bookie', 'blackhole bookie', 'reset bookie', 'delay bookie', 'disk full bookie',
  'blackhole ZooKeeper (clients)', 'blackhole ZooKeeper (bookies)', 'writer fenced (cut off from ZooKeeper)',
] as const;
type FaultKind = typeof FAULT_KINDS[number];
const faults = new Map<string, number>(FAULT_KINDS.map((k) => [k, 0]));
/** The name each log's writer lane writes under now (its generation), for the fencing fault. */
const currentWriter = new Map<string, string>();
const histories = new Map(LOGS.map((l) => [l, new History()]));
const stalls = { write: 0, read: 0 };
const state = { running: true };
/** Read through a call: loops test it after awaits that may have changed it. */
const running = (): boolean => state.running;

/** One writer lane per log: writes until the run ends, reopening its writer after a failure. */
async function writeLane(logName: string): Promise<void> {
  const history = histories.get(logName) as History;
  for (let generation = 0; running(); generation++) {
    const name = `${logName}/g${generation}`;
    currentWriter.set(logName, name);
    let ns: Namespace | undefined;
    let writer: LogWriter | undefined;
    try {
      ns = await Namespace.open(`zk://${(writerZk.get(logName) as FaultProxy).address}${nsRoot}`, { sessionTimeoutMs: CLIENT_SESSION_MS });
      writer = await (await ns.openLog(logName, { create: true })).openWriter({ lockTimeoutMs: 30_000 });
      let txid = writer.lastTxId + 1n;
      let lastAck = Date.now();
      for (let seq = 0; running(); seq++) {
        const key = recordKey(name, seq);
        const id = txid++;
        history.attempted(key, id);
        history.acked(key, await writer.asyncWrite({ txid: id, payload: Buffer.from(key) }));
        stalls.write = Math.max(stalls.write, Date.now() - lastAck);
        lastAck = Date.now();
      }
      await writer.close();
    } catch {
      faults.set('writer reopened', (faults.get('writer reopened') ?? 0) + 1);
      await writer?.abort().catch(() => undefined);
      await sleep(200); // a writer cut off from ZooKeeper fails at once: do not spin
    } finally {
      await ns?.close().catch(() => undefined);
    }
  }
}

/** A tailing reader per log, reopened after a failure, from the position after its last record. */
async function tailLane(logName: string): Promise<void> {
  const history = histories.get(logName) as History;
  const ns = await Namespace.open(uri, { sessionTimeoutMs: CLIENT_SESSION_MS });
  let last = Date.now();
  try {
    const log = await ns.openLog(logName, { create: true });
    let from: import('../src/log/format/dlsn.js').DLSN | undefined;
    while (running()) {
      const reader = await log.openReader(from === undefined ? {} : { from: from.next() });
      try {
        while (running()) {
          for (const r of await reader.readBulk(1000, { waitMs: 500 })) {
            history.read(`tail ${logName}`, r.payload.toString(), r.txid, r.dlsn);
            from = r.dlsn;
            last = Date.now();
          }
          if (history.readCount(`tail ${logName}`) >= history.ackedCount) last = Date.now();
          stalls.read = Math.max(stalls.read, Date.now() - last);
        }
      } catch {
        faults.set('reader reopened', (faults.get('reader reopened') ?? 0) + 1);
      } finally {
        await reader.close();
      }
    }
  } finally {
    await ns.close();
  }
}

/**
 * A disk-full fault: fill the bookie's tmpfs (its adds fail, it turns read-only), SIGKILL it and
 * restart it on the full disk (it must start read-only), free the space (it turns writable).
 */
async function diskFull(i: number): Promise<void> {
  const bookie = bookies[i] as BookieProcess;
  const filler = path.join(dir, `disk-${i}`, 'filler');
  fillDisk(filler);
  await sleep(FAULT_MS);
  await bookie.kill();
  try {
    await bookie.restart();
  } catch (err) {
    faults.set('disk full: no start on the full disk', (faults.get('disk full: no start on the full disk') ?? 0) + 1);
    process.stderr.write(`chaos: bookie ${i} did not start on its full disk: ${String(err)}\n`);
  }
  rmSync(filler);
  if (!bookie.running) await bookie.restart();
}

/**
 * A fencing fault: the log's writer loses ZooKeeper (its own proxy blackholed) while it still
 * reaches the bookies; a second writer, direct to ZooKeeper, waits for the first one's session
 * to expire, takes the lock, recovers and fences the segment, writes, and closes. The first
 * writer must get no acknowledgement after the second one's first (history: afterFencing).
 */
async function fenceWriter(logName: string): Promise<void> {
  const proxy = writerZk.get(logName) as FaultProxy;
  const history = histories.get(logName) as History;
  const fenced = currentWriter.get(logName);
  proxy.set({ kind: 'blackhole' });
  const ns = await Namespace.open(`zk://${zk.connectString}${nsRoot}`);
  let writer: LogWriter | undefined;
  try {
    writer = await (await ns.openLog(logName, { create: true })).openWriter({ lockTimeoutMs: 4 * CLIENT_SESSION_MS });
    const name = `${logName}/usurper-${faults.get('writer fenced (cut off from ZooKeeper)')}`;
    if (fenced !== undefined) history.fenced(fenced, name);
    let txid = writer.lastTxId + 1n;
    for (let seq = 0; seq < 50; seq++) {
      const key = recordKey(name, seq);
      const id = txid++;
      history.attempted(key, id);
      history.acked(key, await writer.asyncWrite({ txid: id, payload: Buffer.from(key) }));
    }
    await writer.close();
  } catch {
    // the usurper may fail as any writer may, in its recovery of the old segment or later (e.g.
    // NOT_ENOUGH_BOOKIES while bookies excluded by earlier faults come back): the history checks
    // what it acked, and the fencing check applies once it opened
    faults.set('usurper failed', (faults.get('usurper failed') ?? 0) + 1);
    await writer?.abort().catch(() => undefined);
  } finally {
    proxy.heal();
    // rejects when the usurper failed (its failure again), counted above
    await ns.close().catch(() => undefined);
  }
}

/** Injects one fault at a time, each for FAULT_MS, until the run ends: each round every kind once, in a seeded order. */
async function faultLane(): Promise<void> {
  let round: FaultKind[] = [];
  while (running()) {
    await sleep(500 + random() * 1000);
    if (!running()) break;
    if (round.length === 0) {
      round = FAULT_KINDS.filter((k) => diskFaults || k !== 'disk full bookie');
      for (let j = round.length - 1; j > 0; j--) {
        const k = Math.floor(random() * (j + 1));
        [round[j], round[k]] = [round[k] as FaultKind, round[j] as FaultKind];
      }
    }
    const kind = round.shift() as FaultKind;
    const i = Math.floor(random() * bookies.length);
    const bookie = bookies[i] as BookieProcess;
    const proxy = proxies[i] as FaultProxy;
    faults.set(kind, (faults.get(kind) ?? 0) + 1);
    switch (kind) {
      case 'SIGSTOP bookie': bookie.pause(); await sleep(FAULT_MS); bookie.resume(); break;
      case 'SIGKILL bookie': await bookie.kill(); await sleep(FAULT_MS); await bookie.restart(); break;
      case 'blackhole bookie': proxy.set({ kind: 'blackhole' }); await sleep(FAULT_MS); proxy.heal(); break;
      case 'reset bookie': proxy.set({ kind: 'reset' }); await sleep(200); proxy.heal(); break;
      case 'delay bookie': proxy.set({ kind: 'delay', ms: 200 }); await sleep(FAULT_MS); proxy.heal(); break;
      case 'disk full bookie': await diskFull(i); break;
      case 'blackhole ZooKeeper (clients)':
        clientZk.set({ kind: 'blackhole' });
        for (const p of writerZk.values()) p.set({ kind: 'blackhole' });
        await sleep(FAULT_MS);
        clientZk.heal();
        for (const p of writerZk.values()) p.heal();
        break;
      case 'blackhole ZooKeeper (bookies)': bookieZk.set({ kind: 'blackhole' }); await sleep(FAULT_MS); bookieZk.heal(); break;
      case 'writer fenced (cut off from ZooKeeper)': await fenceWriter(pick(LOGS)); break;
    }
  }
}

/** Reads each log from its start into `catch-up <log>`; bounded so a stuck read fails the run. */
async function catchUp(): Promise<void> {
  const ns = await Namespace.open(`zk://${zk.connectString}${nsRoot}`);
  try {
    for (const logName of LOGS) {
      const history = histories.get(logName) as History;
      const reader = await (await ns.openLog(logName)).openReader();
      const deadline = Date.now() + 60_000;
      // until every acknowledged record was read: records written but never acknowledged (a
      // writer that failed) are read too, so a count of reads may reach the acks too early
      const unread = new Set(history.ackedKeys());
      for (let idle = 0; Date.now() < deadline && (unread.size > 0 || idle < 2);) {
        const batch = await reader.readBulk(1000, { waitMs: 1000 });
        for (const r of batch) {
          const key = r.payload.toString();
          history.read(`catch-up ${logName}`, key, r.txid, r.dlsn);
          unread.delete(key);
        }
        idle = batch.length === 0 ? idle + 1 : 0;
      }
      await reader.close();
    }
  } finally {
    await ns.close();
  }
}

const started = Date.now();
const lanes = [...LOGS.map(writeLane), ...LOGS.map(tailLane), faultLane()];
// settled from the start: a lane that throws early is reported below, not an unhandled rejection
const settled = Promise.allSettled(lanes);
await sleep(RUN_MS);
state.running = false;
const laneFailures = (await settled).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
for (const b of bookies) b.resume();
await catchUp();

const reports: HistoryReport[] = LOGS.map((l) => (histories.get(l) as History).check([`catch-up ${l}`]));
const total = (k: keyof Omit<HistoryReport, 'violations'>): number => reports.reduce((n, r) => n + r[k], 0);
const rows: [string, string][] = [
  ...[...faults].map(([k, n]): [string, string] => [`faults: ${k}`, k === 'disk full bookie' && !diskFaults ? 'not run (a tmpfs needs root)' : String(n)]),
  ['records acked', String(total('acked'))],
  ['lost', String(total('lost'))],
  ['duplicated', String(total('duplicated'))],
  ['out of order', String(total('outOfOrder'))],
  ['phantom', String(total('phantom'))],
  ['after fencing', String(total('afterFencing'))],
  ['longest write stall', `${stalls.write} ms`],
  ['longest read stall', `${stalls.read} ms`],
  ['run', `${Math.round((Date.now() - started) / 1000)} s, seed ${SEED}`],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
const violations = reports.flatMap((r) => r.violations);
for (const v of violations) process.stdout.write(`VIOLATION ${v.kind}: ${v.detail}\n`);
// a lane that died stopped writing, reading or injecting faults: the run proved less than it says
for (const err of laneFailures) process.stdout.write(`LANE FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
const passed = violations.length === 0 && laneFailures.length === 0 && total('acked') > 0;

await killAllBookieProcesses();
for (const p of [...proxies, clientZk, bookieZk, ...writerZk.values()]) await p.close();
await zk.stop();
for (const m of mounts) execFileSync('umount', [m]);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(passed ? 'chaos: no violations\n' : 'chaos: FAILED\n');
process.exit(passed ? 0 : 1);
