// The entry envelope: what a client sends as an ADD body, a bookie stores verbatim and a READ returns.
//   0  ledgerId          int64 BE
//   8  entryId           int64 BE
//  16  lastAddConfirmed  int64 BE   the writer's LAC when it sent this entry (-1 early on)
//  24  length            int64 BE   cumulative ledger length including this entry's payload
//  32  digest            D bytes    over bytes [0, 32) then the payload (digest.ts)
//  32+D payload
import type { Digest } from './digest.js';
import { WireError } from './wire-error.js';

export const ENTRY_HEADER_SIZE = 32;

export interface EntryHeader {
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  readonly lastAddConfirmed: bigint;
  readonly length: bigint;
}

export interface Entry extends EntryHeader {
  /** A view of the envelope it was decoded from. */
  readonly payload: Buffer;
}

/** One buffer holding the whole envelope; the payload is copied into it once. */
export function encodeEntry(digest: Digest, header: EntryHeader, payload: Uint8Array): Buffer {
  const envelope = Buffer.allocUnsafe(ENTRY_HEADER_SIZE + digest.length + payload.length);
  envelope.writeBigInt64BE(header.ledgerId, 0);
  envelope.writeBigInt64BE(header.entryId, 8);
  envelope.writeBigInt64BE(header.lastAddConfirmed, 16);
  envelope.writeBigInt64BE(header.length, 24);
  digest.write(envelope.subarray(0, ENTRY_HEADER_SIZE), payload, envelope, ENTRY_HEADER_SIZE);
  envelope.set(payload, ENTRY_HEADER_SIZE + digest.length);
  return envelope;
}

/**
 * Verifies an envelope as a BookKeeper client does and returns its fields. Checks the size, the
 * digest, the ledger id and, unless `entryId` is omitted (LAC reads of entry -1), the entry id.
 * Any failure is a WireError DIGEST_MISMATCH. The payload is a view of `envelope`.
 */
export function decodeEntry(
  digest: Digest,
  envelope: Buffer,
  expected: { readonly ledgerId: bigint; readonly entryId?: bigint },
): Entry {
  const payloadStart = ENTRY_HEADER_SIZE + digest.length;
  if (envelope.length < payloadStart) {
    throw mismatch(`entry envelope of ${envelope.length} bytes is shorter than ${payloadStart}`);
  }
  const header = envelope.subarray(0, ENTRY_HEADER_SIZE);
  const payload = envelope.subarray(payloadStart);
  if (!digest.matches(header, payload, envelope.subarray(ENTRY_HEADER_SIZE, payloadStart))) {
    throw mismatch(`${digest.type} digest mismatch in entry envelope`);
  }
  const fields = readEntryHeader(envelope);
  if (fields.ledgerId !== expected.ledgerId) {
    throw mismatch(`entry envelope is for ledger ${fields.ledgerId}, expected ${expected.ledgerId}`);
  }
  if (expected.entryId !== undefined && fields.entryId !== expected.entryId) {
    throw mismatch(`entry envelope is for entry ${fields.entryId}, expected ${expected.entryId}`);
  }
  return { ...fields, payload };
}

/**
 * The header fields without any verification: what a bookie, which does not know the digest type,
 * reads from an envelope it stores (ids, and the LAC it piggybacks).
 */
export function readEntryHeader(envelope: Buffer): EntryHeader {
  if (envelope.length < ENTRY_HEADER_SIZE) {
    throw mismatch(`entry envelope of ${envelope.length} bytes is shorter than its ${ENTRY_HEADER_SIZE}-byte header`);
  }
  return {
    ledgerId: envelope.readBigInt64BE(0),
    entryId: envelope.readBigInt64BE(8),
    lastAddConfirmed: envelope.readBigInt64BE(16),
    length: envelope.readBigInt64BE(24),
  };
}

function mismatch(message: string): WireError {
  return new WireError('DIGEST_MISMATCH', message);
}
