// The explicit-LAC envelope: the body of WRITE_LAC and ReadLacResponse.lacBody.
//   0  ledgerId  int64 BE
//   8  lac       int64 BE
//  16  digest    D bytes over bytes [0, 16)
import type { Digest } from './digest.js';
import { WireError } from './wire-error.js';

export const LAC_HEADER_SIZE = 16;

const NO_PAYLOAD = Buffer.alloc(0);

export function encodeLac(digest: Digest, ledgerId: bigint, lac: bigint): Buffer {
  const envelope = Buffer.allocUnsafe(LAC_HEADER_SIZE + digest.length);
  envelope.writeBigInt64BE(ledgerId, 0);
  envelope.writeBigInt64BE(lac, 8);
  digest.write(envelope.subarray(0, LAC_HEADER_SIZE), NO_PAYLOAD, envelope, LAC_HEADER_SIZE);
  return envelope;
}

/** Verifies size, digest and ledger id (WireError DIGEST_MISMATCH otherwise) and returns the LAC. */
export function decodeLac(digest: Digest, envelope: Buffer, ledgerId: bigint): bigint {
  const size = LAC_HEADER_SIZE + digest.length;
  if (envelope.length < size) {
    throw new WireError('DIGEST_MISMATCH', `LAC envelope of ${envelope.length} bytes is shorter than ${size}`);
  }
  if (!digest.matches(envelope.subarray(0, LAC_HEADER_SIZE), NO_PAYLOAD, envelope.subarray(LAC_HEADER_SIZE, size))) {
    throw new WireError('DIGEST_MISMATCH', `${digest.type} digest mismatch in LAC envelope`);
  }
  const actual = envelope.readBigInt64BE(0);
  if (actual !== ledgerId) {
    throw new WireError('DIGEST_MISMATCH', `LAC envelope is for ledger ${actual}, expected ${ledgerId}`);
  }
  return envelope.readBigInt64BE(8);
}
