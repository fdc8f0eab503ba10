// The `local:` deployment: a complete cluster in one process. The local metadata store runs in the
// main thread; each bookie runs in its own worker thread (so the bookies use every core), listens
// on loopback and reaches the store over a MessagePort. Everything persists under one directory:
//   <dir>/metadata      the local metadata store
//   <dir>/bookie-<i>    bookie i's journal and ledger storage
//   <dir>/cluster.json  the bookies' ports
// A bookie's id is its address and ledger metadata names bookies by id, so the ports are chosen
// once and kept: a restart must bring every bookie back at the address its ledgers name.
import { existsSync } from 'node:fs';
import { chmod, mkdir, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DLogError, InvalidArgumentError, MetadataError } from '../errors.js';
import type { BookieOptions } from '../bookie/bookie.js';
import { LocalMetadataStore } from '../metadata/local/local-metadata-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readJsonFile } from '../util/json-file.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { SupervisedBookie } from './bookie-supervisor.js';
import { HOST, LEDGERS_ROOT, type WorkerEntry } from './bookie-thread.js';
import type { StartStall } from './bookie-worker.js';

export interface EmbeddedClusterOptions {
  /** Created if missing. One process at a time: a second one gets STORE_LOCKED. */
  dir: string;
  /** Number of bookies, 1..9. Default: as many as the directory had, 3 for a new one; more adds bookies. */
  bookies?: number;
  /** The bookies serve TLS with these (see BookieOptions.tls). */
  tls?: BookieOptions['tls'];
  /** The bookies require this authentication. */
  auth?: BookieOptions['auth'];
  /**
   * A bookie start (or restart) that shows no progress for this long is ended; a restart ended so
   * counts as a death of the bookie. Progress is a start-up phase, a log line, work on the bookie's
   * thread or the index check's child process running, so a long journal replay or index walk is
   * never ended. At least 1000; default 120000 ms.
   */
  startStallMs?: number;
  /** Receives the metadata store's and the bookies' log lines. Default no-op. */
  logger?: Logger;
}

/** What the cluster tells of a bookie given up: a ledger client (LedgerClient.failBookie). */
export interface BookieFailureListener {
  failBookie(bookieId: string, err: Error): void;
}

export interface EmbeddedCluster {
  /** The main thread's session on the local store, for the caller's logs and ledger client. */
  readonly store: MetadataStore;
  /** Where the bookies register and ledger metadata lives: '/ledgers'. */
  readonly ledgersRoot: string;
  /** `127.0.0.1:<port>`, the same on every start of the directory. */
  readonly bookieIds: readonly string[];
  /**
   * Set once a bookie kept dying and is not restarted any more (EMBEDDED_BOOKIE_FAILED); a bookie
   * thread that dies is otherwise restarted (bookie-supervisor.ts).
   */
  readonly failure: DLogError | undefined;
  /**
   * Tells `client` of each bookie given up (at once of those given up already): it fails its
   * requests to that bookie with the bookie's EMBEDDED_BOOKIE_FAILED error and places no ledger on
   * it (LedgerClient.failBookie). Returns the call that stops telling it.
   */
  serve(client: BookieFailureListener): () => void;
  /**
   * Ends bookie `index`'s worker thread abruptly, as a crash would: for fault tests. A bookie in
   * the middle of a restart is crashed once that start is done; one waiting for its restart is down already.
   */
  crashBookie(index: number): Promise<void>;
  /** Makes bookie `index`'s next `count` restarts stall (hang, or wait on a child process): for fault tests. */
  stallBookieRestarts(index: number, count: number, how: StartStall): void;
  /** Stops the bookies cleanly, then closes the store. Idempotent. */
  close(): Promise<void>;
}

const CLUSTER_FILE = 'cluster.json';
const DEFAULT_BOOKIES = 3;
const MAX_BOOKIES = 9;
// Below the ephemeral port ranges of Linux (32768-60999), macOS and Windows (49152-65535): the OS
// never hands these out as the local port of an outgoing connection, which could otherwise take a
// stopped cluster's port before it restarts.
const PORT_MIN = 20_000;
const PORT_MAX = 32_767;

// Directories of the clusters running in this process (the cluster once started). The local
// store's lock cannot tell two clusters of one process apart (it shares one database per
// directory within a process).
const runningKey = Symbol.for('distributedlog.embedded-clusters');
const globals = globalThis as unknown as Record<symbol, Map<string, EmbeddedCluster | undefined> | undefined>;
const running = (globals[runningKey] ??= new Map<string, EmbeddedCluster | undefined>());

/** The cluster this process runs in `dir` (a real path), if any: how fault tests reach a namespace's bookies. */
export function runningEmbeddedCluster(dir: string): EmbeddedCluster | undefined {
  return running.get(dir);
}

interface ClusterFile {
  readonly version: 1;
  readonly bookiePorts: readonly number[];
}

/**
 * The bookie worker next to this module: lib/embedded/bookie-worker.js in the build. From the
 * TypeScript sources (tests, run under tsx) it is bookie-worker.ts, which a worker thread cannot
 * load by itself: on Node 20 the module hooks that `--import tsx` installs do not reach worker
 * threads (and under mocha this module itself runs as tsx-compiled CommonJS, without
 * `import.meta.resolve`). So the worker is a two-statement script that registers tsx's require
 * hook and then requires the entry, as mocha loads the sources in the main thread.
 */
function workerEntry(): WorkerEntry {
  const here = fileURLToPath(import.meta.url);
  const js = path.join(path.dirname(here), 'bookie-worker.js');
  if (path.extname(here) === '.js' && existsSync(js)) return { script: js, eval: false };
  const ts = path.join(path.dirname(here), 'bookie-worker.ts');
  if (!existsSync(ts)) throw new DLogError('EMBEDDED_BOOKIE_FAILED', `the bookie worker script is missing next to ${here}`);
  let tsx: string;
  try {
    tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  } catch (err) {
    throw new DLogError('EMBEDDED_BOOKIE_FAILED', `running from the TypeScript sources needs tsx for the bookie workers: ${(err as Error).message}`, { cause: err });
  }
  return { script: `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(ts)});`, eval: true };
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= 65535;
}

async function readClusterFile(file: string): Promise<number[] | undefined> {
  const parsed = await readJsonFile(file, (message, cause) => new InvalidArgumentError(message, { cause })) as Partial<ClusterFile> | null | undefined;
  if (parsed === undefined) return undefined;
  const ports = parsed?.bookiePorts;
  if (parsed?.version !== 1 || !Array.isArray(ports) || ports.length === 0
    || ports.length > MAX_BOOKIES || !ports.every(isPort) || new Set(ports).size !== ports.length) {
    throw new InvalidArgumentError(`${file} is not an embedded cluster file: expected {"version":1,"bookiePorts":[<1 to ${MAX_BOOKIES} distinct ports>]}`);
  }
  return [...ports];
}

/** Listens on the port to see that it is free; resolves with the listening server, or null when taken. */
function tryListen(port: number): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(null);
      else reject(err);
    });
    server.listen({ port, host: HOST, exclusive: true }, () => { resolve(server); });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => { server.close(() => { resolve(); }); });
}

/** `count` distinct free ports, none in `taken`. All are held until all are found. */
async function pickPorts(count: number, taken: readonly number[]): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt === 1000) throw new DLogError('EMBEDDED_BOOKIE_FAILED', `no free port found on ${HOST} in ${PORT_MIN}-${PORT_MAX}`);
      const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
      if (taken.includes(port) || ports.includes(port)) continue;
      const server = await tryListen(port);
      if (server === null) continue;
      held.push(server);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map(closeServer));
  }
}

/** The bookies' ports: those in cluster.json, plus new ones when more bookies are asked for. */
async function clusterPorts(dir: string, requested: number | undefined): Promise<number[]> {
  const file = path.join(dir, CLUSTER_FILE);
  const known = await readClusterFile(file) ?? [];
  const count = requested ?? (known.length > 0 ? known.length : DEFAULT_BOOKIES);
  if (count < known.length) {
    throw new InvalidArgumentError(
      `${dir} has ${known.length} bookies (${file}) and their ledgers may live on any of them: cannot start only ${count}`);
  }
  if (count === known.length) return known;
  const ports = [...known, ...await pickPorts(count - known.length, known)];
  await writeFileAtomic(dir, CLUSTER_FILE, Buffer.from(`${JSON.stringify({ version: 1, bookiePorts: ports } satisfies ClusterFile)}\n`));
  return ports;
}

async function ensurePortsFree(ports: readonly number[], dir: string): Promise<void> {
  for (const [index, port] of ports.entries()) {
    const server = await tryListen(port);
    if (server === null) {
      throw new InvalidArgumentError(
        `port ${port} of bookie-${index} (recorded in ${path.join(dir, CLUSTER_FILE)}) is in use on ${HOST}: `
        + 'its ledgers name the bookie by that address, so stop whatever listens there and start again');
    }
    await closeServer(server);
  }
}

async function openStore(dir: string, logger: Logger | undefined): Promise<LocalMetadataStore> {
  try {
    return await LocalMetadataStore.open(path.join(dir, 'metadata'), logger === undefined ? {} : { logger });
  } catch (err) {
    if (err instanceof MetadataError && err.code === 'STORE_LOCKED') {
      throw new MetadataError('STORE_LOCKED', `embedded cluster directory ${dir} is in use by another process: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Starts (or restarts) the cluster in `options.dir`. Rejects with STORE_LOCKED when another
 * process (or another cluster of this process) uses the directory, before any bookie starts, and
 * with INVALID_ARGUMENT when a recorded bookie port is taken. A bookie that fails to start fails
 * the whole start: the bookies already started are stopped again.
 */
export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const requested = options.bookies;
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1 && requested <= MAX_BOOKIES)) {
    throw new InvalidArgumentError(`bookies must be an integer from 1 to ${MAX_BOOKIES}, got ${requested}`);
  }
  if (typeof options.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('dir must be a non-empty path');
  const stall = options.startStallMs;
  // the workers look for progress 5 times a second
  if (stall !== undefined && !(Number.isInteger(stall) && stall >= 1000)) throw new InvalidArgumentError(`startStallMs must be an integer of at least 1000 (ms), got ${stall}`);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const dir = await realpath(options.dir);
  // the data (records, ledger keys) is this user's alone, also in a directory made before
  await chmod(dir, 0o700);
  if (running.has(dir)) {
    throw new MetadataError('STORE_LOCKED', `embedded cluster directory ${dir} is already open in this process (process ${process.pid}); close that cluster first`);
  }
  running.set(dir, undefined);

  const cleanups: (() => Promise<void>)[] = [];
  try {
    const store = await openStore(dir, options.logger);
    cleanups.push(() => store.close());
    const ports = await clusterPorts(dir, requested);
    await ensurePortsFree(ports, dir);

    const entry = workerEntry();
    const logger = options.logger ?? noopLogger;
    /** The bookies given up, first first (at most one each), and the clients told of them. */
    const givenUp = new Map<string, DLogError>();
    const clients = new Set<BookieFailureListener>();
    const giveUp = (bookieId: string, err: DLogError): void => {
      givenUp.set(bookieId, err);
      for (const client of clients) client.failBookie(bookieId, err);
    };
    const results = await Promise.allSettled(ports.map((port, index) => SupervisedBookie.start({
      entry,
      metadataDir: path.join(dir, 'metadata'),
      dir: path.join(dir, `bookie-${index}`),
      port,
      logger,
      forwardLogs: options.logger !== undefined,
      security: { ...(options.tls === undefined ? {} : { tls: options.tls }), ...(options.auth === undefined ? {} : { auth: options.auth }) },
      ...(stall === undefined ? {} : { startStallMs: stall }),
    }, logger, (err) => { giveUp(`${HOST}:${port}`, err); })));
    const bookies = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    cleanups.push(async () => { await Promise.all(bookies.map((b) => b.stop())); });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    let closing: Promise<void> | undefined;
    const bookieAt = (index: number): SupervisedBookie => {
      const bookie = bookies[index];
      if (bookie === undefined) throw new InvalidArgumentError(`no bookie ${index}: the cluster has ${bookies.length}`);
      return bookie;
    };
    const cluster: EmbeddedCluster = {
      store,
      ledgersRoot: LEDGERS_ROOT,
      bookieIds: bookies.map((b) => b.bookieId),
      get failure() { return givenUp.values().next().value; },
      serve: (client) => {
        clients.add(client);
        for (const [bookieId, err] of givenUp) client.failBookie(bookieId, err);
        return () => { clients.delete(client); };
      },
      crashBookie: async (index) => { await bookieAt(index).crash(); },
      stallBookieRestarts: (index, count, how) => { bookieAt(index).stallRestarts(count, how); },
      close: () => {
        closing ??= (async () => {
          try {
            await Promise.all(bookies.map((b) => b.stop()));
          } finally {
            try {
              await store.close();
            } finally {
              running.delete(dir);
            }
          }
        })();
        return closing;
      },
    };
    running.set(dir, cluster);
    return cluster;
  } catch (err) {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((cleanupErr: unknown) => {
        (options.logger ?? noopLogger).error({ err: cleanupErr }, 'cleanup after a failed embedded cluster start failed');
      });
    }
    running.delete(dir);
    throw err;
  }
}
