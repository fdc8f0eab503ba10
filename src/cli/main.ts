#!/usr/bin/env node
// The `dlog` command: parses the command name, runs it, and turns failures into one clear line
// (a stack trace only with --verbose) and an exit code: 0 ok, 1 failed, 2 bad usage.
import { createRequire } from 'node:module';
import { DLogError, InvalidArgumentError } from '../errors.js';
import { benchCommand } from './bench-command.js';
import { bookieCommand } from './bookie-command.js';
import { demoCommand } from './demo-command.js';
import { ledgerCommand } from './ledger-command.js';
import { logCommand } from './log-command.js';
import { sandboxCommand } from './sandbox-command.js';
import { subscriptionCommand } from './subscription-command.js';
import { tailCommand } from './tail-command.js';
import { truncateCommand } from './truncate-command.js';
import { writeCommand } from './write-command.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const HELP = `dlog ${version}: distributedlog command line

Usage: dlog <command> [options]

Commands:
  demo        write and tail a log on the embedded deployment, then print a summary
  sandbox     run ZooKeeper and bookies locally, printing the zk:// URI to use
  bookie      run a storage node
  log         list, create, delete or show logs (dlog log list|create|delete|show)
  write       write stdin lines (or a file) to a log as records
  tail        print a log's records, following new ones
  truncate    mark a log's records before a DLSN truncated
  subscription  list, get or set subscribers' committed positions (dlog subscription list|get|set)
  ledger      show a segment ledger's metadata (dlog ledger show <id>)
  bench       run the benchmarks in bench/

Run 'dlog <command> --help' for a command's options.

Options:
  -h, --help     print this help
  -v, --version  print the version
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ['demo', demoCommand],
  ['sandbox', sandboxCommand],
  ['bookie', bookieCommand],
  ['log', logCommand],
  ['write', writeCommand],
  ['tail', tailCommand],
  ['truncate', truncateCommand],
  ['subscription', subscriptionCommand],
  ['ledger', ledgerCommand],
  ['bench', benchCommand],
]);

function isUsageError(err: unknown): boolean {
  // parseArgs reports unknown or malformed options with these codes
  const code = (err as { code?: unknown }).code;
  return err instanceof InvalidArgumentError || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL';
}

/** The error's message, in one line a user can act on. */
function describe(err: unknown, command: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  // parseArgs' text runs on about '--' with quotes that do not pair up
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${/'([^']*)'/.exec(message)?.[1] ?? message}`;
  if (err instanceof DLogError && err.code === 'STORE_LOCKED') {
    return `${message}. A local: directory serves one process at a time: run 'dlog sandbox' and use its zk:// URI to share logs between processes`;
  }
  if (err instanceof DLogError && err.code === 'LOG_NOT_FOUND' && command === 'write') return `${message} (pass --create to create it)`;
  return message;
}

/**
 * A reader that went away (`dlog ledger show 6 | head -1`) is a normal end, not a crash: the rest
 * of the output is dropped quietly and the command finishes (tail stops at once, see its Output).
 * Without a listener, the 'error' event of the stream would crash the process with a stack trace.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.exitCode = 1;
  });
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (first === undefined) {
    // a bare `dlog` is a usage error (scripts see exit 2), with the help to fix it
    process.stderr.write(HELP);
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const command = COMMANDS.get(first);
  if (!command) {
    process.stderr.write(`dlog: unknown ${first.startsWith('-') ? 'option' : 'command'} ${JSON.stringify(first)}\nRun 'dlog --help' for usage.\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    const verbose = rest.includes('--verbose');
    const code = err instanceof DLogError ? ` [${err.code}]` : '';
    process.stderr.write(`dlog ${first}: ${describe(err, first)}${code}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    if (isUsageError(err)) {
      process.stderr.write(`Run 'dlog ${first} --help' for usage.\n`);
      return 2;
    }
    return 1;
  }
}

quietOnClosedPipe(process.stdout);
quietOnClosedPipe(process.stderr);
process.exitCode = await main(process.argv.slice(2));
