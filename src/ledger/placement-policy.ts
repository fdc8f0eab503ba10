// Which bookies get a ledger's entries: BookKeeper's default placement without racks (random among
// writable bookies), plus its bookie failure tracking: a bookie with more than `errorThreshold`
// errors within one `errorIntervalMs` window is quarantined for `quarantineMs`.
//
// Quarantined bookies are avoided, not banned: when the others are too few, ensembles are topped up
// with quarantined ones instead of failing, as BookKeeper retries without the quarantine exclusion
// (unlike BookKeeper, the non-quarantined bookies are still taken first).
//
// Bookies gone for good (LedgerClient.failBookie: an embedded bookie its cluster gave up on) are
// never picked, even while still registered; running out of bookies then names them, the first
// one's failure as the cause.
import { InvalidArgumentError } from '../errors.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { LedgerClientError } from './ledger-client-error.js';

/** What placement needs of the registry: the currently writable bookies. */
export interface WritableBookies {
  writable(): ReadonlySet<string>;
}

export interface PlacementPolicyOptions {
  /** More errors than this within one interval quarantine a bookie. Default 100 (bookieErrorThresholdPerInterval). */
  errorThreshold?: number;
  /** The error counting window. Default 60000 ms (BookKeeper's health check interval). */
  errorIntervalMs?: number;
  /** Default 1800000 ms (bookieQuarantineTimeSeconds 1800). */
  quarantineMs?: number;
  /** Milliseconds clock, for tests. Default Date.now. */
  now?: () => number;
  /** Uniform in [0, 1), for tests. Default Math.random. */
  random?: () => number;
  logger?: Logger;
}

export interface PlacementOptions {
  /** Bookies not to pick (besides those already in the ensemble, for a replacement). */
  exclude?: Iterable<string>;
}

interface ErrorWindow {
  start: number;
  count: number;
}

export class PlacementPolicy {
  readonly #bookies: WritableBookies;
  readonly #errorThreshold: number;
  readonly #errorIntervalMs: number;
  readonly #quarantineMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #errors = new Map<string, ErrorWindow>();
  /** Bookie id -> end of its quarantine (ms). Expired entries are dropped when seen. */
  readonly #quarantine = new Map<string, number>();
  /** Bookie id -> why it is gone for good; one entry per such bookie. */
  readonly #gone = new Map<string, Error>();

  constructor(bookies: WritableBookies, options: PlacementPolicyOptions = {}) {
    this.#bookies = bookies;
    this.#errorThreshold = nonNegative('errorThreshold', options.errorThreshold ?? 100);
    this.#errorIntervalMs = nonNegative('errorIntervalMs', options.errorIntervalMs ?? 60_000);
    this.#quarantineMs = nonNegative('quarantineMs', options.quarantineMs ?? 1_800_000);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#log = options.logger ?? noopLogger;
  }

  /** `ensembleSize` distinct writable bookies in random order. NOT_ENOUGH_BOOKIES if there are too few. */
  newEnsemble(ensembleSize: number, options: PlacementOptions = {}): string[] {
    if (!Number.isInteger(ensembleSize) || ensembleSize < 1) {
      throw new InvalidArgumentError(`ensemble size must be a positive integer, got ${ensembleSize}`);
    }
    const candidates = this.#candidates(new Set(options.exclude));
    if (candidates.length < ensembleSize) throw this.#notEnough(`an ensemble of ${ensembleSize}`, ensembleSize, candidates);
    return candidates.slice(0, ensembleSize);
  }

  /** A writable bookie to take the place of `ensemble[index]`: not in the ensemble, not excluded. */
  replaceBookie(ensemble: readonly string[], index: number, options: PlacementOptions = {}): string {
    const failed = ensemble[index];
    if (!Number.isInteger(index) || failed === undefined) {
      throw new InvalidArgumentError(`no bookie at index ${index} of an ensemble of ${ensemble.length}`);
    }
    const exclude = new Set(options.exclude);
    for (const bookie of ensemble) exclude.add(bookie);
    const candidates = this.#candidates(exclude);
    const [replacement] = candidates;
    if (replacement === undefined) throw this.#notEnough(`a replacement for ${failed}`, 1, candidates);
    return replacement;
  }

  /** Counts a failed request to `bookieId`; too many in one interval quarantine it. */
  recordError(bookieId: string): void {
    const now = this.#now();
    let window = this.#errors.get(bookieId);
    if (window === undefined || now - window.start >= this.#errorIntervalMs) {
      window = { start: now, count: 0 };
      this.#errors.set(bookieId, window);
    }
    window.count++;
    if (window.count <= this.#errorThreshold) return;
    this.#errors.delete(bookieId);
    this.#quarantine.set(bookieId, now + this.#quarantineMs);
    this.#log.warn(
      { bookieId, errors: window.count, intervalMs: this.#errorIntervalMs, quarantineMs: this.#quarantineMs },
      'bookie quarantined: too many errors',
    );
  }

  /** The bookie is gone for good: never picked again. */
  bookieGone(bookieId: string, err: Error): void {
    this.#gone.set(bookieId, err);
  }

  isQuarantined(bookieId: string): boolean {
    const until = this.#quarantine.get(bookieId);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#quarantine.delete(bookieId);
    return false;
  }

  /** Every writable bookie not excluded, in random order, quarantined ones last. */
  #candidates(exclude: ReadonlySet<string>): string[] {
    const healthy: string[] = [];
    const quarantined: string[] = [];
    for (const bookie of this.#bookies.writable()) {
      if (exclude.has(bookie) || this.#gone.has(bookie)) continue;
      (this.isQuarantined(bookie) ? quarantined : healthy).push(bookie);
    }
    return [...this.#shuffle(healthy), ...this.#shuffle(quarantined)];
  }

  #notEnough(what: string, needed: number, candidates: readonly string[]): LedgerClientError {
    const writable = this.#bookies.writable().size;
    const gone = [...this.#gone];
    return new LedgerClientError(
      'NOT_ENOUGH_BOOKIES',
      `not enough bookies for ${what}: need ${needed}, ${candidates.length} available` +
        ` (${writable} writable, ${writable - candidates.length} of them excluded)` +
        gone.map(([bookie, err]) => `; ${bookie} is gone for good: ${err.message}`).join(''),
      gone[0] === undefined ? {} : { cause: gone[0][1] },
    );
  }

  #shuffle(items: string[]): string[] {
    const shuffled: string[] = [];
    while (items.length > 0) shuffled.push(...items.splice(Math.floor(this.#random() * items.length), 1));
    return shuffled;
  }
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new InvalidArgumentError(`${name} must be a non-negative number, got ${value}`);
  return value;
}
