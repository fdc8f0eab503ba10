// DLSN: a record's position in a log, (log-segment sequence number, entry id, slot in the entry),
// ordered lexicographically as signed longs. Binary form (proto/DLSN.java): version byte 1 then three
// big-endian int64s, 25 bytes; the string form is padded standard base64 of those bytes.
import { InvalidArgumentError } from '../../errors.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const VERSION0 = 0;
const VERSION1 = 1;
/** Java's legacy VERSION0_LEN: a bits/bytes mix-up, kept because version-0 readers accept it. */
const VERSION0_LEN = 200;
const VERSION1_LEN = 25;

function checkInt64(field: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
    throw new InvalidArgumentError(`DLSN ${field} must be a signed 64-bit bigint, got ${String(value)}`);
  }
  return value;
}

export class DLSN {
  /** The first position of a log: (1, 0, 0). */
  static readonly InitialDLSN = new DLSN(1n, 0n, 0n);
  /** Just before the first record: (1, 0, -1); what a missing subscriber position reads as. */
  static readonly NonInclusiveLowerBound = new DLSN(1n, 0n, -1n);
  /** No position: (0, -1, -1). */
  static readonly InvalidDLSN = new DLSN(0n, -1n, -1n);

  readonly logSegmentSequenceNo: bigint;
  readonly entryId: bigint;
  readonly slotId: bigint;

  constructor(logSegmentSequenceNo: bigint, entryId: bigint, slotId: bigint) {
    this.logSegmentSequenceNo = checkInt64('logSegmentSequenceNo', logSegmentSequenceNo);
    this.entryId = checkInt64('entryId', entryId);
    this.slotId = checkInt64('slotId', slotId);
  }

  /** The first position of segment `lssn`: (lssn, 0, 0). */
  static firstOf(lssn: bigint): DLSN {
    return new DLSN(lssn, 0n, 0n);
  }

  /** Negative, zero or positive as this sorts before, equal to or after `other`. */
  compare(other: DLSN): number {
    return (
      cmp(this.logSegmentSequenceNo, other.logSegmentSequenceNo) ||
      cmp(this.entryId, other.entryId) ||
      cmp(this.slotId, other.slotId)
    );
  }

  equals(other: DLSN): boolean {
    return this.compare(other) === 0;
  }

  /** The next slot in the same entry (Java's getNextDLSN). */
  next(): DLSN {
    return new DLSN(this.logSegmentSequenceNo, this.entryId, this.slotId + 1n);
  }

  /** The first position of the following segment: (lssn + 1, 0, 0). */
  positionOnTheNextLedger(): DLSN {
    return DLSN.firstOf(this.logSegmentSequenceNo + 1n);
  }

  toBytes(): Buffer {
    const buf = Buffer.alloc(VERSION1_LEN);
    buf.writeUInt8(VERSION1, 0);
    buf.writeBigInt64BE(this.logSegmentSequenceNo, 1);
    buf.writeBigInt64BE(this.entryId, 9);
    buf.writeBigInt64BE(this.slotId, 17);
    return buf;
  }

  /** Accepts version 1 (25 bytes) and the legacy version 0 (200 bytes, three longs then padding). */
  static fromBytes(data: Uint8Array): DLSN {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const version = buf[0];
    if (version === undefined) throw new InvalidArgumentError('invalid DLSN: no bytes');
    const expected = version === VERSION1 ? VERSION1_LEN : version === VERSION0 ? VERSION0_LEN : undefined;
    if (expected === undefined) {
      throw new InvalidArgumentError(`invalid DLSN: unknown version ${version} (${buf.toString('hex')})`);
    }
    if (buf.length !== expected) {
      throw new InvalidArgumentError(
        `invalid DLSN: version ${version} needs ${expected} bytes, got ${buf.length} (${buf.toString('hex')})`,
      );
    }
    return new DLSN(buf.readBigInt64BE(1), buf.readBigInt64BE(9), buf.readBigInt64BE(17));
  }

  /** Padded standard base64 of toBytes(), e.g. `AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==` for (1,0,0). */
  serialize(): string {
    return this.toBytes().toString('base64');
  }

  /** Parses serialize()'s form; non-canonical base64 (bad characters, missing padding) is rejected. */
  static deserialize(text: string): DLSN {
    const buf = Buffer.from(text, 'base64');
    if (buf.length === 0 || buf.toString('base64') !== text) {
      throw new InvalidArgumentError(`invalid DLSN string ${JSON.stringify(text)}: not padded standard base64`);
    }
    return DLSN.fromBytes(buf);
  }

  /**
   * Either text form: toString()'s `(lssn,entry,slot)` (parentheses and spaces optional) or
   * serialize()'s base64. Anything else is INVALID_ARGUMENT.
   */
  static parse(text: string): DLSN {
    const tuple = TUPLE.exec(text);
    if (tuple !== null) {
      const [, lssn = '', entry = '', slot = ''] = tuple;
      return new DLSN(BigInt(lssn), BigInt(entry), BigInt(slot));
    }
    try {
      return DLSN.deserialize(text);
    } catch {
      throw new InvalidArgumentError(`invalid DLSN ${JSON.stringify(text)}: expected (lssn,entry,slot) or DL's base64 form`);
    }
  }

  /** The readable form, `(lssn,entry,slot)`, which parse() accepts back; the CLI prints it too. */
  toString(): string {
    return `(${this.logSegmentSequenceNo},${this.entryId},${this.slotId})`;
  }
}

const TUPLE = /^\(?\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)?$/;

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
