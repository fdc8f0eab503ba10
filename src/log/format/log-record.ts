// One LogRecord as stored inside a BK entry (§4.1), all integers big-endian:
//   0  metadata  int64   bits 0-15 flags, bits 16-47 positionWithinLogSegment, bits 48-63 unused
//   8  txid      int64
//  16  length    int32   payload length; negative means corrupt
//  20  payload
import { LogError } from '../log-error.js';

export const RecordFlags = {
  CONTROL: 0x1,
  END_OF_STREAM: 0x2,
  RECORD_SET: 0x4,
} as const;

export const LOG_RECORD_HEADER_SIZE = 20;
/** 1 MiB − 8 KiB, applied to header + payload: leaves room for the entry envelope and BK framing. */
export const MAX_LOGRECORD_SIZE = 1_040_384;
/** 1 MiB − 4 KiB: the largest entry buffer (and record-set payload) a writer may build. */
export const MAX_LOGRECORDSET_SIZE = 1_044_480;
/** Long.MAX_VALUE: the EOS record's txid; user txids must stay below it. */
export const MAX_TXID = 0x7fff_ffff_ffff_ffffn;

const MIN_INT64 = -0x8000_0000_0000_0000n;
const MAX_FLAGS = 0xffff;
/** Java reads the position into an int and rejects anything above Integer.MAX_VALUE. */
export const MAX_POSITION = 0x7fff_ffff;

export const CONTROL_PAYLOAD = Buffer.from('control');
export const KEEPALIVE_PAYLOAD = Buffer.from('keepalive');
export const END_OF_STREAM_PAYLOAD = Buffer.from('endOfStream');

export interface LogRecord {
  readonly txid: bigint;
  readonly payload: Buffer;
  /** RecordFlags bits; only the low 16 bits exist on disk. */
  readonly flags: number;
  /** 1-based count of user records in the segment up to this one; 0 when record counts are off. */
  readonly position: number;
}

export function userRecord(txid: bigint, payload: Buffer, position = 0): LogRecord {
  return { txid, payload, flags: 0, position };
}

/** The commit record a writer sends after data so the LAC advances; it reuses the last user txid. */
export function controlRecord(lastTxid: bigint, position = 0): LogRecord {
  return { txid: lastTxid, payload: CONTROL_PAYLOAD, flags: RecordFlags.CONTROL, position };
}

export function keepAliveRecord(lastTxid: bigint, position = 0): LogRecord {
  return { txid: lastTxid, payload: KEEPALIVE_PAYLOAD, flags: RecordFlags.CONTROL, position };
}

/** EOS is deliberately not a control record: readers must see it to raise EndOfStream. */
export function endOfStreamRecord(position = 0): LogRecord {
  return { txid: MAX_TXID, payload: END_OF_STREAM_PAYLOAD, flags: RecordFlags.END_OF_STREAM, position };
}

export function isControl(record: Pick<LogRecord, 'flags'>): boolean {
  return (record.flags & RecordFlags.CONTROL) !== 0;
}

export function isEndOfStream(record: Pick<LogRecord, 'flags'>): boolean {
  return (record.flags & RecordFlags.END_OF_STREAM) !== 0;
}

export function isRecordSet(record: Pick<LogRecord, 'flags'>): boolean {
  return (record.flags & RecordFlags.RECORD_SET) !== 0;
}

/** Bytes the record occupies in an entry. */
export function logRecordSize(record: Pick<LogRecord, 'payload'>): number {
  return LOG_RECORD_HEADER_SIZE + record.payload.length;
}

/**
 * Rejects what DL would refuse to send: an oversized record (RECORD_TOO_LARGE) or fields that do
 * not fit their on-disk width (INVALID_RECORD). The write path checks user records once at the
 * API (checkWriteRecord) and builds the rest itself, so only the one-off encoder below calls this.
 */
export function validateLogRecord(record: LogRecord): void {
  const size = logRecordSize(record);
  if (size > MAX_LOGRECORD_SIZE) {
    throw new LogError(
      'RECORD_TOO_LARGE',
      `log record of ${size} bytes exceeds the ${MAX_LOGRECORD_SIZE}-byte limit`,
    );
  }
  if (!Number.isInteger(record.flags) || record.flags < 0 || record.flags > MAX_FLAGS) {
    throw new LogError('INVALID_RECORD', `record flags ${record.flags} do not fit in 16 bits`);
  }
  if (!Number.isInteger(record.position) || record.position < 0 || record.position > MAX_POSITION) {
    throw new LogError('INVALID_RECORD', `record position ${record.position} is out of range`);
  }
  if (record.txid < MIN_INT64 || record.txid > MAX_TXID) {
    throw new LogError('INVALID_RECORD', `txid ${record.txid} does not fit in an int64`);
  }
}

/** Writes a record at `offset` and returns the offset after it; the record is trusted (see validateLogRecord). */
export function writeLogRecord(record: LogRecord, target: Buffer, offset: number): number {
  const end = offset + logRecordSize(record);
  if (end > target.length) {
    throw new RangeError(`log record needs ${end - offset} bytes at ${offset}, buffer has ${target.length}`);
  }
  target.writeUInt16BE(0, offset);
  target.writeUInt32BE(record.position, offset + 2);
  target.writeUInt16BE(record.flags, offset + 6);
  target.writeBigInt64BE(record.txid, offset + 8);
  target.writeInt32BE(record.payload.length, offset + 16);
  target.set(record.payload, offset + LOG_RECORD_HEADER_SIZE);
  return end;
}

/** One record on its own, checked first. */
export function encodeLogRecord(record: LogRecord): Buffer {
  validateLogRecord(record);
  const out = Buffer.allocUnsafe(logRecordSize(record));
  writeLogRecord(record, out, 0);
  return out;
}

export interface DecodedLogRecord {
  readonly record: LogRecord;
  /** Offset of the byte after this record. */
  readonly next: number;
}

/**
 * Reads one record at `offset`; the payload is a view of `source`. A truncated record or a
 * negative length is CORRUPT_ENTRY (BK digests rule out torn writes, so this is real damage).
 */
export function readLogRecord(source: Buffer, offset: number): DecodedLogRecord {
  if (source.length - offset < LOG_RECORD_HEADER_SIZE) {
    throw new LogError('CORRUPT_ENTRY', `truncated log record header at offset ${offset}`);
  }
  // Bits 48-63 are unused and ignored, as Java does.
  const position = source.readUInt32BE(offset + 2);
  if (position > MAX_POSITION) {
    throw new LogError('CORRUPT_ENTRY', `log record position ${position} exceeds Integer.MAX_VALUE`);
  }
  const flags = source.readUInt16BE(offset + 6);
  const txid = source.readBigInt64BE(offset + 8);
  const length = source.readInt32BE(offset + 16);
  const start = offset + LOG_RECORD_HEADER_SIZE;
  if (length < 0 || length > source.length - start) {
    throw new LogError('CORRUPT_ENTRY', `log record at offset ${offset} has invalid payload length ${length}`);
  }
  const next = start + length;
  return { record: { txid, payload: source.subarray(start, next), flags, position }, next };
}

export function decodeLogRecord(source: Buffer): LogRecord {
  const { record, next } = readLogRecord(source, 0);
  if (next !== source.length) {
    throw new LogError('CORRUPT_ENTRY', `${source.length - next} trailing bytes after log record`);
  }
  return record;
}
