// Memory of the embedded deployment (`local:`: client and 3 bookies in worker threads, one process)
// under sustained writes: N logs x 1 record in flight for S seconds, sampling every few seconds
// the process RSS split into anonymous memory (heaps, buffers, caches) and file-backed pages
// (LMDB's memory map, libraries: the kernel reclaims those under pressure), plus the main thread's
// heap. A bound shows as anonymous RSS levelling off while records keep flowing.
//   npm run build && node --import tsx bench/embedded-memory.ts [--logs 100] [--size 100] [--seconds 60] [--every 5]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { LogWriter } from '../lib/index.js';
import { benchArgs } from './bench-args.js';
import { withBenchNamespace } from './bookie-cluster.js';
import { fmt } from './stats.js';

const args = benchArgs({ logs: 100, size: 100, seconds: 60, every: 5 });
const LOGS = args.logs;
const SECONDS = args.seconds;
const EVERY = args.every;

/** kB fields of /proc/self/status, in MB. */
function status(): { anon: number; file: number } {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

await withBenchNamespace('embedded-memory', { uri: 'local:' }, async ({ ns }) => {
  console.log(`embedded memory: local:, 3 bookies in worker threads, ${LOGS} logs x 1 in flight, ${args.size} B, ${SECONDS} s, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
  const writers: LogWriter[] = [];
  for (let i = 0; i < LOGS; i++) writers.push(await (await ns.openLog(`mem-${i}`, { create: true })).openWriter());
  const payload = Buffer.alloc(args.size, 0x61);
  let records = 0;
  let stop = false;
  const lane = async (writer: LogWriter): Promise<void> => {
    for (let txid = 1n; !stop; txid++) {
      await writer.asyncWrite({ txid, payload });
      records++;
    }
  };
  const lanes = writers.map(lane);
  console.log('\n   s | records/s | RSS MB  anon   file | main heap MB  external MB');
  const start = performance.now();
  let lastRecords = 0;
  let peakAnon = 0;
  for (let t = EVERY; t <= SECONDS; t += EVERY) {
    await new Promise((resolve) => setTimeout(resolve, start + t * 1000 - performance.now()));
    const { anon, file } = status();
    peakAnon = Math.max(peakAnon, anon);
    const m = process.memoryUsage();
    console.log(`${String(t).padStart(4)} | ${fmt((records - lastRecords) / EVERY).padStart(9)} | ${fmt(anon + file).padStart(6)} ${fmt(anon).padStart(5)} ${fmt(file).padStart(6)} | ${fmt(m.heapUsed / 2 ** 20).padStart(12)} ${fmt(m.external / 2 ** 20).padStart(12)}`);
    lastRecords = records;
  }
  console.log(`\npeak anonymous RSS ${fmt(peakAnon)} MB; ${fmt(records)} records`);
  stop = true;
  await Promise.all(lanes);
});
