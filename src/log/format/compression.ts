// Payload codecs shared by the enveloped entry (§4.3) and the record set (§4.2). LZ4 is the raw
// block format of lz4-java's fast compressor/decompressor: no frame, no size prefix; the reader
// learns the decompressed size from the envelope header.
import { compressSync, uncompressSync } from 'lz4-napi';
import { LogError } from '../log-error.js';

export type CompressionCodec = 'none' | 'lz4';

/** On-disk codec ids: the low two bits of an envelope's or a record set's flags. */
export const CODEC_NONE = 0;
export const CODEC_LZ4 = 1;
export const CODEC_MASK = 0x3;

export function codecId(codec: CompressionCodec): number {
  return codec === 'lz4' ? CODEC_LZ4 : CODEC_NONE;
}

/** Ids 2 (zstd in later DL) and 3 are not supported, so they are treated as corruption. */
export function codecFromId(id: number): CompressionCodec {
  if (id === CODEC_NONE) return 'none';
  if (id === CODEC_LZ4) return 'lz4';
  throw new LogError('CORRUPT_ENTRY', `unsupported compression codec ${id}`);
}

/** lz4-napi (lz4_flex) prepends the decompressed size as a u32 LE; DL stores the bare block. */
const LZ4_SIZE_PREFIX = 4;
const LZ4_MAX_EXPANSION_SLACK = 64;

export function lz4CompressBlock(data: Buffer): Buffer {
  return compressSync(data).subarray(LZ4_SIZE_PREFIX);
}

/**
 * Decompresses a raw LZ4 block that must yield exactly `decompressedLength` bytes. lz4_flex
 * returns a shorter buffer when the declared size is too large, so the length is checked here.
 */
export function lz4DecompressBlock(block: Uint8Array, decompressedLength: number): Buffer {
  // An LZ4 byte expands to at most 255 bytes; a larger claim is damage, not worth allocating for.
  if (decompressedLength > block.length * 255 + LZ4_MAX_EXPANSION_SLACK) {
    throw new LogError('CORRUPT_ENTRY', `LZ4 block of ${block.length} bytes cannot hold ${decompressedLength}`);
  }
  const prefixed = Buffer.allocUnsafe(LZ4_SIZE_PREFIX + block.length);
  prefixed.writeUInt32LE(decompressedLength, 0);
  prefixed.set(block, LZ4_SIZE_PREFIX);
  let out: Buffer;
  try {
    out = uncompressSync(prefixed);
  } catch (cause) {
    throw new LogError('CORRUPT_ENTRY', 'corrupt LZ4 block', { cause });
  }
  if (out.length !== decompressedLength) {
    throw new LogError(
      'CORRUPT_ENTRY',
      `LZ4 block decompressed to ${out.length} bytes, header says ${decompressedLength}`,
    );
  }
  return out;
}

export function compress(codec: CompressionCodec, data: Buffer): Buffer {
  return codec === 'lz4' ? lz4CompressBlock(data) : data;
}

/** Inverse of `compress`; for codec none the two lengths must already agree. */
export function decompress(codec: CompressionCodec, data: Buffer, decompressedLength: number): Buffer {
  if (codec === 'lz4') return lz4DecompressBlock(data, decompressedLength);
  if (data.length !== decompressedLength) {
    throw new LogError(
      'CORRUPT_ENTRY',
      `uncompressed payload of ${data.length} bytes, header says ${decompressedLength}`,
    );
  }
  return data;
}
