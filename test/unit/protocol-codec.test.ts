import assert from 'node:assert/strict';
import { bookkeeper } from '../../src/proto/index.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/protocol-codec.js';
import type { Request, Response } from '../../src/protocol/protocol-types.js';

const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** The payload of a frame, after checking its length prefix. */
function payload(frame: Buffer): Buffer {
  assert.equal(frame.readInt32BE(0), frame.length - 4);
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
    assert.deepEqual(frame, hex('00 00 00 0D | 0A 06 08 03 10 07 18 05 | C2 06 02 08 09'.replace(/\|/g, '')));
  });

  it('writes entryId -1 as a 10-byte varint', () => {
    const frame = encodeRequest({ op: 'READ_ENTRY', txnId: 0n, ledgerId: 1n, entryId: -1n });
    assert.deepEqual(frame, hex('00000018 0A06 0803 1001 1800 A206 0D 0801 10 FFFFFFFFFFFFFFFFFF01'));
  });

  it('sends priority only when it is high', () => {
    const frame = encodeRequest({ op: 'READ_LAC', txnId: 5n, priority: 100, ledgerId: 9n });
    assert.deepEqual(frame, hex('0000000F 0A08 0803 1007 1805 2064 C206 020809'));
  });

  it('encodes an ADD response byte for byte', () => {
    const frame = encodeResponse({ op: 'ADD_ENTRY', txnId: 5n, status: 'EOK', ledgerId: 9n, entryId: 3n });
    assert.deepEqual(frame, hex('00000013 0A06 0803 1002 1805 1000 AA06 06 0800 1009 1803'));
  });

  it('round-trips every request', () => {
    for (const request of requests) {
      assert.deepEqual(decodeRequest(payload(encodeRequest(request))), withDecodedDefaults(request), request.op);
    }
  });

  it('round-trips every response', () => {
    for (const response of responses) {
      assert.deepEqual(decodeResponse(payload(encodeResponse(response))), response, response.op);
    }
  });

  it('returns bodies as views of the frame', () => {
    const body = Buffer.from('x');
    const frame = encodeResponse({ op: 'READ_ENTRY', txnId: 1n, status: 'EOK', ledgerId: 1n, entryId: 0n, body });
    const decoded = decodeResponse(payload(frame));
    assert.equal(decoded.op === 'READ_ENTRY' && decoded.body?.buffer, frame.buffer);
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
    assert.equal(decodeResponse(message(StatusCode.EUA, StatusCode.EOK)).status, 'EUA');
    assert.equal(decodeResponse(message(StatusCode.EOK, StatusCode.EFENCED)).status, 'EFENCED');
  });

  it('flags requests a bookie must refuse', () => {
    const encode = (message: bookkeeper.Request.$Properties) =>
      Buffer.from(bookkeeper.Request.encode(message).finish());
    const v2Header = { ...rawHeader(OperationType.READ_LAC, 1), version: ProtocolVersion.VERSION_TWO };
    assert.deepEqual(decodeRequest(encode({ header: v2Header, readLacRequest: { ledgerId: 1 } })), {
      op: 'UNSUPPORTED',
      operation: 'READ_LAC',
      reason: 'BAD_VERSION',
      txnId: 1n,
      priority: 0,
    });
    assert.deepEqual(decodeRequest(encode({ header: rawHeader(OperationType.RANGE_READ_ENTRY, 2) })), {
      op: 'UNSUPPORTED',
      operation: 'RANGE_READ_ENTRY',
      reason: 'NOT_SUPPORTED',
      txnId: 2n,
      priority: 0,
    });
    const highPriority = { ...rawHeader(OperationType.ADD_ENTRY, 3), priority: 100 };
    assert.deepEqual(decodeRequest(encode({ header: highPriority })), {
      op: 'UNSUPPORTED',
      operation: 'ADD_ENTRY',
      reason: 'MISSING_BODY',
      txnId: 3n,
      priority: 100,
    });
  });

  it('answers a refused request with header and status only', () => {
    const frame = encodeResponse({ op: 'STATUS_ONLY', txnId: 3n, status: 'EBADREQ', operation: 'RANGE_READ_ENTRY' });
    assert.deepEqual(frame, hex('0000000B 0A06 0803 1003 1803 10 9403'));
  });

  it('rejects an EOK response that lacks its body', () => {
    const message = Buffer.from(
      bookkeeper.Response.encode({
        header: rawHeader(OperationType.READ_ENTRY, 1),
        status: StatusCode.EOK,
      }).finish(),
    );
    assert.throws(() => decodeResponse(message), { name: 'WireError', code: 'MALFORMED_FRAME' });
  });

  it('rejects malformed protobuf and missing required fields with MALFORMED_FRAME', () => {
    for (const bad of [hex('FFFFFFFF'), hex('0A 06 08 03'), Buffer.alloc(0), hex('0A 02 08 03')]) {
      assert.throws(() => decodeRequest(bad), { name: 'WireError', code: 'MALFORMED_FRAME' }, bad.toString('hex'));
      assert.throws(() => decodeResponse(bad), { name: 'WireError', code: 'MALFORMED_FRAME' }, bad.toString('hex'));
    }
  });

  it('skips fields it does not know', () => {
    const frame = encodeRequest({ op: 'READ_LAC', txnId: 5n, ledgerId: 9n });
    const withUnknown = Buffer.concat([payload(frame), hex('E012 01')]);
    assert.deepEqual(decodeRequest(withUnknown), { op: 'READ_LAC', txnId: 5n, priority: 0, ledgerId: 9n });
  });
});
