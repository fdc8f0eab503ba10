// `dlog write <log>`: appends stdin's (or a file's) lines as records, one per line, with txids that
// continue the log's. Writes are pipelined up to a fixed window; the writer is closed at the end, so
// the segment is completed and readers see every record.
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { DLSN } from '../log/format/dlsn.js';
import type { LogWriter } from '../log/writer/log-writer.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, integerOption, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';

export const WRITE_HELP = `Usage: dlog write <log> [options]

Writes each line of stdin (or of --file) to the log as one record, the line's bytes without the
newline. Txids continue after the log's last txid (1 for a new log) unless --txid-start is given.
Progress goes to stderr when it is a terminal; a summary line goes to stderr at the end. Ctrl-C
stops reading and closes the log after the records read so far.

Options:
  --file <path>         read the lines from this file instead of stdin
  --create              create the log if it does not exist
  --txid-start <n>      txid of the first record (then n+1, n+2, ...)
${COMMON_OPTIONS_HELP}`;

/** Writes not yet acknowledged, at most; bounds memory when the input outruns the bookies. */
const WINDOW = 1000;
const PROGRESS_INTERVAL_MS = 500;
const NEWLINE = 0x0a;

/** The input's lines as bytes (no newline); a last line without a newline counts too. */
async function* lines(input: Readable): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of input) {
    let data = Buffer.concat([rest, chunk as Buffer]);
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE)) {
      yield data.subarray(0, nl);
      data = data.subarray(nl + 1);
    }
    rest = data;
  }
  if (rest.length > 0) yield rest;
}

/** What has been acknowledged so far. */
interface Written {
  count: number;
  last?: { dlsn: DLSN; txid: bigint };
}

/**
 * Writes every line as a record with txids from `firstTxId`, at most WINDOW unacknowledged, and
 * waits for them all. An input stopped by `interrupted()` ends the input early, not in failure.
 */
async function writeLines(writer: LogWriter, input: Readable, firstTxId: bigint, interrupted: () => boolean, written: Written): Promise<void> {
  let txid = firstTxId;
  let failure: Error | undefined;
  const inFlight: Array<Promise<void>> = [];
  try {
    for await (const payload of lines(input)) {
      const record = { txid: txid++, payload };
      // acknowledgements come in write order, so the last one to resolve is the last record
      inFlight.push(writer.asyncWrite(record).then(
        (dlsn) => { written.count++; written.last = { dlsn, txid: record.txid }; },
        (err: unknown) => { failure ??= err instanceof Error ? err : new Error(String(err)); },
      ));
      if (inFlight.length >= WINDOW) await inFlight.shift();
      if (failure !== undefined) break;
    }
  } catch (err) {
    if (!interrupted()) throw err;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

export async function writeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, file: { type: 'string' }, create: { type: 'boolean' }, 'txid-start': { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(WRITE_HELP);
    return 0;
  }
  const [logName] = positionalArguments(positionals, ['<log>']);
  const txidStart = integerOption('txid-start', values['txid-start'], 0);
  // opened first: a missing file fails before the log is touched
  const input = values.file === undefined ? process.stdin : (await open(values.file)).createReadStream();
  let interrupted = false;
  const interrupt = (): void => {
    interrupted = true;
    input.destroy();
  };
  process.once('SIGINT', interrupt);
  const ns = await openNamespace(values, 'write');
  try {
    const log = await ns.openLog(logName, { create: values.create === true });
    const writer = await log.openWriter();
    const written: Written = { count: 0 };
    const started = Date.now();
    const progress = process.stderr.isTTY ? setInterval(() => {
      const rate = Math.round(written.count / ((Date.now() - started) / 1000));
      process.stderr.write(`\r\x1b[Kwrote ${written.count} records (${rate} records/s)`);
    }, PROGRESS_INTERVAL_MS) : undefined;
    try {
      await writeLines(writer, input, txidStart === undefined ? writer.lastTxId + 1n : BigInt(txidStart), () => interrupted, written);
      await writer.close();
    } catch (err) {
      // the failure is what matters; closing still completes the segment when it can
      await writer.close().catch(() => undefined);
      throw err;
    } finally {
      if (progress !== undefined) {
        clearInterval(progress);
        process.stderr.write('\r\x1b[K');
      }
    }
    const last = written.last === undefined ? '' : `, last DLSN ${written.last.dlsn.toString()}, last txid ${written.last.txid}`;
    process.stderr.write(`wrote ${written.count} records to ${log.name}${last}\n`);
  } finally {
    process.off('SIGINT', interrupt);
    input.destroy();
    await ns.close();
  }
  return 0;
}
