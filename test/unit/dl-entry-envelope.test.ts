import assert from 'node:assert/strict';
import { lz4CompressBlock, lz4DecompressBlock } from '../../src/log/format/compression.js';
import { decodeEnvelopedEntry, encodeEnvelopedEntry } from '../../src/log/format/dl-entry-envelope.js';
import { LogError } from '../../src/log/log-error.js';

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
    assert.deepEqual(encodeEnvelopedEntry(RECORD), NONE_ENTRY);
    assert.deepEqual(decodeEnvelopedEntry(NONE_ENTRY), RECORD);
  });

  it('decodes a hand-built LZ4 raw block', () => {
    assert.deepEqual(decodeEnvelopedEntry(LZ4_ENTRY), RECORD);
  });

  it('round-trips LZ4 with the header lengths filled in', () => {
    const records = Buffer.concat(Array<Buffer>(40).fill(RECORD));
    const entry = encodeEnvelopedEntry(records, 'lz4');
    assert.equal(entry.readUInt8(0), 1);
    assert.equal(entry.readInt32BE(1), 1);
    assert.equal(entry.readInt32BE(5), records.length);
    assert.equal(entry.readInt32BE(9), entry.length - 13);
    assert.ok(entry.length < records.length);
    assert.deepEqual(decodeEnvelopedEntry(entry), records);
  });

  it('ignores flag bits above the codec, as Java does', () => {
    const entry = Buffer.from(NONE_ENTRY);
    entry.writeInt32BE(0x100, 1);
    assert.deepEqual(decodeEnvelopedEntry(entry), RECORD);
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
      assert.throws(() => decodeEnvelopedEntry(entry), logError('CORRUPT_ENTRY'), name);
    }
  });
});

describe('LZ4 raw block', () => {
  it('emits the bare block, without lz4-napi’s 4-byte size prefix', () => {
    // Inputs this short are all literals: token 0x50 (5 literals) then "hello".
    assert.deepEqual(lz4CompressBlock(Buffer.from('hello')), hex('50 68656c6c6f'));
  });

  it('decodes a block with a back-reference', () => {
    // "hello " as literals, a 17-byte match at offset 6, then " hello" as literals.
    const block = hex('6d 68656c6c6f20 0600 60 2068656c6c6f');
    assert.equal(lz4DecompressBlock(block, 29).toString(), 'hello hello hello hello hello');
  });

  it('handles the empty block', () => {
    assert.deepEqual(lz4CompressBlock(Buffer.alloc(0)), hex('00'));
    assert.equal(lz4DecompressBlock(hex('00'), 0).length, 0);
  });
});
