// The log API through the built library (`lib/index.js`), E3 W3 A2 on 3 bookie PROCESSES and a real
// ZooKeeper (or any namespace with --uri, e.g. local:/tmp/x): one asyncWrite at a time (p50/p99),
// pipelined 1 KiB and 100 B records (records/s, MB/s, client CPU µs per record), end-to-end tail
// latency at a fixed rate, and catch-up reads of the 1 KiB log from its start.
//   npm run build && node --import tsx bench/log.ts [--seconds 3] [--rate 10000] [--uri <ns-uri>]
//     [--only catch-up]   (only the catch-up rows: write the 1 KiB log and a log of 1-record entries, read both back)
//   BENCH_PROFILE_WINDOWS=1 prints each catch-up row's time window for cutting --cpu-prof profiles to it
import os from 'node:os';
import type { DistributedLog, Namespace } from '../lib/index.js';
import { BenchRecorder, type SeriesRecorder } from '../lib/cli/bench-result.js';
import { benchArgs } from './bench-args.js';
import { withBenchNamespace } from './bookie-cluster.js';
import { fmt, percentile } from './stats.js';

const args = benchArgs({ seconds: 3, rate: 10_000, uri: null, only: null });
if (args.only !== undefined && args.only !== 'catch-up') throw new Error(`--only takes catch-up, not ${args.only}`);
const CATCH_UP_ONLY = args.only === 'catch-up';
const SECONDS = args.seconds;
const RATE = args.rate;
/** Per-row latency histograms and throughput over time, for `dlog bench log --report`. */
const recorder = new BenchRecorder();

/**
 * cpuUs: this process's CPU (user + system) per record written, in µs: the client plus the lanes.
 * perEntry: records per entry (batching), from the DLSNs (an entry's first record has slot 0).
 */
interface Row { readonly records: number; readonly perSec: number; readonly mbPerSec: number; readonly p50: number; readonly p99: number; readonly cpuUs: number; readonly perEntry: number }

const sorted = (xs: number[]): number[] => xs.sort((a, b) => a - b);

/** `window` writers each awaiting its own asyncWrite, for SECONDS; latencies in ms. */
async function writeRow(log: DistributedLog, size: number, window: number, series?: SeriesRecorder, maxEntryBytes?: number): Promise<Row> {
  const writer = await log.openWriter(maxEntryBytes === undefined ? {} : { maxEntryBytes });
  const payload = Buffer.alloc(size, 0x61);
  const lat: number[] = [];
  let txid = 0n;
  let entries = 0;
  const start = performance.now();
  const cpuAtStart = process.cpuUsage();
  series?.restart(start);
  const end = start + SECONDS * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      const dlsn = await writer.asyncWrite({ txid: txid++, payload });
      if (dlsn.slotId === 0n) entries++;
      const now = performance.now();
      lat.push(now - t);
      series?.op(now - t, now);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const cpu = process.cpuUsage(cpuAtStart);
  series?.finish();
  const seconds = (performance.now() - start) / 1000;
  await writer.close();
  sorted(lat);
  return { records: lat.length, perSec: lat.length / seconds, mbPerSec: (lat.length * size) / seconds / 1e6, p50: percentile(lat, 50), p99: percentile(lat, 99), cpuUs: (cpu.user + cpu.system) / lat.length, perEntry: lat.length / entries };
}

/** Writes RATE records/s (in 1 ms ticks) while a reader tails; write call -> read, and ack -> read. */
async function tailRow(log: DistributedLog): Promise<{ fromWrite: number[]; fromAck: number[] }> {
  const writer = await log.openWriter();
  // from the acked DLSN: getLastDLSN() does not see a record whose LAC has not reached the bookies yet
  const first = await writer.asyncWrite({ txid: 0n, payload: Buffer.from('start') });
  const reader = await log.openReader({ from: first.next() });
  const total = RATE * SECONDS;
  const written = new Float64Array(total);
  const acked = new Float64Array(total);
  const read = new Float64Array(total);
  const reads = recorder.series(`tail at ${fmt(RATE)} records/s (100 B): write call -> reader receives`);
  const consume = (async () => {
    for (let got = 0; got < total;) {
      const recs = await reader.readBulk(1000, { waitMs: 1000 });
      for (const rec of recs) {
        read[Number(rec.txid) - 1] = performance.now();
        got++;
      }
      reads.count(recs.length);
    }
    reads.finish();
  })();
  const payload = Buffer.alloc(100, 0x62);
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
    for (; i < due; i++) {
      const at = i;
      written[at] = performance.now();
      pending.push(writer.asyncWrite({ txid: BigInt(at + 1), payload }).then(() => { acked[at] = performance.now(); }));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  await consume;
  await reader.close();
  await writer.close();
  const fromWrite: number[] = [];
  const fromAck: number[] = [];
  for (let i = 0; i < total; i++) {
    fromWrite.push((read[i] ?? 0) - (written[i] ?? 0));
    fromAck.push(Math.max(0, (read[i] ?? 0) - (acked[i] ?? 0)));
    reads.latency(fromWrite[i] as number);
  }
  const ackSeries = recorder.series(`tail at ${fmt(RATE)} records/s (100 B): ack -> reader receives`);
  for (const ms of fromAck) ackSeries.latency(ms);
  return { fromWrite: sorted(fromWrite), fromAck: sorted(fromAck) };
}

/** Reads the whole log from its start: records/s and MB/s, and the reader process's CPU per record. */
async function catchUpRow(log: DistributedLog, expected: number, label: string): Promise<{ perSec: number; mbPerSec: number; usPerRecord: number }> {
  const reader = await log.openReader();
  let records = 0;
  let bytes = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  const series = recorder.series(`catch-up read of ${fmt(expected)} x ${label} from the start`, start);
  while (records < expected) {
    const recs = await reader.readBulk(10_000, { waitMs: 1000 });
    for (const rec of recs) {
      records++;
      bytes += rec.payload.length;
    }
    series.count(recs.length);
  }
  series.finish();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  // to cut every process's --cpu-prof down to this row (profile times are CLOCK_MONOTONIC microseconds, as hrtime)
  if (process.env['BENCH_PROFILE_WINDOWS'] !== undefined) console.error(`profile window ${label}: ${startedAt / 1000n}-${process.hrtime.bigint() / 1000n} us`);
  await reader.close();
  return { perSec: records / seconds, mbPerSec: bytes / seconds / 1e6, usPerRecord: (used.user + used.system) / records };
}

async function printCatchUp(log: DistributedLog, records: number, label: string): Promise<void> {
  const c = await catchUpRow(log, records, label);
  console.log(`catch-up read of ${fmt(records)} x ${label} from the start | ${fmt(c.perSec)} records/s, ${fmt(c.mbPerSec, 1)} MB/s, reader CPU ${fmt(c.usPerRecord, 2)} us/record`);
}

/** The catch-up rows alone: a 1 KiB log written pipelined (batched entries) and a 100 B log of 1-record entries, each read back from its start. */
async function catchUpOnly(ns: Namespace): Promise<void> {
  const batched = await ns.openLog(`c-1024-${Date.now()}`, { create: true });
  const b = await writeRow(batched, 1024, 5000);
  const single = await ns.openLog(`c-single-${Date.now()}`, { create: true });
  const s = await writeRow(single, 100, 2000, undefined, 1);
  console.log(`wrote ${fmt(b.records)} x 1 KiB (${fmt(b.perSec)}/s) and ${fmt(s.records)} x 100 B one record per entry (${fmt(s.perSec)}/s)\n`);
  await printCatchUp(batched, b.records, '1 KiB');
  await printCatchUp(single, s.records, '100 B 1-record entries');
}

/** Every row: writes, tail, catch-up of the pipelined 1 KiB log. */
async function allRows(ns: Namespace): Promise<void> {
  console.log('\nwrites                      | records/s     MB/s   p50 ms  p99 ms | client µs/rec  rec/entry');
  let oneKiB: { log: DistributedLog; records: number } | undefined;
  for (const [size, window] of [[1024, 1], [1024, 5000], [100, 20000]] as const) {
    const log = await ns.openLog(`w-${size}-${window}-${Date.now()}`, { create: true });
    const label = `${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} x ${window} in flight`;
    const r = await writeRow(log, size, window, recorder.series(`writes, ${label}`));
    if (size === 1024 && window > 1) oneKiB = { log, records: r.records };
    console.log(`${label.padEnd(27)} | ${fmt(r.perSec).padStart(9)} ${fmt(r.mbPerSec, 1).padStart(8)} ${fmt(r.p50, 2).padStart(7)} ${fmt(r.p99, 2).padStart(7)} | ${fmt(r.cpuUs, 1).padStart(13)} ${fmt(r.perEntry, 1).padStart(10)}`);
  }

  const tail = await tailRow(await ns.openLog(`tail-${Date.now()}`, { create: true }));
  console.log(`\ntail at ${fmt(RATE)} records/s (100 B)  | p50 ms  p99 ms  max ms`);
  console.log(`write call -> reader receives  | ${fmt(percentile(tail.fromWrite, 50), 2).padStart(6)} ${fmt(percentile(tail.fromWrite, 99), 2).padStart(7)} ${fmt(tail.fromWrite.at(-1) ?? NaN, 2).padStart(7)}`);
  console.log(`ack -> reader receives         | ${fmt(percentile(tail.fromAck, 50), 2).padStart(6)} ${fmt(percentile(tail.fromAck, 99), 2).padStart(7)} ${fmt(tail.fromAck.at(-1) ?? NaN, 2).padStart(7)}`);

  if (oneKiB !== undefined) {
    console.log('');
    await printCatchUp(oneKiB.log, oneKiB.records, '1 KiB');
  }
}

await withBenchNamespace('log', { uri: args.uri }, async ({ ns, uri }) => {
  console.log(`log bench: ${uri.startsWith('local:') ? 'embedded' : '3 bookie processes'}, E3 W3 A2, ${os.cpus().length} CPUs, ${SECONDS} s per row, node ${process.version}`);
  await writeRow(await ns.openLog(`warmup-${Date.now()}`, { create: true }), 1024, 100);
  if (CATCH_UP_ONLY) await catchUpOnly(ns);
  else await allRows(ns);
  recorder.save();
});
