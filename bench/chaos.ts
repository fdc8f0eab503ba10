// A randomized fault run: a real ZooKeeper, four bookie processes each behind a fault proxy, two
// writers and two tailing readers (each client reaching ZooKeeper through another proxy, the
// bookies through a third), E3 W3 A2. Faults are drawn from a seeded PRNG, one bookie at a time:
// SIGSTOP, SIGKILL + restart, blackhole, reset, delay; ZooKeeper blackholed for the clients or the
// bookies (shorter than their sessions). A writer that fails is reopened. At the end everything is
// healed, each log is read back from its start and the history checker runs; the table says what
// was injected and found, and the exit code is 1 on any violation.
//   npm run chaos -- --minutes 2 --seed 1
import { mkdtempSync, rmSync } from 'node:fs';
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
const ledgersRoot = '/chaos-ledgers';
const nsRoot = '/chaos-ns';
const proxies: FaultProxy[] = [];
const bookies: BookieProcess[] = [];
for (let i = 0; i < 4; i++) {
  const port = await freePort();
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
  proxies.push(proxy);
  bookies.push(await startBookieProcess({
    metadata: `zk://${bookieZk.address}${ledgersRoot}`, dir: path.join(dir, `bookie-${i}`), port, bookieId: proxy.address, sessionTimeoutMs: 6000,
  }));
}
const setup = await ZkMetadataStore.connect(zk.connectString);
await setup.create(nsRoot, Buffer.from(`1\nBKDL\n${JSON.stringify({ 2: { str: ledgersRoot }, 3: { tf: 1 }, 4: { tf: 0 } })}`));
await setup.close();
const uri = `zk://${clientZk.address}${nsRoot}`;

const faults = new Map<string, number>();
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
    let ns: Namespace | undefined;
    let writer: LogWriter | undefined;
    try {
      ns = await Namespace.open(uri, { sessionTimeoutMs: CLIENT_SESSION_MS });
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

/** Injects one fault at a time, each for FAULT_MS, until the run ends. */
async function faultLane(): Promise<void> {
  while (running()) {
    await sleep(1000 + random() * 2000);
    const i = Math.floor(random() * bookies.length);
    const bookie = bookies[i] as BookieProcess;
    const proxy = proxies[i] as FaultProxy;
    const kind = pick(['SIGSTOP bookie', 'SIGKILL bookie', 'blackhole bookie', 'reset bookie', 'delay bookie', 'blackhole ZooKeeper (clients)', 'blackhole ZooKeeper (bookies)']);
    faults.set(kind, (faults.get(kind) ?? 0) + 1);
    switch (kind) {
      case 'SIGSTOP bookie': bookie.pause(); await sleep(FAULT_MS); bookie.resume(); break;
      case 'SIGKILL bookie': await bookie.kill(); await sleep(FAULT_MS); await bookie.restart(); break;
      case 'blackhole bookie': proxy.set({ kind: 'blackhole' }); await sleep(FAULT_MS); proxy.heal(); break;
      case 'reset bookie': proxy.set({ kind: 'reset' }); await sleep(200); proxy.heal(); break;
      case 'delay bookie': proxy.set({ kind: 'delay', ms: 200 }); await sleep(FAULT_MS); proxy.heal(); break;
      case 'blackhole ZooKeeper (clients)': clientZk.set({ kind: 'blackhole' }); await sleep(FAULT_MS); clientZk.heal(); break;
      case 'blackhole ZooKeeper (bookies)': bookieZk.set({ kind: 'blackhole' }); await sleep(FAULT_MS); bookieZk.heal(); break;
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
      while (history.readCount(`catch-up ${logName}`) < history.ackedCount && Date.now() < deadline) {
        for (const r of await reader.readBulk(1000, { waitMs: 1000 })) history.read(`catch-up ${logName}`, r.payload.toString(), r.txid, r.dlsn);
      }
      await reader.close();
    }
  } finally {
    await ns.close();
  }
}

const started = Date.now();
const lanes = [...LOGS.map(writeLane), ...LOGS.map(tailLane), faultLane()];
await sleep(RUN_MS);
state.running = false;
await Promise.allSettled(lanes);
for (const b of bookies) b.resume();
await catchUp();

const reports: HistoryReport[] = LOGS.map((l) => (histories.get(l) as History).check([`catch-up ${l}`]));
const total = (k: keyof Omit<HistoryReport, 'violations'>): number => reports.reduce((n, r) => n + r[k], 0);
const rows: [string, string][] = [
  ...[...faults].sort().map(([k, n]): [string, string] => [`faults: ${k}`, String(n)]),
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

await killAllBookieProcesses();
for (const p of [...proxies, clientZk, bookieZk]) await p.close();
await zk.stop();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(violations.length === 0 && total('acked') > 0 ? 'chaos: no violations\n' : 'chaos: FAILED\n');
process.exit(violations.length === 0 && total('acked') > 0 ? 0 : 1);
