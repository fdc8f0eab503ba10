// Reads one entry from the bookies of its write set, BookKeeper style: ask the first replica; on an
// error, or when it has not answered within the speculative timeout, also ask the next one (without
// cancelling the first). An envelope that fails its digest is never returned: the next replica is
// tried. Fails when every replica failed; a real error wins over "no such entry". What each bookie
// did goes to the pool's BookieHealth, so the next reads ask a hung bookie last. When every replica
// failed and one of them for good (a bookie gone, a refusal), that error is the failure's cause.
import { DLogError } from '../errors.js';
import type { Digest } from '../protocol/digest.js';
import { decodeEntry, type Entry } from '../protocol/bk-entry-envelope.js';
import type { ReadEntryRequest, StatusCode } from '../protocol/protocol-types.js';
import type { BookieConnections } from './bookie-transport.js';
import { LedgerClientError } from './ledger-client-error.js';
import type { LedgerMetrics } from './ledger-metrics.js';

export interface FetchOptions {
  readonly pool: BookieConnections;
  readonly digest: Digest;
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  /** Bookie ids in the order to try them (the caller has ordered them by health). */
  readonly replicas: readonly string[];
  readonly speculativeTimeoutMs: number;
  /** Counts the speculative reads. */
  readonly metrics?: LedgerMetrics;
  /** Extra request fields (the fence flag and master key of recovery reads). */
  readonly request?: Partial<Pick<ReadEntryRequest, 'flag' | 'masterKey' | 'priority'>>;
}

const MISSING: ReadonlySet<StatusCode> = new Set(['ENOENTRY', 'ENOLEDGER']);

export function fetchEntry(options: FetchOptions): Promise<Entry> {
  const { pool, digest, ledgerId, entryId, replicas, speculativeTimeoutMs } = options;
  const startedAt = performance.now();
  return new Promise<Entry>((resolve, reject) => {
    let next = 0;
    let outstanding = 0;
    let done = false;
    let realError: string | undefined;
    /** The first failure that retrying cannot cure (a bookie gone for good): the cause. */
    let lasting: DLogError | undefined;
    let timer: NodeJS.Timeout | undefined;
    const { health } = pool;
    /** Asked and not answered yet: the bookies a speculative timeout finds slow. */
    const waiting = new Set<string>();
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
    };
    const failed = (bookieId: string, why: string, missing: boolean, err?: unknown): void => {
      outstanding--;
      if (err instanceof DLogError && !err.retriable) lasting ??= err;
      waiting.delete(bookieId);
      if (!missing) health.failed(bookieId);
      if (done) return;
      if (!missing) realError ??= `${bookieId}: ${why}`;
      if (tryNext()) return;
      if (outstanding > 0) return;
      finish();
      reject(realError === undefined
        ? new LedgerClientError('NO_SUCH_ENTRY', `entry ${entryId} of ledger ${ledgerId} is on none of ${replicas.join(', ')}`)
        : new LedgerClientError('BOOKIE_ERROR', `could not read entry ${entryId} of ledger ${ledgerId}; first error ${realError}`
          + (lasting === undefined || realError.endsWith(lasting.message) ? '' : `; for good: ${lasting.message}`), lasting === undefined ? {} : { cause: lasting, retriable: false }));
    };
    const tryNext = (): boolean => {
      const bookieId = replicas[next++];
      if (bookieId === undefined) return false;
      outstanding++;
      waiting.add(bookieId);
      const sentAt = Date.now();
      pool.get(bookieId).send({ op: 'READ_ENTRY', ledgerId, entryId, ...options.request }).then((response) => {
        if (response.op !== 'READ_ENTRY' || response.status !== 'EOK' || response.body === undefined) {
          failed(bookieId, response.status, MISSING.has(response.status));
          return;
        }
        waiting.delete(bookieId);
        if (Date.now() - sentAt < speculativeTimeoutMs) health.answered(bookieId);
        if (done) return;
        try {
          const entry = decodeEntry(digest, response.body, { ledgerId, entryId });
          finish();
          options.metrics?.entryRead(performance.now() - startedAt);
          resolve(entry);
        } catch (err) {
          failed(bookieId, (err as Error).message, false);
        }
      }, (err: unknown) => { failed(bookieId, (err as Error).message, false, err); });
      return true;
    };
    const speculate = (): void => {
      timer = setTimeout(() => {
        if (done) return;
        for (const bookieId of waiting) health.slow(bookieId);
        if (tryNext()) {
          options.metrics?.speculativeRead();
          speculate();
        }
      }, speculativeTimeoutMs);
      timer.unref();
    };
    tryNext();
    speculate();
  });
}
