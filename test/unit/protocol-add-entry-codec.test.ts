import { expect } from 'chai';
import { bookkeeper, fromProtoInt64, fromProtoUint64 } from '../../src/proto/index.js';
import { decodeAddRequest, decodeAddResponse, encodeAddRequest, encodeAddRequestParts, encodeAddResponse } from '../../src/protocol/add-entry-codec.js';
import type { AddEntryRequest, AddEntryResponse } from '../../src/protocol/protocol-types.js';

const key = Buffer.alloc(20, 0xab);
const BIG = 2n ** 49n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const requests: AddEntryRequest[] = [
  { op: 'ADD_ENTRY', txnId: 0n, ledgerId: 0n, entryId: 0n, masterKey: Buffer.alloc(0), body: Buffer.alloc(0) },
  { op: 'ADD_ENTRY', txnId: 127n, ledgerId: 128n, entryId: 16_383n, masterKey: key, body: Buffer.from('envelope') },
  { op: 'ADD_ENTRY', txnId: BIG, ledgerId: BIG, entryId: 16_384n, masterKey: key, body: Buffer.alloc(100_000, 5), priority: 100 },
  { op: 'ADD_ENTRY', txnId: 9n, ledgerId: 7n, entryId: 1n, masterKey: key, body: Buffer.alloc(1024, 1), recoveryAdd: true, writeFlags: 1 },
  { op: 'ADD_ENTRY', txnId: 9n, ledgerId: 7n, entryId: 1n, masterKey: key, body: Buffer.alloc(300, 1), writeFlags: 0x7fffffff, priority: 0xffffffff },
  { op: 'ADD_ENTRY', txnId: 10n, ledgerId: 7n, entryId: 2n, masterKey: key, body: Buffer.alloc(10, 1), recoveryAdd: false, writeFlags: 0, priority: 0 },
];

const responses: AddEntryResponse[] = [
  { op: 'ADD_ENTRY', txnId: 0n, status: 'EOK', ledgerId: 0n, entryId: 0n },
  { op: 'ADD_ENTRY', txnId: BIG, status: 'EFENCED', ledgerId: 128n, entryId: BIG },
  { op: 'ADD_ENTRY', txnId: 300n, status: 'ETOOMANYREQUESTS', ledgerId: 1n, entryId: 2n },
];

/** What protobufjs writes for the message a frame holds: equal bytes mean the frame is canonical. */
function reencodeRequest(payload: Buffer): Buffer {
  return Buffer.from(bookkeeper.Request.encode(bookkeeper.Request.decode(payload)).finish());
}

function reencodeResponse(payload: Buffer): Buffer {
  return Buffer.from(bookkeeper.Response.encode(bookkeeper.Response.decode(payload)).finish());
}

function payloadOf(frame: Buffer | undefined): Buffer {
  if (frame === undefined) return expect.fail('nothing was encoded');
  expect(frame.readInt32BE(0)).to.equal(frame.length - 4);
  return frame.subarray(4);
}

/** Checks a fast decode against protobufjs field by field. */
function assertSameAsProtobufjs(payload: Buffer, fast: AddEntryRequest): void {
  const message = bookkeeper.Request.decode(payload);
  const add = message.addRequest;
  if (!add) return expect.fail('the request has no addRequest');
  expect(message.header.version).to.equal(bookkeeper.ProtocolVersion.VERSION_THREE);
  expect(message.header.operation).to.equal(bookkeeper.OperationType.ADD_ENTRY);
  expect(fast.txnId).to.equal(fromProtoUint64(message.header.txnId));
  expect(fast.priority).to.equal(message.header.priority ?? 0);
  expect(fast.ledgerId).to.equal(fromProtoInt64(add.ledgerId));
  expect(fast.entryId).to.equal(fromProtoInt64(add.entryId));
  expect(Buffer.from(fast.masterKey)).to.deep.equal(Buffer.from(add.masterKey));
  expect(Buffer.from(fast.body)).to.deep.equal(Buffer.from(add.body));
  expect(fast.recoveryAdd).to.equal(add.flag === bookkeeper.AddRequest.Flag.RECOVERY_ADD);
  expect(fast.writeFlags).to.equal(add.writeFlags ?? undefined);
}

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('ADD_ENTRY fast codec', () => {
  it('encodes requests exactly as protobufjs does', () => {
    for (const request of requests) {
      const payload = payloadOf(encodeAddRequest(request));
      expect(payload).to.deep.equal(reencodeRequest(payload));
      const decoded = decodeAddRequest(payload);
      if (decoded === undefined) return expect.fail('the fast codec did not decode the request');
      assertSameAsProtobufjs(payload, decoded);
    }
  });

  it('encodes a request in parts around the caller\'s body, the same bytes in order', () => {
    for (const request of requests.filter((r) => r.txnId <= SAFE)) {
      const parts = encodeAddRequestParts(request, Number(request.txnId));
      if (parts === undefined) return expect.fail('nothing was encoded');
      expect(parts.body, 'the body itself, not a copy').to.equal(request.body);
      const whole = Buffer.concat([parts.head, parts.body, ...(parts.tail === undefined ? [] : [parts.tail])]);
      expect(whole).to.deep.equal(encodeAddRequest(request));
      expect(reencodeRequest(payloadOf(whole))).to.deep.equal(payloadOf(whole));
    }
  });

  it('encodes responses exactly as protobufjs does', () => {
    for (const response of responses) {
      const payload = payloadOf(encodeAddResponse(response));
      expect(payload).to.deep.equal(reencodeResponse(payload));
      expect(decodeAddResponse(payload)).to.deep.equal(response);
    }
  });

  it('leaves ids outside [0, 2^53) and negative writeFlags to protobufjs', () => {
    const base = requests[1] as AddEntryRequest;
    expect(encodeAddRequest({ ...base, entryId: -1n })).to.equal(undefined);
    expect(encodeAddRequest({ ...base, ledgerId: SAFE + 1n })).to.equal(undefined);
    expect(encodeAddRequest({ ...base, writeFlags: -1 })).to.equal(undefined);
    expect(encodeAddRequest({ ...base, ledgerId: SAFE })).to.not.equal(undefined);
    expect(encodeAddResponse({ op: 'ADD_ENTRY', txnId: 1n, status: 'EBADREQ', ledgerId: 1n, entryId: -1n })).to.equal(undefined);
  });

  it('declines what it does not parse: long varints, other operations, unknown fields', () => {
    const long = bookkeeper.Request.encode({
      header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: bookkeeper.OperationType.ADD_ENTRY, txnId: 1 },
      addRequest: { ledgerId: 2 ** 50, entryId: 1, masterKey: key, body: Buffer.from('x') },
    }).finish();
    expect(decodeAddRequest(Buffer.from(long))).to.equal(undefined);
    const read = bookkeeper.Request.encode({
      header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: bookkeeper.OperationType.READ_ENTRY, txnId: 1 },
      readRequest: { ledgerId: 1, entryId: 1 },
    }).finish();
    expect(decodeAddRequest(Buffer.from(read))).to.equal(undefined);
    const canonical = payloadOf(encodeAddRequest(requests[1] as AddEntryRequest));
    // an unknown varint field 200 after the body
    expect(decodeAddRequest(Buffer.concat([canonical, Buffer.from([0xc0, 0x0c, 0x01])]))).to.equal(undefined);
    const response = payloadOf(encodeAddResponse(responses[0] as AddEntryResponse));
    // an unknown status code in the body
    const badStatus = Buffer.from(response);
    badStatus[badStatus.length - 5] = 0x7f;
    expect(decodeAddResponse(badStatus)).to.equal(undefined);
  });

  it('accepts a damaged frame only when protobufjs reads the same add from it', () => {
    const next = random(42);
    let accepted = 0;
    for (const request of requests) {
      const canonical = payloadOf(encodeAddRequest(request));
      for (let i = 0; i < 2000; i++) {
        const damaged = Buffer.from(canonical.subarray(0, next() < 0.2 ? Math.floor(next() * canonical.length) : canonical.length));
        if (damaged.length > 0) damaged[Math.floor(next() * Math.min(damaged.length, 64))] = Math.floor(next() * 256);
        const fast = decodeAddRequest(damaged);
        if (fast === undefined) continue;
        accepted++;
        assertSameAsProtobufjs(damaged, fast);
      }
    }
    expect(accepted > 0).to.equal(true);
  });

  it('reads the status as the Java client does: a failed top-level status wins', () => {
    const payload = Buffer.from(bookkeeper.Response.encode({
      header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: bookkeeper.OperationType.ADD_ENTRY, txnId: 5 },
      status: bookkeeper.StatusCode.EFENCED,
      addResponse: { status: bookkeeper.StatusCode.EOK, ledgerId: 1, entryId: 2 },
    }).finish());
    expect(decodeAddResponse(payload)?.status).to.equal('EFENCED');
  });
});
