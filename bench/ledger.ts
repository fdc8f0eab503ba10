// The ledger client through the built library against 3 bookie PROCESSES registered in a real
// ZooKeeper: E3 W3 A2 adds of 1 KiB (1 and 1000 in flight) and 64 KiB (1 and 64 in flight) entries,
// adds/s, MB/s, p50/p99; sequential read throughput of each written ledger (readEntries in batches
// of 100); and the same write rows on a single bookie (E1 W1 A1) in the same run, as a ratio.
//   npm run build && node --import tsx bench/ledger.ts [--seconds 3]
import os from 'node:os';
// the built library, as users run it
import { LedgerClient } from '../lib/ledger/ledger-client.js';
import type { LedgerHandle } from '../lib/ledger/ledger-handle.js';
import { ZkMetadataStore } from '../lib/metadata/zk/zk-metadata-store.js';
import { BenchRecorder, type SeriesRecorder } from '../lib/cli/bench-result.js';
import { startBenchCluster } from './bookie-cluster.js';
import { benchArgs } from './bench-args.js';
import { fmt, percentile } from './stats.js';

const SECONDS = benchArgs({ seconds: 3 }).seconds;
/** Per-row latency histograms and throughput over time, for `dlog bench ledger --report`. */
const recorder = new BenchRecorder();
interface WriteResult { readonly adds: number; readonly addsPerSec: number; readonly mbPerSec: number; readonly p50: number; readonly p99: number }

/** Adds `size`-byte entries with `window` in flight for SECONDS; latencies in ms. */
async function writeRow(ledger: LedgerHandle, size: number, window: number, series?: SeriesRecorder): Promise<WriteResult> {
  const payload = Buffer.alloc(size, 0x61);
  const lat: number[] = [];
  const start = performance.now();
  series?.restart(start);
  const end = start + SECONDS * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await ledger.addEntry(payload);
      const now = performance.now();
      lat.push(now - t);
      series?.op(now - t, now);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  series?.finish();
  const seconds = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return {
    adds: lat.length,
    addsPerSec: lat.length / seconds,
    mbPerSec: (lat.length * size) / seconds / 1e6,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

/** Sequential reads of the whole (closed) ledger in batches of 100: entries/s and MB/s. */
async function readRow(reader: LedgerHandle, series: SeriesRecorder): Promise<{ entriesPerSec: number; mbPerSec: number }> {
  const last = reader.metadata.lastEntryId;
  let bytes = 0;
  const start = performance.now();
  series.restart(start);
  for (let first = 0n; first <= last; first += 100n) {
    const to = first + 99n < last ? first + 99n : last;
    const t = performance.now();
    const entries = await reader.readEntries(first, to);
    const now = performance.now();
    // one batch of up to 100: its latency, and its entries toward throughput
    series.latency(now - t);
    series.count(entries.length, now);
    for (const e of entries) bytes += e.payload.length;
  }
  series.finish();
  const seconds = (performance.now() - start) / 1000;
  return { entriesPerSec: Number(last + 1n) / seconds, mbPerSec: bytes / seconds / 1e6 };
}

const ROWS: readonly { size: number; window: number }[] = [
  { size: 1024, window: 1 },
  { size: 1024, window: 1000 },
  { size: 65536, window: 1 },
  { size: 65536, window: 64 },
];

const cluster = await startBenchCluster('ledger');
const store = await ZkMetadataStore.connect(cluster.zk);
const client = await LedgerClient.open({ store, ledgersRoot: cluster.ledgersRoot });
try {
  for (let i = 0; client.writableBookies().size < 3; i++) {
    if (i > 200) throw new Error('bookies did not register');
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`ledger client bench: ${cluster.bookieIds.length} bookie processes, ${os.cpus().length} CPUs, ${SECONDS} s per row, CRC32 digest, node ${process.version}`);
  // warm-up: connections, JIT
  {
    const warm = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    await writeRow(warm, 1024, 100);
    await warm.close();
  }
  console.log('\nwrites                 | adds/s      MB/s   p50 ms  p99 ms || E1W1A1 adds/s   MB/s   p50 ms  p99 ms || E3/E1');
  const reads: string[] = [];
  for (const { size, window } of ROWS) {
    const e3 = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    const name = `${size / 1024} KiB x ${window} in flight`;
    const r3 = await writeRow(e3, size, window, recorder.series(`adds E3 W3 A2, ${name}`));
    await e3.close();
    const e1 = await client.createLedger({ ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 });
    const r1 = await writeRow(e1, size, window, recorder.series(`adds E1 W1 A1, ${name}`));
    await e1.close();
    const label = name.padEnd(22);
    console.log(`${label} | ${fmt(r3.addsPerSec).padStart(9)} ${fmt(r3.mbPerSec, 1).padStart(7)} ${fmt(r3.p50, 2).padStart(7)} ${fmt(r3.p99, 2).padStart(7)} || ${fmt(r1.addsPerSec).padStart(13)} ${fmt(r1.mbPerSec, 1).padStart(6)} ${fmt(r1.p50, 2).padStart(7)} ${fmt(r1.p99, 2).padStart(7)} || ${fmt(r3.addsPerSec / r1.addsPerSec, 2)}`);
    const reader = await client.openLedger(e3.id, { recover: false });
    const rr = await readRow(reader, recorder.series(`sequential reads of the E3 ${size / 1024} KiB ledger: latency per batch of 100, entries/s`));
    reads.push(`${`${size / 1024} KiB (${fmt(r3.adds)} entries)`.padEnd(24)} | ${fmt(rr.entriesPerSec).padStart(9)} ${fmt(rr.mbPerSec, 1).padStart(7)}`);
    await client.deleteLedger(e3.id);
    await client.deleteLedger(e1.id);
  }
  console.log('\nsequential reads, E3 ledgers, readEntries x100 | entries/s  MB/s');
  for (const line of reads) console.log(line);
  recorder.save();
} finally {
  await client.close();
  await store.close();
  await cluster.stop();
}
