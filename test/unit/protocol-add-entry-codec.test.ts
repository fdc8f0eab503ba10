import assert from 'node:assert/strict';
import { bookkeeper, fromProtoInt64, fromProtoUint64 } from '../../src/proto/index.js';
import { decodeAddRequest, decodeAddResponse, encodeAddRequest, encodeAddResponse } from '../../src/protocol/add-entry-codec.js';
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
  assert.ok(frame);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  return frame.subarray(4);
}

/** Checks a fast decode against protobufjs field by field. */
function assertSameAsProtobufjs(payload: Buffer, fast: AddEntryRequest): void {
  const message = bookkeeper.Request.decode(payload);
  const add = message.addRequest;
  assert.ok(add);
  assert.equal(message.header.version, bookkeeper.ProtocolVersion.VERSION_THREE);
  assert.equal(message.header.operation, bookkeeper.OperationType.ADD_ENTRY);
  assert.equal(fast.txnId, fromProtoUint64(message.header.txnId));
  assert.equal(fast.priority, message.header.priority ?? 0);
  assert.equal(fast.ledgerId, fromProtoInt64(add.ledgerId));
  assert.equal(fast.entryId, fromProtoInt64(add.entryId));
  assert.deepEqual(Buffer.from(fast.masterKey), Buffer.from(add.masterKey));
  assert.deepEqual(Buffer.from(fast.body), Buffer.from(add.body));
  assert.equal(fast.recoveryAdd, add.flag === bookkeeper.AddRequest.Flag.RECOVERY_ADD);
  assert.equal(fast.writeFlags, add.writeFlags ?? undefined);
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
      assert.deepEqual(payload, reencodeRequest(payload));
      const decoded = decodeAddRequest(payload);
      assert.ok(decoded);
      assertSameAsProtobufjs(payload, decoded);
    }
  });

  it('encodes responses exactly as protobufjs does', () => {
    for (const response of responses) {
      const payload = payloadOf(encodeAddResponse(response));
      assert.deepEqual(payload, reencodeResponse(payload));
      assert.deepEqual(decodeAddResponse(payload), response);
    }
  });

  it('leaves ids outside [0, 2^53) and negative writeFlags to protobufjs', () => {
    const base = requests[1] as AddEntryRequest;
    assert.equal(encodeAddRequest({ ...base, entryId: -1n }), undefined);
    assert.equal(encodeAddRequest({ ...base, ledgerId: SAFE + 1n }), undefined);
    assert.equal(encodeAddRequest({ ...base, writeFlags: -1 }), undefined);
    assert.ok(encodeAddRequest({ ...base, ledgerId: SAFE }));
    assert.equal(encodeAddResponse({ op: 'ADD_ENTRY', txnId: 1n, status: 'EBADREQ', ledgerId: 1n, entryId: -1n }), undefined);
  });

  it('declines what it does not parse: long varints, other operations, unknown fields', () => {
    const long = bookkeeper.Request.encode({
      header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: bookkeeper.OperationType.ADD_ENTRY, txnId: 1 },
      addRequest: { ledgerId: 2 ** 50, entryId: 1, masterKey: key, body: Buffer.from('x') },
    }).finish();
    assert.equal(decodeAddRequest(Buffer.from(long)), undefined);
    const read = bookkeeper.Request.encode({
      header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: bookkeeper.OperationType.READ_ENTRY, txnId: 1 },
      readRequest: { ledgerId: 1, entryId: 1 },
    }).finish();
    assert.equal(decodeAddRequest(Buffer.from(read)), undefined);
    const canonical = payloadOf(encodeAddRequest(requests[1] as AddEntryRequest));
    // an unknown varint field 200 after the body
    assert.equal(decodeAddRequest(Buffer.concat([canonical, Buffer.from([0xc0, 0x0c, 0x01])])), undefined);
    const response = payloadOf(encodeAddResponse(responses[0] as AddEntryResponse));
    // an unknown status code in the body
    const badStatus = Buffer.from(response);
    badStatus[badStatus.length - 5] = 0x7f;
    assert.equal(decodeAddResponse(badStatus), undefined);
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
    assert.ok(accepted > 0);
  });

  it('reads the status as the Java client does: a failed top-level status wins', () => {
    const payload = Buffer.from(bookkeeper.Response.encode({
      header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: bookkeeper.OperationType.ADD_ENTRY, txnId: 5 },
      status: bookkeeper.StatusCode.EFENCED,
      addResponse: { status: bookkeeper.StatusCode.EOK, ledgerId: 1, entryId: 2 },
    }).finish());
    assert.equal(decodeAddResponse(payload)?.status, 'EFENCED');
  });
});
