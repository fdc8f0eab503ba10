// Failures of the DistributedLog record layer: records a writer must refuse before sending, entry
// bytes and segment metadata a reader cannot trust. None is retriable: the same bytes fail the same way.
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type LogErrorCode =
  /** A record (20-byte header + payload) or an entry exceeds DL's size limits. */
  | 'RECORD_TOO_LARGE'
  /** A record's fields are out of range (flags, position, txid) and cannot be encoded. */
  | 'INVALID_RECORD'
  /** Entry bytes are malformed: bad version, codec, lengths or compressed data. */
  | 'CORRUPT_ENTRY'
  /** A log-segment znode's data cannot be parsed (field count, non-numeric or out-of-range field). */
  | 'MALFORMED_SEGMENT_METADATA'
  /** A log-segment znode uses a metadata layout version outside the supported range. */
  | 'UNSUPPORTED_METADATA_VERSION';

export class LogError extends DLogError {
  declare readonly code: LogErrorCode;

  constructor(code: LogErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(code, message, options);
  }
}
