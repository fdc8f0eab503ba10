// Failures of the dlog commands themselves (not of the library they drive).
import { DLogError, type DLogErrorOptions } from '../errors.js';

export type CliErrorCode =
  /** `dlog bench`: bench/ is missing or a benchmark cannot run. */
  | 'BENCH_FAILED'
  /** `dlog demo`: records came back missing, duplicated, out of order or altered. */
  | 'DEMO_VERIFICATION_FAILED'
  /** `dlog sandbox`: no ZooKeeper installed, a port taken, ZooKeeper failing. */
  | 'SANDBOX_FAILED';

export class CliError extends DLogError {
  declare readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options: DLogErrorOptions = {}) {
    super(code, message, options);
  }
}

declare module '../errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds this layer's codes to DLogErrorCode
  interface DLogErrorCodes extends Record<CliErrorCode, true> {}
}
