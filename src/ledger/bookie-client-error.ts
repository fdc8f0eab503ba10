// Failures talking to one bookie (not BookKeeper status codes, which come back in responses).
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type BookieClientErrorCode =
  /** No response within the request timeout; the request may or may not have been applied. */
  | 'BOOKIE_TIMEOUT'
  /** The connection could not be made or was lost with the request outstanding. */
  | 'BOOKIE_UNAVAILABLE'
  | 'BOOKIE_CLIENT_CLOSED'
  /** START_TLS refused or the TLS handshake failed (wrong CA, expired or mismatched certificate). */
  | 'BOOKIE_TLS_FAILED'
  /** The bookie refused this client: wrong token, unknown plugin, certificate role not allowed, TLS required. */
  | 'BOOKIE_UNAUTHORIZED';

const FATAL: ReadonlySet<BookieClientErrorCode> = new Set(['BOOKIE_CLIENT_CLOSED', 'BOOKIE_TLS_FAILED', 'BOOKIE_UNAUTHORIZED']);

export class BookieClientError extends DLogError {
  declare readonly code: BookieClientErrorCode;

  constructor(code: BookieClientErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(code, message, { retriable: !FATAL.has(code), ...options });
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<BookieClientErrorCode, true> {}
}
