// Entry of a bookie's worker thread in the embedded cluster: one bookie per thread, so that the
// bookies' journals, storage and sockets spread over the cores. Its metadata store is the main
// thread's local store, reached over a MessagePort. The main thread drives it with messages:
// `started` or `failed` after start-up, `close` -> `closed`, and log lines when asked for. While it
// starts it reports `progress`, which the main thread's start bound (bookie-thread.ts) waits on.
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { startBookie, type Bookie, type BookieOptions } from '../bookie/bookie.js';
import type { Logger, LogFn } from '../util/logger.js';
import { cloneError, type ClonedError } from './cloned-error.js';
import { PortMetadataStore } from './port-metadata-store.js';

export interface BookieWorkerData {
  readonly bookieId: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly ledgersRoot: string;
  /** The worker's end of the metadata port (transferred). */
  readonly metadataPort: MessagePort;
  /** Post log lines to the main thread; off when nobody reads them. */
  readonly forwardLogs: boolean;
  readonly tls?: BookieOptions['tls'];
  readonly auth?: BookieOptions['auth'];
  /** Fault tests: this start hangs for good, or waits on a child process for STALL_CHILD_MS first. */
  readonly testStartStall?: StartStall;
}

export type StartStall = 'hang' | 'child';

/** How often a starting worker looks for signs of progress: well within the least start bound (1 s). */
const PROGRESS_TICK_MS = 200;
/** Event-loop time per tick that counts as work (the tick itself takes microseconds). */
const BUSY_MS_PER_TICK = 5;
/** The 'child' test stall: longer than the tests' start bound, shorter than their timeouts. */
const STALL_CHILD_MS = 3000;

/**
 * Memory of an embedded bookie, which shares its process with the application and two other
 * bookies: a quarter of a standalone bookie's caches, and journal groups of at most 1 MiB. Its
 * anonymous memory then stays near its V8 heap plus 2 x 16 MiB of write-cache chunks (recycled,
 * ledger-storage.ts), 16 MiB of read cache and a few 1 MiB group buffers, however long it runs.
 */
const EMBEDDED_MEMORY = {
  storage: { writeCacheBytes: 16 << 20, readCacheBytes: 16 << 20 },
  journal: { maxGroupBytes: 1 << 20 },
} as const satisfies Pick<BookieOptions, 'storage' | 'journal'>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type WorkerMessage =
  | { readonly kind: 'started' }
  /** The start moved on: a phase, a log line of the bookie, a tick with work done or a child process running. */
  | { readonly kind: 'progress'; readonly step: string }
  | { readonly kind: 'failed'; readonly error: ClonedError }
  | { readonly kind: 'closed' }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly obj: object | string; readonly msg: string | undefined };

export interface WorkerCommand {
  readonly kind: 'close';
}

/** Log fields that structured clone refuses (functions, sockets) are sent as their JSON form. */
function cloneable(obj: object): object {
  return JSON.parse(JSON.stringify(obj, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return { name: value.name, message: value.message, code: (value as NodeJS.ErrnoException).code, stack: value.stack };
    return value;
  })) as object;
}

function forwardingLogger(port: MessagePort, bindings: Record<string, unknown>): Logger {
  const level = (name: LogLevel): LogFn => (objOrMsg, msg) => {
    const obj = typeof objOrMsg === 'string' || Object.keys(bindings).length === 0 ? objOrMsg : { ...bindings, ...objOrMsg };
    try {
      port.postMessage({ kind: 'log', level: name, obj, msg } satisfies WorkerMessage);
    } catch {
      port.postMessage({ kind: 'log', level: name, obj: typeof obj === 'string' ? obj : cloneable(obj), msg } satisfies WorkerMessage);
    }
  };
  return {
    debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error'),
    child: (more) => forwardingLogger(port, { ...bindings, ...more }),
  };
}

/**
 * Reports progress once a tick while the start shows signs of it without logging: its event loop
 * did work (a journal replay), or a child process runs (the full index walk after an unclean stop,
 * which the bookie bounds itself). A start that awaits something that never comes shows neither.
 */
function reportProgressTicks(progress: (step: string) => void): () => void {
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busyMs = now.active - last.active;
    last = now;
    if (process.getActiveResourcesInfo().includes('ProcessWrap')) progress('waiting on a child process (index check)');
    else if (busyMs >= BUSY_MS_PER_TICK) progress(`working (${Math.round(busyMs)} ms of the last tick)`);
  }, PROGRESS_TICK_MS);
  return () => { clearInterval(timer); };
}

/** A logger that reports each line as progress, and forwards it too when asked for. */
function progressLogger(progress: (step: string) => void, forward: Logger | undefined): Logger {
  const level = (name: LogLevel): LogFn => (objOrMsg, msg) => {
    progress(typeof objOrMsg === 'string' ? objOrMsg : msg ?? 'log line');
    if (forward !== undefined) forward[name](objOrMsg, msg);
  };
  return {
    debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error'),
    child: (more) => progressLogger(progress, forward?.child?.(more)),
  };
}

/** The fault tests' stalled start (BookieWorkerData.testStartStall). */
async function testStall(stall: StartStall | undefined): Promise<void> {
  if (stall === 'hang') await new Promise<never>(() => { /* never settles; the port keeps the thread alive */ });
  if (stall === 'child') {
    await new Promise<void>((resolve) => { execFile(process.execPath, ['-e', `setTimeout(() => {}, ${STALL_CHILD_MS})`], () => { resolve(); }); });
  }
}

function run(port: MessagePort, data: BookieWorkerData): void {
  const post = (message: WorkerMessage): void => { port.postMessage(message); };
  let started = false;
  const progress = (step: string): void => { if (!started) post({ kind: 'progress', step }); };
  const stopTicks = reportProgressTicks(progress);
  let store: PortMetadataStore | undefined;
  const starting = (async (): Promise<Bookie> => {
    progress('connecting to the metadata store');
    store = await PortMetadataStore.connect(data.metadataPort);
    progress('starting the bookie');
    await testStall(data.testStartStall);
    return startBookie({
      metadata: store,
      ledgersRoot: data.ledgersRoot,
      dir: data.dir,
      host: data.host,
      port: data.port,
      bookieId: data.bookieId,
      ...EMBEDDED_MEMORY,
      ...(data.tls === undefined ? {} : { tls: data.tls }),
      ...(data.auth === undefined ? {} : { auth: data.auth }),
      logger: progressLogger(progress, data.forwardLogs ? forwardingLogger(port, {}) : undefined),
    });
  })();
  void starting.finally(() => {
    started = true;
    stopTicks();
  }).catch(() => undefined);
  starting.then(
    () => { post({ kind: 'started' }); },
    async (err: unknown) => {
      await store?.close();
      post({ kind: 'failed', error: cloneError(err) });
    },
  ).catch((err: unknown) => { post({ kind: 'failed', error: cloneError(err) }); });

  let closing: Promise<void> | undefined;
  // the only command is 'close'
  port.on('message', (_command: WorkerCommand) => {
    closing ??= (async () => {
      // a close during start-up (another bookie failed) waits for this start to finish either way
      const bookie = await starting.catch(() => undefined);
      try {
        await bookie?.close();
      } finally {
        await store?.close();
      }
    })();
    closing.then(
      () => { post({ kind: 'closed' }); },
      (err: unknown) => { post({ kind: 'failed', error: cloneError(err) }); },
    );
  });
}

if (parentPort === null) throw new Error('bookie-worker must be started as a worker thread');
run(parentPort, workerData as BookieWorkerData);
