// The records a bookie journals, and their frame:
//   [u32 length][u32 crc32c over (type|payload)][u8 type][payload]      (big-endian)
// `length` counts type + payload. The checksum is per record so that a damaged record can be
// named by its offset; what a record means for recovery is decided at the group level
// (journal-format.ts), not here.
import { crc32c } from '@node-rs/crc32';

/** Ledger and entry ids are BookKeeper's signed 64-bit longs. */
export type JournalRecord =
  /** An entry envelope exactly as the client sent it. */
  | { readonly type: 'addEntry'; readonly ledgerId: bigint; readonly entryId: bigint; readonly entry: Uint8Array }
  | { readonly type: 'fence'; readonly ledgerId: bigint }
  /** Written once per ledger, before the ledger's first entry is acknowledged. */
  | { readonly type: 'masterKey'; readonly ledgerId: bigint; readonly masterKey: Uint8Array }
  /** `lacEnvelope` is the digest-protected LAC envelope as received. */
  | { readonly type: 'explicitLac'; readonly ledgerId: bigint; readonly lac: bigint; readonly lacEnvelope: Uint8Array };

export type JournalRecordType = JournalRecord['type'];

const TYPE_CODES = { addEntry: 1, fence: 2, masterKey: 3, explicitLac: 4 } as const satisfies Record<JournalRecordType, number>;

/** length + crc + type. */
export const RECORD_OVERHEAD = 9;

/** Fixed payload bytes before the variable part, per type code. */
const FIXED_PAYLOAD: ReadonlyMap<number, number> = new Map([
  [TYPE_CODES.addEntry, 16],
  [TYPE_CODES.fence, 8],
  [TYPE_CODES.masterKey, 8],
  [TYPE_CODES.explicitLac, 16],
]);

export function encodedJournalRecordSize(record: JournalRecord): number {
  switch (record.type) {
    case 'addEntry':
      return RECORD_OVERHEAD + 16 + record.entry.length;
    case 'fence':
      return RECORD_OVERHEAD + 8;
    case 'masterKey':
      return RECORD_OVERHEAD + 8 + record.masterKey.length;
    case 'explicitLac':
      return RECORD_OVERHEAD + 16 + record.lacEnvelope.length;
  }
}

/**
 * Writes `record` at `offset` (the caller reserved `size` = encodedJournalRecordSize bytes).
 * Throws RangeError for an id outside the int64 range, before anything depends on the bytes.
 */
export function encodeJournalRecord(record: JournalRecord, buf: Buffer, offset: number, size: number): void {
  buf.writeUInt32BE(size - 8, offset);
  buf.writeUInt8(TYPE_CODES[record.type], offset + 8);
  const p = offset + RECORD_OVERHEAD;
  switch (record.type) {
    case 'addEntry':
      buf.writeBigInt64BE(record.ledgerId, p);
      buf.writeBigInt64BE(record.entryId, p + 8);
      buf.set(record.entry, p + 16);
      break;
    case 'fence':
      buf.writeBigInt64BE(record.ledgerId, p);
      break;
    case 'masterKey':
      buf.writeBigInt64BE(record.ledgerId, p);
      buf.set(record.masterKey, p + 8);
      break;
    case 'explicitLac':
      buf.writeBigInt64BE(record.ledgerId, p);
      buf.writeBigInt64BE(record.lac, p + 8);
      buf.set(record.lacEnvelope, p + 16);
      break;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(offset + 8, offset + size)), offset + 4);
}

/**
 * Validates the record at `offset` (length in bounds, checksum, known type, payload long enough)
 * and returns its encoded size, or a reason string when it is not a valid record.
 */
export function checkJournalRecord(buf: Buffer, offset: number, end: number): number | string {
  if (offset + RECORD_OVERHEAD > end) return 'record header runs past the end of its group';
  const length = buf.readUInt32BE(offset);
  const size = length + 8;
  if (length < 1 || offset + size > end) return `record length ${length} runs past the end of its group`;
  if (crc32c(buf.subarray(offset + 8, offset + size)) !== buf.readUInt32BE(offset + 4)) return 'record checksum mismatch';
  const fixed = FIXED_PAYLOAD.get(buf.readUInt8(offset + 8));
  if (fixed === undefined) return `unknown record type ${buf.readUInt8(offset + 8)}`;
  if (length - 1 < fixed) return `record payload too short (${length - 1} bytes)`;
  return size;
}

/**
 * Decodes a record that checkJournalRecord accepted. Byte fields are views into `buf`: they stay valid
 * as long as the caller keeps them, but they keep the whole read buffer alive, so copy to retain.
 */
export function decodeJournalRecord(buf: Buffer, offset: number): JournalRecord {
  const end = offset + 8 + buf.readUInt32BE(offset);
  const p = offset + RECORD_OVERHEAD;
  const code = buf.readUInt8(offset + 8);
  switch (code) {
    case TYPE_CODES.addEntry:
      return { type: 'addEntry', ledgerId: buf.readBigInt64BE(p), entryId: buf.readBigInt64BE(p + 8), entry: buf.subarray(p + 16, end) };
    case TYPE_CODES.fence:
      return { type: 'fence', ledgerId: buf.readBigInt64BE(p) };
    case TYPE_CODES.masterKey:
      return { type: 'masterKey', ledgerId: buf.readBigInt64BE(p), masterKey: buf.subarray(p + 8, end) };
    case TYPE_CODES.explicitLac:
      return { type: 'explicitLac', ledgerId: buf.readBigInt64BE(p), lac: buf.readBigInt64BE(p + 8), lacEnvelope: buf.subarray(p + 16, end) };
    default:
      throw new RangeError(`unknown journal record type ${code}`);
  }
}
