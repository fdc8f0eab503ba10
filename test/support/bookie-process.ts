// Runs a REAL bookie process (`dlog bookie`, through tsx) for integration tests: waits for its
// `bookie <id> ready` line, SIGKILLs or stops it, and restarts it on the same directory and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/zookeeper-server.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(REPO, 'src/cli/main.ts');

export interface BookieProcessOptions {
  /** Metadata URI whose path is the ledgers root, e.g. `zk://127.0.0.1:2181/ledgers-abc`. */
  readonly metadata: string;
  /** Data directory: the journal is `<dir>/journal`, ledger storage `<dir>/ledgers`. */
  readonly dir: string;
  /** `--journal-dir` / `--ledger-dirs`, instead of the subdirectories of `dir`. */
  readonly journalDir?: string;
  readonly ledgerDirs?: readonly string[];
  /** Default: a free port, picked once so that restarts reuse it. */
  readonly port?: number;
  /**
   * ZooKeeper session timeout of the bookie (hidden CLI flag). A SIGKILLed bookie's registration
   * lives until its session expires, and a restart waits for it: tests keep it short. Default 1000.
   */
  readonly sessionTimeoutMs?: number;
  /** Periodic checkpoint interval (hidden CLI flag); default: the bookie's (10 s). */
  readonly checkpointIntervalMs?: number;
  /** More `dlog bookie` options (TLS, auth). */
  readonly extraArgs?: readonly string[];
  /** Id to register as (default `127.0.0.1:<port>`); a FaultProxy's address puts the proxy in every client's path. */
  readonly bookieId?: string;
  /** How long to wait for the ready line. Default 60 s (tsx compiles on first use; CI cores are busy). */
  readonly readyTimeoutMs?: number;
}

/** The bookie process did not become ready: it exited (code/signal set) or timed out. */
export class BookieStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'BookieStartError';
  }
}

export interface BookieProcess {
  /** The id from the last ready line. */
  readonly bookieId: string;
  /** `127.0.0.1:<port>`, what BookieClient takes. */
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  readonly journalDir: string;
  /** Process id of the current process. */
  readonly pid: number;
  /** Whether the current process is running. */
  readonly running: boolean;
  /** Everything the current process wrote to stderr (last 64 KiB). */
  readonly stderr: string;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit. No-op when not running. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the process hangs (a GC pause, a dead disk); its sockets stay open. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGTERM (or SIGINT), and waits for exit code 0 (throws otherwise, with stderr). */
  stop(signal?: 'SIGTERM' | 'SIGINT'): Promise<void>;
  /** Starts the bookie again on the same directory and port (kills the current one first if running). */
  restart(): Promise<void>;
}

/** Every child still running, killed by killAllBookieProcesses() and at exit. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** SIGKILLs every bookie process started by this module that is still running. For after/afterEach hooks. */
export async function killAllBookieProcesses(): Promise<void> {
  await Promise.all([...live].map(async (child) => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }));
}

interface Launched {
  readonly child: ChildProcess;
  readonly bookieId: string;
  readonly exit: Promise<[number | null, NodeJS.Signals | null]>;
  readonly stderr: () => string;
}

function argsFor(options: BookieProcessOptions, port: number): string[] {
  const args = ['--import', 'tsx', MAIN, 'bookie', '--metadata', options.metadata, '--dir', options.dir, '--port', String(port)];
  args.push('--zk-session-timeout-ms', String(options.sessionTimeoutMs ?? 1000));
  if (options.journalDir !== undefined) args.push('--journal-dir', options.journalDir);
  if (options.ledgerDirs !== undefined) args.push('--ledger-dirs', options.ledgerDirs.join(','));
  if (options.bookieId !== undefined) args.push('--bookie-id', options.bookieId);
  if (options.checkpointIntervalMs !== undefined) args.push('--checkpoint-interval-ms', String(options.checkpointIntervalMs));
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** Spawns the process and waits for its ready line; rejects with BookieStartError if it exits first or times out. */
async function launch(options: BookieProcessOptions, port: number): Promise<Launched> {
  const child = spawn(process.execPath, argsFor(options, port), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-65536); });
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve([code, signal]);
    });
  });
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const bookieId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new BookieStartError(`bookie on port ${port} not ready within ${timeoutMs} ms; stderr:\n${stderr}`, null, null, stderr));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const m = /^bookie (\S+) ready$/m.exec(stdout);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exit.then(([code, signal]) => {
      clearTimeout(timer);
      // stderr may still be draining when 'exit' fires: give it the close event
      const report = (): void => {
        reject(new BookieStartError(
          `bookie on port ${port} exited (code ${code}, signal ${signal}) before it was ready; stderr:\n${stderr}`,
          code, signal, stderr,
        ));
      };
      if (child.stderr.readableEnded) report();
      else child.stderr.once('close', report);
    });
  });
  return { child, bookieId, exit, stderr: () => stderr };
}

/** Starts `dlog bookie` and resolves once it printed its ready line. */
export async function startBookieProcess(options: BookieProcessOptions): Promise<BookieProcess> {
  const port = options.port ?? await freePort();
  let current = await launch(options, port);
  const running = (): boolean => current.child.exitCode === null && current.child.signalCode === null;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!running()) return;
    current.child.kill(signal);
    await current.exit;
  };
  return {
    get bookieId() { return current.bookieId; },
    address: `127.0.0.1:${port}`,
    port,
    dir: options.dir,
    journalDir: options.journalDir ?? path.join(options.dir, 'journal'),
    get pid() { return current.child.pid ?? -1; },
    get running() { return running(); },
    get stderr() { return current.stderr(); },
    kill,
    pause() { if (running()) current.child.kill('SIGSTOP'); },
    resume() { if (running()) current.child.kill('SIGCONT'); },
    async stop(how: 'SIGTERM' | 'SIGINT' = 'SIGTERM') {
      if (!running()) throw new Error('stop(): the bookie process is not running');
      current.child.kill(how);
      const [code, signal] = await current.exit;
      if (code !== 0) throw new Error(`bookie exited with code ${code}, signal ${signal} on ${how}; stderr:\n${current.stderr()}`);
    },
    async restart() {
      await kill();
      current = await launch(options, port);
    },
  };
}
