// Ledger storage throughput: adds into storage (write cache, flushes to the entry log and the LMDB
// index included), then random and sequential reads through a fresh instance so that none of the
// storage's own caches are warm. The OS page cache stays warm: Node cannot drop it, so the read
// numbers are CPU + syscall cost, not device latency. CPU µs per operation (process-wide: the
// threadpool and LMDB's write thread included) is printed too, being steadier than rates on a
// shared machine. Each round uses a new directory.
//   node --import tsx bench/ledger-storage.ts [--entries 1000000] [--ledgers 10] [--size 1024]
//     [--reads 200000] [--window 64] [--rounds 3] [--dir /tmp]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LedgerStorage } from '../src/bookie/ledger-storage.js';
import { benchArgs } from './bench-args.js';
import { fmt, median, pipelined } from './stats.js';

const args = benchArgs({ entries: 1_000_000, ledgers: 10, size: 1024, reads: 200_000, window: 64, rounds: 3, dir: os.tmpdir() });
const ENTRIES = args.entries;
const LEDGERS = args.ledgers;
const SIZE = args.size;
const READS = args.reads;
const WINDOW = args.window;
const ROUNDS = args.rounds;
// the sequential rows read ledgers 1 and 2
if (LEDGERS < 3) throw new Error(`--ledgers must be at least 3, not ${LEDGERS}`);
const PER_LEDGER = Math.ceil(ENTRIES / LEDGERS);

interface Round {
  addsPerSec: number;
  addMBps: number;
  addCpuUs: number;
  finalFlushMs: number;
  flushStallMs: number;
  randomCpuUs: number;
  sequentialCpuUs: number;
  randomPerSec: number;
  sequentialPerSec: number;
  sequentialWindowedPerSec: number;
  diskMB: number;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function cpuUsPer(since: NodeJS.CpuUsage, ops: number): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / ops;
}

/** The longest gap between 1 ms timer ticks while `task` runs: how long the event loop was blocked. */
async function maxStallMs(task: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  await task();
  clearInterval(timer);
  return max;
}

async function round(): Promise<Round> {
  const dir = mkdtempSync(path.join(args.dir, 'bench-ledger-storage-'));
  try {
    // one random pool sliced per entry: the storage copies what it keeps, like a socket buffer
    const pool = randomBytes(SIZE * 1024);
    let storage = await LedgerStorage.open({ dir });
    const add = (i: number): Promise<void> => {
      const ledgerId = BigInt(i % LEDGERS);
      const entryId = BigInt(Math.floor(i / LEDGERS));
      const slot = (i % 1024) * SIZE;
      const env = pool.subarray(slot, slot + SIZE);
      env.writeBigUInt64BE(ledgerId, 0);
      env.writeBigUInt64BE(entryId, 8);
      return storage.addEntry(ledgerId, entryId, env);
    };
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (let i = 0; i < ENTRIES; i++) await add(i);
    const flushStart = process.hrtime.bigint();
    await storage.flush();
    const finalFlushMs = seconds(flushStart) * 1000;
    const addSeconds = seconds(start);
    const addCpuUs = cpuUsPer(cpu, ENTRIES);
    // one more half-cache of entries (32 MiB by default), flushed while a timer measures the loop
    for (let i = ENTRIES; i < ENTRIES + (32 << 20) / SIZE - LEDGERS; i++) await add(i);
    const flushStallMs = await maxStallMs(() => storage.flush());
    await storage.close();
    const diskMB = readdirSync(dir).filter((n) => n.endsWith('.log')).reduce((s, n) => s + statSync(path.join(dir, n)).size, 0) / 2 ** 20;

    const check = (env: Buffer, ledgerId: bigint, entryId: bigint): void => {
      if (env.length !== SIZE || env.readBigUInt64BE(0) !== ledgerId || env.readBigUInt64BE(8) !== entryId) throw new Error(`wrong entry ${ledgerId}:${entryId}`);
    };
    storage = await LedgerStorage.open({ dir });
    let since = process.cpuUsage();
    const randomPerSec = await pipelined(READS, WINDOW, async () => {
      const i = Math.floor(Math.random() * ENTRIES);
      const ledgerId = BigInt(i % LEDGERS);
      const entryId = BigInt(Math.floor(i / LEDGERS));
      check(await storage.getEntry(ledgerId, entryId), ledgerId, entryId);
    });
    const randomCpuUs = cpuUsPer(since, READS);
    await storage.close();

    // a catch-up reader: one ledger front to back, one read at a time (read-ahead at work)
    const sequentialCount = Math.min(READS, PER_LEDGER);
    storage = await LedgerStorage.open({ dir });
    let s = process.hrtime.bigint();
    since = process.cpuUsage();
    for (let e = 0n; e < BigInt(sequentialCount); e++) check(await storage.getEntry(1n, e), 1n, e);
    const sequentialPerSec = sequentialCount / seconds(s);
    const sequentialCpuUs = cpuUsPer(since, sequentialCount);
    await storage.close();

    // the same with WINDOW reads in flight, as a reader with prefetch issues them
    storage = await LedgerStorage.open({ dir });
    s = process.hrtime.bigint();
    await pipelined(sequentialCount, WINDOW, async (i) => {
      check(await storage.getEntry(2n, BigInt(i)), 2n, BigInt(i));
    });
    const sequentialWindowedPerSec = sequentialCount / seconds(s);
    await storage.close();

    return {
      addsPerSec: ENTRIES / addSeconds,
      addMBps: (ENTRIES * SIZE) / 2 ** 20 / addSeconds,
      addCpuUs,
      finalFlushMs,
      flushStallMs,
      randomPerSec,
      randomCpuUs,
      sequentialPerSec,
      sequentialCpuUs,
      sequentialWindowedPerSec,
      diskMB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Round[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const res = await round();
  results.push(res);
  console.log(
    `round ${r + 1}: adds ${fmt(res.addsPerSec)}/s (${fmt(res.addMBps, 1)} MiB/s, ${fmt(res.addCpuUs, 1)} µs CPU, final flush ${fmt(res.finalFlushMs)} ms, ` +
      `loop stall in a 32 MiB flush ${fmt(res.flushStallMs)} ms, ${fmt(res.diskMB)} MiB of logs), ` +
      `random ${fmt(res.randomPerSec)}/s, sequential ${fmt(res.sequentialPerSec)}/s, sequential x${WINDOW} ${fmt(res.sequentialWindowedPerSec)}/s`,
  );
}
const med = (k: keyof Round): number => median(results.map((r) => r[k]));
console.log(`\nledger storage, ${fmt(ENTRIES)} entries of ${SIZE} B in ${LEDGERS} interleaved ledgers, default options, median of ${ROUNDS} rounds`);
const line = (label: string, perSec: number, cpuUs?: number): void => {
  const cpu = cpuUs === undefined ? '' : `  ${fmt(cpuUs, 1).padStart(6)} µs CPU/op`;
  console.log(`  ${label.padEnd(30)}${fmt(perSec).padStart(10)} entries/s ${fmt((perSec * SIZE) / 2 ** 20, 1).padStart(8)} MiB/s${cpu}`);
};
line('add (flushes included)', med('addsPerSec'), med('addCpuUs'));
line(`random read, ${WINDOW} in flight`, med('randomPerSec'), med('randomCpuUs'));
line('sequential read, 1 in flight', med('sequentialPerSec'), med('sequentialCpuUs'));
line(`sequential read, ${WINDOW} in flight`, med('sequentialWindowedPerSec'));
console.log(`  final flush ${fmt(med('finalFlushMs'))} ms; longest event-loop stall during a 32 MiB flush ${fmt(med('flushStallMs'))} ms`);
