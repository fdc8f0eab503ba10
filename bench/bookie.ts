// One bookie process on loopback: adds/s, MB/s and latency for 1 KiB and 64 KiB entries at 1, 64
// and 256 in flight, next to the raw write+fdatasync rate of the same disk measured in the same run,
// and the CPU time per add of the bookie process and of this load generator (both CPU-bound when
// pipelined, so µs/add says where a gain must come from).
//   npm run build && node --import tsx bench/bookie.ts [--seconds 3]
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
// the built library, as users run it
import { BookieClient } from '../lib/ledger/bookie-client.js';
import { createDigest } from '../lib/protocol/digest.js';
import { encodeEntry } from '../lib/protocol/bk-entry-envelope.js';
import { masterKey } from '../lib/protocol/master-key.js';
import { benchArgs } from './bench-args.js';
import { fmt, percentile } from './stats.js';

const SECONDS = benchArgs({ seconds: 3 }).seconds;
const root = mkdtempSync(path.join(os.tmpdir(), 'dlog-bench-bookie-'));

interface BookieProcess {
  readonly id: string;
  /** CPU seconds (user + system) the bookie process has used so far; NaN where /proc is missing. */
  readonly cpuSeconds: () => number;
  readonly stop: () => Promise<void>;
}

async function startBookieProcess(): Promise<BookieProcess> {
  const cli = new URL('../lib/cli/main.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, 'bookie', '--metadata', `local:${root}/meta`, '--dir', `${root}/bookie`, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const id = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => { const m = /^bookie (\S+) ready$/.exec(line); if (m?.[1]) resolve(m[1]); });
    child.once('exit', (code) => { reject(new Error(`bookie exited with ${code}`)); });
  });
  return {
    id,
    cpuSeconds: () => procCpuSeconds(child.pid),
    stop: () => new Promise((resolve) => { child.once('exit', () => { resolve(); }); child.kill('SIGTERM'); }),
  };
}

/** utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s). */
function procCpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The disk's own durable-write rate: 4 KiB write + fdatasync, one at a time. */
function rawSyncRate(dir: string, seconds: number): { perSecond: number; p50us: number } {
  const file = path.join(dir, 'raw-sync.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 7);
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  let offset = 0;
  while (performance.now() < end) {
    const t = performance.now();
    writeSync(fd, block, 0, block.length, offset);
    fdatasyncSync(fd);
    lat.push((performance.now() - t) * 1000);
    offset = (offset + block.length) % (64 << 20);
  }
  closeSync(fd);
  rmSync(file);
  lat.sort((a, b) => a - b);
  return { perSecond: lat.length / seconds, p50us: percentile(lat, 50) };
}

let ledgerId = 1n;

interface RunResult {
  readonly adds: number;
  readonly mbps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU µs per add in the bookie process and in this one. */
  readonly bookieUs: number;
  readonly clientUs: number;
}

async function run(bookie: BookieProcess, client: BookieClient, size: number, inFlight: number): Promise<RunResult> {
  const password = Buffer.from('bench');
  const digest = createDigest('CRC32C', password);
  const key = masterKey(password);
  const payload = Buffer.alloc(size, 1);
  const ledger = ledgerId++;
  let next = 0n;
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const entryId = next++;
      const body = encodeEntry(digest, { ledgerId: ledger, entryId, lastAddConfirmed: entryId - 1n, length: (entryId + 1n) * BigInt(size) }, payload);
      const t = performance.now();
      const r = await client.send({ op: 'ADD_ENTRY', ledgerId: ledger, entryId, masterKey: key, body });
      lat.push(performance.now() - t);
      if (r.status !== 'EOK') throw new Error(`add failed: ${r.status}`);
    }
  };
  const start = performance.now();
  const [bookieCpu, clientCpu] = [bookie.cpuSeconds(), ownCpuSeconds()];
  await Promise.all(Array.from({ length: inFlight }, lane));
  const secs = (performance.now() - start) / 1000;
  const perAdd = (cpuSeconds: number): number => (cpuSeconds * 1e6) / lat.length;
  const [bookieUs, clientUs] = [perAdd(bookie.cpuSeconds() - bookieCpu), perAdd(ownCpuSeconds() - clientCpu)];
  lat.sort((a, b) => a - b);
  return { adds: lat.length / secs, mbps: (lat.length * size) / secs / 1e6, p50: percentile(lat, 50), p99: percentile(lat, 99), bookieUs, clientUs };
}

async function main(): Promise<void> {
  const bookie = await startBookieProcess();
  const client = new BookieClient(bookie.id);
  const raw = rawSyncRate(root, 2);
  console.log(`raw 4 KiB write+fdatasync on ${root}: ${fmt(raw.perSecond)}/s, p50 ${fmt(raw.p50us)} µs\n`);
  console.log('entry'.padEnd(8) + 'in flight'.padStart(10) + 'adds/s'.padStart(10) + 'MB/s'.padStart(8) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) +
    'raw sync'.padStart(10) + 'bookie µs/add'.padStart(15) + 'client µs/add'.padStart(15));
  for (const size of [1024, 65536]) {
    for (const inFlight of [1, 64, 256]) {
      const r = await run(bookie, client, size, inFlight);
      console.log((size === 1024 ? '1 KiB' : '64 KiB').padEnd(8) + String(inFlight).padStart(10) + fmt(r.adds).padStart(10) +
        fmt(r.mbps, 1).padStart(8) + fmt(r.p50, 2).padStart(9) + fmt(r.p99, 2).padStart(9) + `${fmt(r.adds / raw.perSecond, 1)}x`.padStart(10) +
        fmt(r.bookieUs, 1).padStart(15) + fmt(r.clientUs, 1).padStart(15));
    }
  }
  client.close();
  await bookie.stop();
  rmSync(root, { recursive: true, force: true });
}

await main();
