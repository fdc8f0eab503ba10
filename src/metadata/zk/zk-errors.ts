// Maps node-zookeeper-client failures onto MetadataError: our string code, ZooKeeper's numeric code and the path.
import zookeeper from 'node-zookeeper-client';
import { MetadataError, type MetadataErrorCode } from '../../errors.js';

const { Exception } = zookeeper;

/** ZooKeeper error codes (KeeperException.Code) we give a specific MetadataErrorCode; the rest are METADATA_ERROR. */
const ZK_CODES: ReadonlyMap<number, MetadataErrorCode> = new Map<number, MetadataErrorCode>([
  [Exception.NO_NODE, 'NO_NODE'],
  [Exception.NODE_EXISTS, 'NODE_EXISTS'],
  [Exception.BAD_VERSION, 'BAD_VERSION'],
  [Exception.NOT_EMPTY, 'NOT_EMPTY'],
  [Exception.NO_CHILDREN_FOR_EPHEMERALS, 'NO_CHILDREN_FOR_EPHEMERALS'],
  [Exception.BAD_ARGUMENTS, 'BAD_ARGUMENTS'],
  [Exception.SESSION_EXPIRED, 'SESSION_EXPIRED'],
  [Exception.CONNECTION_LOSS, 'CONNECTION_LOSS'],
  [Exception.OPERATION_TIMEOUT, 'OPERATION_TIMEOUT'],
  [Exception.NO_AUTH, 'NO_AUTH'],
  [Exception.AUTH_FAILED, 'AUTH_FAILED'],
]);

/** Marks the operations of a failed multi that did not fail themselves (ZooKeeper rolled them back). */
export const ZK_RUNTIME_INCONSISTENCY = Exception.RUNTIME_INCONSISTENCY;

export function metadataCodeOf(zkCode: number): MetadataErrorCode {
  return ZK_CODES.get(zkCode) ?? 'METADATA_ERROR';
}

function zkCodeOf(err: unknown): number | undefined {
  if (err instanceof Exception) return err.code;
  return undefined;
}

export function fromZkCode(zkCode: number, path: string | undefined, extra: { failedOp?: number; cause?: unknown } = {}): MetadataError {
  const code = metadataCodeOf(zkCode);
  const where = path === undefined ? '' : ` at ${path}`;
  const hint = code === 'NO_AUTH' ? ': the node\'s ACL does not grant this to the session\'s credentials (zkAuth)' : '';
  return new MetadataError(code, `ZooKeeper ${code === 'METADATA_ERROR' ? `error ${zkCode}` : code}${where}${hint}`, {
    zkCode,
    ...(path === undefined ? {} : { path }),
    ...(extra.failedOp === undefined ? {} : { failedOp: extra.failedOp }),
    ...(extra.cause === undefined ? {} : { cause: extra.cause }),
  });
}

/** Any failure of a client call (callback error or synchronous throw) as a MetadataError. */
export function toMetadataError(err: unknown, path?: string): MetadataError {
  if (err instanceof MetadataError) return err;
  const zkCode = zkCodeOf(err);
  if (zkCode !== undefined) return fromZkCode(zkCode, path, { cause: err });
  const pathOpt = path === undefined ? {} : { path };
  // The client only throws AssertionErrors synchronously, on its argument checks (e.g. data over 1 MiB).
  if (err instanceof Error && (err as { code?: unknown }).code === 'ERR_ASSERTION') {
    return new MetadataError('BAD_ARGUMENTS', `rejected by the ZooKeeper client: ${err.message}`, { ...pathOpt, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new MetadataError('METADATA_ERROR', `ZooKeeper client failure: ${message}`, { ...pathOpt, cause: err });
}
