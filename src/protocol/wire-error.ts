// Failures of the wire layer: framing, protobuf decoding, envelopes, metadata records and writes
// to a closed connection. Only CONNECTION_CLOSED is marked retriable (on a new connection); the
// others mean "these bytes cannot be trusted", though a caller may still try another replica.
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type WireErrorCode =
  /** A frame declared a length above the configured maximum; the connection must be dropped. */
  | 'FRAME_TOO_LARGE'
  /** A frame's length or protobuf payload is invalid (negative length, bad encoding, missing required field). */
  | 'MALFORMED_FRAME'
  /** An entry or LAC envelope failed verification: short, wrong digest, or wrong ledger/entry id. */
  | 'DIGEST_MISMATCH'
  /** A ledger metadata znode could not be parsed. */
  | 'MALFORMED_METADATA'
  /** A frame was written to a connection that has closed. */
  | 'CONNECTION_CLOSED';

export class WireError extends DLogError {
  declare readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(code, message, options);
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<WireErrorCode, true> {}
}
