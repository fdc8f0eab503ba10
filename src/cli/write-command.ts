// `dlog write <log>`: appends the records of stdin (or a file) to the log: lines by default, records
// split at another delimiter, or length-prefixed binary records. The whole input is read and every
// record checked before the first write, so a bad record (too large, a truncated frame) writes
// nothing. Writes are pipelined up to a fixed window; the writer is closed at the end, so the
// segment is completed and readers see every record.
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import type { DLSN } from '../log/format/dlsn.js';
import { LOG_RECORD_HEADER_SIZE, MAX_LOGRECORD_SIZE } from '../log/format/log-record.js';
import type { LogWriter } from '../log/writer/log-writer.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, integerOption, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';

export const WRITE_HELP = `Usage: dlog write <log> [options]

Writes each line of stdin (or of --file) to the log as one record, the line's bytes without the
newline. The whole input is read and every record checked first: if one is invalid (over
${MAX_LOGRECORD_SIZE - LOG_RECORD_HEADER_SIZE} bytes, or a truncated length-prefixed record), nothing is written and the exit
code is 1. Txids continue after the log's last txid (1 for a new log) unless --txid-start is given.
A summary line goes to stderr at the end. Ctrl-C stops reading and writes the records read so far.
Each call writes its records into a segment of its own (completed when it exits).

Options:
  --file <path>         read the records from this file instead of stdin
  --create              create the log if it does not exist
  --txid-start <n>      txid of the first record (then n+1, n+2, ...)
  --delimiter <d>       split records at <d> instead of a newline; \\n, \\t, \\r and \\0 are
                        understood, e.g. --delimiter '\\0' for find -print0 output
  --length-prefixed     binary input: each record is a 4-byte big-endian length, then that many bytes
${COMMON_OPTIONS_HELP}`;

/** Writes not yet acknowledged, at most; bounds the writer's queue, not the input (read whole). */
const WINDOW = 1000;
const MAX_PAYLOAD = MAX_LOGRECORD_SIZE - LOG_RECORD_HEADER_SIZE;
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', 0: '\0', '\\': '\\' };

function delimiterOption(text: string | undefined): Buffer {
  if (text === undefined) return Buffer.from('\n');
  const value = text.replace(/\\(.)/g, (all, c: string) => ESCAPES[c] ?? all);
  if (value === '') throw new InvalidArgumentError('--delimiter must not be empty');
  return Buffer.from(value, 'utf8');
}

/** The whole input, or what was read of it when Ctrl-C came. */
function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const done = (): void => {
      process.off('SIGINT', done);
      input.destroy();
      resolve(Buffer.concat(chunks));
    };
    process.once('SIGINT', done);
    input.on('data', (chunk: Buffer) => { chunks.push(chunk); });
    input.once('end', done);
    input.once('error', (err) => {
      process.off('SIGINT', done);
      reject(err);
    });
  });
}

/** The records between delimiters; a last record without a delimiter counts too. */
function splitAt(data: Buffer, delimiter: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let start = 0;
  for (let at = data.indexOf(delimiter, start); at >= 0; at = data.indexOf(delimiter, start)) {
    records.push(data.subarray(start, at));
    start = at + delimiter.length;
  }
  if (start < data.length) records.push(data.subarray(start));
  return records;
}

function lengthPrefixed(data: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) throw new InvalidArgumentError(`input ends inside the length prefix of record ${records.length + 1} (byte ${at})`);
    const length = data.readUInt32BE(at);
    if (at + 4 + length > data.length) {
      throw new InvalidArgumentError(`record ${records.length + 1} declares ${length} bytes but the input ends after ${data.length - at - 4}`);
    }
    records.push(data.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return records;
}

function checkSizes(records: readonly Buffer[]): void {
  const index = records.findIndex((r) => r.length > MAX_PAYLOAD);
  if (index >= 0) {
    throw new InvalidArgumentError(`record ${index + 1} has ${(records[index] as Buffer).length} bytes, over the ${MAX_PAYLOAD}-byte limit: nothing was written`);
  }
}

/** What has been acknowledged so far. */
interface Written {
  count: number;
  last?: { dlsn: DLSN; txid: bigint };
}

/** Writes the records with txids from `firstTxId`, at most WINDOW unacknowledged, and waits for them all. */
async function writeRecords(writer: LogWriter, records: readonly Buffer[], firstTxId: bigint, written: Written): Promise<void> {
  let txid = firstTxId;
  let failure: Error | undefined;
  const inFlight: Array<Promise<void>> = [];
  for (const payload of records) {
    const record = { txid: txid++, payload };
    // acknowledgements come in write order, so the last one to resolve is the last record
    inFlight.push(writer.asyncWrite(record).then(
      (dlsn) => { written.count++; written.last = { dlsn, txid: record.txid }; },
      (err: unknown) => { failure ??= err instanceof Error ? err : new Error(String(err)); },
    ));
    if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0, WINDOW / 2));
    if (failure !== undefined) break;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

export async function writeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      file: { type: 'string' },
      create: { type: 'boolean' },
      'txid-start': { type: 'string' },
      delimiter: { type: 'string' },
      'length-prefixed': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(WRITE_HELP);
    return 0;
  }
  const [logName] = positionalArguments(positionals, ['<log>']);
  const txidStart = integerOption('txid-start', values['txid-start'], 0);
  if (values['length-prefixed'] === true && values.delimiter !== undefined) {
    throw new InvalidArgumentError('--delimiter and --length-prefixed exclude each other');
  }
  const delimiter = delimiterOption(values.delimiter);
  const input = values.file === undefined ? process.stdin : (await open(values.file)).createReadStream();
  const data = await readAll(input);
  const records = values['length-prefixed'] === true ? lengthPrefixed(data) : splitAt(data, delimiter);
  checkSizes(records);
  const ns = await openNamespace(values, 'write');
  try {
    const log = await ns.openLog(logName, { create: values.create === true });
    const writer = await log.openWriter();
    const written: Written = { count: 0 };
    try {
      await writeRecords(writer, records, txidStart === undefined ? writer.lastTxId + 1n : BigInt(txidStart), written);
      await writer.close();
    } catch (err) {
      // the failure is what matters; closing still completes the segment when it can
      await writer.close().catch(() => undefined);
      process.stderr.write(`wrote ${plural(written.count, 'record')} of ${records.length} to ${log.name} before failing\n`);
      throw err;
    }
    const last = written.last === undefined ? '' : `, last DLSN ${written.last.dlsn.toString()}, last txid ${written.last.txid}`;
    process.stderr.write(`wrote ${plural(written.count, 'record')} to ${log.name}${last}\n`);
  } finally {
    await ns.close();
  }
  return 0;
}
