// Exponential backoff, the one policy behind every retry of the library: the log writer's ledger
// creation, the ownership lock's re-acquire after a session expiry and the bookie client's
// reconnects. `Backoff` is the delay sequence (for callers that fail fast between attempts, like
// the bookie client); `retry` runs an operation until it succeeds or may not be tried again.

export interface BackoffOptions {
  /** The first delay. */
  readonly initialMs: number;
  /** No delay is longer. Default unbounded. */
  readonly maxMs?: number;
  /** Each delay is this times the previous one. Default 2. */
  readonly factor?: number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  #nextMs: number;

  constructor(options: BackoffOptions) {
    this.#initialMs = options.initialMs;
    this.#maxMs = options.maxMs ?? Infinity;
    this.#factor = options.factor ?? 2;
    this.#nextMs = Math.min(this.#maxMs, this.#initialMs);
  }

  /** The delay before the next attempt; each call returns a longer one, up to maxMs. */
  next(): number {
    const delay = this.#nextMs;
    this.#nextMs = Math.min(this.#maxMs, delay * this.#factor);
    return delay;
  }

  /** After a success: the next failure waits initialMs again. */
  reset(): void {
    this.#nextMs = Math.min(this.#maxMs, this.#initialMs);
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Attempts after the first. */
  readonly retries: number;
  /** Whether a failure may be retried (checked before waiting); the error is thrown as is otherwise. */
  readonly shouldRetry: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, e.g. to log. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `operation` (attempt 0, 1, ...) until it resolves, waiting with backoff between failures. */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options);
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (attempt >= options.retries || !options.shouldRetry(err, attempt)) throw err;
      const delayMs = backoff.next();
      options.onRetry?.(err, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
