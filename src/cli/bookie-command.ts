// `dlog bookie`: runs one storage node until SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { startBookie } from '../bookie/bookie.js';
import { InvalidArgumentError } from '../errors.js';
import { integerOption, readOptionFile } from './command-support.js';
import type { BookieOptions } from '../bookie/bookie.js';
import { bookieListCommand, bookieStatusCommand } from './bookie-admin-command.js';
import { jsonLogger } from './json-logger.js';
import { stderrLogger } from './stderr-logger.js';

/** A stop signal ends the process within this long, cleanly or not. */
const STOP_DEADLINE_MS = 4500;

export const BOOKIE_HELP = `Usage: dlog bookie --metadata <uri> (--dir <dataDir> | --journal-dir <d> --ledger-dirs <a,b>) [options]
       dlog bookie list --metadata <uri>       registered bookies and their state
       dlog bookie status <host:port>          a bookie's admin endpoint: info and state

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
  --disk-check-interval-ms <ms>
                        how often disk usage is checked for the read-only switch (default 10000)
  --tls-cert <file>     PEM certificate to serve TLS with (clients send START_TLS)
  --tls-key <file>      PEM private key of --tls-cert
  --tls-ca <file>       PEM CA client certificates must chain to (turns on mutual TLS)
  --tls-required        serve no add, read or other data request without TLS
  --tls-allowed-roles <r1,r2>
                        client certificates must carry one of these roles (subject OU 0:role,...)
  --auth-plugin <name>  require clients to authenticate: token (shared secret)
  --auth-token-file <file>
                        the shared token (first line of the file) for --auth-plugin token
  --zk-auth <user:password>
                        ZooKeeper digest credentials; nodes the bookie creates get creator-all
                        plus world-read ACLs
  --zk-no-world-read    with --zk-auth: no world-read ACL on created nodes
  --http-port <n>       serve the admin HTTP endpoint (/metrics, /heartbeat, /api/v1/bookie/info,
                        /api/v1/bookie/state, /api/v1/bookie/gc) on this port (0 picks one)
  --http-host <addr>    address of the admin endpoint (default: --host)
  --verify-index        walk the whole ledger index at this start (by default only after an
                        unclean stop: a crash, a kill, a failed close; its meta pages always)
  --log-format <fmt>    text (default) or json: one pino-compatible JSON object per line on stderr
  --verbose             log everything to stderr, and stack traces on errors
  -h, --help            print this help
`;

export async function bookieCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'list') return bookieListCommand(argv.slice(1));
  if (argv[0] === 'status') return bookieStatusCommand(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      metadata: { type: 'string' }, dir: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
      'journal-dir': { type: 'string' }, 'ledger-dirs': { type: 'string' }, 'ledger-dir': { type: 'string' }, 'bookie-id': { type: 'string' },
      verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      'zk-session-timeout-ms': { type: 'string' }, 'checkpoint-interval-ms': { type: 'string' },
      'disk-check-interval-ms': { type: 'string' }, 'verify-index': { type: 'boolean' },
      'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-ca': { type: 'string' },
      'tls-required': { type: 'boolean' }, 'tls-allowed-roles': { type: 'string' },
      'auth-plugin': { type: 'string' }, 'auth-token-file': { type: 'string' },
      'zk-auth': { type: 'string' }, 'zk-no-world-read': { type: 'boolean' },
      'http-port': { type: 'string' }, 'http-host': { type: 'string' }, 'log-format': { type: 'string' },
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
  const diskCheckIntervalMs = integerOption('disk-check-interval-ms', values['disk-check-interval-ms'], 1);
  const httpPort = integerOption('http-port', values['http-port'], 0);
  const format = values['log-format'] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new InvalidArgumentError(`--log-format must be text or json, got ${JSON.stringify(format)}`);
  const security = await securityOptions(values);
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
  const logger = format === 'json' ? jsonLogger(values.verbose === true, { name: 'bookie' }) : stderrLogger(values.verbose === true, 'bookie');
  // A backstop: the ledger index opens lmdb so that a failed commit (ENOSPC, EIO) rejects only
  // promises it observes, and turns the bookie read-only itself; should lmdb still reject one of
  // its own, it is logged, not fatal. Anything else still ends the process.
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && (reason as { commitError?: unknown }).commitError !== undefined) {
      logger.error({ err: reason }, 'ledger index commit failed (the bookie is read-only)');
      return;
    }
    logger.error({ err: reason }, 'unhandled rejection; exiting');
    process.exit(1);
  });
  const bookie = await startBookie({
    ...security,
    metadata: values.metadata,
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    ...(port === undefined ? {} : { port }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values['journal-dir'] === undefined ? {} : { journalDir: values['journal-dir'] }),
    ...(ledgerDirs === undefined ? {} : { ledgerDirs }),
    ...(values['bookie-id'] === undefined ? {} : { bookieId: values['bookie-id'] }),
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    ...(checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs }),
    ...(diskCheckIntervalMs === undefined ? {} : { diskCheckIntervalMs }),
    ...(httpPort === undefined ? {} : { httpPort }),
    ...(values['http-host'] === undefined ? {} : { httpHost: values['http-host'] }),
    ...(values['verify-index'] === true ? { storage: { verifyIndex: true } } : {}),
    logger,
  });
  if (stopSignal === undefined) {
    if (bookie.httpAddress !== undefined) process.stdout.write(`admin http://${bookie.httpAddress.host}:${bookie.httpAddress.port}\n`);
    process.stdout.write(`bookie ${bookie.bookieId} ready\n`);
  }
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

interface SecurityValues {
  readonly 'tls-cert'?: string | undefined;
  readonly 'tls-key'?: string | undefined;
  readonly 'tls-ca'?: string | undefined;
  readonly 'tls-required'?: boolean | undefined;
  readonly 'tls-allowed-roles'?: string | undefined;
  readonly 'auth-plugin'?: string | undefined;
  readonly 'auth-token-file'?: string | undefined;
  readonly 'zk-auth'?: string | undefined;
  readonly 'zk-no-world-read'?: boolean | undefined;
}

/** TLS, auth and ZooKeeper ACL options, files read and checked before the bookie starts. */
async function securityOptions(values: SecurityValues): Promise<Pick<BookieOptions, 'tls' | 'auth' | 'zkAuth' | 'zkWorldReadable'>> {
  const out: Pick<BookieOptions, 'tls' | 'auth' | 'zkAuth' | 'zkWorldReadable'> = {};
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) {
    const ca = values['tls-ca'];
    const roles = values['tls-allowed-roles']?.split(',').map((r) => r.trim()).filter((r) => r !== '');
    out.tls = {
      cert: await readOptionFile('tls-cert', cert),
      key: await readOptionFile('tls-key', key),
      ...(ca === undefined ? {} : { ca: await readOptionFile('tls-ca', ca) }),
      ...(values['tls-required'] === true ? { required: true } : {}),
      ...(roles === undefined ? {} : { allowedRoles: roles }),
    };
  } else if (values['tls-ca'] !== undefined || values['tls-required'] === true || values['tls-allowed-roles'] !== undefined) {
    throw new InvalidArgumentError('--tls-ca, --tls-required and --tls-allowed-roles need --tls-cert and --tls-key');
  }
  const plugin = values['auth-plugin'];
  if (plugin !== undefined) {
    if (plugin !== 'token') throw new InvalidArgumentError(`unknown --auth-plugin '${plugin}' (known: token)`);
    const file = values['auth-token-file'];
    if (file === undefined) throw new InvalidArgumentError('--auth-plugin token needs --auth-token-file <file>');
    out.auth = { plugin, token: (await readOptionFile('auth-token-file', file)).toString('utf8').split('\n')[0]?.trim() ?? '' };
  }
  if (values['zk-auth'] !== undefined) out.zkAuth = values['zk-auth'];
  if (values['zk-no-world-read'] === true) out.zkWorldReadable = false;
  return out;
}
