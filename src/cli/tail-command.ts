// `dlog tail <log>`: prints a log's records from a position, then follows the writer until Ctrl-C,
// --limit, or (with --no-follow) the end the log had when the command started.
import { isUtf8 } from 'node:buffer';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import type { DistributedLog, ReaderOptions } from '../log/distributed-log.js';
import { DLSN } from '../log/format/dlsn.js';
import { LogError } from '../log/log-error.js';
import type { LogReader, LogRecordWithDLSN } from '../log/reader/log-reader.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, integerOption, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';

export const TAIL_HELP = `Usage: dlog tail <log> [options]

Prints the log's records, then follows the records written after them until Ctrl-C.

Options:
  --from <position>     where to start (default start):
                          start        the first record not truncated
                          end          only records written from now on
                          txid:<n>     the first record with txid >= n
                          -<n>         the last n records (then the ones written after them)
                          <dlsn>       (lssn,entry,slot) or DL's base64 DLSN
  --format <format>     text: each payload as is, one per line (default)
                        json: one object per line: dlsn (base64), dlsnText
                              ((lssn,entry,slot)), txid, sequenceId, payload,
                              encoding (utf8, or base64 when not UTF-8)
                        hex:  (lssn,entry,slot) and the payload in hex
  --limit <n>           stop after n records
  --no-follow           stop at the last record the log had when tail started
${COMMON_OPTIONS_HELP}`;

type Format = 'text' | 'json' | 'hex';
const FORMATS: readonly Format[] = ['text', 'json', 'hex'];
/** What --from asks for; `end` and the last n records are resolved once the log is open. */
type From = ReaderOptions | 'end' | { readonly lastRecords: number };

const BATCH = 256;
/** How long one read waits for a record while following. */
const FOLLOW_WAIT_MS = 1000;
/** With --no-follow: a read that waits this long for nothing means the log has no more to give. */
const CAUGHT_UP_WAIT_MS = 2000;

function parseFrom(text: string | undefined): From {
  if (text === undefined || text === 'start') return {};
  if (text === 'end') return 'end';
  if (/^-\d+$/.test(text)) {
    const n = Number(text.slice(1));
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`--from -<n> needs n >= 1, got ${JSON.stringify(text)}`);
    return { lastRecords: n };
  }
  if (text.startsWith('txid:')) {
    const digits = text.slice('txid:'.length);
    if (!/^\d+$/.test(digits)) throw new InvalidArgumentError(`--from txid:<n> needs a non-negative integer, got ${JSON.stringify(text)}`);
    return { fromTxId: BigInt(digits) };
  }
  return { from: DLSN.parse(text) };
}

function parseFormat(text: string | undefined): Format {
  const format = FORMATS.find((f) => f === (text ?? 'text'));
  if (format === undefined) throw new InvalidArgumentError(`--format must be ${FORMATS.join(', ')}, got ${JSON.stringify(text)}`);
  return format;
}

function render(record: LogRecordWithDLSN, format: Format): Uint8Array | string {
  switch (format) {
    case 'text': return Buffer.concat([record.payload, Buffer.from('\n')]);
    case 'hex': return `${record.dlsn.toString()} ${record.payload.toString('hex')}\n`;
    case 'json': {
      const utf8 = isUtf8(record.payload);
      return JSON.stringify({
        dlsn: record.dlsn.serialize(),
        dlsnText: record.dlsn.toString(),
        txid: String(record.txid),
        sequenceId: String(record.sequenceId),
        payload: record.payload.toString(utf8 ? 'utf8' : 'base64'),
        encoding: utf8 ? 'utf8' : 'base64',
      }) + '\n';
    }
  }
}

/**
 * Where the last `n` records (up to `last`) start. Segment record counts say which segment holds
 * the n-th last record; the records of that segment before it are counted off with a reader.
 */
async function lastRecordsStart(log: DistributedLog, n: number, last: DLSN | undefined): Promise<ReaderOptions> {
  if (last === undefined) return {};
  const segments = (await log.getLogSegments()).filter((s) => !s.isTruncated);
  let after = 0; // records in the segments after the one looked at
  for (const segment of segments.reverse()) {
    // an in-progress segment's count is not stored: its records are counted by reading them
    const count = segment.inProgress ? await countUpTo(log, DLSN.firstOf(segment.logSegmentSequenceNo), last) : segment.recordCount;
    if (after + count >= n) {
      const skip = after + count - n;
      return skip === 0 ? { from: DLSN.firstOf(segment.logSegmentSequenceNo) } : { from: await nthFrom(log, DLSN.firstOf(segment.logSegmentSequenceNo), skip) };
    }
    after += count;
  }
  return {};
}

/** Records from `from` up to and including `last`. */
async function countUpTo(log: DistributedLog, from: DLSN, last: DLSN): Promise<number> {
  const reader = await log.openReader({ from });
  try {
    let count = 0;
    for (;;) {
      const batch = await reader.readBulk(BATCH, { waitMs: CAUGHT_UP_WAIT_MS });
      for (const r of batch) {
        if (r.dlsn.compare(last) > 0) return count;
        count++;
        if (r.dlsn.equals(last)) return count;
      }
      if (batch.length === 0) return count;
    }
  } finally {
    await reader.close();
  }
}

/** The DLSN of the record `skip` records after `from` (the first record at or after it is 0). */
async function nthFrom(log: DistributedLog, from: DLSN, skip: number): Promise<DLSN> {
  const reader = await log.openReader({ from });
  try {
    let seen = 0;
    for (;;) {
      const batch = await reader.readBulk(Math.min(BATCH, skip - seen + 1), { waitMs: CAUGHT_UP_WAIT_MS });
      if (batch.length === 0) return from;
      for (const r of batch) if (seen++ === skip) return r.dlsn;
    }
  } finally {
    await reader.close();
  }
}

/** The value, or undefined when the log has no records. */
async function lastDlsnOf(log: DistributedLog): Promise<DLSN | undefined> {
  try {
    return await log.getLastDLSN();
  } catch (err) {
    if (err instanceof LogError && err.code === 'LOG_EMPTY') return undefined;
    throw err;
  }
}

/**
 * stdout with back-pressure. `closed` turns true once writing failed: quietly when the other end of
 * a pipe went away (EPIPE, e.g. `| head`), as other Unix tools do; any other failure is `error`.
 */
class Output {
  closed = false;
  error: Error | undefined;
  readonly #onClose: () => void;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
    process.stdout.on('error', this.#fail);
  }

  async write(data: Uint8Array | string): Promise<void> {
    if (this.closed || process.stdout.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        process.stdout.off('drain', done).off('close', done);
        resolve();
      };
      process.stdout.on('drain', done).on('close', done);
    });
  }

  dispose(): void {
    process.stdout.off('error', this.#fail);
  }

  readonly #fail = (err: Error): void => {
    if (this.closed) return;
    this.closed = true;
    if ((err as { code?: unknown }).code !== 'EPIPE') this.error = err;
    this.#onClose();
  };
}

interface TailOptions {
  readonly format: Format;
  readonly limit: number;
  /** With --no-follow: the last record to print (records after it came after tail started). */
  readonly end: DLSN | undefined;
  readonly follow: boolean;
  readonly stopped: () => boolean;
}

/** Reads and prints until the limit, the end (--no-follow), a stop or a closed output. */
async function printRecords(reader: LogReader, output: Output, options: TailOptions): Promise<void> {
  const { format, limit, end, follow } = options;
  let printed = 0;
  while (!options.stopped() && printed < limit) {
    const batch = await reader.readBulk(Math.min(BATCH, limit - printed), { waitMs: follow ? FOLLOW_WAIT_MS : CAUGHT_UP_WAIT_MS });
    if (batch.length === 0 && !follow) return;
    for (const record of batch) {
      if ((end !== undefined && record.dlsn.compare(end) > 0) || output.closed) return;
      await output.write(render(record, format));
      printed++;
      if (end !== undefined && record.dlsn.equals(end)) return;
    }
  }
}

/** `--from -10` as `--from=-10`: parseArgs would take `-10` for an option and refuse it. */
function joinNegativeFrom(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (arg === '--from' && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`--from=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export async function tailCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: joinNegativeFrom(argv),
    options: {
      ...COMMON_OPTIONS, from: { type: 'string' }, format: { type: 'string' }, limit: { type: 'string' }, 'no-follow': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(TAIL_HELP);
    return 0;
  }
  const [logName] = positionalArguments(positionals, ['<log>']);
  const from = parseFrom(values.from);
  const format = parseFormat(values.format);
  const limit = integerOption('limit', values.limit, 1) ?? Infinity;
  const follow = values['no-follow'] !== true;
  const ns = await openNamespace(values, 'tail');
  // an object: the flag changes in callbacks, across awaits
  const state = { stopped: false };
  // closing the namespace closes the reader: a pending read then fails with READER_CLOSED
  const stop = (): void => {
    state.stopped = true;
    ns.close().catch(() => undefined);
  };
  const output = new Output(stop);
  process.once('SIGINT', stop);
  try {
    const log = await ns.openLog(logName);
    const last = await lastDlsnOf(log);
    const start = from === 'end' ? (last === undefined ? {} : { from: last.next() })
      : 'lastRecords' in from ? await lastRecordsStart(log, from.lastRecords, last) : from;
    const end = follow ? undefined : last;
    const nothingToPrint = !follow && (end === undefined || (start.from !== undefined && start.from.compare(end) > 0));
    if (!nothingToPrint) {
      await printRecords(await log.openReader(start), output, { format, limit, end, follow, stopped: () => state.stopped });
    }
  } catch (err) {
    // after Ctrl-C or a closed stdout, failures of the reads cut short are expected
    if (!state.stopped && !(err instanceof LogError && err.code === 'END_OF_STREAM')) throw err;
  } finally {
    process.off('SIGINT', stop);
    output.dispose();
    await ns.close();
  }
  if (output.error !== undefined) throw output.error;
  return 0;
}
