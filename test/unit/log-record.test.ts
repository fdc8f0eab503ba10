import assert from 'node:assert/strict';
import { LogError } from '../../src/log/log-error.js';
import {
  controlRecord,
  decodeLogRecord,
  encodeLogRecord,
  endOfStreamRecord,
  isControl,
  isEndOfStream,
  keepAliveRecord,
  MAX_LOGRECORD_SIZE,
  MAX_TXID,
  readLogRecord,
  userRecord,
  validateLogRecord,
} from '../../src/log/format/log-record.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function logError(code: string): (err: unknown) => boolean {
  return (err) => err instanceof LogError && err.code === code;
}

// metadata = unused(16) | position(32) | flags(16), then txid, then int32 length, then payload.
const HELLO = hex('0000 00000001 0000  0000000000000001  00000005  68656c6c6f');

describe('LogRecord codec', () => {
  it('encodes txid 1, position 1, "hello" as §4.1 lays it out', () => {
    const record = userRecord(1n, Buffer.from('hello'), 1);
    assert.deepEqual(encodeLogRecord(record), HELLO);
    assert.deepEqual(decodeLogRecord(HELLO), record);
  });

  it('encodes a control record: flag 0x1, the last user txid, payload "control"', () => {
    const bytes = hex('0000 00000007 0001  000000000000002a  00000007' + Buffer.from('control').toString('hex'));
    assert.deepEqual(encodeLogRecord(controlRecord(42n, 7)), bytes);
    const decoded = decodeLogRecord(bytes);
    assert.ok(isControl(decoded) && !isEndOfStream(decoded));
    assert.equal(decoded.position, 7);
  });

  it('encodes keep-alive as a control record with payload "keepalive"', () => {
    const bytes = hex('0000 00000000 0001  0000000000000003  00000009' + Buffer.from('keepalive').toString('hex'));
    assert.deepEqual(encodeLogRecord(keepAliveRecord(3n)), bytes);
  });

  it('encodes end-of-stream: flag 0x2 only (not control), txid Long.MAX_VALUE, "endOfStream"', () => {
    const bytes = hex('0000 00000003 0002  7fffffffffffffff  0000000b' + Buffer.from('endOfStream').toString('hex'));
    assert.deepEqual(encodeLogRecord(endOfStreamRecord(3)), bytes);
    const decoded = decodeLogRecord(bytes);
    assert.ok(isEndOfStream(decoded) && !isControl(decoded));
    assert.equal(decoded.txid, MAX_TXID);
  });

  it('ignores the unused top 16 bits of the metadata long, as Java does', () => {
    const bytes = Buffer.from(HELLO);
    bytes.writeUInt16BE(0xbeef, 0);
    assert.deepEqual(decodeLogRecord(bytes), userRecord(1n, Buffer.from('hello'), 1));
  });

  it('accepts 20 + payload = 1,040,384 bytes and rejects one byte more before encoding', () => {
    validateLogRecord(userRecord(1n, Buffer.alloc(MAX_LOGRECORD_SIZE - 20)));
    assert.throws(() => encodeLogRecord(userRecord(1n, Buffer.alloc(MAX_LOGRECORD_SIZE - 19))), logError('RECORD_TOO_LARGE'));
  });

  it('rejects fields that do not fit their on-disk width', () => {
    const payload = Buffer.from('x');
    assert.throws(() => encodeLogRecord({ txid: 1n, payload, flags: 0x10000, position: 0 }), logError('INVALID_RECORD'));
    assert.throws(() => encodeLogRecord({ txid: 1n, payload, flags: 0, position: -1 }), logError('INVALID_RECORD'));
    assert.throws(() => encodeLogRecord({ txid: 1n, payload, flags: 0, position: 2 ** 31 }), logError('INVALID_RECORD'));
    assert.throws(() => encodeLogRecord({ txid: MAX_TXID + 1n, payload, flags: 0, position: 0 }), logError('INVALID_RECORD'));
  });

  it('rejects a negative or overlong payload length and a truncated header as CORRUPT_ENTRY', () => {
    const negative = Buffer.from(HELLO);
    negative.writeInt32BE(-1, 16);
    assert.throws(() => decodeLogRecord(negative), logError('CORRUPT_ENTRY'));
    const overlong = Buffer.from(HELLO);
    overlong.writeInt32BE(6, 16);
    assert.throws(() => decodeLogRecord(overlong), logError('CORRUPT_ENTRY'));
    assert.throws(() => decodeLogRecord(HELLO.subarray(0, 19)), logError('CORRUPT_ENTRY'));
    assert.throws(() => decodeLogRecord(Buffer.concat([HELLO, hex('00')])), logError('CORRUPT_ENTRY'));
  });

  it('rejects a position above Integer.MAX_VALUE on read', () => {
    const bytes = Buffer.from(HELLO);
    bytes.writeUInt32BE(0x8000_0000, 2);
    assert.throws(() => readLogRecord(bytes, 0), logError('CORRUPT_ENTRY'));
  });

  it('returns the payload as a view of the source', () => {
    assert.equal(readLogRecord(HELLO, 0).record.payload.buffer, HELLO.buffer);
  });
});
