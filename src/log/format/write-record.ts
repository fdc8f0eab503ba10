// A record as a user writes it, and the one check every write path applies before accepting it:
// shape, size and txid range, so a bad record is refused before it takes a place in the log.
import { InvalidArgumentError } from '../../errors.js';
import { LogError } from '../log-error.js';
import { LOG_RECORD_HEADER_SIZE, MAX_LOGRECORD_SIZE, MAX_TXID } from './log-record.js';

/** What a user writes: an application-chosen, non-decreasing txid and the payload bytes. */
export interface WriteRecord {
  readonly txid: bigint;
  readonly payload: Uint8Array;
}

/** Shape, size and txid range of one record: INVALID_ARGUMENT, RECORD_TOO_LARGE, TRANSACTION_ID_OUT_OF_ORDER. */
export function checkWriteRecord(record: WriteRecord): void {
  if ((record as unknown) === null || typeof record !== 'object') throw new InvalidArgumentError('a record is an object { txid, payload }');
  const { txid, payload } = record;
  if (typeof txid !== 'bigint') throw new InvalidArgumentError(`record txid must be a bigint, got ${typeof txid}`);
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('record payload must be a Uint8Array (or Buffer)');
  if (LOG_RECORD_HEADER_SIZE + payload.length > MAX_LOGRECORD_SIZE) {
    throw new LogError('RECORD_TOO_LARGE', `record of ${payload.length} bytes exceeds the ${MAX_LOGRECORD_SIZE - LOG_RECORD_HEADER_SIZE}-byte payload limit`);
  }
  if (txid < 0n || txid >= MAX_TXID) throw new LogError('TRANSACTION_ID_OUT_OF_ORDER', `txid ${txid} is outside [0, ${MAX_TXID})`);
}
