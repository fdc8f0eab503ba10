// `dlog ledger show <id>`: a ledger's BookKeeper metadata, e.g. of a segment found with `dlog log show`.
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, openNamespace } from './command-support.js';
import { positionalArguments } from './positional-arguments.js';
import { formatTable } from './table.js';

export const LEDGER_HELP = `Usage: dlog ledger show <id> [options]

Prints a ledger's metadata: state, ensemble and quorum sizes, last entry, length, digest, creation
time, custom metadata keys, and each ensemble (the bookies from its first entry on). The ledger ids
of a log's segments are in 'dlog log show <log>'.

Options:
${COMMON_OPTIONS_HELP}`;

function parseLedgerId(text: string): bigint {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`invalid ledger id ${JSON.stringify(text)}: expected a non-negative integer`);
  return BigInt(text);
}

export async function ledgerCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(LEDGER_HELP);
    return 0;
  }
  if (sub !== 'show') {
    throw new InvalidArgumentError(sub === undefined || sub.startsWith('-') ? 'missing subcommand: show' : `unknown subcommand ${JSON.stringify(sub)}: expected show`);
  }
  const { values, positionals } = parseArgs({ args: rest, options: COMMON_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(LEDGER_HELP);
    return 0;
  }
  const [idText] = positionalArguments(positionals, ['<id>']);
  const id = parseLedgerId(idText);
  const ns = await openNamespace(values, 'ledger');
  try {
    const m = await ns.getLedgerMetadata(id);
    const keys = [...m.customMetadata.keys()].sort();
    process.stdout.write(formatTable([
      ['ledger', String(id)],
      ['state', m.state],
      ['ensemble size', String(m.ensembleSize)],
      ['write quorum', String(m.writeQuorumSize)],
      ['ack quorum', String(m.ackQuorumSize)],
      ['last entry', m.lastEntryId < 0n ? '- (not closed)' : String(m.lastEntryId)],
      ['length', `${m.length} bytes`],
      ['digest', m.digestType ?? '-'],
      ['created', m.ctime === undefined ? '-' : new Date(m.ctime).toISOString()],
      ['custom metadata', keys.length === 0 ? '-' : keys.join(', ')],
    ]));
    process.stdout.write('\nensembles:\n' + formatTable(m.ensembles.map(([first, bookies]) => [`  from entry ${first}`, bookies.join(', ')])));
  } finally {
    await ns.close();
  }
  return 0;
}
