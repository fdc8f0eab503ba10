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

/** The largest payload of one record (DL's record limit less the 20-byte header). */
const MAX_PAYLOAD = MAX_LOGRECORD_SIZE - LOG_RECORD_HEADER_SIZE;

export const WRITE_HELP = `Usage: dlog write <log> [options]

Writes each line of stdin (or of --file) to the log as one record, the line's bytes without the
newline. Unless --stream is given, the whole input is read and every record checked first: if one
is invalid (over ${MAX_PAYLOAD} bytes, or a truncated length-prefixed record), nothing is written
and the exit code is 1. Txids continue after the log's last txid (1 for a new log) unless --txid-start is given.
A summary line goes to stderr at the end. Ctrl-C stops reading and writes the records read so far.
Each call writes its records into a segment of its own, completed when it exits: many small calls
make many small segments, which retention deletes like any other once the log is truncated.

Options:
  --file <path>         read the records from this file instead of stdin
  --create              create the log if it does not exist
  --txid-start <n>      txid of the first record (then n+1, n+2, ...)
  --delimiter <d>       split records at <d> instead of a newline; \\n, \\t, \\r and \\0 are
                        understood, e.g. --delimiter '\\0' for find -print0 output
  --length-prefixed     binary input: each record is a 4-byte big-endian length, then that many bytes
  --stream              write each record as it arrives (for a pipe that stays open, e.g. from
                        tail -f); a bad record then stops the command after the ones before it
${COMMON_OPTIONS_HELP}`;

/** Writes not yet acknowledged, at most; bounds the writer's queue, not the input (read whole). */
const WINDOW = 1000;
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', 0: '\0', '\\': '\\' };

function delimiterOption(text: string | undefined): Buffer {
  if (text === undefined) return Buffer.from('\n');
  const value = text.replace(/\\(.)/g, (all, c: string) => ESCAPES[c] ?? all);
  if (value === '') throw new InvalidArgumentError('--delimiter must not be empty');
  return Buffer.from(value, 'utf8');
}

/** Splits the input into records: at a delimiter (a last record without one counts too), or length-prefixed. */
async function* records(input: Readable, split: Buffer | 'length-prefixed'): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  let count = 0;
  for await (const chunk of input) {
    let data: Buffer = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    for (;;) {
      let record: Buffer | undefined;
      if (split === 'length-prefixed') {
        const end = data.length >= 4 ? 4 + data.readUInt32BE(0) : Infinity;
        if (end <= data.length) [record, data] = [data.subarray(4, end), data.subarray(end)];
      } else {
        const at = data.indexOf(split);
        if (at >= 0) [record, data] = [data.subarray(0, at), data.subarray(at + split.length)];
      }
      if (record === undefined) break;
      count++;
      yield record;
    }
    rest = data;
  }
  if (rest.length === 0) return;
  if (split !== 'length-prefixed') {
    yield rest;
  } else if (rest.length < 4) {
    throw new InvalidArgumentError(`the input ends inside the length prefix of record ${count + 1}`);
  } else {
    throw new InvalidArgumentError(`record ${count + 1} declares ${rest.readUInt32BE(0)} bytes but the input ends after ${rest.length - 4}`);
  }
}

function checkSize(record: Buffer, index: number, written: string): void {
  if (record.length > MAX_PAYLOAD) {
    throw new InvalidArgumentError(`record ${index + 1} has ${record.length} bytes, over the ${MAX_PAYLOAD}-byte limit: ${written}`);
  }
}

/** What has been acknowledged so far. */
interface Written {
  count: number;
  last?: { dlsn: DLSN; txid: bigint };
}

/**
 * Writes the records with txids from `firstTxId`, at most WINDOW unacknowledged, and waits for them
 * all. An input stopped by `interrupted()` (Ctrl-C) ends early, not in failure.
 */
async function writeRecords(writer: LogWriter, input: AsyncIterable<Buffer> | Iterable<Buffer>, firstTxId: bigint, interrupted: () => boolean, written: Written): Promise<void> {
  let txid = firstTxId;
  let failure: Error | undefined;
  const inFlight: Array<Promise<void>> = [];
  try {
    for await (const payload of input) {
      checkSize(payload, Number(txid - firstTxId), 'it and the records after it were not written');
      const record = { txid: txid++, payload };
      // acknowledgements come in write order, so the last one to resolve is the last record
      inFlight.push(writer.asyncWrite(record).then(
        (dlsn) => { written.count++; written.last = { dlsn, txid: record.txid }; },
        (err: unknown) => { failure ??= err instanceof Error ? err : new Error(String(err)); },
      ));
      if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0, WINDOW / 2));
      if (failure !== undefined) break;
    }
  } catch (err) {
    if (!interrupted()) failure ??= err instanceof Error ? err : new Error(String(err));
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

/** Every record of the input, each checked, before anything is written. */
async function readChecked(input: AsyncIterable<Buffer>, interrupted: () => boolean): Promise<Buffer[]> {
  const all: Buffer[] = [];
  try {
    for await (const record of input) {
      checkSize(record, all.length, 'nothing was written');
      all.push(record);
    }
  } catch (err) {
    if (!interrupted()) throw err;
  }
  return all;
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
      stream: { type: 'boolean' },
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
  const split = values['length-prefixed'] === true ? 'length-prefixed' : delimiterOption(values.delimiter);
  const input = values.file === undefined ? process.stdin : (await open(values.file)).createReadStream();
  // Ctrl-C ends the input; the records read so far are written
  let interrupted = false;
  const interrupt = (): void => {
    interrupted = true;
    input.destroy();
  };
  process.once('SIGINT', interrupt);
  try {
    const stream = values.stream === true;
    // all or nothing: the whole input is read and checked before the namespace is even opened
    const source = stream ? records(input, split) : await readChecked(records(input, split), () => interrupted);
    const ns = await openNamespace(values, 'write');
    try {
      const log = await ns.openLog(logName, { create: values.create === true });
      const writer = await log.openWriter();
      const written: Written = { count: 0 };
      try {
        await writeRecords(writer, source, txidStart === undefined ? writer.lastTxId + 1n : BigInt(txidStart), () => interrupted, written);
        await writer.close();
      } catch (err) {
        // the failure is what matters; closing still completes the segment when it can
        await writer.close().catch(() => undefined);
        process.stderr.write(`wrote ${plural(written.count, 'record')} to ${log.name} before the failure below\n`);
        throw err;
      }
      const last = written.last === undefined ? '' : `, last DLSN ${written.last.dlsn.toString()}, last txid ${written.last.txid}`;
      process.stderr.write(`wrote ${plural(written.count, 'record')} to ${log.name}${last}\n`);
    } finally {
      await ns.close();
    }
  } finally {
    process.off('SIGINT', interrupt);
    input.destroy();
  }
  return 0;
}
