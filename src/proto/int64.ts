// protobufjs decodes 64-bit fields to long.js `Long` objects (or to lossy numbers when an application
// has globally disabled Long). We never touch protobufjs globals; instead every int64/uint64 crosses
// our API boundary as a bigint through these helpers.
import { InvalidArgumentError } from '../errors.js';
import type { bookkeeper } from './generated/bookkeeper.js';

/** long.js's `Long` as the generated code types it, named without importing the `long` package. */
export type ProtoLong = Exclude<bookkeeper.BKPacketHeader['txnId'], number>;
/** What the generated code accepts and returns for 64-bit fields. */
export type ProtoInt64 = number | ProtoLong;

const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** For int64, uint64 and sint64 fields: anything from -2^63 to 2^64-1 (the two's complement bits are written). */
export function toProtoInt64(value: bigint): ProtoInt64 {
  if (value >= SAFE_MIN && value <= SAFE_MAX) return Number(value);
  if (value < INT64_MIN || value > UINT64_MAX) throw new InvalidArgumentError(`${value} does not fit in 64 bits`);
  const bits = BigInt.asUintN(64, value);
  // The writer only reads `low` and `high` (protobufjs util.LongBits.from), so a plain object encodes
  // exactly like a long.js instance.
  const long = { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: false };
  return long as unknown as ProtoLong;
}

/** A decoded int64 field as a signed bigint. */
export function fromProtoInt64(value: ProtoInt64): bigint {
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high) << 32n) | BigInt(value.low >>> 0);
}

/** A decoded uint64 field as a non-negative bigint. */
export function fromProtoUint64(value: ProtoInt64): bigint {
  return BigInt.asUintN(64, fromProtoInt64(value));
}
