// `dlog sandbox`: a whole cluster on one machine for trying the zk:// deployment: a ZooKeeper
// server (the installed one, run as a child process) and N bookies in this process, everything
// under one directory, so a restart finds the logs again. Other processes connect with the printed
// URI. The namespace is not bound: its bookies are under /ledgers on the same ZooKeeper, the default.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBookie, type Bookie } from '../bookie/bookie.js';
import { CliError } from './cli-error.js';
import { MetadataError } from '../errors.js';
import { ZkMetadataStore } from '../metadata/zk/zk-metadata-store.js';
import { findZooKeeperClasspath, startZooKeeper, type ZooKeeperServer } from './zookeeper-server.js';
import { childLogger } from '../util/logger.js';
import { integerOption } from './command-support.js';
import { stderrLogger } from './stderr-logger.js';

export const SANDBOX_HELP = `Usage: dlog sandbox [options]

Runs a ZooKeeper server and bookies on this machine, prints the namespace URI other processes
use with --uri, and a line "sandbox ready: <uri>". Ctrl-C (or SIGTERM) stops everything cleanly.
Data persists under --dir: a restart with the same options finds the logs again.
Needs an installed ZooKeeper (Debian/Ubuntu: sudo apt-get install zookeeper; or set ZOOKEEPER_HOME).

Options:
  --dir <dir>           data directory (default ./dlog-sandbox): <dir>/zookeeper, <dir>/bookie-<i>
  --bookies <n>         bookies to run (default 3)
  --zk-port <port>      ZooKeeper client port (default 2181)
  --bookie-port <port>  port of the first bookie, the others follow (default 3181); 0 picks free
                        ports, but a restart then cannot reach the ledgers of the previous run
  --verbose             log to stderr, and stack traces on errors
  -h, --help            print this help
`;

const HOST = '127.0.0.1';
const NAMESPACE_PATH = '/messaging/distributedlog';
const LEDGERS_ROOT = '/ledgers';

/** The sandbox could not start: no ZooKeeper installed, a port taken, ZooKeeper failing. */
class SandboxError extends CliError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('SANDBOX_FAILED', message, options);
  }
}

export async function sandboxCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' }, bookies: { type: 'string' }, 'zk-port': { type: 'string' }, 'bookie-port': { type: 'string' },
      verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(SANDBOX_HELP);
    return 0;
  }
  const dir = path.resolve(values.dir ?? './dlog-sandbox');
  const bookieCount = integerOption('bookies', values.bookies, 1) ?? 3;
  const zkPort = integerOption('zk-port', values['zk-port'], 1) ?? 2181;
  const bookiePort = integerOption('bookie-port', values['bookie-port'], 0) ?? 3181;
  const logger = stderrLogger(values.verbose === true, 'sandbox');

  // a signal during startup still stops what has started, once it has
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const zk = await startSandboxZooKeeper(path.join(dir, 'zookeeper'), zkPort);
  const bookies: Bookie[] = [];
  try {
    for (let i = 0; i < bookieCount; i++) {
      const port = bookiePort === 0 ? 0 : bookiePort + i;
      bookies.push(await startBookie({
        metadata: `zk://${HOST}:${zkPort}${LEDGERS_ROOT}`,
        dir: path.join(dir, `bookie-${i}`),
        host: HOST,
        port,
        logger: childLogger(logger, { bookie: i }),
      }).catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
        throw new SandboxError(`port ${port} for bookie-${i} is in use on ${HOST}: another sandbox running? Stop it, or pass --bookie-port (and --zk-port) to run a second one`, { cause: err });
      }));
    }
    await createNamespace(`${HOST}:${zkPort}`);
    const uri = `zk://${HOST}:${zkPort}${NAMESPACE_PATH}`;
    process.stdout.write([
      `zookeeper: ${HOST}:${zkPort} (data in ${path.join(dir, 'zookeeper')})`,
      ...bookies.map((b) => `bookie: ${b.bookieId}`),
      `namespace: ${uri}`,
      `  try: dlog demo --uri ${uri}`,
      `sandbox ready: ${uri}`,
      '',
    ].join('\n'));
    await stopRequested;
    process.stderr.write('sandbox: stopping\n');
  } finally {
    // bookies first: they deregister from ZooKeeper as they close
    for (const bookie of bookies.reverse()) await bookie.close().catch((err: unknown) => { logger.error({ err }, 'bookie close failed'); });
    await zk.stop();
  }
  return 0;
}

/** A namespace is a znode that exists (a Namespace does not create its root); kept across restarts. */
async function createNamespace(connectString: string): Promise<void> {
  const store = await ZkMetadataStore.connect(connectString);
  try {
    await store.create(NAMESPACE_PATH, undefined, { createParents: true });
  } catch (err) {
    if (!(err instanceof MetadataError && err.code === 'NODE_EXISTS')) throw err;
  } finally {
    await store.close();
  }
}

/**
 * ZooKeeper on a fixed port with its data under the sandbox directory (kept across restarts), in its
 * own process group: Ctrl-C must reach only us, so that the bookies deregister before it stops.
 */
async function startSandboxZooKeeper(dir: string, port: number): Promise<ZooKeeperServer> {
  if (findZooKeeperClasspath() === null) {
    throw new SandboxError('no ZooKeeper server found: install it (Debian/Ubuntu: sudo apt-get install zookeeper) or set ZOOKEEPER_HOME to its directory');
  }
  try {
    return await startZooKeeper({ port, dir, detached: true });
  } catch (err) {
    throw new SandboxError(`cannot start ZooKeeper on ${HOST}:${port}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
