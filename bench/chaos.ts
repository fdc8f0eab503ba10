// A randomized fault run: a real ZooKeeper, four bookie processes each behind a fault proxy, two
// writers and two tailing readers (each writer reaching ZooKeeper through a proxy of its own, the
// readers through another, the bookies through a third), E3 W3 A2. Faults come one at a time,
// drawn round by round from a seeded shuffle of every kind, so that a one-minute run injects each
// kind at least once: a bookie SIGSTOPped, SIGKILLed + restarted, blackholed, reset, delayed; its
// disk filled (each bookie's ledger dir is a small tmpfs: the bookie turns read-only, is SIGKILLed
// and restarted on the full disk, must start read-only, then turn writable once space frees; needs
// root, otherwise reported as not run); ZooKeeper blackholed for the clients or the bookies
// (shorter than their sessions); a writer cut off from ZooKeeper past its session while a second
// writer takes the log over (the history checker's fencing rule). A writer that fails is
// reopened with a backoff, as a user's retry loop would; the table counts its failures by where
// they happened and why. At the end everything is healed, a last writer per log recovers what a
// failed one left in progress (as DL's next writer would), each log is read back from its start
// and the history checker runs; the table says what was injected (every kind, with its count) and
// found, and the exit code is 1 on any violation. A lost record is printed with its writer, txid,
// DLSN and segment, and the run's timeline of faults and writers.
//   npm run chaos -- --minutes 2 --seed 1 [--timeline]   (the timeline is printed on a failure, or always)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startZooKeeper } from '../src/cli/zookeeper-server.js';
import { DLogError } from '../src/errors.js';
import type { DLSN } from '../src/log/format/dlsn.js';
import { Namespace } from '../src/log/namespace.js';
import type { LogSegmentMetadata } from '../src/log/metadata/log-segment-metadata.js';
import type { LogWriter } from '../src/log/writer/log-writer.js';
import { ZkMetadataStore } from '../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../test/support/bookie-process.js';
import { FaultProxy } from '../test/support/fault-proxy.js';
import { History, recordKey, writerOf, type HistoryReport } from '../test/support/history.js';
import { drainAcked, type DrainResult } from '../test/support/log-history.js';
import { seededRandom } from '../test/support/prng.js';
import { fillDisk } from '../test/support/tmpfs.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' }, timeline: { type: 'boolean', default: false } },
});
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
    // the journal on the host's disk: one 4 KiB-aligned group per add (these writers wait for each
    // ack) filled a 128 MiB tmpfs in about 20 s, and every bookie turned read-only by itself for
    // the rest of the run (writers then failed with NOT_ENOUGH_BOOKIES); the disk checked is the ledger dir's
    journalDir: path.join(dir, `journal-${i}`),
    extraArgs: ['--disk-check-interval-ms', '500'],
  }));
}
const setup = await ZkMetadataStore.connect(zk.connectString);
await setup.create(nsRoot, Buffer.from(`1\nBKDL\n${JSON.stringify({ 2: { str: ledgersRoot }, 3: { tf: 1 }, 4: { tf: 0 } })}`));
const uri = `zk://${clientZk.address}${nsRoot}`;

const FAULT_KINDS = [
  'SIGSTOP bookie', 'SIGKILL bookie', 'blackhole bookie', 'reset bookie', 'delay bookie', 'disk full bookie',
  'blackhole ZooKeeper (clients)', 'blackhole ZooKeeper (bookies)', 'writer fenced (cut off from ZooKeeper)',
] as const;
type FaultKind = typeof FAULT_KINDS[number];
const faults = new Map<string, number>(FAULT_KINDS.map((k) => [k, 0]));
/** Writer failures by when (at open, writing, at close), whether its ZooKeeper link was cut meanwhile, and code. */
const writerFailures = new Map<string, number>();
const count = (counts: Map<string, number>, key: string): void => { counts.set(key, (counts.get(key) ?? 0) + 1); };
const codeOf = (err: unknown): string => (err instanceof DLogError ? err.code : err instanceof Error ? err.name : String(err));
const describe = (err: unknown): string => (err instanceof Error ? `${codeOf(err)}: ${err.message.split('\n')[0] ?? ''}` : String(err));

/** A user's retry loop: the first retry 200 ms after a failure, doubling while failures repeat, at most 3.2 s. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 3200;
/** A writer that wrote this long was healthy: its failure starts the backoff over. */
const HEALTHY_MS = 5000;
const backoffMs = (failuresInARow: number): number => Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failuresInARow - 1));

/** What happened when (faults, writers, usurpers), printed to explain a violation; bounded. */
const timeline: string[] = [];
const MAX_TIMELINE = 20_000;
let started = Date.now();
function note(what: string): void {
  if (timeline.length < MAX_TIMELINE) timeline.push(`${((Date.now() - started) / 1000).toFixed(2).padStart(7)} s  ${what}`);
}

/** Each bookie's registration as ZooKeeper has it, and its disk use: a bookie that stays out of the writable set shows here. */
async function bookieStates(): Promise<string> {
  const writable = new Set(await setup.children(`${ledgersRoot}/available`).catch(() => []));
  const readOnly = new Set(await setup.children(`${ledgersRoot}/available/readonly`).catch(() => []));
  return proxies.map((p, i) => {
    const state = writable.has(p.address) ? 'writable' : readOnly.has(p.address) ? 'read-only' : 'unregistered';
    const disk = diskFaults ? statfsSync(path.join(dir, `disk-${i}`)) : undefined;
    return `${i} ${state}${disk ? ` (disk ${Math.round(100 * (1 - disk.bavail / disk.blocks))}% used)` : ''}`;
  }).join(', ');
}

/** Per log: how often its writers' ZooKeeper link was cut, and whether it is cut now. */
const zkCuts = new Map(LOGS.map((l) => [l, { count: 0, now: false }]));
function cutWriterZk(logName: string): void {
  const cuts = zkCuts.get(logName) as { count: number; now: boolean };
  cuts.count++;
  cuts.now = true;
  (writerZk.get(logName) as FaultProxy).set({ kind: 'blackhole' });
}
function healWriterZk(logName: string): void {
  (zkCuts.get(logName) as { now: boolean }).now = false;
  (writerZk.get(logName) as FaultProxy).heal();
}

/** Per log: the lane's writer whose open succeeded and that has not ended yet (the one a usurper fences). */
const openWriters = new Map<string, string>();
const histories = new Map(LOGS.map((l) => [l, new History()]));
const stalls = { write: 0, read: 0 };
const state = { running: true };
/** Read through a call: loops test it after awaits that may have changed it. */
const running = (): boolean => state.running;

/** One writer lane per log: writes until the run ends, reopening its writer after a failure (with a backoff). */
async function writeLane(logName: string): Promise<void> {
  const history = histories.get(logName) as History;
  const cuts = zkCuts.get(logName) as { count: number; now: boolean };
  let failuresInARow = 0;
  for (let generation = 0; running(); generation++) {
    const name = `${logName}/g${generation}`;
    const cutAtStart = cuts.now;
    const cutsAtStart = cuts.count;
    let phase: 'at open' | 'writing' | 'at close' = 'at open';
    let openedAt = Date.now();
    let ns: Namespace | undefined;
    let writer: LogWriter | undefined;
    let failed = false;
    try {
      ns = await Namespace.open(`zk://${(writerZk.get(logName) as FaultProxy).address}${nsRoot}`, { sessionTimeoutMs: CLIENT_SESSION_MS });
      writer = await (await ns.openLog(logName, { create: true })).openWriter({ lockTimeoutMs: 30_000 });
      openWriters.set(logName, name);
      phase = 'writing';
      openedAt = Date.now();
      note(`${name} opened (last txid ${writer.lastTxId})`);
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
      phase = 'at close';
      await writer.close();
      note(`${name} closed`);
    } catch (err) {
      failed = true;
      const cut = cutAtStart || cuts.now || cuts.count !== cutsAtStart;
      count(writerFailures, `${phase}, ${cut ? 'its ZooKeeper link cut' : 'links healthy'}: ${codeOf(err)}`);
      note(`${name} failed ${phase}${cut ? ' (its ZooKeeper link cut)' : ''}: ${describe(err)}`);
      await writer?.abort().catch(() => undefined);
    } finally {
      if (openWriters.get(logName) === name) openWriters.delete(logName);
      await ns?.close().catch(() => undefined);
    }
    if (failed) {
      failuresInARow = phase !== 'at open' && Date.now() - openedAt >= HEALTHY_MS ? 1 : failuresInARow + 1;
      await sleep(backoffMs(failuresInARow));
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
    let from: DLSN | undefined;
    while (running()) {
      const reader = await log.openReader(from === undefined ? {} : { from: from.next() });
      try {
        while (running()) {
          for (const r of await reader.readBulk(1000, { waitMs: 500 })) {
            history.read(`tail ${logName}`, r.payload.toString(), r.txid, r.dlsn);
            from = r.dlsn;
            last = Date.now();
          }
          // caught up when nothing acknowledged lies ahead (not a count of reads: records a failed
          // writer wrote without an ack are read too, which kept this stall near 0 ms)
          const lastAcked = history.acks().at(-1)?.dlsn;
          if (lastAcked === undefined || (from !== undefined && lastAcked.compare(from) <= 0)) last = Date.now();
          stalls.read = Math.max(stalls.read, Date.now() - last);
        }
      } catch {
        count(faults, 'reader reopened');
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
    count(faults, 'disk full: no start on the full disk');
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
  const history = histories.get(logName) as History;
  const name = `${logName}/usurper-${faults.get('writer fenced (cut off from ZooKeeper)')}`;
  // only a writer that had opened is fenced: one still opening gets the lock after the usurper's
  // close (its link is cut until then), and its acknowledgements after the usurper's are its right
  let fenced = openWriters.get(logName);
  cutWriterZk(logName);
  note(`${name} opening (the lane's open writer: ${fenced ?? 'none'})`);
  const ns = await Namespace.open(`zk://${zk.connectString}${nsRoot}`);
  let writer: LogWriter | undefined;
  try {
    writer = await (await ns.openLog(logName, { create: true })).openWriter({ lockTimeoutMs: 4 * CLIENT_SESSION_MS });
    fenced ??= openWriters.get(logName);
    note(`${name} opened, fencing ${fenced ?? 'no writer'}`);
    if (fenced !== undefined) history.fenced(fenced, name);
    let txid = writer.lastTxId + 1n;
    for (let seq = 0; seq < 50; seq++) {
      const key = recordKey(name, seq);
      const id = txid++;
      history.attempted(key, id);
      history.acked(key, await writer.asyncWrite({ txid: id, payload: Buffer.from(key) }));
    }
    await writer.close();
    note(`${name} closed`);
  } catch (err) {
    // the usurper may fail as any writer may, in its recovery of the old segment or later (e.g.
    // NOT_ENOUGH_BOOKIES while bookies excluded by earlier faults come back): the history checks
    // what it acked, and the fencing check applies once it opened
    count(faults, 'usurper failed');
    note(`${name} failed: ${describe(err)}`);
    await writer?.abort().catch(() => undefined);
  } finally {
    healWriterZk(logName);
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
    count(faults, kind);
    note(`fault: ${kind}${kind.endsWith('bookie') ? ` ${i} (${proxy.address})` : ''}`);
    switch (kind) {
      case 'SIGSTOP bookie': bookie.pause(); await sleep(FAULT_MS); bookie.resume(); break;
      case 'SIGKILL bookie': await bookie.kill(); await sleep(FAULT_MS); await bookie.restart(); break;
      case 'blackhole bookie': proxy.set({ kind: 'blackhole' }); await sleep(FAULT_MS); proxy.heal(); break;
      case 'reset bookie': proxy.set({ kind: 'reset' }); await sleep(200); proxy.heal(); break;
      case 'delay bookie': proxy.set({ kind: 'delay', ms: 200 }); await sleep(FAULT_MS); proxy.heal(); break;
      case 'disk full bookie': await diskFull(i); break;
      case 'blackhole ZooKeeper (clients)':
        clientZk.set({ kind: 'blackhole' });
        for (const l of LOGS) cutWriterZk(l);
        await sleep(FAULT_MS);
        clientZk.heal();
        for (const l of LOGS) healWriterZk(l);
        break;
      case 'blackhole ZooKeeper (bookies)': bookieZk.set({ kind: 'blackhole' }); await sleep(FAULT_MS); bookieZk.heal(); break;
      case 'writer fenced (cut off from ZooKeeper)': await fenceWriter(pick(LOGS)); break;
    }
    note(`healed: ${kind}; bookies ${await bookieStates()}`);
  }
}

/**
 * After the run a log's last writer may have failed and left its segment in progress: what it
 * acknowledged past the last LAC a bookie saw is readable once a writer recovers the segment, as
 * DL's next writer does (readers never recover: that would fence a live writer). So a last writer
 * per log opens (recovering) and closes, retried as the lanes do, for up to 60 s.
 */
async function seal(ns: Namespace): Promise<void> {
  for (const logName of LOGS) {
    const log = await ns.openLog(logName);
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; attempt++) {
      let writer: LogWriter | undefined;
      try {
        writer = await log.openWriter({ lockTimeoutMs: 30_000 });
        await writer.close();
        note(`${logName}: its last writer recovered it and closed (attempt ${attempt})`);
        break;
      } catch (err) {
        await writer?.abort().catch(() => undefined);
        note(`${logName}: its last writer failed (attempt ${attempt}): ${describe(err)}`);
        if (Date.now() + backoffMs(attempt) > deadline) throw new Error(`no writer could open ${logName} to recover it within 60 s of the run's end: ${describe(err)}`, { cause: err });
        await sleep(backoffMs(attempt));
      }
    }
  }
}

interface CatchUp extends DrainResult {
  /** The log's last user record after the seal (undefined: empty). */
  readonly end: DLSN | undefined;
  readonly segments: readonly LogSegmentMetadata[];
}

/** Reads each log from its start into `catch-up <log>`; bounded so a stuck read fails the run. */
async function catchUp(ns: Namespace): Promise<Map<string, CatchUp>> {
  const results = new Map<string, CatchUp>();
  for (const logName of LOGS) {
    const history = histories.get(logName) as History;
    const log = await ns.openLog(logName);
    const reader = await log.openReader();
    let drained: DrainResult;
    try {
      drained = await drainAcked(reader, history, `catch-up ${logName}`, { deadline: Date.now() + 60_000, idleReads: 2 });
    } finally {
      await reader.close();
    }
    const end = await log.getLastDLSN().catch(() => undefined);
    results.set(logName, { ...drained, end, segments: await log.getLogSegments() });
  }
  return results;
}

/**
 * An acknowledged record the catch-up did not read is lost when the reader went past it or the
 * recovered log ends before it; after the reader's last record and within the log, the read only
 * stopped at its deadline first (not reached: a stuck read, a failure of its own, not a loss).
 */
const isLost = (dlsn: DLSN, c: CatchUp): boolean =>
  (c.last !== undefined && dlsn.compare(c.last) < 0) || c.end === undefined || dlsn.compare(c.end) > 0;

/** One lost record: what it was, where the log put it, what the segment says now, and its writer's story. */
function explainLost(logName: string, key: string, dlsn: DLSN, c: CatchUp): string {
  const segment = c.segments.find((s) => s.logSegmentSequenceNo === dlsn.logSegmentSequenceNo);
  const where = segment === undefined ? `segment ${dlsn.logSegmentSequenceNo} is no longer in the log`
    : `segment ${segment.logSegmentSequenceNo} (ledger ${segment.logSegmentId}) ${segment.inProgress ? 'in progress'
      : `completed at entry ${segment.lastEntryId} slot ${segment.lastSlotId}, ${segment.recordCount} records`}`;
  const writer = writerOf(key);
  const story = timeline.filter((line) => line.includes(`${writer} `) || line.endsWith(writer) || line.includes(`${logName}: `));
  return [
    `LOST ${key} (txid ${(histories.get(logName) as History).txidOf(key)}, acknowledged at ${dlsn.toString()}): ${where};`
      + ` the catch-up read up to ${c.last?.toString() ?? 'nothing'}, the log ends at ${c.end?.toString() ?? 'nothing'}`,
    ...story.map((line) => `    ${line}`),
  ].join('\n');
}

started = Date.now();
const lanes = [...LOGS.map(writeLane), ...LOGS.map(tailLane), faultLane()];
// settled from the start: a lane that throws early is reported below, not an unhandled rejection
const settled = Promise.allSettled(lanes);
await sleep(RUN_MS);
state.running = false;
const laneFailures = (await settled).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
for (const b of bookies) b.resume();
note(`run ended: lanes settled, bookies resumed; bookies ${await bookieStates()}`);
const finalNs = await Namespace.open(`zk://${zk.connectString}${nsRoot}`);
let sealFailure: unknown;
let caughtUp: Map<string, CatchUp>;
try {
  await seal(finalNs).catch((err: unknown) => { sealFailure = err; });
  caughtUp = await catchUp(finalNs);
} finally {
  await finalNs.close();
}

const reports: HistoryReport[] = LOGS.map((l) => (histories.get(l) as History).check([`catch-up ${l}`]));
const total = (k: keyof Omit<HistoryReport, 'violations'>): number => reports.reduce((n, r) => n + r[k], 0);
const unread = LOGS.flatMap((l) => [...(caughtUp.get(l) as CatchUp).unread].map(([key, dlsn]) => ({ logName: l, key, dlsn, c: caughtUp.get(l) as CatchUp })));
const lost = unread.filter((u) => isLost(u.dlsn, u.c));
const notReached = unread.length - lost.length;
const rows: [string, string][] = [
  ...[...faults].map(([k, n]): [string, string] => [`faults: ${k}`, k === 'disk full bookie' && !diskFaults ? 'not run (a tmpfs needs root)' : String(n)]),
  ['writer failures (each reopened)', String([...writerFailures.values()].reduce((a, b) => a + b, 0))],
  ...[...writerFailures].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]): [string, string] => [`  ${k}`, String(n)]),
  ['records acked', String(total('acked'))],
  ['lost', String(lost.length)],
  ['not reached by the catch-up read', String(notReached)],
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
// lost records are listed with their story below; the checker's own lost lines would repeat them
const violations = reports.flatMap((r) => r.violations).filter((v) => v.kind !== 'lost');
for (const v of violations) process.stdout.write(`VIOLATION ${v.kind}: ${v.detail}\n`);
for (const u of lost.slice(0, 20)) process.stdout.write(`${explainLost(u.logName, u.key, u.dlsn, u.c)}\n`);
for (const [logName, c] of caughtUp) {
  const ahead = [...c.unread].filter(([, dlsn]) => !isLost(dlsn, c));
  if (ahead.length > 0) {
    process.stdout.write(`NOT REACHED: the catch-up of ${logName} stopped at its deadline at ${c.last?.toString() ?? 'its start'} with ${ahead.length} acknowledged records ahead, the first ${ahead[0]?.[0]} at ${ahead[0]?.[1].toString()} (log end ${c.end?.toString()})\n`);
  }
}
// a lane that died stopped writing, reading or injecting faults: the run proved less than it says
for (const err of laneFailures) process.stdout.write(`LANE FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
if (sealFailure !== undefined) process.stdout.write(`SEAL FAILED: ${describe(sealFailure)}\n`);
const passed = violations.length === 0 && unread.length === 0 && laneFailures.length === 0 && sealFailure === undefined && total('acked') > 0;
if (!passed || values.timeline) process.stdout.write(`timeline:\n${timeline.map((line) => `  ${line}`).join('\n')}\n`);

await setup.close();
await killAllBookieProcesses();
for (const p of [...proxies, clientZk, bookieZk, ...writerZk.values()]) await p.close();
await zk.stop();
for (const m of mounts) execFileSync('umount', [m]);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(passed ? 'chaos: no violations\n' : 'chaos: FAILED\n');
process.exit(passed ? 0 : 1);
