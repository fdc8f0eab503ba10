// Journal failures. `file` and `offset` point at the damaged bytes so an operator can inspect
// them; none of these are retriable because each one means the on-disk journal needs attention.
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type JournalErrorCode =
  /** Bytes inside the synced region fail validation: acknowledged data may be lost. */
  | 'JOURNAL_CORRUPT'
  /** A journal file that replay needs (the checkpoint's file, or one between it and the newest) is absent. */
  | 'JOURNAL_MISSING'
  /** A write or sync failed. The journal refuses further appends: after a failed fdatasync the
   *  page cache may have dropped the data, so retrying could report durability it does not have. */
  | 'JOURNAL_IO'
  | 'JOURNAL_CLOSED';

export interface JournalErrorOptions extends DLogErrorOptions {
  file?: string;
  offset?: number;
}

export class JournalError extends DLogError {
  declare readonly code: JournalErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(code: JournalErrorCode, message: string, options: JournalErrorOptions = {}) {
    super(code, message, { retriable: false, cause: options.cause });
    this.file = options.file;
    this.offset = options.offset;
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<JournalErrorCode, true> {}
}
