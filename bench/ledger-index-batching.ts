// LMDB's eventTurnBatching for the bookie's ledger index: off, as src/bookie/ledger-index.ts opens
// it (a failed commit must not become an unhandled rejection of lmdb's own batch promise), against
// lmdb's default (on). Index entries are written the way a write-cache flush commits them
// (LedgerIndex.commitFlush): transactions of at most TXN_BATCH location puts plus the log's
// accounting row, one after another, the last followed by a wait for LMDB's fsync. Flushes
// alternate between the two settings, each on an environment of its own, so both see the same load.
//   npm run build && node --import tsx bench/ledger-index-batching.ts [--sizes 1,100,10000] [--flushes 200] [--entries 400000] [--dir /tmp]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { TXN_BATCH } from '../lib/bookie/ledger-index.js';
import { benchArgs } from './bench-args.js';
import { fmt, percentile } from './stats.js';

const args = benchArgs({ sizes: [1, 100, 10_000], flushes: 200, entries: 400_000, dir: os.tmpdir() });
const WARMUP = 5;
const LEDGERS = 10;

interface Index {
  readonly batching: boolean;
  readonly root: RootDatabase;
  readonly locations: Database<Buffer, Buffer>;
  readonly logs: Database<Buffer, Buffer>;
  /** Next entry id per ledger. */
  readonly next: bigint[];
  /** Per measured flush: wall ms, and CPU µs (every thread of the process, lmdb's writer included). */
  readonly ms: number[];
  cpuUs: number;
  entries: number;
}

function openIndex(dir: string, batching: boolean): Index {
  const root = open({ path: path.join(dir, batching ? 'on' : 'off'), maxDbs: 4, eventTurnBatching: batching });
  const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
  return {
    batching, root,
    locations: root.openDB<Buffer, Buffer>({ name: 'locations', ...binary }),
    logs: root.openDB<Buffer, Buffer>({ name: 'logs', ...binary }),
    next: new Array<bigint>(LEDGERS).fill(0n), ms: [], cpuUs: 0, entries: 0,
  };
}

// as ledger-index.ts: one scratch key and value, bigints written through a DataView
const key = Buffer.allocUnsafe(16);
const keyView = new DataView(key.buffer, key.byteOffset, 16);
const value = Buffer.allocUnsafe(8);
const logRow = Buffer.alloc(16 * LEDGERS);

/** One flush of `size` entries of one ledger, as commitFlush writes it; measured unless warming up. */
async function flush(index: Index, flushNo: number, size: number, measure: boolean): Promise<void> {
  const ledger = flushNo % LEDGERS;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let done = 0; done === 0 || done < size;) {
    const end = Math.min(done + TXN_BATCH, size);
    const committed = index.root.transaction(() => {
      keyView.setBigUint64(0, BigInt(ledger));
      for (let i = done; i < end; i++) {
        const entryId = index.next[ledger] ?? 0n;
        index.next[ledger] = entryId + 1n;
        keyView.setBigUint64(8, entryId);
        value.writeUInt32BE(1, 0);
        value.writeUInt32BE((64 + i * 1056) % 2 ** 32, 4);
        index.locations.putSync(key, value);
      }
      index.logs.putSync(Buffer.from([0, 0, 0, 1]), logRow);
    });
    const last = end === size;
    const flushed = last ? Promise.resolve(index.root.flushed) : undefined;
    await committed;
    if (flushed) await flushed;
    done = end;
  }
  if (!measure) return;
  index.ms.push(performance.now() - start);
  const used = process.cpuUsage(cpu);
  index.cpuUs += used.user + used.system;
  index.entries += size;
}

console.log(`ledger index eventTurnBatching bench: ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, dir ${args.dir}, TXN_BATCH ${TXN_BATCH}, node ${process.version}`);
console.log('\nentries/flush  flushes | batching on: p50 ms  p99 ms  CPU µs/entry | off: p50 ms  p99 ms  CPU µs/entry | off/on p50  p99  CPU');
for (const size of args.sizes) {
  const dir = mkdtempSync(path.join(args.dir, 'dlog-bench-index-'));
  const on = openIndex(dir, true);
  const off = openIndex(dir, false);
  try {
    const flushes = Math.max(10, Math.min(args.flushes, Math.floor(args.entries / size)));
    for (let n = 0; n < WARMUP + flushes; n++) {
      // alternate which goes first, so neither always follows the other's fsync
      const pair = n % 2 === 0 ? [on, off] : [off, on];
      for (const index of pair) await flush(index, n, size, n >= WARMUP);
    }
    const row = (x: Index): { p50: number; p99: number; cpu: number } => {
      x.ms.sort((a, b) => a - b);
      return { p50: percentile(x.ms, 50), p99: percentile(x.ms, 99), cpu: x.cpuUs / x.entries };
    };
    const a = row(on);
    const b = row(off);
    console.log(`${fmt(size).padStart(13)} ${fmt(flushes).padStart(8)} | ${fmt(a.p50, 2).padStart(19)} ${fmt(a.p99, 2).padStart(7)} ${fmt(a.cpu, 2).padStart(13)} | ${fmt(b.p50, 2).padStart(11)} ${fmt(b.p99, 2).padStart(7)} ${fmt(b.cpu, 2).padStart(13)} | ${fmt(b.p50 / a.p50, 2).padStart(10)} ${fmt(b.p99 / a.p99, 2).padStart(4)} ${fmt(b.cpu / a.cpu, 2).padStart(4)}`);
  } finally {
    await on.root.close();
    await off.root.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
