// Journal throughput and latency against the raw sync rate of the same directory.
//
//   node --import tsx bench/journal.ts [dir] [seconds per run]
//
// Raw baseline: 4 KiB writes at increasing offsets of a preallocated file, one at a time, each
// followed by fdatasync (and, separately, on an O_DSYNC file). Journal: 1 KiB addEntry records
// with 1, 64 and 1024 appends in flight, in both sync modes. The ratios show what group commit
// buys: records per second over raw syncs per second. Rolling: 16 MiB files retired as a bookie's
// checkpoints retire them, new files created and zero-filled (spareFiles 0) or reused (2): disk
// bytes written per record byte.
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Journal, type JournalSyncMode } from '../src/bookie/journal.js';

const dirArg = process.argv[2];
const seconds = Number(process.argv[3] ?? 3);
const RECORD = Buffer.alloc(1024, 0x5a);
const MiB = 1024 * 1024;

interface Run {
  readonly ops: number;
  readonly seconds: number;
  /** Sorted latencies in microseconds. */
  readonly latencies: Float64Array;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Runs `op` from `concurrency` loops for `seconds` after a short warm-up; latency per op. */
async function drive(concurrency: number, op: () => Promise<void>): Promise<Run> {
  const warmUpEnd = performance.now() + 300;
  const end = warmUpEnd + seconds * 1000;
  const latencies: number[] = [];
  let ops = 0;
  const loop = async (): Promise<void> => {
    for (;;) {
      const start = performance.now();
      if (start >= end) return;
      await op();
      if (start >= warmUpEnd) {
        latencies.push((performance.now() - start) * 1000);
        ops++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ops, seconds: (performance.now() - warmUpEnd) / 1000, latencies: new Float64Array(latencies).sort() };
}

async function rawSync(dir: string, dsync: boolean): Promise<Run> {
  const file = path.join(dir, `raw-${dsync ? 'dsync' : 'fdatasync'}`);
  const size = 256 * MiB;
  const prealloc = await fs.open(file, 'w');
  for (let p = 0; p < size; p += 16 * MiB) await prealloc.write(Buffer.alloc(16 * MiB), 0, 16 * MiB, p);
  await prealloc.sync();
  await prealloc.close();
  const handle = await fs.open(file, constants.O_RDWR | (dsync ? constants.O_DSYNC : 0));
  const block = Buffer.alloc(4096, 1);
  let offset = 0;
  const run = await drive(1, async () => {
    await handle.write(block, 0, block.length, offset);
    if (!dsync) await handle.datasync();
    offset = (offset + block.length) % size;
  });
  await handle.close();
  await fs.rm(file);
  return run;
}

async function journalRun(dir: string, inFlight: number, syncMode: JournalSyncMode): Promise<{ run: Run; groups: number; syncs: number; records: number }> {
  const journalDir = path.join(dir, `journal-${syncMode}-${inFlight}`);
  const journal = await Journal.open(journalDir, { syncMode });
  let entryId = 0n;
  const run = await drive(inFlight, () => journal.append({ type: 'addEntry', ledgerId: 1n, entryId: entryId++, entry: RECORD }));
  const stats = journal.stats();
  await journal.close();
  await fs.rm(journalDir, { recursive: true });
  return { run, groups: stats.groups, syncs: stats.syncs, records: stats.records };
}

/** 1024 appends in flight over 16 MiB files, retiring every file before the current one as soon as it rolls. */
async function rollingRun(dir: string, spareFiles: number): Promise<{ run: Run; bytesWritten: number; recordBytes: number; reused: number }> {
  const journalDir = path.join(dir, `journal-rolling-${spareFiles}`);
  const journal = await Journal.open(journalDir, { maxFileSize: 16 * MiB, spareFiles });
  let entryId = 0n;
  let fileId = journal.stats().fileId;
  const run = await drive(1024, async () => {
    await journal.append({ type: 'addEntry', ledgerId: 1n, entryId: entryId++, entry: RECORD });
    if (journal.stats().fileId !== fileId) {
      fileId = journal.stats().fileId;
      await journal.removeBefore(journal.markCheckpoint());
    }
  });
  const stats = journal.stats();
  await journal.close();
  await fs.rm(journalDir, { recursive: true });
  return { run, bytesWritten: stats.bytesWritten, recordBytes: stats.recordBytes, reused: stats.reusedFiles };
}

const base = dirArg ?? os.tmpdir();
await fs.mkdir(base, { recursive: true });
const dir = await fs.mkdtemp(path.join(base, 'dlog-journal-bench-'));
try {
  console.log(`journal bench in ${dir}: Node ${process.version}, ${os.cpus().length} CPUs, ${seconds} s per run, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  const raw = { fdatasync: await rawSync(dir, false), dsync: await rawSync(dir, true) };
  console.log('\nraw 4 KiB write + barrier, one at a time');
  for (const [mode, run] of Object.entries(raw)) {
    console.log(
      `  ${mode.padEnd(9)} ${fmt(run.ops / run.seconds).padStart(7)} syncs/s   p50 ${fmt(percentile(run.latencies, 50)).padStart(5)} µs   p99 ${fmt(percentile(run.latencies, 99)).padStart(6)} µs`,
    );
  }

  console.log('\njournal, 1 KiB records');
  console.log('  mode       in-flight     rec/s    MB/s   rec/group   p50 µs    p99 µs    max µs   rec/s ÷ raw syncs/s   p50 ÷ raw p50');
  for (const syncMode of ['dsync', 'fdatasync'] as const) {
    for (const inFlight of [1, 64, 1024]) {
      const { run, groups, syncs, records } = await journalRun(dir, inFlight, syncMode);
      const rate = run.ops / run.seconds;
      const rawRun = raw[syncMode];
      const rawRate = rawRun.ops / rawRun.seconds;
      console.log(
        [
          `  ${syncMode.padEnd(9)}`,
          String(inFlight).padStart(9),
          fmt(rate).padStart(9),
          fmt((rate * RECORD.length) / MiB, 1).padStart(7),
          fmt(records / groups, 1).padStart(11),
          fmt(percentile(run.latencies, 50)).padStart(8),
          fmt(percentile(run.latencies, 99)).padStart(9),
          fmt(run.latencies.at(-1) ?? Number.NaN).padStart(9),
          `${fmt(rate / rawRate, 2)}x`.padStart(21),
          `${fmt(percentile(run.latencies, 50) / percentile(rawRun.latencies, 50), 2)}x`.padStart(15),
          `   (${fmt(syncs)} syncs for ${fmt(records)} records)`,
        ].join(' '),
      );
    }
  }

  console.log('\nrolling 16 MiB files, retired at each roll, 1 KiB records x 1024 in flight');
  console.log('  spare files     rec/s    MB/s   p50 µs    p99 µs   disk bytes / record byte   files reused');
  for (const spareFiles of [0, 2]) {
    const { run, bytesWritten, recordBytes, reused } = await rollingRun(dir, spareFiles);
    const rate = run.ops / run.seconds;
    console.log(
      `  ${String(spareFiles).padStart(11)} ${fmt(rate).padStart(9)} ${fmt((rate * RECORD.length) / MiB, 1).padStart(7)} ${fmt(percentile(run.latencies, 50)).padStart(8)} ${fmt(percentile(run.latencies, 99)).padStart(9)}`
      + ` ${fmt(bytesWritten / recordBytes, 2).padStart(26)} ${fmt(reused).padStart(14)}`,
    );
  }
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
