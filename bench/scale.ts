// Many logs at once through the built library (`lib/index.js`), E3 W3 A2 on 3 bookie PROCESSES and a
// real ZooKeeper (or any namespace with --uri): N logs with one writer each and K records in flight
// per log (write p50/p99/p99.9, records/s, CPU µs per record in the client and per add in each
// bookie, RSS), then a fan-out row: R tailing readers over L logs, in this process or spread over P
// reader processes, at a fixed write rate (ack -> read p50/p99, ZooKeeper requests/s in steady state
// over every process, RSS of this process plus the reader processes).
//   npm run build && node --import tsx bench/scale.ts [--logs 1,100,1000] [--sizes 100,1024]
//     [--inflight 1] [--seconds 5] [--readers 100] [--reader-logs 1,100] [--reader-procs 1,4]
//     [--rate 1000] [--uri <ns-uri>]
//     [--idle 1000]
//   (--readers 0 skips the fan-out rows; --logs 0 skips the write rows; --idle N adds a row of memory
//   per idle open writer and per idle tailing reader over N logs; run with node --expose-gc for it)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Namespace, type DistributedLog, type LogReader, type LogWriter } from '../lib/index.js';
import { BenchRecorder, type SeriesRecorder } from '../lib/cli/bench-result.js';
import { benchArgs } from './bench-args.js';
import { withBenchNamespace } from './bookie-cluster.js';
import { fmt, percentile } from './stats.js';

const args = benchArgs({
  logs: [1, 100, 1000], sizes: [100, 1024], inflight: [1], seconds: 5, readers: [100],
  'reader-logs': [1, 100], 'reader-procs': [1, 4], rate: 1000, idle: 0, uri: null,
});
const SECONDS = args.seconds;
const RATE = args.rate;
/** Opens and closes run this many at a time, so ZooKeeper is not flooded with 10,000 at once. */
const OPEN_WINDOW = 200;
/** At most this many ack -> read samples per reader and log. */
const SAMPLES_PER_READER = 1000;

/** Per-row latency histograms and throughput over time, for `dlog bench scale --report`. */
const recorder = new BenchRecorder();

const CLK_TCK = 100;
const PAGE = 4096;

/** CPU seconds (user + system) and RSS bytes of another process, from /proc. */
function procUsage(pid: number): { cpu: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime #14, stime #15
  const rss = Number(fields[21]) * PAGE; // rss #24, in pages
  return { cpu, rss };
}

/** CPU seconds of this process and of each bookie process, for deltas over a measured window. */
function cpuSnapshot(pids: readonly number[]): { client: number; bookies: number[] } {
  const u = process.cpuUsage();
  return { client: (u.user + u.system) / 1e6, bookies: pids.map((p) => procUsage(p).cpu) };
}

function zkRequests(ns: Namespace): number {
  const store = ns.metadataStore as unknown as { requestCount?: number };
  return store.requestCount ?? NaN;
}

/** Runs `task` over 0..n-1 with at most `window` at a time. */
async function forAll(n: number, window: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, window) }, lane));
}

async function openLogs(ns: Namespace, prefix: string, n: number): Promise<DistributedLog[]> {
  const logs: DistributedLog[] = new Array<DistributedLog>(n);
  await forAll(n, OPEN_WINDOW, async (i) => { logs[i] = await ns.openLog(`${prefix}-${i}`, { create: true }); });
  return logs;
}

async function openWriters(logs: readonly DistributedLog[]): Promise<LogWriter[]> {
  const writers: LogWriter[] = new Array<LogWriter>(logs.length);
  await forAll(logs.length, OPEN_WINDOW, async (i) => { writers[i] = await (logs[i] as DistributedLog).openWriter(); });
  return writers;
}

async function closeAll(handles: ReadonlyArray<{ close(): Promise<void> }>): Promise<void> {
  await forAll(handles.length, OPEN_WINDOW, async (i) => { await handles[i]?.close(); });
}

interface WriteRow {
  readonly records: number;
  readonly entries: number;
  readonly perSec: number;
  readonly lat: number[];
  readonly clientUs: number;
  readonly bookieUs: number[];
  readonly clientRss: number;
  readonly bookieRss: number[];
  readonly openSeconds: number;
  /** Writes that failed (each ends its writer). */
  readonly failed: number;
}

/** N logs, one writer each, K writes in flight per log for SECONDS. */
async function writeRow(ns: Namespace, pids: readonly number[], n: number, size: number, k: number, series: SeriesRecorder): Promise<WriteRow> {
  const openStart = performance.now();
  const writers = await openWriters(await openLogs(ns, `scale-${n}x${k}-${size}-${Date.now()}`, n));
  const openSeconds = (performance.now() - openStart) / 1000;
  const payload = Buffer.alloc(size, 0x61);
  const txids = new Array<bigint>(n).fill(0n);
  const lat: number[] = [];
  let entries = 0;
  let failed = 0;
  let measuring = false;
  let stop = false;
  const lane = async (w: number): Promise<void> => {
    const writer = writers[w] as LogWriter;
    while (!stop) {
      const txid = (txids[w] = (txids[w] as bigint) + 1n);
      const t = performance.now();
      const dlsn = await writer.asyncWrite({ txid, payload }).catch(() => undefined);
      if (dlsn === undefined) {
        failed++; // a failed write ends its writer (sticky): this lane stops
        return;
      }
      if (!measuring) continue;
      const now = performance.now();
      lat.push(now - t);
      series.op(now - t, now);
      if (dlsn.slotId === 0n) entries++; // the first record of an entry: one add per bookie of its write set
    }
  };
  const lanes: Promise<void>[] = [];
  for (let w = 0; w < n; w++) for (let j = 0; j < k; j++) lanes.push(lane(w));
  // one second of warm-up (JIT, connections, first segments) before the measured window
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = cpuSnapshot(pids);
  measuring = true;
  const start = performance.now();
  series.restart(start);
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  measuring = false;
  series.finish();
  const seconds = (performance.now() - start) / 1000;
  const after = cpuSnapshot(pids);
  const clientRss = process.memoryUsage().rss;
  const bookieRss = pids.map((p) => procUsage(p).rss);
  stop = true;
  await Promise.all(lanes);
  await closeAll(writers).catch(() => undefined);
  lat.sort((a, b) => a - b);
  const records = lat.length;
  return {
    records,
    entries,
    perSec: records / seconds,
    lat,
    clientUs: ((after.client - before.client) * 1e6) / records,
    bookieUs: after.bookies.map((c, i) => ((c - (before.bookies[i] ?? 0)) * 1e6) / entries),
    clientRss,
    bookieRss,
    openSeconds,
    failed,
  };
}

interface FanOutRow {
  readonly lat: number[];
  readonly zkPerSec: number;
  /** This process's RSS plus that of the reader processes. */
  readonly clientRss: number;
  readonly written: number;
  readonly lost: number;
}

/** Milliseconds comparable across the processes of one machine (ack times here, read times in children). */
const clock = (): number => performance.timeOrigin + performance.now();

/** What a set of tailing readers saw: per reader, the read time of every sampled record (NaN if never read). */
interface Tailed {
  readonly readTimes: Float64Array[];
  readonly lost: number;
}

interface TailJob {
  /** Global index of the first reader: reader g tails logs[g % logs.length]. */
  readonly first: number;
  readonly count: number;
  readonly perLog: number;
  readonly stride: number;
}

/**
 * Opens the job's readers, then tails until each has read `perLog` records; resolves once they are
 * open. `onRead` hears of every batch read (records, performance.now()).
 */
async function startTailing(logs: readonly DistributedLog[], job: TailJob, onRead?: (records: number, now: number) => void): Promise<{ done: Promise<Tailed>; close(): Promise<void> }> {
  const readers: LogReader[] = new Array<LogReader>(job.count);
  await forAll(job.count, OPEN_WINDOW, async (r) => {
    readers[r] = await (logs[(job.first + r) % logs.length] as DistributedLog).openReader();
  });
  const samples = Math.ceil(job.perLog / job.stride);
  const readTimes = readers.map(() => new Float64Array(samples).fill(NaN));
  let lost = 0;
  const consumers = readers.map(async (reader, r) => {
    const times = readTimes[r] as Float64Array;
    // txids as numbers: a BigInt per record and reader was most of this process's garbage
    let expected = 1;
    for (let got = 0; got < job.perLog;) {
      const recs = await reader.readBulk(1000, { waitMs: 1000 });
      const now = clock();
      for (const rec of recs) {
        const txid = Number(rec.txid);
        if (txid !== expected) lost++; // out of order, skipped or repeated
        expected = txid + 1;
        const i = txid - 1;
        if (i % job.stride === 0) times[i / job.stride] = now;
      }
      got += recs.length;
      onRead?.(recs.length, performance.now());
    }
  });
  return {
    done: Promise.all(consumers).then(() => ({ readTimes, lost })),
    close: () => closeAll(readers),
  };
}

/** Messages of a reader process (FAN_CHILD) to the bench. */
type ChildMessage =
  | { readonly kind: 'zk'; readonly requests: number }
  | { readonly kind: 'done'; readonly readTimes: (number | null)[][]; readonly lost: number; readonly rss: number }
  | { readonly kind: 'failed'; readonly error: string };

/** The tailing readers of one row, in this process or spread over child processes. */
interface ReaderSide {
  /** ZooKeeper requests so far, over every process. */
  zkRequests(): Promise<number>;
  finish(): Promise<Tailed & { readonly rss: number }>;
}

async function localReaders(ns: Namespace, logs: readonly DistributedLog[], job: TailJob, series: SeriesRecorder): Promise<ReaderSide> {
  const tailing = await startTailing(logs, job, (records, now) => { series.count(records, now); });
  return {
    zkRequests: () => Promise.resolve(zkRequests(ns)),
    finish: async () => {
      const tailed = await tailing.done;
      const rss = process.memoryUsage().rss;
      await tailing.close();
      return { ...tailed, rss };
    },
  };
}

/** `procs` processes of this script, each with its own namespace and its share of the readers. */
async function childReaders(ns: Namespace, logs: readonly DistributedLog[], job: TailJob, procs: number): Promise<ReaderSide> {
  const children = Array.from({ length: procs }, (_, p) => {
    const first = Math.floor((job.count * p) / procs);
    const count = Math.floor((job.count * (p + 1)) / procs) - first;
    const spec = { uri: ns.uri, logs: logs.map((l) => l.name), job: { ...job, first, count } };
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, FAN_CHILD: JSON.stringify(spec) },
    });
    const messages: ChildMessage[] = [];
    const waiters: (() => void)[] = [];
    child.on('message', (m: ChildMessage) => { messages.push(m); waiters.splice(0).forEach((w) => { w(); }); });
    // 'close' (not 'exit', which can come before the last messages) ends the message stream
    let closed = false;
    child.once('close', () => {
      closed = true;
      waiters.splice(0).forEach((w) => { w(); });
    });
    const next = async (): Promise<ChildMessage> => {
      for (;;) {
        const m = messages.shift();
        if (m?.kind === 'failed') throw new Error(`reader process: ${m.error}`);
        if (m !== undefined) return m;
        if (closed) throw new Error(`reader process exited with ${child.exitCode}`);
        await new Promise<void>((resolve) => { waiters.push(resolve); });
      }
    };
    return { child, next };
  });
  // each child reports its ZooKeeper count once its readers are open, then whenever asked
  await Promise.all(children.map((c) => c.next()));
  const ask = async (): Promise<number> => {
    for (const c of children) c.child.send('zk');
    const counts = await Promise.all(children.map((c) => c.next()));
    return counts.reduce((sum, m) => sum + (m.kind === 'zk' ? m.requests : 0), zkRequests(ns));
  };
  return {
    zkRequests: ask,
    finish: async () => {
      for (const c of children) c.child.send('finish');
      const done = await Promise.all(children.map((c) => c.next()));
      let lost = 0;
      let rss = process.memoryUsage().rss;
      const readTimes: Float64Array[] = [];
      for (const m of done) {
        if (m.kind !== 'done') throw new Error(`reader process answered ${m.kind}`);
        lost += m.lost;
        rss += m.rss;
        readTimes.push(...m.readTimes.map((t) => Float64Array.from(t, (x) => x ?? NaN)));
      }
      return { readTimes, lost, rss };
    },
  };
}

/** A reader process of childReaders: tails its share, answers 'zk' and 'finish'. */
async function runFanChild(spec: { uri: string; logs: string[]; job: TailJob }): Promise<void> {
  const send = (m: ChildMessage): Promise<void> => new Promise((resolve) => { process.send?.(m, undefined, {}, () => { resolve(); }); });
  const childNs = await Namespace.open(spec.uri);
  try {
    const logs = await Promise.all(spec.logs.map((name) => childNs.openLog(name)));
    const tailing = await startTailing(logs, spec.job);
    let failure: string | undefined;
    tailing.done.catch((err: unknown) => { failure = String(err); });
    const finished = new Promise<void>((resolve) => {
      process.on('message', (m) => {
        if (m === 'zk') void send({ kind: 'zk', requests: zkRequests(childNs) });
        else if (m === 'finish') resolve();
      });
    });
    await send({ kind: 'zk', requests: zkRequests(childNs) });
    await finished;
    const tailed = await tailing.done.catch(() => undefined);
    if (tailed === undefined) await send({ kind: 'failed', error: failure ?? 'tailing failed' });
    // NaN does not survive JSON: never-read samples go as null
    else await send({ kind: 'done', readTimes: tailed.readTimes.map((t) => Array.from(t, (x) => (Number.isNaN(x) ? null : x))), lost: tailed.lost, rss: process.memoryUsage().rss });
    await tailing.close();
  } finally {
    await childNs.close();
    if (process.connected) process.disconnect();
  }
}

/**
 * L logs written at RATE records/s in all; R readers (R/L per log) tail them from the end, in `procs`
 * processes (reads/s over time are recorded for in-process readers only).
 */
async function fanOutRow(ns: Namespace, readersTotal: number, logCount: number, procs: number, series: SeriesRecorder): Promise<FanOutRow> {
  const logs = await openLogs(ns, `fan-${readersTotal}x${logCount}-${Date.now()}`, logCount);
  const writers = await openWriters(logs);
  const perLog = Math.floor((RATE * SECONDS) / logCount);
  const stride = Math.max(1, Math.ceil(perLog / SAMPLES_PER_READER));
  const samples = Math.ceil(perLog / stride);
  const job: TailJob = { first: 0, count: readersTotal, perLog, stride };
  const readers = procs <= 1 ? await localReaders(ns, logs, job, series) : await childReaders(ns, logs, job, procs);
  // ack times of sampled records, per log
  const acked = logs.map(() => new Float64Array(samples).fill(NaN));
  let failed = 0;
  const payload = Buffer.alloc(100, 0x62);
  const pending: Promise<unknown>[] = [];
  const total = perLog * logCount;
  const zkBefore = await readers.zkRequests();
  const start = performance.now();
  series.restart(start);
  for (let i = 0; i < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
    for (; i < due; i++) {
      const log = i % logCount;
      const seq = Math.floor(i / logCount);
      const writing = (writers[log] as LogWriter).asyncWrite({ txid: BigInt(seq + 1), payload });
      const sampled = seq % stride === 0;
      pending.push(writing.then(
        () => { if (sampled) (acked[log] as Float64Array)[seq / stride] = clock(); },
        () => { failed++; },
      ));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const zkPerSec = (await readers.zkRequests() - zkBefore) / ((performance.now() - start) / 1000);
  await Promise.all(pending);
  if (failed > 0) throw new Error(`fan-out row: ${failed} writes failed (overloaded machine?)`);
  const tailed = await readers.finish();
  series.finish();
  await closeAll(writers).catch(() => undefined); // a writer that failed rejects its close with that error
  const lat: number[] = [];
  tailed.readTimes.forEach((times, r) => {
    const ackOf = acked[r % logCount] as Float64Array;
    for (let s = 0; s < samples; s++) lat.push(Math.max(0, (times[s] as number) - (ackOf[s] as number)));
  });
  lat.sort((a, b) => a - b);
  for (const ms of lat) series.latency(ms);
  return { lat, zkPerSec, clientRss: tailed.rss, written: total, lost: tailed.lost };
}

/** Heap + off-heap bytes in use after a full GC (when node runs with --expose-gc). */
function liveBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Bytes per idle writer (one record written, so its segment and ledger are open) and per idle tailing reader. */
async function idleRow(ns: Namespace, n: number): Promise<{ perWriter: number; perReader: number }> {
  const logs = await openLogs(ns, `idle-${n}-${Date.now()}`, n);
  const base = liveBytes();
  const writers = await openWriters(logs);
  await forAll(n, OPEN_WINDOW, async (i) => { await (writers[i] as LogWriter).asyncWrite({ txid: 1n, payload: Buffer.alloc(100) }); });
  const withWriters = liveBytes();
  const readers: LogReader[] = new Array<LogReader>(n);
  await forAll(n, OPEN_WINDOW, async (i) => {
    const reader = await (logs[i] as DistributedLog).openReader();
    await reader.readNext(); // caught up: from now on it long-polls the in-progress segment
    readers[i] = reader;
  });
  const withReaders = liveBytes();
  await closeAll(readers);
  await closeAll(writers);
  return { perWriter: (withWriters - base) / n, perReader: (withReaders - withWriters) / n };
}

const mb = (bytes: number): string => fmt(bytes / 2 ** 20);

const fanChild = process.env['FAN_CHILD'];
if (fanChild !== undefined) {
  await runFanChild(JSON.parse(fanChild) as { uri: string; logs: string[]; job: TailJob });
  process.exit(0);
}

await withBenchNamespace('scale', { uri: args.uri }, async ({ ns, uri, cluster }) => {
  const pids = cluster?.bookiePids ?? [];
  console.log(`scale bench: ${cluster ? '3 bookie processes' : uri}, E3 W3 A2, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${SECONDS} s per row, node ${process.version}`);
  if (pids.length === 0) console.log('(no bookie processes: bookie CPU and RSS are not shown; in-process bookies count as client CPU)');
  const rows = args.logs;
  if (rows.length > 0) {
    console.log('\nlogs x in flight, size | records/s   p50 ms  p99 ms p99.9 ms | client µs/rec  bookie µs/add (each) | RSS MB client  bookies | open s');
    for (const n of rows) {
      for (const k of args.inflight) {
        for (const size of args.sizes) {
          const name = `${fmt(n)} x ${k}, ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`;
          const r = await writeRow(ns, pids, n, size, k, recorder.series(`writes, ${name} (logs x in flight, size)`));
          const label = name.padEnd(22);
          const bookieUs = r.bookieUs.map((u) => fmt(u, 1)).join(' / ');
          console.log(
            `${label} | ${fmt(r.perSec).padStart(9)} ${fmt(percentile(r.lat, 50), 2).padStart(8)} ${fmt(percentile(r.lat, 99), 2).padStart(7)} ${fmt(percentile(r.lat, 99.9), 2).padStart(8)}`
            + ` | ${fmt(r.clientUs, 1).padStart(13)}  ${(bookieUs || 'n/a').padEnd(20)}`
            + ` | ${mb(r.clientRss).padStart(13)}  ${r.bookieRss.map(mb).join(' / ') || 'n/a'} | ${fmt(r.openSeconds, 1)}`
            + (r.entries !== r.records ? `  (${fmt(r.records / r.entries, 2)} records per entry)` : '')
            + (r.failed > 0 ? `  ${r.failed} WRITES FAILED` : ''),
          );
        }
      }
    }
  }
  const idle = args.idle;
  if (idle > 0) {
    const m = await idleRow(ns, idle);
    const gc = (globalThis as { gc?: unknown }).gc === undefined ? ' (no --expose-gc: noisy)' : '';
    console.log(`\nidle, ${fmt(idle)} logs: ${fmt(m.perWriter / 1024, 1)} KiB per open writer, ${fmt(m.perReader / 1024, 1)} KiB per tailing reader (heap + external after GC)${gc}`);
  }
  const readerCounts = args.readers;
  if (readerCounts.length > 0) {
    console.log(`\nfan-out at ${fmt(RATE)} records/s in all (100 B) | ack->read p50 ms  p99 ms  max ms | ZK requests/s | client RSS MB | lost`);
    for (const r of readerCounts) {
      for (const l of args['reader-logs']) {
        for (const p of args['reader-procs']) {
          const name = `${fmt(r)} readers over ${fmt(l)} log${l === 1 ? '' : 's'}${p > 1 ? `, ${p} processes` : ''}`;
          const f = await fanOutRow(ns, r, l, p, recorder.series(`fan-out, ${name}: ack -> read, reads/s`));
          const label = name.padEnd(38);
          console.log(
            `${label} | ${fmt(percentile(f.lat, 50), 2).padStart(16)} ${fmt(percentile(f.lat, 99), 2).padStart(7)} ${fmt(f.lat.at(-1) ?? NaN, 2).padStart(7)}`
            + ` | ${fmt(f.zkPerSec, 1).padStart(13)} | ${mb(f.clientRss).padStart(13)} | ${f.lost}`,
          );
        }
      }
    }
  }
  recorder.save();
});
