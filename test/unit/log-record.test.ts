import { expect } from 'chai';
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
import { thrown } from '../support/thrown.js';

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
    expect(encodeLogRecord(record)).to.deep.equal(HELLO);
    expect(decodeLogRecord(HELLO)).to.deep.equal(record);
  });

  it('encodes a control record: flag 0x1, the last user txid, payload "control"', () => {
    const bytes = hex('0000 00000007 0001  000000000000002a  00000007' + Buffer.from('control').toString('hex'));
    expect(encodeLogRecord(controlRecord(42n, 7))).to.deep.equal(bytes);
    const decoded = decodeLogRecord(bytes);
    expect(isControl(decoded) && !isEndOfStream(decoded)).to.equal(true);
    expect(decoded.position).to.equal(7);
  });

  it('encodes keep-alive as a control record with payload "keepalive"', () => {
    const bytes = hex('0000 00000000 0001  0000000000000003  00000009' + Buffer.from('keepalive').toString('hex'));
    expect(encodeLogRecord(keepAliveRecord(3n))).to.deep.equal(bytes);
  });

  it('encodes end-of-stream: flag 0x2 only (not control), txid Long.MAX_VALUE, "endOfStream"', () => {
    const bytes = hex('0000 00000003 0002  7fffffffffffffff  0000000b' + Buffer.from('endOfStream').toString('hex'));
    expect(encodeLogRecord(endOfStreamRecord(3))).to.deep.equal(bytes);
    const decoded = decodeLogRecord(bytes);
    expect(isEndOfStream(decoded) && !isControl(decoded)).to.equal(true);
    expect(decoded.txid).to.equal(MAX_TXID);
  });

  it('ignores the unused top 16 bits of the metadata long, as Java does', () => {
    const bytes = Buffer.from(HELLO);
    bytes.writeUInt16BE(0xbeef, 0);
    expect(decodeLogRecord(bytes)).to.deep.equal(userRecord(1n, Buffer.from('hello'), 1));
  });

  it('accepts 20 + payload = 1,040,384 bytes and rejects one byte more before encoding', () => {
    validateLogRecord(userRecord(1n, Buffer.alloc(MAX_LOGRECORD_SIZE - 20)));
    expect(thrown(() => encodeLogRecord(userRecord(1n, Buffer.alloc(MAX_LOGRECORD_SIZE - 19))))).to.satisfy(logError('RECORD_TOO_LARGE'));
  });

  it('rejects fields that do not fit their on-disk width', () => {
    const payload = Buffer.from('x');
    expect(thrown(() => encodeLogRecord({ txid: 1n, payload, flags: 0x10000, position: 0 }))).to.satisfy(logError('INVALID_RECORD'));
    expect(thrown(() => encodeLogRecord({ txid: 1n, payload, flags: 0, position: -1 }))).to.satisfy(logError('INVALID_RECORD'));
    expect(thrown(() => encodeLogRecord({ txid: 1n, payload, flags: 0, position: 2 ** 31 }))).to.satisfy(logError('INVALID_RECORD'));
    expect(thrown(() => encodeLogRecord({ txid: MAX_TXID + 1n, payload, flags: 0, position: 0 }))).to.satisfy(logError('INVALID_RECORD'));
  });

  it('rejects a negative or overlong payload length and a truncated header as CORRUPT_ENTRY', () => {
    const negative = Buffer.from(HELLO);
    negative.writeInt32BE(-1, 16);
    expect(thrown(() => decodeLogRecord(negative))).to.satisfy(logError('CORRUPT_ENTRY'));
    const overlong = Buffer.from(HELLO);
    overlong.writeInt32BE(6, 16);
    expect(thrown(() => decodeLogRecord(overlong))).to.satisfy(logError('CORRUPT_ENTRY'));
    expect(thrown(() => decodeLogRecord(HELLO.subarray(0, 19)))).to.satisfy(logError('CORRUPT_ENTRY'));
    expect(thrown(() => decodeLogRecord(Buffer.concat([HELLO, hex('00')])))).to.satisfy(logError('CORRUPT_ENTRY'));
  });

  it('rejects a position above Integer.MAX_VALUE on read', () => {
    const bytes = Buffer.from(HELLO);
    bytes.writeUInt32BE(0x8000_0000, 2);
    expect(thrown(() => readLogRecord(bytes, 0))).to.satisfy(logError('CORRUPT_ENTRY'));
  });

  it('returns the payload as a view of the source', () => {
    expect(readLogRecord(HELLO, 0).record.payload.buffer).to.equal(HELLO.buffer);
  });
});
