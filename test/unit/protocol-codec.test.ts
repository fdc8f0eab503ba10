import { expect } from 'chai';
import { bookkeeper } from '../../src/proto/index.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/protocol-codec.js';
import type { Request, Response } from '../../src/protocol/protocol-types.js';
import { thrown } from '../support/thrown.js';

const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** The payload of a frame, after checking its length prefix. */
function payload(frame: Buffer): Buffer {
  expect(frame.readInt32BE(0)).to.equal(frame.length - 4);
  return frame.subarray(4);
}

const key = Buffer.alloc(20, 0xab);

const requests: Request[] = [
  { op: 'READ_ENTRY', txnId: 1n, ledgerId: 7n, entryId: 3n },
  { op: 'READ_ENTRY', txnId: 2n, priority: 100, ledgerId: 7n, entryId: -1n, flag: 'FENCE_LEDGER', masterKey: key },
  {
    op: 'READ_ENTRY',
    txnId: 3n,
    ledgerId: MAX_INT64,
    entryId: -1n,
    flag: 'ENTRY_PIGGYBACK',
    previousLAC: 41n,
    timeOut: 10_000n,
  },
  { op: 'ADD_ENTRY', txnId: MAX_UINT64, ledgerId: 7n, entryId: 0n, masterKey: key, body: Buffer.from('envelope') },
  {
    op: 'ADD_ENTRY',
    txnId: 4n,
    priority: 100,
    ledgerId: 7n,
    entryId: 1n,
    masterKey: key,
    body: Buffer.alloc(100_000, 5),
    recoveryAdd: true,
    writeFlags: 1,
  },
  { op: 'AUTH', txnId: 5n, authPluginName: 'AuthDisabledPlugin', payload: Buffer.alloc(0) },
  { op: 'WRITE_LAC', txnId: 6n, ledgerId: 7n, lac: 99n, masterKey: key, body: Buffer.from('lac envelope') },
  { op: 'READ_LAC', txnId: 7n, ledgerId: 7n },
  { op: 'GET_BOOKIE_INFO', txnId: 8n, requested: 3n },
  { op: 'GET_BOOKIE_INFO', txnId: 9n },
  { op: 'START_TLS', txnId: 10n },
  { op: 'FORCE_LEDGER', txnId: 11n, ledgerId: 7n },
  { op: 'GET_LIST_OF_ENTRIES_OF_LEDGER', txnId: 12n, ledgerId: 7n },
];

const responses: Response[] = [
  {
    op: 'READ_ENTRY',
    txnId: 1n,
    status: 'EOK',
    ledgerId: 7n,
    entryId: 3n,
    body: Buffer.from('entry'),
    maxLAC: 2n,
    lacUpdateTimestamp: 1_700_000_000_000n,
  },
  { op: 'READ_ENTRY', txnId: 2n, status: 'ENOENTRY', ledgerId: 7n, entryId: 4n },
  { op: 'ADD_ENTRY', txnId: MAX_UINT64, status: 'EFENCED', ledgerId: MAX_INT64, entryId: 0n },
  { op: 'AUTH', txnId: 3n, status: 'EOK', authPluginName: 'AuthDisabledPlugin', payload: Buffer.alloc(0) },
  { op: 'WRITE_LAC', txnId: 4n, status: 'EREADONLY', ledgerId: 7n },
  {
    op: 'READ_LAC',
    txnId: 5n,
    status: 'EOK',
    ledgerId: 7n,
    lacBody: Buffer.from('lac'),
    lastEntryBody: Buffer.from('last'),
  },
  { op: 'READ_LAC', txnId: 6n, status: 'ENOENTRY', ledgerId: 7n },
  { op: 'GET_BOOKIE_INFO', txnId: 7n, status: 'EOK', totalDiskCapacity: 1n << 40n, freeDiskSpace: 1n << 39n },
  { op: 'START_TLS', txnId: 8n, status: 'EBADREQ' },
  { op: 'FORCE_LEDGER', txnId: 9n, status: 'EIO', ledgerId: 7n },
  {
    op: 'GET_LIST_OF_ENTRIES_OF_LEDGER',
    txnId: 10n,
    status: 'EOK',
    ledgerId: 7n,
    availabilityOfEntriesOfLedger: Buffer.from([1, 2, 3]),
  },
  { op: 'STATUS_ONLY', txnId: 11n, status: 'EUA', operation: 'ADD_ENTRY' },
];

const { OperationType, ProtocolVersion, StatusCode } = bookkeeper;

function rawHeader(operation: bookkeeper.OperationType, txnId: number): bookkeeper.BKPacketHeader.$Properties {
  return { version: ProtocolVersion.VERSION_THREE, operation, txnId };
}

/** What decoding adds to a request: the defaults the wire cannot tell apart from absence. */
function withDecodedDefaults(request: Request): Request {
  if (request.op === 'ADD_ENTRY') return { priority: 0, recoveryAdd: false, ...request };
  return { priority: 0, ...request };
}

describe('protocol codec', () => {
  it('encodes the READ_LAC example of the reference byte for byte', () => {
    const frame = encodeRequest({ op: 'READ_LAC', txnId: 5n, ledgerId: 9n });
    expect(frame).to.deep.equal(hex('00 00 00 0D | 0A 06 08 03 10 07 18 05 | C2 06 02 08 09'.replace(/\|/g, '')));
  });

  it('writes entryId -1 as a 10-byte varint', () => {
    const frame = encodeRequest({ op: 'READ_ENTRY', txnId: 0n, ledgerId: 1n, entryId: -1n });
    expect(frame).to.deep.equal(hex('00000018 0A06 0803 1001 1800 A206 0D 0801 10 FFFFFFFFFFFFFFFFFF01'));
  });

  it('sends priority only when it is high', () => {
    const frame = encodeRequest({ op: 'READ_LAC', txnId: 5n, priority: 100, ledgerId: 9n });
    expect(frame).to.deep.equal(hex('0000000F 0A08 0803 1007 1805 2064 C206 020809'));
  });

  it('encodes an ADD response byte for byte', () => {
    const frame = encodeResponse({ op: 'ADD_ENTRY', txnId: 5n, status: 'EOK', ledgerId: 9n, entryId: 3n });
    expect(frame).to.deep.equal(hex('00000013 0A06 0803 1002 1805 1000 AA06 06 0800 1009 1803'));
  });

  it('round-trips every request', () => {
    for (const request of requests) {
      expect(decodeRequest(payload(encodeRequest(request))), request.op).to.deep.equal(withDecodedDefaults(request));
    }
  });

  it('round-trips every response', () => {
    for (const response of responses) {
      expect(decodeResponse(payload(encodeResponse(response))), response.op).to.deep.equal(response);
    }
  });

  it('returns bodies as views of the frame', () => {
    const body = Buffer.from('x');
    const frame = encodeResponse({ op: 'READ_ENTRY', txnId: 1n, status: 'EOK', ledgerId: 1n, entryId: 0n, body });
    const decoded = decodeResponse(payload(frame));
    expect(decoded.op === 'READ_ENTRY' && decoded.body?.buffer).to.equal(frame.buffer);
  });

  it('lets a failed top-level status win over the body, as the Java client does', () => {
    const message = (top: bookkeeper.StatusCode, sub: bookkeeper.StatusCode): Buffer =>
      Buffer.from(
        bookkeeper.Response.encode({
          header: rawHeader(OperationType.ADD_ENTRY, 1),
          status: top,
          addResponse: { status: sub, ledgerId: 1, entryId: 2 },
        }).finish(),
      );
    expect(decodeResponse(message(StatusCode.EUA, StatusCode.EOK)).status).to.equal('EUA');
    expect(decodeResponse(message(StatusCode.EOK, StatusCode.EFENCED)).status).to.equal('EFENCED');
  });

  it('flags requests a bookie must refuse', () => {
    const encode = (message: bookkeeper.Request.$Properties) =>
      Buffer.from(bookkeeper.Request.encode(message).finish());
    const v2Header = { ...rawHeader(OperationType.READ_LAC, 1), version: ProtocolVersion.VERSION_TWO };
    expect(decodeRequest(encode({ header: v2Header, readLacRequest: { ledgerId: 1 } }))).to.deep.equal({
      op: 'UNSUPPORTED',
      operation: 'READ_LAC',
      reason: 'BAD_VERSION',
      txnId: 1n,
      priority: 0,
    });
    expect(decodeRequest(encode({ header: rawHeader(OperationType.RANGE_READ_ENTRY, 2) }))).to.deep.equal({
      op: 'UNSUPPORTED',
      operation: 'RANGE_READ_ENTRY',
      reason: 'NOT_SUPPORTED',
      txnId: 2n,
      priority: 0,
    });
    const highPriority = { ...rawHeader(OperationType.ADD_ENTRY, 3), priority: 100 };
    expect(decodeRequest(encode({ header: highPriority }))).to.deep.equal({
      op: 'UNSUPPORTED',
      operation: 'ADD_ENTRY',
      reason: 'MISSING_BODY',
      txnId: 3n,
      priority: 100,
    });
  });

  it('answers a refused request with header and status only', () => {
    const frame = encodeResponse({ op: 'STATUS_ONLY', txnId: 3n, status: 'EBADREQ', operation: 'RANGE_READ_ENTRY' });
    expect(frame).to.deep.equal(hex('0000000B 0A06 0803 1003 1803 10 9403'));
  });

  it('rejects an EOK response that lacks its body', () => {
    const message = Buffer.from(
      bookkeeper.Response.encode({
        header: rawHeader(OperationType.READ_ENTRY, 1),
        status: StatusCode.EOK,
      }).finish(),
    );
    expect(thrown(() => decodeResponse(message))).to.deep.include({ name: 'WireError', code: 'MALFORMED_FRAME' });
  });

  it('rejects malformed protobuf and missing required fields with MALFORMED_FRAME', () => {
    for (const bad of [hex('FFFFFFFF'), hex('0A 06 08 03'), Buffer.alloc(0), hex('0A 02 08 03')]) {
      expect(thrown(() => decodeRequest(bad)), bad.toString('hex')).to.deep.include({ name: 'WireError', code: 'MALFORMED_FRAME' });
      expect(thrown(() => decodeResponse(bad)), bad.toString('hex')).to.deep.include({ name: 'WireError', code: 'MALFORMED_FRAME' });
    }
  });

  it('skips fields it does not know', () => {
    const frame = encodeRequest({ op: 'READ_LAC', txnId: 5n, ledgerId: 9n });
    const withUnknown = Buffer.concat([payload(frame), hex('E012 01')]);
    expect(decodeRequest(withUnknown)).to.deep.equal({ op: 'READ_LAC', txnId: 5n, priority: 0, ledgerId: 9n });
  });
});
