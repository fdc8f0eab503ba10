// I/O isolation: does a log written flat out stall a tailing reader of another log? Log A gets
// 1 KiB records with --inflight in flight; log B gets 100 B records at --rate records/s, tailed by
// one reader. For each bookie directory layout (3 bookie processes, E3 W3 A2, a fresh cluster each)
// it prints B's write and ack -> read latency with A idle and with A saturating, and A's records/s.
//   npm run build && node --import tsx bench/isolation.ts [--seconds 10] [--rate 200] [--inflight 256]
//     [--layouts one-dir,split,split-tmpfs]
// Layouts: one-dir = `--dir D` (journal and ledgers under one directory); split = `--journal-dir J
// --ledger-dirs L0,L1` on the same filesystem; split-tmpfs = the journal on disk and the ledger dirs
// on /dev/shm, a stand-in for ledger disks apart from the journal's. Compare ratios within one run:
// the machine is shared.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LogReader, LogWriter } from '../lib/index.js';
import { benchArgs } from './bench-args.js';
import { withBenchNamespace, type DirArgs } from './bookie-cluster.js';
import { fmt, percentile } from './stats.js';

const args = benchArgs({ seconds: 10, rate: 200, inflight: 256, layouts: 'one-dir,split,split-tmpfs' });
const SECONDS = args.seconds;
const RATE = args.rate;
const INFLIGHT = args.inflight;

const LAYOUTS: Record<string, (shm: string) => DirArgs> = {
  'one-dir': () => (dir) => ['--dir', dir],
  split: () => (dir) => ['--journal-dir', path.join(dir, 'journal'), '--ledger-dirs', `${path.join(dir, 'l0')},${path.join(dir, 'l1')}`],
  'split-tmpfs': (shm) => (dir) => {
    const own = path.join(shm, path.basename(dir));
    return ['--journal-dir', path.join(dir, 'journal'), '--ledger-dirs', `${path.join(own, 'l0')},${path.join(own, 'l1')}`];
  },
};

interface Phase {
  readonly write: number[];
  readonly tail: number[];
  readonly aPerSec: number;
}

/** One phase: B at RATE with its tail measured, and A saturating when `flood`. */
async function phase(a: LogWriter, b: LogWriter, reader: LogReader, txid: { a: bigint; b: bigint }, flood: boolean): Promise<Phase> {
  const acked = new Map<bigint, number>();
  const write: number[] = [];
  const tail: number[] = [];
  let stop = false;
  let aDone = 0;
  const payloadA = Buffer.alloc(1024, 0x61);
  const flooding = flood
    ? Promise.all(Array.from({ length: INFLIGHT }, async () => {
      while (!stop) {
        await a.asyncWrite({ txid: ++txid.a, payload: payloadA });
        aDone++;
      }
    }))
    : Promise.resolve([]);
  const total = Math.floor(RATE * SECONDS);
  const first = txid.b + 1n;
  const last = txid.b + BigInt(total);
  const reading = (async () => {
    let expected = first;
    while (expected <= last) {
      for (const rec of await reader.readBulk(1000, { waitMs: 1000 })) {
        if (rec.txid !== expected) throw new Error(`log B: read txid ${rec.txid}, expected ${expected}`);
        const at = acked.get(rec.txid);
        if (at !== undefined) tail.push(Math.max(0, performance.now() - at));
        expected++;
      }
    }
  })();
  const payloadB = Buffer.alloc(100, 0x62);
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
    for (; i < due; i++) {
      const id = ++txid.b;
      const t0 = performance.now();
      pending.push(b.asyncWrite({ txid: id, payload: payloadB }).then(() => {
        const now = performance.now();
        acked.set(id, now);
        write.push(now - t0);
      }));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  await reading;
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await flooding;
  write.sort((x, y) => x - y);
  tail.sort((x, y) => x - y);
  return { write, tail, aPerSec: aDone / seconds };
}

const ms = (sorted: readonly number[], p: number): string => fmt(percentile(sorted, p), 2).padStart(7);

console.log(`isolation bench: 3 bookie processes, E3 W3 A2, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${SECONDS} s per phase, log B at ${RATE} records/s (100 B), log A 1 KiB x ${INFLIGHT} in flight, node ${process.version}`);
console.log('layout       log A      | B write p50  p99 | B ack->read p50  p99  p99.9 | A records/s');
for (const layout of args.layouts.split(',')) {
  const make = LAYOUTS[layout];
  if (make === undefined) throw new Error(`unknown layout ${layout}; known: ${Object.keys(LAYOUTS).join(', ')}`);
  const shm = mkdtempSync(path.join('/dev/shm', 'dlog-isolation-'));
  try {
    await withBenchNamespace(`isolation-${layout}`, { dirArgs: make(shm) }, async ({ ns }) => {
      const logA = await ns.openLog(`a-${Date.now()}`, { create: true });
      const logB = await ns.openLog(`b-${Date.now()}`, { create: true });
      const a = await logA.openWriter();
      const b = await logB.openWriter();
      const txid = { a: 0n, b: 0n };
      await b.asyncWrite({ txid: ++txid.b, payload: Buffer.alloc(100) });
      const reader = await logB.openReader();
      await reader.readNext(); // caught up: it tails from here
      for (const flood of [false, true]) {
        const r = await phase(a, b, reader, txid, flood);
        console.log(
          `${layout.padEnd(12)} ${(flood ? 'saturating' : 'idle').padEnd(10)} | ${ms(r.write, 50)} ${ms(r.write, 99)} | ${ms(r.tail, 50).padStart(15)} ${ms(r.tail, 99)} ${ms(r.tail, 99.9)}`
          + ` | ${fmt(r.aPerSec).padStart(10)}`,
        );
      }
      await reader.close();
      await a.close();
      await b.close();
    });
  } finally {
    rmSync(shm, { recursive: true, force: true });
  }
}
