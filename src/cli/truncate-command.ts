// `dlog truncate <log> <dlsn>`: marks the records before a DLSN truncated, as the log's writer (the
// ownership lock keeps it from racing a running writer), and reports the segments it changed.
import { parseArgs } from 'node:util';
import { DLSN } from '../log/format/dlsn.js';
import { LogError } from '../log/log-error.js';
import type { LogSegmentMetadata } from '../log/metadata/log-segment-metadata.js';
import { LockHeldError } from '../log/metadata/ownership-lock.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';
import { truncationLabel } from './segment-table.js';

export const TRUNCATE_HELP = `Usage: dlog truncate <log> <dlsn> [options]

Marks the log's records before <dlsn> truncated: readers start at <dlsn> at the earliest, and
retention deletes the segments wholly before it. The segment being written is never truncated.
<dlsn> is (lssn,entry,slot) as 'dlog log show' prints it, or DL's base64 form. Truncating takes
the log's writer lock, so it fails while another writer is running.

Options:
${COMMON_OPTIONS_HELP}`;

export async function truncateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(TRUNCATE_HELP);
    return 0;
  }
  const [logName, dlsnText] = positionalArguments(positionals, ['<log>', '<dlsn>']);
  const dlsn = DLSN.parse(dlsnText);
  const ns = await openNamespace(values, 'truncate');
  try {
    const log = await ns.openLog(logName);
    const writer = await log.openWriter().catch((err: unknown) => {
      if (!(err instanceof LockHeldError)) throw err;
      throw new LogError('LOCK_HELD', `log ${log.name} has a running writer (${err.owner}); truncate through it, or stop it first`, { cause: err });
    });
    let before: LogSegmentMetadata[];
    try {
      // listed under the lock, after the writer recovered what a previous one left in progress
      before = await log.getLogSegments();
      await writer.truncate(dlsn);
    } finally {
      await writer.close();
    }
    const after = new Map((await log.getLogSegments()).map((s) => [s.logSegmentSequenceNo, s]));
    const changes = before.flatMap((old) => {
      const now = after.get(old.logSegmentSequenceNo);
      const [was, is] = [truncationLabel(old), now === undefined ? 'deleted' : truncationLabel(now)];
      return was === is ? [] : [`  segment ${old.logSegmentSequenceNo} (ledger ${old.logSegmentId}): ${was} -> ${is}\n`];
    });
    process.stdout.write(changes.length === 0
      ? `nothing to truncate in log ${log.name} before ${dlsn.toString()}\n`
      : `truncated log ${log.name} before ${dlsn.toString()}:\n${changes.join('')}`);
  } finally {
    await ns.close();
  }
  return 0;
}
