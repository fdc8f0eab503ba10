// Ledger storage failures. The bookie maps them to BookKeeper return codes: NO_LEDGER → ENOLEDGER,
// NO_ENTRY → ENOENTRY, MASTER_KEY_MISMATCH → EUA, TOO_MANY_REQUESTS → ETOOMANYREQUESTS,
// CORRUPT_ENTRY / STORAGE_IO / STORAGE_CLOSED → EIO. INDEX_CORRUPT only refuses a start.
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type StorageErrorCode =
  | 'NO_LEDGER'
  | 'NO_ENTRY'
  /** A ledger's first non-empty master key is bound; a different key was presented. */
  | 'MASTER_KEY_MISMATCH'
  /** Both write caches are full and no space freed up within the throttle time: retry later. */
  | 'TOO_MANY_REQUESTS'
  /** A stored record fails its checksum or names another ledger/entry: the bytes are not returned. */
  | 'CORRUPT_ENTRY'
  | 'STORAGE_IO'
  /** The LMDB index fails its start-up checks (truncated, damaged pages, locations outside the entry logs). */
  | 'INDEX_CORRUPT'
  | 'STORAGE_CLOSED';

export interface StorageErrorOptions extends DLogErrorOptions {
  /** The entry log file concerned, when there is one. */
  file?: string;
}

export class StorageError extends DLogError {
  declare readonly code: StorageErrorCode;
  readonly file: string | undefined;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(code, message, { retriable: options.retriable ?? code === 'TOO_MANY_REQUESTS', cause: options.cause });
    this.file = options.file;
  }
}

/** Wraps a non-StorageError failure of file or index I/O, keeping the original as `cause`. */
export function ioError(message: string, cause: unknown, file?: string): StorageError {
  if (cause instanceof StorageError) return cause;
  return new StorageError('STORAGE_IO', `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, file === undefined ? { cause } : { cause, file });
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<StorageErrorCode, true> {}
}
