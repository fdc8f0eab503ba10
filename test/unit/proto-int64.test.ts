import { expect } from 'chai';
import protobuf from 'protobufjs/minimal.js';
import { bookkeeper, fromProtoInt64, fromProtoUint64, toProtoInt64 } from '../../src/proto/index.js';
import { thrown } from '../support/thrown.js';

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
      expect(fromProtoInt64(bookkeeper.ReadLacRequest.decode(bytes).ledgerId), String(value)).to.equal(value);
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
      expect(fromProtoUint64(bookkeeper.BKPacketHeader.decode(bytes).txnId), String(value)).to.equal(value);
    }
  });

  it('writes the varints Java writes', () => {
    const encode = (ledgerId: bigint) =>
      Buffer.from(bookkeeper.ReadLacRequest.encode({ ledgerId: toProtoInt64(ledgerId) }).finish());
    expect(encode(-1n)).to.deep.equal(hex('08 FFFFFFFFFFFFFFFFFF01'));
    expect(encode(INT64_MAX)).to.deep.equal(hex('08 FFFFFFFFFFFFFFFF7F'));
  });

  it('accepts plain numbers, as decoders produce when an application disabled Long', () => {
    expect(fromProtoInt64(-5)).to.equal(-5n);
    expect(fromProtoUint64(7)).to.equal(7n);
  });

  it('refuses values beyond 64 bits', () => {
    expect(thrown(() => toProtoInt64(UINT64_MAX + 1n))).to.deep.include({ code: 'INVALID_ARGUMENT' });
    expect(thrown(() => toProtoInt64(INT64_MIN - 1n))).to.deep.include({ code: 'INVALID_ARGUMENT' });
  });
});

describe('generated protobuf code', () => {
  it('leaves protobufjs globals alone and registers under its own root', () => {
    expect(typeof protobuf.util.Long).to.equal('function');
    expect(protobuf.roots.distributedlog).to.not.equal(undefined);
  });

  it('decodes unset optional fields as null', () => {
    const decoded = bookkeeper.ReadResponse.decode(
      bookkeeper.ReadResponse.encode({ status: bookkeeper.StatusCode.EOK, ledgerId: 1, entryId: 2 }).finish(),
    );
    expect(decoded.body).to.equal(null);
    expect(decoded.maxLAC).to.equal(null);
  });

  it('throws on a missing required field', () => {
    expect(() => bookkeeper.AddResponse.decode(hex('08 00 10 01'))).to.throw(/missing required 'entryId'/);
  });
});
