// At most one log line per key per interval: a flood of bad frames, refused connections or failed
// journal writes (every add of a failed group) costs one line a second, with the count of the
// lines held back since the last one.
import type { Logger } from './logger.js';

export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  /** key → [next time a line may go out, lines suppressed since the last one]. */
  readonly #keys = new Map<string, [number, number]>();

  constructor(logger: Logger, intervalMs = 1000) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.#log('warn', key, fields, message);
  }

  error(key: string, fields: Record<string, unknown>, message: string): void {
    this.#log('error', key, fields, message);
  }

  #log(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const state = this.#keys.get(key);
    if (state !== undefined && now < state[0]) {
      state[1]++;
      return;
    }
    const suppressed = state?.[1] ?? 0;
    this.#keys.set(key, [now + this.#intervalMs, 0]);
    this.#logger[level](suppressed === 0 ? fields : { ...fields, suppressed }, message);
  }
}
