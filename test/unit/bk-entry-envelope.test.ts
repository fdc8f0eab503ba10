import { expect } from 'chai';
import { createDigest, type DigestType } from '../../src/protocol/digest.js';
import { decodeEntry, encodeEntry, readEntryHeader } from '../../src/protocol/bk-entry-envelope.js';
import { decodeLac, encodeLac } from '../../src/protocol/lac-envelope.js';
import { MASTER_KEY_LENGTH, masterKey } from '../../src/protocol/master-key.js';
import { thrown } from '../support/thrown.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

// Ledger 1, entry 0, LAC -1, cumulative length 5, then the digest, then "hello".
const HEADER = '0000000000000001 0000000000000000 FFFFFFFFFFFFFFFF 0000000000000005';
const PAYLOAD = Buffer.from('hello');
const FIRST_ENTRY = { ledgerId: 1n, entryId: 0n, lastAddConfirmed: -1n, length: 5n };
const password = Buffer.from('secret');

// Digests computed independently (Python zlib.crc32, a bitwise CRC32C, hmac/hashlib).
const vectors: [DigestType, string][] = [
  ['CRC32', '00000000 30A56872'],
  ['CRC32C', 'E3A5F74D'],
  ['HMAC', '985FF33D73766E6AB95E91F14097A562FFC64AE8'],
  ['DUMMY', ''],
];

describe('entry envelope', () => {
  for (const [type, digestHex] of vectors) {
    it(`encodes ledger 1 entry 0 LAC -1 with ${type}`, () => {
      const digest = createDigest(type, password);
      const envelope = encodeEntry(digest, FIRST_ENTRY, PAYLOAD);
      expect(envelope).to.deep.equal(Buffer.concat([hex(HEADER), hex(digestHex), PAYLOAD]));
      expect(digest.length).to.equal(digestHex.replace(/\s+/g, '').length / 2);
      const decoded = decodeEntry(digest, envelope, { ledgerId: 1n, entryId: 0n });
      expect(decoded).to.deep.equal({ ...FIRST_ENTRY, payload: PAYLOAD });
    });
  }

  it('returns the payload as a view of the envelope', () => {
    const digest = createDigest('CRC32', password);
    const envelope = encodeEntry(digest, FIRST_ENTRY, PAYLOAD);
    expect(decodeEntry(digest, envelope, { ledgerId: 1n }).payload.buffer).to.equal(envelope.buffer);
  });

  it('rejects any flipped bit as DIGEST_MISMATCH', () => {
    for (const [type] of vectors.filter(([t]) => t !== 'DUMMY')) {
      const digest = createDigest(type, password);
      const envelope = encodeEntry(digest, FIRST_ENTRY, PAYLOAD);
      for (let i = 0; i < envelope.length; i++) {
        const damaged = Buffer.from(envelope);
        damaged[i] = (damaged[i] ?? 0) ^ 0x01;
        expect(thrown(() => decodeEntry(digest, damaged, { ledgerId: 1n })), `${type} byte ${i}`).to.deep.include({ name: 'WireError', code: 'DIGEST_MISMATCH' });
      }
    }
  });

  it('rejects an HMAC envelope verified with another password', () => {
    const envelope = encodeEntry(createDigest('HMAC', password), FIRST_ENTRY, PAYLOAD);
    expect(thrown(() => decodeEntry(createDigest('HMAC', Buffer.from('other')), envelope, { ledgerId: 1n }))).to.deep.include({
      code: 'DIGEST_MISMATCH',
    });
  });

  it('checks the ledger id, and the entry id unless it is a LAC read', () => {
    const digest = createDigest('CRC32C', password);
    const envelope = encodeEntry(digest, { ...FIRST_ENTRY, entryId: 4n }, PAYLOAD);
    expect(thrown(() => decodeEntry(digest, envelope, { ledgerId: 2n }))).to.deep.include({ code: 'DIGEST_MISMATCH' });
    expect(thrown(() => decodeEntry(digest, envelope, { ledgerId: 1n, entryId: 3n }))).to.deep.include({ code: 'DIGEST_MISMATCH' });
    expect(decodeEntry(digest, envelope, { ledgerId: 1n }).entryId).to.equal(4n);
  });

  it('rejects an envelope shorter than header and digest', () => {
    const digest = createDigest('CRC32', password);
    expect(thrown(() => decodeEntry(digest, Buffer.alloc(39), { ledgerId: 0n }))).to.deep.include({ code: 'DIGEST_MISMATCH' });
    const empty = decodeEntry(createDigest('DUMMY', password), Buffer.alloc(32), { ledgerId: 0n });
    expect(empty.payload).to.deep.equal(Buffer.alloc(0));
  });

  it('digests a large payload incrementally exactly as in one piece', () => {
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    for (const [type] of vectors) {
      const digest = createDigest(type, password);
      const envelope = encodeEntry(digest, { ...FIRST_ENTRY, length: 1n << 20n }, payload);
      const whole = Buffer.alloc(digest.length);
      digest.write(Buffer.concat([envelope.subarray(0, 32), payload]), Buffer.alloc(0), whole, 0);
      expect(envelope.subarray(32, 32 + digest.length), type).to.deep.equal(whole);
    }
  });

  it('reads the header without verifying, as a bookie does', () => {
    const header = { ledgerId: 9n, entryId: 8n, lastAddConfirmed: 7n, length: 600n };
    const envelope = encodeEntry(createDigest('HMAC', password), header, PAYLOAD);
    expect(readEntryHeader(envelope)).to.deep.equal(header);
    expect(thrown(() => readEntryHeader(Buffer.alloc(31)))).to.deep.include({ code: 'DIGEST_MISMATCH' });
  });
});

describe('LAC envelope', () => {
  it('encodes ledger 7 LAC 41 with CRC32 and CRC32C', () => {
    const header = '0000000000000007 0000000000000029';
    expect(encodeLac(createDigest('CRC32', password), 7n, 41n)).to.deep.equal(hex(`${header} 00000000 CA68BEF0`));
    expect(encodeLac(createDigest('CRC32C', password), 7n, 41n)).to.deep.equal(hex(`${header} DD1F01E2`));
  });

  it('verifies and returns the LAC', () => {
    const digest = createDigest('HMAC', password);
    const envelope = encodeLac(digest, 7n, 41n);
    expect(decodeLac(digest, envelope, 7n)).to.equal(41n);
    expect(thrown(() => decodeLac(digest, envelope, 8n))).to.deep.include({ code: 'DIGEST_MISMATCH' });
    envelope[15] = 42;
    expect(thrown(() => decodeLac(digest, envelope, 7n))).to.deep.include({ code: 'DIGEST_MISMATCH' });
    expect(thrown(() => decodeLac(digest, envelope.subarray(0, 35), 7n))).to.deep.include({ code: 'DIGEST_MISMATCH' });
  });
});

describe('master key', () => {
  it('is SHA1("ledger" || password)', () => {
    expect(masterKey(Buffer.alloc(0))).to.deep.equal(hex('850BF1071C5E3D8C24235676F8816AE0CBE2F14F'));
    expect(masterKey(password)).to.deep.equal(hex('E793CBC379107648537183605CD361D3BB789A39'));
    expect(masterKey(password).length).to.equal(MASTER_KEY_LENGTH);
  });
});
