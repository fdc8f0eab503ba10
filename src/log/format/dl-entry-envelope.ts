// The envelope around a BK entry's records in segments of metadata version >= 4 (§4.3):
//   0  version             u8     1
//   1  flags               int32  bits 0-1 codec (0 none, 1 LZ4); other bits ignored, as Java does
//   5  decompressed length int32
//   9  compressed length   int32
//  13  payload             concatenated LogRecords, compressed with the codec
// Older segments store the bare records, so callers pick by segment version.
import { CODEC_MASK, type CompressionCodec, codecFromId, codecId, compress, decompress } from './compression.js';
import { LogError } from '../log-error.js';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_SIZE = 13;

export function encodeEnvelopedEntry(records: Buffer, codec: CompressionCodec = 'none'): Buffer {
  const payload = compress(codec, records);
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_SIZE + payload.length);
  writeEnvelopeHeader(out, codec, records.length, payload.length);
  out.set(payload, ENVELOPE_HEADER_SIZE);
  return out;
}

/**
 * The uncompressed envelope without a copy: `entry` holds ENVELOPE_HEADER_SIZE bytes of headroom
 * followed by the records (EntryRecordWriter's headroom); the header is written into it.
 */
export function envelopeInPlace(entry: Buffer): Buffer {
  const length = entry.length - ENVELOPE_HEADER_SIZE;
  writeEnvelopeHeader(entry, 'none', length, length);
  return entry;
}

function writeEnvelopeHeader(out: Buffer, codec: CompressionCodec, decompressedLength: number, compressedLength: number): void {
  out.writeUInt8(ENVELOPE_VERSION, 0);
  out.writeInt32BE(codecId(codec), 1);
  out.writeInt32BE(decompressedLength, 5);
  out.writeInt32BE(compressedLength, 9);
}

/**
 * The records inside an enveloped entry. Every length is checked (the stored length must cover
 * exactly the rest of the entry, the decompressed size must match), so a damaged entry is a
 * CORRUPT_ENTRY, never wrong records. With codec none the result is a view of `entry`.
 */
export function decodeEnvelopedEntry(entry: Buffer): Buffer {
  if (entry.length < ENVELOPE_HEADER_SIZE) {
    throw new LogError('CORRUPT_ENTRY', `enveloped entry of ${entry.length} bytes is shorter than its header`);
  }
  const version = entry.readUInt8(0);
  if (version !== ENVELOPE_VERSION) {
    throw new LogError('CORRUPT_ENTRY', `unknown enveloped entry version ${version}`);
  }
  const codec = codecFromId(entry.readInt32BE(1) & CODEC_MASK);
  const decompressedLength = entry.readInt32BE(5);
  const compressedLength = entry.readInt32BE(9);
  if (decompressedLength < 0 || compressedLength !== entry.length - ENVELOPE_HEADER_SIZE) {
    throw new LogError(
      'CORRUPT_ENTRY',
      `enveloped entry lengths ${decompressedLength}/${compressedLength} do not match its ${entry.length} bytes`,
    );
  }
  return decompress(codec, entry.subarray(ENVELOPE_HEADER_SIZE), decompressedLength);
}
