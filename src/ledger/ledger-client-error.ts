// Failures of ledger operations (create, open, add, read, close), as the ledger client reports
// them to its users. Each code corresponds to a BookKeeper BKException; failures of the metadata
// store and of single bookie connections keep their own error classes.
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type LedgerClientErrorCode =
  /** The ensemble cannot be formed: fewer writable bookies (not excluded) than it needs. */
  | 'NOT_ENOUGH_BOOKIES'
  /** No metadata for the ledger: it was never created or has been deleted. */
  | 'NO_SUCH_LEDGER'
  /** A ledger with this id exists and was not made by this create: pick another id. */
  | 'LEDGER_EXISTS'
  /** The metadata changed since it was read (CAS failure): re-read it, then decide again. */
  | 'METADATA_VERSION_CONFLICT'
  /** Another client is recovering or has recovered the ledger: this writer may add no more. */
  | 'LEDGER_FENCED'
  /** The ledger is closed: no more adds; its last entry is fixed. */
  | 'LEDGER_CLOSED'
  /** The password does not match the ledger's (BookKeeper's UnauthorizedAccess). */
  | 'UNAUTHORIZED'
  /** A read asked for an entry range that cannot exist (negative, or last before first). */
  | 'INVALID_RANGE'
  /** A read asked for entries past the last add confirmed. */
  | 'READ_BEYOND_LAC'
  /** No replica has the entry. */
  | 'NO_SUCH_ENTRY'
  /** A bookie failed the request (or every replica did, for a read). */
  | 'BOOKIE_ERROR'
  /** Every replica returned an entry whose digest does not match; none is returned as data. */
  | 'DIGEST_MISMATCH'
  /** The operation did not complete in time; it may or may not have taken effect. */
  | 'TIMEOUT';

/** Codes for which trying the same operation again (later, or after a re-read) can succeed. */
const RETRIABLE: ReadonlySet<LedgerClientErrorCode> = new Set<LedgerClientErrorCode>([
  'NOT_ENOUGH_BOOKIES',
  'METADATA_VERSION_CONFLICT',
  'BOOKIE_ERROR',
  'TIMEOUT',
]);

export interface LedgerClientErrorOptions extends DLogErrorOptions {
  ledgerId?: bigint;
}

export class LedgerClientError extends DLogError {
  declare readonly code: LedgerClientErrorCode;
  /** The ledger concerned, when there is one. */
  readonly ledgerId: bigint | undefined;

  constructor(code: LedgerClientErrorCode, message: string, options: LedgerClientErrorOptions = {}) {
    super(code, message, { retriable: options.retriable ?? RETRIABLE.has(code), cause: options.cause });
    this.ledgerId = options.ledgerId;
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<LedgerClientErrorCode, true> {}
}
