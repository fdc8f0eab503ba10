// One embedded bookie in its worker thread, as the main thread sees it: start (resolves once the
// bookie serves), stop (clean close, bounded), and a report when the thread dies on its own, which
// bookie-supervisor.ts acts on. The thread's metadata session is served from the main thread's
// local store over a MessagePort and ends with the thread, as a crashed bookie's session would.
// A start that reports no progress (bookie-worker.ts: phases, log lines, work, the index check's
// child process) for `startStallMs` is ended and fails: a hung start-up, not a long one.
import { MessageChannel, Worker } from 'node:worker_threads';
import { DLogError } from '../errors.js';
import { LocalMetadataStore } from '../metadata/local/local-metadata-store.js';
import { childLogger, type Logger } from '../util/logger.js';
import type { BookieWorkerData, StartStall, WorkerCommand, WorkerMessage } from './bookie-worker.js';
import { reviveError } from './cloned-error.js';
import { serveMetadataStore } from './metadata-port-server.js';

export const HOST = '127.0.0.1';
export const LEDGERS_ROOT = '/ledgers';
const CLOSE_TIMEOUT_MS = 30_000;
/** Default start bound: no sign of progress for this long. */
const DEFAULT_START_STALL_MS = 120_000;
/** Loading the worker's code (compiling it, from the TypeScript sources) reports nothing: it gets at least this. */
const MIN_LOAD_MS = 60_000;

/** What a Worker runs: a script path, or code to evaluate. */
export interface WorkerEntry {
  readonly script: string;
  readonly eval: boolean;
}

export interface BookieThread {
  readonly bookieId: string;
  /** Asks the bookie to close, waits for it (bounded), ends the thread and its metadata session. */
  stop(): Promise<void>;
  /** Ends the thread at once, without a close (a crash, for fault tests); onExit reports it. */
  terminate(): Promise<void>;
}

export interface BookieThreadSpec {
  readonly entry: WorkerEntry;
  readonly metadataDir: string;
  readonly dir: string;
  readonly port: number;
  readonly logger: Logger;
  readonly forwardLogs: boolean;
  readonly security: Pick<BookieWorkerData, 'tls' | 'auth'>;
  /** A start without progress for this long is ended. Default DEFAULT_START_STALL_MS. */
  readonly startStallMs?: number;
}

/** Called once when a thread that had started exits without being asked to stop. */
export type ThreadExitListener = (reason: string) => void;

/** `testStartStall`: fault tests make this start hang (BookieWorkerData.testStartStall). */
export async function startBookieThread(spec: BookieThreadSpec, onExit: ThreadExitListener, testStartStall?: StartStall): Promise<BookieThread> {
  const bookieId = `${HOST}:${spec.port}`;
  const label = `embedded bookie ${bookieId} (${spec.dir})`;
  const logger = childLogger(spec.logger, { bookie: bookieId });
  // the bookie's own session, so that its registration is its own ephemeral node and goes away with it
  const session = await LocalMetadataStore.open(spec.metadataDir);
  const { port1, port2 } = new MessageChannel();
  const server = serveMetadataStore(session, port1);
  const data: BookieWorkerData = {
    bookieId, host: HOST, port: spec.port, dir: spec.dir, ledgersRoot: LEDGERS_ROOT, metadataPort: port2, forwardLogs: spec.forwardLogs, ...spec.security,
    ...(testStartStall === undefined ? {} : { testStartStall }),
  };
  let worker: Worker;
  try {
    worker = new Worker(spec.entry.script, { eval: spec.entry.eval, workerData: data, transferList: [port2] });
  } catch (err) {
    await server.close();
    throw new DLogError('EMBEDDED_BOOKIE_FAILED', `${label}: cannot start a worker thread: ${(err as Error).message}`, { cause: err });
  }

  let state: 'starting' | 'running' | 'stopping' | 'exited' = 'starting';
  let onClosed: (() => void) | undefined;
  /** The uncaught error that ended the thread, if one did. */
  let crash: string | undefined;
  const exited = new Promise<void>((resolve) => { worker.once('exit', () => { resolve(); }); });
  const stallMs = spec.startStallMs ?? DEFAULT_START_STALL_MS;
  let stallTimer: NodeJS.Timeout | undefined;
  let lastStep = 'creating the worker thread';
  const started = new Promise<void>((resolve, reject) => {
    const watch = (ms: number): void => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        if (state !== 'starting') return;
        reject(new DLogError('EMBEDDED_BOOKIE_FAILED', `${label} made no start-up progress for ${ms} ms (last step: ${lastStep}): ended`));
      }, ms);
    };
    watch(Math.max(stallMs, MIN_LOAD_MS));
    worker.on('message', (message: WorkerMessage) => {
      switch (message.kind) {
        case 'log':
          logger[message.level](message.obj, message.msg);
          return;
        case 'progress':
          lastStep = message.step;
          if (state === 'starting') watch(stallMs);
          return;
        case 'started':
          state = 'running';
          clearTimeout(stallTimer);
          resolve();
          return;
        case 'failed': {
          const err = reviveError(message.error, `${label}: `);
          if (state === 'starting') reject(err);
          else logger.error({ err }, `${label} did not close cleanly`);
          onClosed?.();
          return;
        }
        case 'closed':
          onClosed?.();
          return;
      }
    });
    worker.on('error', (err) => {
      crash = err.message;
      const failure = new DLogError('EMBEDDED_BOOKIE_FAILED', `${label}: worker thread failed: ${err.message}`, { cause: err });
      if (state === 'starting') reject(failure);
      else logger.error({ err: failure }, `${label} failed`);
    });
    worker.on('exit', (code) => {
      if (state === 'starting') reject(new DLogError('EMBEDDED_BOOKIE_FAILED', `${label}: worker thread exited with code ${code} while starting`));
      const unexpected = state === 'running';
      state = 'exited';
      if (unexpected) onExit(crash === undefined ? `worker thread exited with code ${code}` : `worker thread failed: ${crash}`);
      // ends its session: the bookie's registration disappears, as a crashed bookie's would
      void server.close().catch((err: unknown) => { logger.error({ err }, `${label}: closing its metadata session failed`); });
    });
  });

  try {
    await started;
  } catch (err) {
    clearTimeout(stallTimer);
    await worker.terminate();
    await server.close();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (state === 'running') {
      state = 'stopping';
      const closed = new Promise<void>((resolve) => { onClosed = resolve; });
      worker.postMessage({ kind: 'close' } satisfies WorkerCommand);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_TIMEOUT_MS); });
      await Promise.race([closed, exited, timedOut]);
      clearTimeout(timer);
    }
    await worker.terminate();
    await server.close();
  };
  return {
    bookieId,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
    terminate: async () => { await worker.terminate(); },
  };
}
