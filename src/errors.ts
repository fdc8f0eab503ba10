// One error base for every layer: a stable string `code`, a `retriable` hint and the ES2022 `cause`.
// `instanceof DLogError` is keyed on a global symbol so that two installed copies of the package
// (a dependency deduplication miss) still recognise each other's errors.

const kDLogError = Symbol.for('distributedlog.DLogError');

/**
 * Every error code, as keys. Each layer's error file adds its own codes by declaration merging
 * (`declare module '../errors.js'`), so the union grows with the layers without this file importing
 * upwards, and a typo in `err.code === '...'` does not compile.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merged into by each layer
export interface DLogErrorCodes extends Record<MetadataErrorCode | 'INVALID_ARGUMENT' | 'EMBEDDED_BOOKIE_FAILED' | 'UNKNOWN', true> {}

/** The union of every `DLogError.code` the loaded entry points can produce. */
export type DLogErrorCode = keyof DLogErrorCodes;

export interface DLogErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

export class DLogError extends Error {
  readonly code: DLogErrorCode;
  readonly retriable: boolean;

  constructor(code: DLogErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    Object.defineProperty(this, kDLogError, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === DLogError) {
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kDLogError] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Bad configuration, a malformed URI or an argument out of range: fix the call, do not retry. */
export class InvalidArgumentError extends DLogError {
  constructor(message: string, options: DLogErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** Codes a MetadataStore operation can fail with; they mirror ZooKeeper's error codes. */
export type MetadataErrorCode =
  | 'NO_NODE'
  | 'NODE_EXISTS'
  | 'BAD_VERSION'
  | 'NOT_EMPTY'
  | 'NO_CHILDREN_FOR_EPHEMERALS'
  | 'BAD_ARGUMENTS'
  | 'SESSION_EXPIRED'
  | 'CONNECTION_LOSS'
  | 'OPERATION_TIMEOUT'
  /** ZooKeeper refused the change: the node's ACL does not grant it to this session's credentials. */
  | 'NO_AUTH'
  /** ZooKeeper refused the session's credentials. */
  | 'AUTH_FAILED'
  | 'CLOSED'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  | 'METADATA_ERROR';

const RETRIABLE_METADATA_CODES: ReadonlySet<MetadataErrorCode> = new Set(['CONNECTION_LOSS', 'OPERATION_TIMEOUT']);

export interface MetadataErrorOptions extends DLogErrorOptions {
  path?: string;
  /** For a failed `multi`: the index of the operation that failed. */
  failedOp?: number;
  /** The numeric ZooKeeper error code, when the error came from ZooKeeper. */
  zkCode?: number;
}

export class MetadataError extends DLogError {
  declare readonly code: MetadataErrorCode;
  readonly path: string | undefined;
  readonly failedOp: number | undefined;
  readonly zkCode: number | undefined;

  constructor(code: MetadataErrorCode, message: string, options: MetadataErrorOptions = {}) {
    super(code, message, { retriable: options.retriable ?? RETRIABLE_METADATA_CODES.has(code), cause: options.cause });
    this.path = options.path;
    this.failedOp = options.failedOp;
    this.zkCode = options.zkCode;
  }
}
