// One bookie process on loopback, entry reads only: CPU µs per read in the bookie (the number that
// load on the machine disturbs least) and reads/s, for batches of reads as a catch-up reader sends
// them (B consecutive entries, or every third entry as a reader spreading a batch over an ensemble
// of 3 asks one bookie), K batches in flight, from entries on disk (the write cache flushed, read
// cache cold) and again once they are in the read cache.
//   npm run build && node --import tsx bench/bookie-reads.ts [--entries 20000] [--batch 64] [--batches 4]
import { readFileSync } from 'node:fs';
import { BookieClient } from '../lib/ledger/bookie-client.js';
import { encodeEntry } from '../lib/protocol/bk-entry-envelope.js';
import { createDigest } from '../lib/protocol/digest.js';
import { masterKey } from '../lib/protocol/master-key.js';
import { startBenchCluster } from './bookie-cluster.js';
import { benchArgs } from './bench-args.js';
import { fmt } from './stats.js';

const args = benchArgs({ entries: 20_000, batch: 64, batches: 4 });
const ENTRIES = args.entries;
const BATCH = args.batch;
const IN_FLIGHT = args.batches;
/** The bookie flushes its write cache to the entry logs this often (so the read rows read from disk). */
const CHECKPOINT_MS = 200;

function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks of 1/100 s
}

const cluster = await startBenchCluster('bookie-reads', 1, '/ledgers', ['--checkpoint-interval-ms', String(CHECKPOINT_MS)]);
const pid = cluster.bookiePids[0] as number;
const client = new BookieClient(cluster.bookieIds[0] as string);
const password = Buffer.from('bench');
const digest = createDigest('CRC32C', password);
const key = masterKey(password);
const payload = Buffer.alloc(1024, 1);

/** Writes ENTRIES 1 KiB entries to the ledger, 256 in flight. */
async function fill(ledgerId: bigint): Promise<void> {
  let next = 0n;
  const lane = async (): Promise<void> => {
    while (next < BigInt(ENTRIES)) {
      const entryId = next++;
      const body = encodeEntry(digest, { ledgerId, entryId, lastAddConfirmed: entryId - 1n, length: (entryId + 1n) * 1024n }, payload);
      const r = await client.send({ op: 'ADD_ENTRY', ledgerId, entryId, masterKey: key, body });
      if (r.status !== 'EOK') throw new Error(`add failed: ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 256 }, lane));
}

/** Reads the ledger's entries with `stride` (1: all; 3: every third) in batches of BATCH, IN_FLIGHT batches at a time. */
async function readRow(ledgerId: bigint, stride: number): Promise<{ perSec: number; bookieUs: number }> {
  const ids: bigint[] = [];
  for (let e = 0; e < ENTRIES; e += stride) ids.push(BigInt(e));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const batch = ids.slice(next, next + BATCH);
      next += BATCH;
      const answers = await Promise.all(batch.map((entryId) => client.send({ op: 'READ_ENTRY', ledgerId, entryId })));
      for (const a of answers) if (a.status !== 'EOK') throw new Error(`read failed: ${a.status}`);
    }
  };
  const cpu = procCpuSeconds(pid);
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - start) / 1000;
  return { perSec: ids.length / seconds, bookieUs: ((procCpuSeconds(pid) - cpu) * 1e6) / ids.length };
}

try {
  console.log(`bookie reads: 1 bookie process, ${fmt(ENTRIES)} x 1 KiB entries per ledger, batches of ${BATCH}, ${IN_FLIGHT} in flight`);
  console.log('row'.padEnd(44) + 'reads/s'.padStart(10) + 'bookie µs/read'.padStart(16));
  const rows: [string, bigint, number][] = [
    ['consecutive entries, from disk', 1n, 1],
    ['every third entry (striped), from disk', 2n, 3],
    ['consecutive entries, from the read cache', 1n, 1],
  ];
  for (const ledgerId of [1n, 2n]) await fill(ledgerId);
  // the flush every CHECKPOINT_MS moves them out of the write cache: wait for a few
  await new Promise((resolve) => setTimeout(resolve, 5 * CHECKPOINT_MS));
  for (const [label, ledgerId, stride] of rows) {
    const r = await readRow(ledgerId, stride);
    console.log(label.padEnd(44) + fmt(r.perSec).padStart(10) + fmt(r.bookieUs, 2).padStart(16));
  }
} finally {
  client.close();
  await cluster.stop();
}
