// Errors crossing a thread boundary. Structured clone keeps an Error's message but drops its class
// and fields (`code`, `failedOp`...), and callers on the other side branch on exactly those (bookie
// registration on NODE_EXISTS, ledger metadata updates on BAD_VERSION), so errors travel as plain
// data and are built again as the same typed error.
import { DLogError, MetadataError, type DLogErrorCode, type MetadataErrorCode, type MetadataErrorOptions } from '../errors.js';

export interface ClonedError {
  readonly kind: 'metadata' | 'dlog' | 'other';
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | undefined;
  readonly retriable: boolean;
  readonly path: string | undefined;
  readonly failedOp: number | undefined;
  readonly zkCode: number | undefined;
}

export function cloneError(err: unknown): ClonedError {
  const base = { path: undefined, failedOp: undefined, zkCode: undefined, retriable: false };
  if (err instanceof MetadataError) {
    return {
      ...base, kind: 'metadata', name: err.name, message: err.message, stack: err.stack, code: err.code,
      retriable: err.retriable, path: err.path, failedOp: err.failedOp, zkCode: err.zkCode,
    };
  }
  if (err instanceof DLogError) {
    return { ...base, kind: 'dlog', name: err.name, message: err.message, stack: err.stack, code: err.code, retriable: err.retriable };
  }
  if (err instanceof Error) {
    // system errors (EADDRINUSE, EACCES) carry a string code worth keeping
    const code = (err as NodeJS.ErrnoException).code;
    return { ...base, kind: 'other', name: err.name, message: err.message, stack: err.stack, code };
  }
  return { ...base, kind: 'other', name: 'Error', message: String(err), stack: undefined, code: undefined };
}

/**
 * Builds the error again on this side: a MetadataError with the same code and fields, a DLogError
 * with the same code, or a plain Error. `prefix` adds context (which bookie) to the message.
 */
export function reviveError(cloned: ClonedError, prefix = ''): Error {
  const message = prefix + cloned.message;
  let err: Error;
  switch (cloned.kind) {
    case 'metadata': {
      const options: MetadataErrorOptions = { retriable: cloned.retriable };
      if (cloned.path !== undefined) options.path = cloned.path;
      if (cloned.failedOp !== undefined) options.failedOp = cloned.failedOp;
      if (cloned.zkCode !== undefined) options.zkCode = cloned.zkCode;
      err = new MetadataError(cloned.code as MetadataErrorCode, message, options);
      break;
    }
    case 'dlog':
      err = new DLogError((cloned.code ?? 'UNKNOWN') as DLogErrorCode, message, { retriable: cloned.retriable });
      break;
    case 'other':
      err = cloned.code === undefined ? new Error(message) : Object.assign(new Error(message), { code: cloned.code });
      break;
  }
  // the subclass name (BookieError, JournalError) reads better than the rebuilt base class
  err.name = cloned.name;
  return err;
}
