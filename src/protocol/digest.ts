// The checksum or MAC BookKeeper puts in every entry and LAC envelope, computed over the envelope's
// fixed header followed by its payload. The two parts are fed separately (CRCs resume from the
// previous value, HMAC is updated twice), so no concatenated copy is ever made just to digest it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32, crc32c } from '@node-rs/crc32';

/** The names of LedgerMetadataFormat.DigestType. CRC32 is DistributedLog's default. */
export type DigestType = 'CRC32' | 'HMAC' | 'CRC32C' | 'DUMMY';

export interface Digest {
  readonly type: DigestType;
  /** Bytes the digest occupies in an envelope: CRC32 8, HMAC 20, CRC32C 4, DUMMY 0. */
  readonly length: number;
  /** Writes the digest of `header` then `payload` into `out` at `offset`. */
  write(header: Uint8Array, payload: Uint8Array, out: Buffer, offset: number): void;
  /** Whether `expected` (exactly `length` bytes) is the digest of `header` then `payload`. */
  matches(header: Uint8Array, payload: Uint8Array, expected: Buffer): boolean;
}

/** A digest for one ledger; the password only matters for HMAC. */
export function createDigest(type: DigestType, password: Uint8Array): Digest {
  switch (type) {
    case 'CRC32':
      return CRC32;
    case 'CRC32C':
      return CRC32C;
    case 'DUMMY':
      return DUMMY;
    case 'HMAC':
      return hmacDigest(password);
  }
}

// java.util.zip.CRC32 (IEEE), written as a Java long: 4 zero bytes, then the 32-bit value.
const CRC32: Digest = {
  type: 'CRC32',
  length: 8,
  write(header, payload, out, offset) {
    out.writeUInt32BE(0, offset);
    out.writeUInt32BE(crc32(payload, crc32(header)), offset + 4);
  },
  matches(header, payload, expected) {
    return expected.readUInt32BE(0) === 0 && expected.readUInt32BE(4) === crc32(payload, crc32(header));
  },
};

// Castagnoli CRC with the standard init and final xor, written as a Java int.
const CRC32C: Digest = {
  type: 'CRC32C',
  length: 4,
  write(header, payload, out, offset) {
    out.writeUInt32BE(crc32c(payload, crc32c(header)), offset);
  },
  matches(header, payload, expected) {
    return expected.readUInt32BE(0) === crc32c(payload, crc32c(header));
  },
};

const DUMMY: Digest = {
  type: 'DUMMY',
  length: 0,
  write() {
    // No digest bytes at all.
  },
  matches() {
    return true;
  },
};

const MAC_KEY_PREFIX = Buffer.from('mac', 'latin1');

// HMAC-SHA1 keyed with SHA1("mac" || password).
function hmacDigest(password: Uint8Array): Digest {
  const key = createHash('sha1').update(MAC_KEY_PREFIX).update(password).digest();
  const compute = (header: Uint8Array, payload: Uint8Array): Buffer =>
    createHmac('sha1', key).update(header).update(payload).digest();
  return {
    type: 'HMAC',
    length: 20,
    write(header, payload, out, offset) {
      compute(header, payload).copy(out, offset);
    },
    matches(header, payload, expected) {
      return timingSafeEqual(compute(header, payload), expected);
    },
  };
}
