// Znode paths of one log (LogMetadata.java): <ns>/<logName>/<default>/{maxtxid, version, lock,
// readLock, ledgers, allocation, subscribers}. <default> is config `unpartitionedStreamName`.
import { joinPath } from '../../metadata/path.js';

export const DEFAULT_STREAM_NAME = '<default>';

export interface LogPaths {
  /** `<ns>/<logName>`. */
  readonly log: string;
  /** `<ns>/<logName>/<default>`. */
  readonly root: string;
  readonly maxTxId: string;
  readonly version: string;
  readonly lock: string;
  readonly readLock: string;
  /** Parent of the segment znodes; its data is the max LSSN. */
  readonly ledgers: string;
  readonly allocation: string;
  readonly subscribers: string;
}

/** `logName` must already be validated and normalized (validateLogName). */
export function logPaths(namespaceRoot: string, logName: string, streamName = DEFAULT_STREAM_NAME): LogPaths {
  const log = joinPath(namespaceRoot, logName);
  const root = `${log}/${streamName}`;
  return {
    log,
    root,
    maxTxId: `${root}/maxtxid`,
    version: `${root}/version`,
    lock: `${root}/lock`,
    readLock: `${root}/readLock`,
    ledgers: `${root}/ledgers`,
    allocation: `${root}/allocation`,
    subscribers: `${root}/subscribers`,
  };
}

/** The path of a segment znode, e.g. `<ledgers>/inprogress_000000000000000001`. */
export function segmentPath(paths: LogPaths, znodeName: string): string {
  return `${paths.ledgers}/${znodeName}`;
}
