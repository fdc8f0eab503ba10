import assert from 'node:assert/strict';
import protobuf from 'protobufjs/minimal.js';
import { bookkeeper, fromProtoInt64, fromProtoUint64, toProtoInt64 } from '../../src/proto/index.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

describe('int64 at the protobuf boundary', () => {
  it('round-trips signed values through a real int64 field', () => {
    for (const value of [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, INT64_MAX, INT64_MIN]) {
      const bytes = bookkeeper.ReadLacRequest.encode({ ledgerId: toProtoInt64(value) }).finish();
      assert.equal(fromProtoInt64(bookkeeper.ReadLacRequest.decode(bytes).ledgerId), value, String(value));
    }
  });

  it('round-trips unsigned values through the uint64 txnId', () => {
    for (const value of [0n, 5n, 2n ** 63n, UINT64_MAX]) {
      const header = {
        version: bookkeeper.ProtocolVersion.VERSION_THREE,
        operation: bookkeeper.OperationType.READ_ENTRY,
        txnId: toProtoInt64(value),
      };
      const bytes = bookkeeper.BKPacketHeader.encode(header).finish();
      assert.equal(fromProtoUint64(bookkeeper.BKPacketHeader.decode(bytes).txnId), value, String(value));
    }
  });

  it('writes the varints Java writes', () => {
    const encode = (ledgerId: bigint) =>
      Buffer.from(bookkeeper.ReadLacRequest.encode({ ledgerId: toProtoInt64(ledgerId) }).finish());
    assert.deepEqual(encode(-1n), hex('08 FFFFFFFFFFFFFFFFFF01'));
    assert.deepEqual(encode(INT64_MAX), hex('08 FFFFFFFFFFFFFFFF7F'));
  });

  it('accepts plain numbers, as decoders produce when an application disabled Long', () => {
    assert.equal(fromProtoInt64(-5), -5n);
    assert.equal(fromProtoUint64(7), 7n);
  });

  it('refuses values beyond 64 bits', () => {
    assert.throws(() => toProtoInt64(UINT64_MAX + 1n), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => toProtoInt64(INT64_MIN - 1n), { code: 'INVALID_ARGUMENT' });
  });
});

describe('generated protobuf code', () => {
  it('leaves protobufjs globals alone and registers under its own root', () => {
    assert.equal(typeof protobuf.util.Long, 'function');
    assert.ok(protobuf.roots.distributedlog);
  });

  it('decodes unset optional fields as null', () => {
    const decoded = bookkeeper.ReadResponse.decode(
      bookkeeper.ReadResponse.encode({ status: bookkeeper.StatusCode.EOK, ledgerId: 1, entryId: 2 }).finish(),
    );
    assert.equal(decoded.body, null);
    assert.equal(decoded.maxLAC, null);
  });

  it('throws on a missing required field', () => {
    assert.throws(() => bookkeeper.AddResponse.decode(hex('08 00 10 01')), /missing required 'entryId'/);
  });
});
