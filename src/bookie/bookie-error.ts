// Failures of the bookie as a whole (start-up, configuration, its directories). Per-request
// problems are BookKeeper status codes in the responses, never exceptions.
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type BookieErrorCode =
  /** Another process holds the bookie's data directory. */
  | 'BOOKIE_LOCKED'
  /** The checkpoint mark file or a directory stamp is damaged. */
  | 'BOOKIE_CORRUPT'
  /** The journal / ledger dir list differs from the one the bookie's data was stored with. */
  | 'BOOKIE_DIRS_CHANGED'
  /** A BookKeeper cookie (in a directory or the metadata store) names another bookie id, other directories or another cluster. */
  | 'BOOKIE_COOKIE_MISMATCH'
  /**
   * A start on a full disk that cannot go on: no room for a new journal file, or a journal to
   * replay larger than the write cache (which must hold it while nothing can be flushed).
   */
  | 'BOOKIE_DISK_FULL'
  | 'BOOKIE_CLOSED';

export class BookieError extends DLogError {
  declare readonly code: BookieErrorCode;

  constructor(code: BookieErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(code, message, options);
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<BookieErrorCode, true> {}
}
