// `dlog demo`: the five-minute tour. It writes a fresh log on the embedded deployment (or any
// namespace) while a tailing reader consumes it, shows live progress, then prints throughput and
// latencies and checks that every record came back once, in order, with the bytes written.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from './cli-error.js';
import type { LogReader } from '../log/reader/log-reader.js';
import type { LogWriter } from '../log/writer/log-writer.js';
import { COMMON_OPTIONS, integerOption, openNamespace } from './command-support.js';

export const DEMO_HELP = `Usage: dlog demo [options]

Writes records to a new log while a reader tails it, then prints throughput, write and
end-to-end latencies, and verifies that every record was read once, in order, intact.

Options:
  --dir <dir>           data directory of the embedded deployment (default ./dlog-demo)
  --records <n>         records to write (default 100000)
  --size <bytes>        payload size, at least 16 (default 100)
  --window <n>          writes in flight at once (default 1000)
  --uri <uri>           run on this namespace instead of local:<dir>, e.g. the zk:// URI
                        that 'dlog sandbox' prints
  --verbose             log to stderr, and stack traces on errors
  -h, --help            print this help
`;

/** Payload header: the record's index, then the send time (performance.now(), ms). */
const HEADER_BYTES = 16;
const STALL_MS = 30_000;

/** Fails the demo: records missing, duplicated, out of order or altered. */
class DemoVerificationError extends CliError {
  constructor(message: string) {
    super('DEMO_VERIFICATION_FAILED', message);
  }
}

interface Settings {
  readonly records: number;
  readonly size: number;
  readonly window: number;
}

interface Results {
  readonly elapsedMs: number;
  /** Sorted, ms. */
  readonly writeLatency: Float64Array;
  readonly endToEndLatency: Float64Array;
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, dir: { type: 'string' }, records: { type: 'string' }, size: { type: 'string' }, window: { type: 'string' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DEMO_HELP);
    return 0;
  }
  const settings: Settings = {
    records: integerOption('records', values.records, 1) ?? 100_000,
    size: integerOption('size', values.size, HEADER_BYTES) ?? 100,
    window: integerOption('window', values.window, 1) ?? 1000,
  };
  const uri = values.uri ?? `local:${path.resolve(values.dir ?? './dlog-demo')}`;
  const ns = await openNamespace({ uri, verbose: values.verbose }, 'demo');
  try {
    const log = await ns.openLog(`demo-${Date.now()}`, { create: true });
    // the reader is open before the first write: it tails the log as it grows
    const reader = await log.openReader();
    const writer = await log.openWriter();
    process.stderr.write(`demo: writing ${settings.records} records of ${settings.size} B to log ${log.name} on ${uri}\n`);
    const results = await run(writer, reader, settings);
    await writer.close();
    await reader.close();
    printSummary(`${log.name} on ${uri}`, settings, results);
  } finally {
    await ns.close();
  }
  return 0;
}

/** Bytes after the header: a pattern that depends on the index, so a swapped or altered record shows. */
function makePattern(size: number): Buffer {
  const pattern = Buffer.alloc(size - HEADER_BYTES + 256);
  for (let i = 0; i < pattern.length; i++) pattern[i] = i & 0xff;
  return pattern;
}

function body(pattern: Buffer, size: number, index: number): Buffer {
  const from = index & 0xff;
  return pattern.subarray(from, from + size - HEADER_BYTES);
}

async function run(writer: LogWriter, reader: LogReader, s: Settings): Promise<Results> {
  const pattern = makePattern(s.size);
  const writeLatency = new Float64Array(s.records);
  const endToEndLatency = new Float64Array(s.records);
  let acked = 0;
  let read = 0;
  let lastReadAt = performance.now();
  const start = performance.now();

  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < s.records) {
      const index = next++;
      const payload = Buffer.allocUnsafe(s.size);
      payload.writeDoubleBE(index, 0);
      const sentAt = performance.now();
      payload.writeDoubleBE(sentAt, 8);
      body(pattern, s.size, index).copy(payload, HEADER_BYTES);
      await writer.asyncWrite({ txid: BigInt(index), payload });
      writeLatency[index] = performance.now() - sentAt;
      acked++;
    }
  };
  // end of stream lets the reader tell "all records read" from "more may come"
  const writing = Promise.all(Array.from({ length: Math.min(s.window, s.records) }, lane)).then(() => writer.markEndOfStream());

  const reading = (async () => {
    for await (const record of reader) {
      const now = performance.now();
      lastReadAt = now;
      const { payload } = record;
      const index = payload.length === s.size ? payload.readDoubleBE(0) : NaN;
      if (record.txid !== BigInt(read) || index !== read || !payload.subarray(HEADER_BYTES).equals(body(pattern, s.size, read))) {
        throw new DemoVerificationError(
          `record ${read} expected (txid ${read}, ${s.size} B) but read txid ${record.txid}, ${payload.length} B`
          + `${Number.isNaN(index) ? '' : `, index ${index}`} at ${record.dlsn.toString()}${record.txid === BigInt(read) && index === read ? ': payload bytes differ' : ''}`,
        );
      }
      endToEndLatency[read] = now - payload.readDoubleBE(8);
      read++;
    }
    if (read !== s.records) throw new DemoVerificationError(`the log ended after ${read} of ${s.records} records`);
  })();

  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      if (performance.now() - lastReadAt > STALL_MS) {
        reject(new DemoVerificationError(`the reader received nothing for ${STALL_MS / 1000} s after ${read} of ${s.records} records`));
      }
    }, 1000);
  });
  const progress = startProgress(s, start, () => ({ acked, read }));
  // a failed write stops the reader (which would wait for records that never come) and is the error
  // to report; a failed read stops the writer
  let writeError: Error | undefined;
  const written = writing.catch(async (err: unknown) => {
    writeError = err instanceof Error ? err : new Error(String(err));
    await reader.close();
  });
  try {
    await Promise.all([written, Promise.race([reading, stalled])]);
  } catch (err) {
    const cause = writeError ?? err;
    await writer.abort();
    throw cause;
  } finally {
    clearInterval(watchdog);
    progress.stop();
  }
  if (writeError !== undefined) throw writeError;
  return {
    elapsedMs: performance.now() - start,
    writeLatency: writeLatency.sort(),
    endToEndLatency: endToEndLatency.sort(),
  };
}

/** A `\r`-updated line 4 times a second on a terminal, a plain line every second otherwise. */
function startProgress(s: Settings, start: number, counts: () => { acked: number; read: number }): { stop(): void } {
  const tty = process.stderr.isTTY;
  const line = (): string => {
    const { acked, read } = counts();
    const seconds = (performance.now() - start) / 1000;
    const perSec = acked / seconds;
    return `written ${fmt(acked)}/${fmt(s.records)} (${Math.floor((100 * acked) / s.records)}%), read ${fmt(read)}`
      + ` | ${fmt(perSec)} records/s, ${fmt((perSec * s.size) / 1e6, 1)} MB/s`;
  };
  const timer = setInterval(() => {
    process.stderr.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`);
  }, tty ? 250 : 1000);
  return {
    stop: () => {
      clearInterval(timer);
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

function printSummary(where: string, s: Settings, r: Results): void {
  const seconds = r.elapsedMs / 1000;
  const perSec = s.records / seconds;
  const ms = (sorted: Float64Array, p: number): string => fmt(percentile(sorted, p), 2);
  process.stdout.write([
    `log:                 ${where}`,
    `records:             ${fmt(s.records)} x ${fmt(s.size)} B, ${fmt(s.window)} writes in flight`,
    `elapsed:             ${fmt(seconds, 2)} s`,
    `throughput:          ${fmt(perSec)} records/s, ${fmt((perSec * s.size) / 1e6, 1)} MB/s`,
    `write latency:       p50 ${ms(r.writeLatency, 50)} ms, p99 ${ms(r.writeLatency, 99)} ms (asyncWrite -> acknowledged)`,
    `end-to-end latency:  p50 ${ms(r.endToEndLatency, 50)} ms, p99 ${ms(r.endToEndLatency, 99)} ms (asyncWrite -> reader receives)`,
    `verified: ${s.records} records read once, in order`,
    '',
  ].join('\n'));
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
