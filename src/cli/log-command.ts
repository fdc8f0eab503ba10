// `dlog log list|create|delete|show`: the logs of a namespace, and one log's positions and segments.
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import type { DLSN } from '../log/format/dlsn.js';
import { LogError } from '../log/log-error.js';
import type { Namespace } from '../log/namespace.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';
import { segmentObjects, segmentTable } from './segment-table.js';
import { formatTable } from './table.js';

interface Subcommand {
  readonly usage: string;
  readonly about: string;
  /** Takes --json. */
  readonly json?: true;
  /** Checks the positionals (before the namespace is opened) and returns the action. */
  prepare(positionals: readonly string[], json: boolean): (ns: Namespace) => Promise<void>;
}

const SUBCOMMANDS: ReadonlyMap<string, Subcommand> = new Map([
  ['list', {
    usage: 'list [prefix] [--json]',
    about: 'Prints the names of the logs, one per line (with a prefix: the logs under prefix/).\n'
      + '--json: one JSON array of the names.',
    json: true,
    prepare: (p: readonly string[], json: boolean) => {
      const [prefix] = positionalArguments(p, [], ['[prefix]']);
      return (ns: Namespace) => listLogs(ns, prefix, json);
    },
  }],
  ['create', {
    usage: 'create <name>',
    about: 'Creates an empty log.',
    prepare: (p: readonly string[]) => {
      const [name] = positionalArguments(p, ['<name>']);
      return async (ns: Namespace) => {
        await ns.createLog(name);
        process.stdout.write(`created log ${name}\n`);
      };
    },
  }],
  ['delete', {
    usage: 'delete <name>',
    about: "Deletes a log: its segments' ledgers, then its metadata.",
    prepare: (p: readonly string[]) => {
      const [name] = positionalArguments(p, ['<name>']);
      return async (ns: Namespace) => {
        await ns.deleteLog(name);
        process.stdout.write(`deleted log ${name}\n`);
      };
    },
  }],
  ['show', {
    usage: 'show <name> [--json]',
    about: "Prints a log's record count, first and last DLSN and last txid, then its segments.\n"
      + 'Each segment: sequence number (LSSN), ledger, state, txids, records, ledger bytes, truncation.\n'
      + '--json: one JSON object with the same fields (DLSNs as { text, base64 }, 64-bit numbers as strings).',
    json: true,
    prepare: (p: readonly string[], json: boolean) => {
      const [name] = positionalArguments(p, ['<name>']);
      return (ns: Namespace) => showLog(ns, name, json);
    },
  }],
]);

const NAMES = [...SUBCOMMANDS.keys()].join(', ');

export const LOG_HELP = `Usage: dlog log <subcommand> [args] [options]

Lists, creates, deletes or shows the logs of a namespace.

Subcommands:
${formatTable([...SUBCOMMANDS.values()].map((s) => ['  ' + s.usage, s.about.split('\n')[0] ?? '']))}
Run 'dlog log <subcommand> --help' for more.

Options:
${COMMON_OPTIONS_HELP}`;

function subcommandHelp(sub: Subcommand): string {
  return `Usage: dlog log ${sub.usage} [options]\n\n${sub.about}\n\nOptions:\n${COMMON_OPTIONS_HELP}`;
}

export async function logCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(LOG_HELP);
    return 0;
  }
  if (name === undefined || name.startsWith('-')) throw new InvalidArgumentError(`missing subcommand: ${NAMES}`);
  const sub = SUBCOMMANDS.get(name);
  if (sub === undefined) throw new InvalidArgumentError(`unknown subcommand ${JSON.stringify(name)}: expected ${NAMES}`);
  const { values, positionals } = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(subcommandHelp(sub));
    return 0;
  }
  const json = values.json === true;
  if (json && sub.json !== true) throw new InvalidArgumentError(`dlog log ${name} takes no --json`);
  const action = sub.prepare(positionals, json);
  const ns = await openNamespace(values, 'log');
  try {
    await action(ns);
  } finally {
    await ns.close();
  }
  return 0;
}

async function listLogs(ns: Namespace, prefix: string | undefined, json: boolean): Promise<void> {
  const names = (await ns.getLogs(prefix)).sort();
  if (json) process.stdout.write(JSON.stringify(names) + '\n');
  else if (names.length > 0) process.stdout.write(names.join('\n') + '\n');
}

/** The value, or undefined when the log has no records to answer with. */
async function unlessEmpty<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof LogError && err.code === 'LOG_EMPTY') return undefined;
    throw err;
  }
}

const showDlsn = (dlsn: DLSN | undefined): string => (dlsn === undefined ? '-' : `${dlsn.toString()}  ${dlsn.serialize()}`);
const dlsnJson = (dlsn: DLSN | undefined): { text: string; base64: string } | null =>
  (dlsn === undefined ? null : { text: dlsn.toString(), base64: dlsn.serialize() });

async function showLog(ns: Namespace, name: string, json: boolean): Promise<void> {
  const log = await ns.openLog(name);
  const segments = await log.getLogSegments();
  const [records, first, last, lastTxId] = await Promise.all([
    log.getLogRecordCount(),
    unlessEmpty(log.getFirstDLSN()),
    unlessEmpty(log.getLastDLSN()),
    unlessEmpty(log.getLastTxId()),
  ]);
  // with no records the first DLSN is only where the next one will go
  const firstRecord = last === undefined ? undefined : first;
  if (json) {
    process.stdout.write(JSON.stringify({
      log: log.name,
      records: String(records),
      firstDLSN: dlsnJson(firstRecord),
      lastDLSN: dlsnJson(last),
      lastTxId: lastTxId === undefined ? null : String(lastTxId),
      segments: await segmentObjects(ns, segments),
    }) + '\n');
    return;
  }
  process.stdout.write(formatTable([
    ['log', log.name],
    ['records', String(records)],
    ['first DLSN', showDlsn(firstRecord)],
    ['last DLSN', showDlsn(last)],
    ['last txid', lastTxId === undefined ? '-' : String(lastTxId)],
    ['segments', String(segments.length)],
  ]));
  if (segments.length > 0) process.stdout.write('\n' + await segmentTable(ns, segments));
}
