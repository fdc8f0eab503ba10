// `dlog bookie`: runs one storage node until SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { startBookie } from '../bookie/bookie.js';
import { InvalidArgumentError } from '../errors.js';
import { integerOption } from './command-support.js';
import { stderrLogger } from './stderr-logger.js';

/** A stop signal ends the process within this long, cleanly or not. */
const STOP_DEADLINE_MS = 4500;

export const BOOKIE_HELP = `Usage: dlog bookie --metadata <uri> (--dir <dataDir> | --journal-dir <d> --ledger-dirs <a,b>) [options]

Runs a BookKeeper-compatible storage node (bookie). Prints "bookie <id> ready" on stdout once it
serves, and stops on SIGTERM or SIGINT within 5 s whatever ZooKeeper's state (a close that
cannot finish in time is logged and exits with code 1).

Options:
  --metadata <uri>      metadata URI whose path is the ledgers root, e.g. zk://127.0.0.1:2181/ledgers
  --dir <dir>           data directory (journal in <dir>/journal, ledgers in <dir>/ledgers)
  --port <n>            port to listen on (default 3181; 0 picks a free one)
  --host <addr>         address to listen on (default 127.0.0.1)
  --journal-dir <dir>   journal directory (best on its own disk)
  --ledger-dirs <a,b>   ledger storage directories, comma-separated, one per disk; ledgers are
                        spread over them, and the list may not change once the bookie has data
  --ledger-dir <dir>    one ledger storage directory (the same as --ledger-dirs <dir>)
  --bookie-id <id>      id to register as (default <host>:<port>)
  --zk-session-timeout-ms <ms>
                        ZooKeeper session timeout (default 30000); a killed bookie's
                        registration lingers this long and its restart waits for it
  --checkpoint-interval-ms <ms>
                        storage flush + journal mark interval (default 10000)
  --verbose             log everything to stderr, and stack traces on errors
  -h, --help            print this help
`;

export async function bookieCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      metadata: { type: 'string' }, dir: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
      'journal-dir': { type: 'string' }, 'ledger-dirs': { type: 'string' }, 'ledger-dir': { type: 'string' }, 'bookie-id': { type: 'string' },
      verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      'zk-session-timeout-ms': { type: 'string' }, 'checkpoint-interval-ms': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(BOOKIE_HELP);
    return 0;
  }
  if (values.metadata === undefined) throw new InvalidArgumentError('--metadata <uri> is required (e.g. zk://127.0.0.1:2181/ledgers)');
  if (values['ledger-dirs'] !== undefined && values['ledger-dir'] !== undefined) throw new InvalidArgumentError('give --ledger-dirs or --ledger-dir, not both');
  const ledgerDirs = values['ledger-dirs']?.split(',') ?? (values['ledger-dir'] === undefined ? undefined : [values['ledger-dir']]);
  if (values.dir === undefined && (values['journal-dir'] === undefined || ledgerDirs === undefined)) {
    throw new InvalidArgumentError('--dir <dataDir> is required unless both --journal-dir and --ledger-dirs are given');
  }
  if (ledgerDirs?.some((d) => d === '')) throw new InvalidArgumentError(`--ledger-dirs has an empty entry: '${values['ledger-dirs']}'`);
  const port = integerOption('port', values.port);
  const sessionTimeoutMs = integerOption('zk-session-timeout-ms', values['zk-session-timeout-ms']);
  const checkpointIntervalMs = integerOption('checkpoint-interval-ms', values['checkpoint-interval-ms']);
  // listening before the ready line: a signal sent as soon as it is seen must find the handler
  let stopSignal: NodeJS.Signals | undefined;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      stopSignal ??= signal;
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  const logger = stderrLogger(values.verbose === true, 'bookie');
  // lmdb rejects a promise of its own for each write of a failed commit (ENOSPC, EIO), which the
  // ledger index cannot reach; the index has already failed that write and the bookie has turned
  // read-only, so such a rejection is logged, not fatal. Anything else still ends the process.
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && (reason as { commitError?: unknown }).commitError !== undefined) {
      logger.error({ err: reason }, 'ledger index commit failed (the bookie is read-only)');
      return;
    }
    logger.error({ err: reason }, 'unhandled rejection; exiting');
    process.exit(1);
  });
  const bookie = await startBookie({
    metadata: values.metadata,
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    ...(port === undefined ? {} : { port }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values['journal-dir'] === undefined ? {} : { journalDir: values['journal-dir'] }),
    ...(ledgerDirs === undefined ? {} : { ledgerDirs }),
    ...(values['bookie-id'] === undefined ? {} : { bookieId: values['bookie-id'] }),
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    ...(checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs }),
    logger,
  });
  if (stopSignal === undefined) process.stdout.write(`bookie ${bookie.bookieId} ready\n`);
  await stopped;
  // close() bounds its waits on ZooKeeper; this is the backstop that keeps the promise of a stop
  // within seconds whatever a step does
  const backstop = setTimeout(() => {
    logger.error({ signal: stopSignal }, `bookie did not close within ${STOP_DEADLINE_MS} ms; exiting anyway`);
    process.exit(1);
  }, STOP_DEADLINE_MS);
  backstop.unref();
  await bookie.close();
  clearTimeout(backstop);
  return 0;
}
