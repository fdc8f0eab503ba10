// Failures of the DistributedLog log layer: records a writer must refuse before sending, entry bytes
// and segment metadata a reader cannot trust, log metadata conflicts and writer ownership. None is
// retriable: retrying the same call fails the same way.
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
  | 'UNSUPPORTED_METADATA_VERSION'
  /** The log's ownership lock is held by another writer (OwnershipAcquireFailedException). */
  | 'LOCK_HELD'
  /** The ownership lock was lost (session expiry and someone else took it) and could not be re-acquired. */
  | 'LOCK_LOST'
  /** The log's metadata is missing (LogNotFoundException). */
  | 'LOG_NOT_FOUND'
  /** createLog found the log already there (LogExistsException). */
  | 'LOG_EXISTS'
  /** The log's metadata is unreadable: bad layout version, non-numeric maxtxid or max LSSN (UnexpectedException). */
  | 'INVALID_LOG_METADATA'
  /** A versioned metadata update lost a race (BADVERSION, or the segment znode changed): a stale writer. */
  | 'METADATA_CONFLICT'
  /** A segment znode is gone (LogSegmentNotFoundException). */
  | 'SEGMENT_NOT_FOUND'
  /** Listed segments skip an LSSN (UnexpectedException in PerStreamLogSegmentCache). */
  | 'LSSN_GAP'
  /** A segment's LSSN does not follow the max LSSN stored in /ledgers (DLIllegalStateException). */
  | 'UNEXPECTED_LSSN'
  /** A user txid is outside [0, MAX) or below the previous one (TransactionIdOutOfOrderException). */
  | 'TRANSACTION_ID_OUT_OF_ORDER'
  /** A write after the end-of-stream record (EndOfStreamException). */
  | 'END_OF_STREAM'
  /** The segment writer was closed or aborted: no more writes (WriteCancelledException on abort). */
  | 'WRITER_CLOSED'
  /** A write waited too long for room under the writer's pending-bytes limit (OverCapacity). */
  | 'WRITE_LIMIT_EXCEEDED'
  /** A read on a log reader after (or pending at) its close(). */
  | 'READER_CLOSED'
  /**
   * Segment metadata changed in a way no writer does while a reader followed it: a completed
   * segment back in progress, a segment's ledger replaced after records were read from it, an
   * in-progress segment with records vanished (DLIllegalStateException in ReadAheadEntryReader).
   */
  | 'INCONSISTENT_LOG_METADATA'
  /** The log has no user records to answer with (LogEmptyException). */
  | 'LOG_EMPTY'
  /** A call on a namespace after its close(). */
  | 'NAMESPACE_CLOSED';

export class LogError extends DLogError {
  declare readonly code: LogErrorCode;

  constructor(code: LogErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(code, message, options);
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<LogErrorCode, true> {}
}
