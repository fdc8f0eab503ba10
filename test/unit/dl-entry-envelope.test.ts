import { expect } from 'chai';
import { lz4CompressBlock, lz4DecompressBlock } from '../../src/log/format/compression.js';
import { decodeEnvelopedEntry, encodeEnvelopedEntry, ENVELOPE_HEADER_SIZE, envelopeInPlace } from '../../src/log/format/dl-entry-envelope.js';
import { EntryRecordWriter } from '../../src/log/format/entry-records.js';
import { userRecord } from '../../src/log/format/log-record.js';
import { LogError } from '../../src/log/log-error.js';
import { thrown } from '../support/thrown.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function logError(code: string): (err: unknown) => boolean {
  return (err) => err instanceof LogError && err.code === code;
}

// LogRecord txid 1, position 1, "hello": 25 (0x19) bytes.
const RECORD = hex('0000000000010000 0000000000000001 00000005 68656c6c6f');
// version 1, flags 0 (codec none), both lengths 25.
const NONE_ENTRY = Buffer.concat([hex('01 00000000 00000019 00000019'), RECORD]);
// Codec LZ4 (flags 1), 25 bytes stored as a 27-byte literal-only raw block: token 0xF0 says
// "15+ literals, no match", the extension byte 0x0A adds 10, then the 25 literals.
const LZ4_ENTRY = Buffer.concat([hex('01 00000001 00000019 0000001b f0 0a'), RECORD]);

describe('enveloped entry', () => {
  it('encodes codec none as [u8 1][flags 0][len][len][records]', () => {
    expect(encodeEnvelopedEntry(RECORD)).to.deep.equal(NONE_ENTRY);
    expect(decodeEnvelopedEntry(NONE_ENTRY)).to.deep.equal(RECORD);
  });

  it('writes the same codec-none envelope in place, in the headroom of an entry buffer', () => {
    const entry = new EntryRecordWriter(undefined, ENVELOPE_HEADER_SIZE);
    entry.append(userRecord(1n, Buffer.from('hello'), 1));
    expect(entry.toBuffer()).to.deep.equal(RECORD);
    const framed = entry.withHeadroom();
    expect(envelopeInPlace(framed)).to.deep.equal(NONE_ENTRY);
    // the header went into the headroom of the same memory: no copy of the records
    expect(framed.buffer).to.equal(entry.toBuffer().buffer);
    expect(entry.toBuffer().byteOffset).to.equal(framed.byteOffset + ENVELOPE_HEADER_SIZE);
  });

  it('decodes a hand-built LZ4 raw block', () => {
    expect(decodeEnvelopedEntry(LZ4_ENTRY)).to.deep.equal(RECORD);
  });

  it('round-trips LZ4 with the header lengths filled in', () => {
    const records = Buffer.concat(Array<Buffer>(40).fill(RECORD));
    const entry = encodeEnvelopedEntry(records, 'lz4');
    expect(entry.readUInt8(0)).to.equal(1);
    expect(entry.readInt32BE(1)).to.equal(1);
    expect(entry.readInt32BE(5)).to.equal(records.length);
    expect(entry.readInt32BE(9)).to.equal(entry.length - 13);
    expect(entry.length < records.length).to.equal(true);
    expect(decodeEnvelopedEntry(entry)).to.deep.equal(records);
  });

  it('ignores flag bits above the codec, as Java does', () => {
    const entry = Buffer.from(NONE_ENTRY);
    entry.writeInt32BE(0x100, 1);
    expect(decodeEnvelopedEntry(entry)).to.deep.equal(RECORD);
  });

  it('rejects wrong lengths, versions, codecs and truncation as CORRUPT_ENTRY', () => {
    const cases: [string, Buffer][] = [];
    const tweak = (name: string, base: Buffer, edit: (b: Buffer) => void): void => {
      const copy = Buffer.from(base);
      edit(copy);
      cases.push([name, copy]);
    };
    tweak('none: decompressed length differs', NONE_ENTRY, (b) => b.writeInt32BE(24, 5));
    tweak('none: stored length too long', NONE_ENTRY, (b) => b.writeInt32BE(26, 9));
    tweak('none: stored length too short', NONE_ENTRY, (b) => b.writeInt32BE(24, 9));
    tweak('negative decompressed length', NONE_ENTRY, (b) => b.writeInt32BE(-1, 5));
    tweak('lz4: decompressed length too large', LZ4_ENTRY, (b) => b.writeInt32BE(26, 5));
    tweak('lz4: decompressed length too small', LZ4_ENTRY, (b) => b.writeInt32BE(24, 5));
    tweak('lz4: absurd decompressed length', LZ4_ENTRY, (b) => b.writeInt32BE(0x7fffffff, 5));
    tweak('lz4: literal count past the block', LZ4_ENTRY, (b) => b.writeUInt8(0x0b, 14));
    tweak('version 2', NONE_ENTRY, (b) => b.writeUInt8(2, 0));
    tweak('codec 2', NONE_ENTRY, (b) => b.writeInt32BE(2, 1));
    cases.push(['short header', NONE_ENTRY.subarray(0, 12)]);
    cases.push(['truncated payload', NONE_ENTRY.subarray(0, NONE_ENTRY.length - 1)]);
    for (const [name, entry] of cases) {
      expect(thrown(() => decodeEnvelopedEntry(entry)), name).to.satisfy(logError('CORRUPT_ENTRY'));
    }
  });
});

describe('LZ4 raw block', () => {
  it('emits the bare block, without lz4-napi’s 4-byte size prefix', () => {
    // Inputs this short are all literals: token 0x50 (5 literals) then "hello".
    expect(lz4CompressBlock(Buffer.from('hello'))).to.deep.equal(hex('50 68656c6c6f'));
  });

  it('decodes a block with a back-reference', () => {
    // "hello " as literals, a 17-byte match at offset 6, then " hello" as literals.
    const block = hex('6d 68656c6c6f20 0600 60 2068656c6c6f');
    expect(lz4DecompressBlock(block, 29).toString()).to.equal('hello hello hello hello hello');
  });

  it('handles the empty block', () => {
    expect(lz4CompressBlock(Buffer.alloc(0))).to.deep.equal(hex('00'));
    expect(lz4DecompressBlock(hex('00'), 0).length).to.equal(0);
  });
});
