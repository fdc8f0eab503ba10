// Keeps one embedded bookie running: a worker thread that dies on its own (an uncaught error, an
// out-of-memory abort of the thread) is started again on the same directory and port, after a
// backoff, and replays its journal as a restarted bookie process does. Clients see a bookie that
// went away and came back (their writes move by ensemble change meanwhile). A bookie that keeps
// dying (MAX_RESTARTS within RESTART_WINDOW_MS, failed restarts included) is given up on: the
// cluster reports EMBEDDED_BOOKIE_FAILED, which the namespace then fails its calls with. A restart
// that shows no progress for the start bound (bookie-thread.ts) is ended and counts as a death.
import { DLogError } from '../errors.js';
import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import { HOST, startBookieThread, type BookieThread, type BookieThreadSpec } from './bookie-thread.js';
import type { StartStall } from './bookie-worker.js';

export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;

export class SupervisedBookie {
  readonly bookieId: string;
  readonly #spec: BookieThreadSpec;
  readonly #logger: Logger;
  readonly #onGiveUp: (err: DLogError) => void;
  readonly #backoff = new Backoff({ initialMs: 100, maxMs: 5000 });
  /** Times of the restarts within the window. */
  #restarts: number[] = [];
  #thread: BookieThread | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** A restart in progress: stop() waits for it, then stops what it started. */
  #restarting: Promise<void> | undefined;
  #stopped = false;
  /** Fault tests: how the next restarts stall (stallRestarts). */
  #stalls: StartStall[] = [];

  private constructor(spec: BookieThreadSpec, logger: Logger, onGiveUp: (err: DLogError) => void) {
    this.bookieId = `${HOST}:${spec.port}`;
    this.#spec = spec;
    this.#logger = logger;
    this.#onGiveUp = onGiveUp;
  }

  /** Starts the bookie; rejects as startBookieThread does (no restart of a failed first start). */
  static async start(spec: BookieThreadSpec, logger: Logger, onGiveUp: (err: DLogError) => void): Promise<SupervisedBookie> {
    const supervised = new SupervisedBookie(spec, logger, onGiveUp);
    supervised.#thread = await startBookieThread(spec, (reason) => { supervised.#exited(reason); });
    return supervised;
  }

  /**
   * Ends the worker thread abruptly, as a crash would (fault tests); the supervisor restarts it.
   * A restarted thread registers before it reports itself started: a crash in between waits for
   * that report and crashes the new thread (it was a no-op, and a test waiting for the next
   * registration waited forever). A bookie already dead and waiting for its restart is left so.
   */
  async crash(): Promise<void> {
    await this.#restarting;
    await this.#thread?.terminate();
  }

  /** Fault tests: the next `count` restarts stall as `how` says (BookieWorkerData.testStartStall). */
  stallRestarts(count: number, how: StartStall): void {
    this.#stalls = Array.from({ length: count }, () => how);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#restarting;
    await this.#thread?.stop();
  }

  #exited(reason: string): void {
    this.#thread = undefined;
    if (this.#stopped) return;
    const now = Date.now();
    this.#restarts = this.#restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.#restarts.length === 0) this.#backoff.reset();
    if (this.#restarts.length >= MAX_RESTARTS) {
      const err = new DLogError('EMBEDDED_BOOKIE_FAILED',
        `embedded bookie ${this.bookieId} (${this.#spec.dir}) died ${MAX_RESTARTS + 1} times within ${RESTART_WINDOW_MS / 1000} s and is not restarted again; last: ${reason}`);
      this.#logger.error({ err }, err.message);
      this.#onGiveUp(err);
      return;
    }
    this.#restarts.push(now);
    const delayMs = this.#backoff.next();
    this.#logger.error({ bookie: this.bookieId, reason, delayMs }, `embedded bookie ${this.bookieId} died (${reason}); restarting it`);
    this.#timer = setTimeout(() => {
      this.#restarting = this.#restart().finally(() => { this.#restarting = undefined; });
    }, delayMs);
  }

  async #restart(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.#thread = await startBookieThread(this.#spec, (reason) => { this.#exited(reason); }, this.#stalls.shift());
      this.#logger.warn({ bookie: this.bookieId }, `embedded bookie ${this.bookieId} restarted`);
    } catch (err) {
      // a failed restart counts as another death
      this.#exited(`restart failed: ${(err as Error).message}`);
    }
  }
}
