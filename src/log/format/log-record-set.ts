// A LogRecordSet (§4.2): many small writes batched client-side into the payload of one LogRecord
// flagged RECORD_SET. Integers big-endian:
//   0  metadata            int32  version 0x1000 (mask 0xF000) | codec (mask 0x3)
//   4  count               int32
//   8  decompressed length int32
//  12  compressed length   int32
//  16  data                (possibly compressed) `count` × [int32 len][bytes]
// Readers give every inner record the outer txid and consecutive slots and positions.
import { CODEC_MASK, type CompressionCodec, codecFromId, codecId, compress, decompress } from './compression.js';
import { LogError } from '../log-error.js';
import { type LogRecord, MAX_LOGRECORD_SIZE, RecordFlags } from './log-record.js';

export const RECORD_SET_HEADER_SIZE = 16;
export const RECORD_SET_VERSION = 0x1000;
const VERSION_MASK = 0xf000;

/** The inner record count, or undefined when the header is short or has an unknown version. */
export function recordSetCount(payload: Buffer): number | undefined {
  if (payload.length < RECORD_SET_HEADER_SIZE) return undefined;
  if ((payload.readInt32BE(0) & VERSION_MASK) !== RECORD_SET_VERSION) return undefined;
  const count = payload.readInt32BE(4);
  return count < 0 ? undefined : count;
}

export class LogRecordSetWriter {
  readonly codec: CompressionCodec;
  private readonly parts: Buffer[] = [];
  private dataBytes = 0;

  constructor(codec: CompressionCodec = 'none') {
    this.codec = codec;
  }

  /** Inner records are limited like single records, on their payload alone (as Java does). */
  append(payload: Buffer): void {
    if (payload.length > MAX_LOGRECORD_SIZE) {
      throw new LogError(
        'RECORD_TOO_LARGE',
        `record of ${payload.length} bytes exceeds the ${MAX_LOGRECORD_SIZE}-byte limit`,
      );
    }
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(payload.length, 0);
    this.parts.push(length, payload);
    this.dataBytes += 4 + payload.length;
  }

  get numRecords(): number {
    return this.parts.length / 2;
  }

  /** Uncompressed size including the header: what a caller caps batches by. */
  get numBytes(): number {
    return RECORD_SET_HEADER_SIZE + this.dataBytes;
  }

  /** The serialized set, to be carried as the payload of a RECORD_SET LogRecord. */
  toPayload(): Buffer {
    const data = compress(this.codec, Buffer.concat(this.parts, this.dataBytes));
    const out = Buffer.allocUnsafe(RECORD_SET_HEADER_SIZE + data.length);
    out.writeInt32BE(RECORD_SET_VERSION | codecId(this.codec), 0);
    out.writeInt32BE(this.numRecords, 4);
    out.writeInt32BE(this.dataBytes, 8);
    out.writeInt32BE(data.length, 12);
    out.set(data, RECORD_SET_HEADER_SIZE);
    return out;
  }

  /** `position` is that of the first inner record; the writer advances its count by numRecords. */
  toLogRecord(txid: bigint, position = 0): LogRecord {
    return { txid, payload: this.toPayload(), flags: RecordFlags.RECORD_SET, position };
  }
}

/** The inner payloads, in order; views of the (decompressed) set. Malformed sets are CORRUPT_ENTRY. */
export function readLogRecordSet(payload: Buffer): Buffer[] {
  const count = recordSetCount(payload);
  if (count === undefined) {
    throw new LogError('CORRUPT_ENTRY', 'record set has a short header, an unknown version or a negative count');
  }
  const codec = codecFromId(payload.readInt32BE(0) & CODEC_MASK);
  const decompressedLength = payload.readInt32BE(8);
  const compressedLength = payload.readInt32BE(12);
  if (decompressedLength < 0 || compressedLength !== payload.length - RECORD_SET_HEADER_SIZE) {
    throw new LogError(
      'CORRUPT_ENTRY',
      `record set lengths ${decompressedLength}/${compressedLength} do not match its ${payload.length} bytes`,
    );
  }
  const data = decompress(codec, payload.subarray(RECORD_SET_HEADER_SIZE), decompressedLength);
  const records: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = data.length - offset >= 4 ? data.readInt32BE(offset) : -1;
    if (length < 0 || length > data.length - offset - 4) {
      throw new LogError('CORRUPT_ENTRY', `record set entry ${i} of ${count} is truncated`);
    }
    records.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== data.length) {
    throw new LogError('CORRUPT_ENTRY', `${data.length - offset} trailing bytes after ${count} set records`);
  }
  return records;
}
