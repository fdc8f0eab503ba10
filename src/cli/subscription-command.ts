// `dlog subscription list|get|set <log> ...`: the committed read positions of a log's subscribers
// (DL's subscriptions store), for operators who resume or rewind a consumer by hand.
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { DLSN } from '../log/format/dlsn.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';
import { formatTable } from './table.js';

export const SUBSCRIPTION_HELP = `Usage: dlog subscription <subcommand> <log> [args] [options]

Shows or moves the committed read positions of a log's subscribers.

Subcommands:
  list <log>                   every subscriber and its position: (lssn,entry,slot) and base64
  get <log> <id>               one subscriber's position ((1,0,-1), before the first record, if none)
  set <log> <id> <dlsn>        moves the position forward to <dlsn> ((lssn,entry,slot) or base64);
                               it never moves back: a position below the stored one changes nothing

Options:
  --json                JSON instead of text: { id, dlsn: { text, base64 } } per subscriber
${COMMON_OPTIONS_HELP}`;

const SUBCOMMANDS = ['list', 'get', 'set'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

const position = (dlsn: DLSN): { text: string; base64: string } => ({ text: dlsn.toString(), base64: dlsn.serialize() });

export async function subscriptionCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(SUBSCRIPTION_HELP);
    return 0;
  }
  const sub = SUBCOMMANDS.find((s) => s === name);
  if (sub === undefined) throw new InvalidArgumentError(`${name === undefined ? 'missing subcommand' : `unknown subcommand ${JSON.stringify(name)}`}: expected ${SUBCOMMANDS.join(', ')}`);
  const { values, positionals } = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(SUBSCRIPTION_HELP);
    return 0;
  }
  const args = check(sub, positionals);
  const json = values.json === true;
  const ns = await openNamespace(values, 'subscription');
  try {
    const subscriptions = (await ns.openLog(args.log)).subscriptions();
    if (sub === 'list') {
      const all = [...(await subscriptions.getCommitPositions())].sort(([a], [b]) => a.localeCompare(b));
      if (json) process.stdout.write(JSON.stringify(all.map(([id, dlsn]) => ({ id, dlsn: position(dlsn) }))) + '\n');
      else if (all.length > 0) process.stdout.write(formatTable(all.map(([id, dlsn]) => [id, dlsn.toString(), dlsn.serialize()])));
      return 0;
    }
    const id = args.id as string;
    if (args.dlsn !== undefined) {
      const moved = await subscriptions.advanceCommitPosition(id, args.dlsn);
      if (!moved) process.stderr.write(`subscriber ${id} of ${args.log} is already at or past ${args.dlsn.toString()}: unchanged\n`);
    }
    const dlsn = await subscriptions.getCommitPosition(id);
    process.stdout.write(json ? JSON.stringify({ id, dlsn: position(dlsn) }) + '\n' : `${id} ${dlsn.toString()} ${dlsn.serialize()}\n`);
  } finally {
    await ns.close();
  }
  return 0;
}

/** The positionals of `sub`, checked before the namespace is opened. */
function check(sub: Subcommand, positionals: readonly string[]): { log: string; id?: string; dlsn?: DLSN } {
  if (sub === 'list') {
    const [log] = positionalArguments(positionals, ['<log>']);
    return { log };
  }
  if (sub === 'get') {
    const [log, id] = positionalArguments(positionals, ['<log>', '<id>']);
    return { log, id };
  }
  const [log, id, dlsn] = positionalArguments(positionals, ['<log>', '<id>', '<dlsn>']);
  return { log, id, dlsn: DLSN.parse(dlsn) };
}
