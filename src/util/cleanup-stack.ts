// Undo steps of a start-up, run in reverse on failure or close. Every step runs even when an
// earlier one fails (a failed checkpoint must not leave the directory lock and the journal open);
// each failure is logged with its error and the first one is rethrown once all have run.
import type { Logger } from './logger.js';

export type CleanupStep = () => Promise<void> | void;

export class CleanupStack {
  readonly #steps: CleanupStep[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  push(step: CleanupStep): void {
    this.#steps.push(step);
  }

  /** Runs and forgets every step, last pushed first. */
  async unwind(): Promise<void> {
    let first: { err: unknown } | undefined;
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        this.#logger.error({ err }, 'a cleanup step failed; running the others');
        first ??= { err };
      }
    }
    if (first) throw first.err;
  }
}

/**
 * Waits for `promise` at most `ms`; past that, logs and resolves (the promise goes on, and a late
 * rejection is logged, never unhandled). For waits on a peer that may never answer.
 */
export async function bounded(promise: Promise<unknown>, ms: number, what: string, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const watched = promise.then(() => undefined, (err: unknown) => {
    if (timedOut) logger.warn({ err }, `${what} failed after its wait ended`);
    else throw err;
  });
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      logger.warn({ waitedMs: ms }, `${what} did not finish within ${ms} ms; going on without it`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([watched, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
