// Encodes and decodes BookKeeper v3 frames: a 4-byte big-endian length, then one protobuf Request
// (client to bookie) or Response (bookie to client), mapped to the types in protocol-types.ts.
//
// ADD_ENTRY requests and responses take a hand-written path (add-entry-codec.ts) when their
// layout is the canonical one; everything else goes through protobufjs.
//
// Aliasing: decoded Buffer fields (entry bodies, master keys, auth payloads) are views of the frame
// passed in, not copies. With FrameDecoder's frames that is safe to keep, because the decoder never
// reuses memory it has emitted; a caller that decodes from a buffer it will overwrite must copy them.
import protobuf from 'protobufjs/minimal.js';
import { bookkeeper, fromProtoInt64, fromProtoUint64, toProtoInt64, type ProtoInt64 } from '../proto/index.js';
import { decodeAddRequest, decodeAddResponse, encodeAddRequest, encodeAddResponse } from './add-entry-codec.js';
import { FRAME_HEADER_SIZE } from './frame-decoder.js';
import type { DecodedRequest, Operation, Request, Response, StatusCode } from './protocol-types.js';
import { WireError } from './wire-error.js';

const { OperationType, ProtocolVersion, StatusCode: Status } = bookkeeper;

/** Room for the header and every non-bytes field of any message, so bodies never force a regrowth. */
const FIXED_FIELDS_MAX = 160;

/** One complete frame (length prefix included) for a client request. */
export function encodeRequest(request: Request): Buffer {
  if (request.op === 'ADD_ENTRY') {
    const frame = encodeAddRequest(request);
    if (frame !== undefined) return frame;
  }
  const message: bookkeeper.Request.$Properties = { header: header(request.op, request.txnId, request.priority) };
  let bytesFields = 0;
  switch (request.op) {
    case 'READ_ENTRY':
      message.readRequest = {
        flag: request.flag === undefined ? null : bookkeeper.ReadRequest.Flag[request.flag],
        ledgerId: toProtoInt64(request.ledgerId),
        entryId: toProtoInt64(request.entryId),
        masterKey: request.masterKey ?? null,
        previousLAC: optionalInt64(request.previousLAC),
        timeOut: optionalInt64(request.timeOut),
      };
      bytesFields = request.masterKey?.length ?? 0;
      break;
    case 'ADD_ENTRY':
      message.addRequest = {
        flag: request.recoveryAdd === true ? bookkeeper.AddRequest.Flag.RECOVERY_ADD : null,
        ledgerId: toProtoInt64(request.ledgerId),
        entryId: toProtoInt64(request.entryId),
        masterKey: request.masterKey,
        body: request.body,
        writeFlags: request.writeFlags === undefined || request.writeFlags === 0 ? null : request.writeFlags,
      };
      bytesFields = request.masterKey.length + request.body.length;
      break;
    case 'AUTH':
      message.authRequest = { authPluginName: request.authPluginName, payload: request.payload };
      bytesFields = Buffer.byteLength(request.authPluginName) + request.payload.length;
      break;
    case 'WRITE_LAC':
      message.writeLacRequest = {
        ledgerId: toProtoInt64(request.ledgerId),
        lac: toProtoInt64(request.lac),
        masterKey: request.masterKey,
        body: request.body,
      };
      bytesFields = request.masterKey.length + request.body.length;
      break;
    case 'READ_LAC':
      message.readLacRequest = { ledgerId: toProtoInt64(request.ledgerId) };
      break;
    case 'GET_BOOKIE_INFO':
      message.getBookieInfoRequest = { requested: optionalInt64(request.requested) };
      break;
    case 'START_TLS':
      message.startTLSRequest = {};
      break;
    case 'FORCE_LEDGER':
      message.forceLedgerRequest = { ledgerId: toProtoInt64(request.ledgerId) };
      break;
    case 'GET_LIST_OF_ENTRIES_OF_LEDGER':
      message.getListOfEntriesOfLedgerRequest = { ledgerId: toProtoInt64(request.ledgerId) };
      break;
  }
  return toFrame(bytesFields, (writer) => bookkeeper.Request.encode(message, writer));
}

/** Decodes a request frame's payload (without the length prefix). Throws MALFORMED_FRAME. */
export function decodeRequest(payload: Buffer): DecodedRequest {
  const add = decodeAddRequest(payload);
  if (add !== undefined) return add;
  const message = parse('request', () => bookkeeper.Request.decode(payload));
  const operation = operationName(message.header.operation);
  const common = { txnId: fromProtoUint64(message.header.txnId), priority: message.header.priority ?? 0 };
  const refuse = (reason: 'BAD_VERSION' | 'NOT_SUPPORTED' | 'MISSING_BODY'): DecodedRequest => ({
    op: 'UNSUPPORTED',
    operation,
    reason,
    ...common,
  });
  if (message.header.version !== ProtocolVersion.VERSION_THREE) return refuse('BAD_VERSION');
  switch (operation) {
    case 'READ_ENTRY': {
      const r = message.readRequest;
      if (r === null) return refuse('MISSING_BODY');
      return {
        op: 'READ_ENTRY',
        ...common,
        ledgerId: fromProtoInt64(r.ledgerId),
        entryId: fromProtoInt64(r.entryId),
        ...(r.flag !== null && {
          flag: r.flag === bookkeeper.ReadRequest.Flag.FENCE_LEDGER ? 'FENCE_LEDGER' : 'ENTRY_PIGGYBACK',
        }),
        ...(r.masterKey !== null && { masterKey: asBuffer(r.masterKey) }),
        ...(r.previousLAC !== null && { previousLAC: fromProtoInt64(r.previousLAC) }),
        ...(r.timeOut !== null && { timeOut: fromProtoInt64(r.timeOut) }),
      };
    }
    case 'ADD_ENTRY': {
      const r = message.addRequest;
      if (r === null) return refuse('MISSING_BODY');
      return {
        op: 'ADD_ENTRY',
        ...common,
        ledgerId: fromProtoInt64(r.ledgerId),
        entryId: fromProtoInt64(r.entryId),
        masterKey: asBuffer(r.masterKey),
        body: asBuffer(r.body),
        recoveryAdd: r.flag === bookkeeper.AddRequest.Flag.RECOVERY_ADD,
        ...(r.writeFlags !== null && { writeFlags: r.writeFlags }),
      };
    }
    case 'AUTH': {
      const r = message.authRequest;
      if (r === null) return refuse('MISSING_BODY');
      return { op: 'AUTH', ...common, authPluginName: r.authPluginName, payload: asBuffer(r.payload) };
    }
    case 'WRITE_LAC': {
      const r = message.writeLacRequest;
      if (r === null) return refuse('MISSING_BODY');
      return {
        op: 'WRITE_LAC',
        ...common,
        ledgerId: fromProtoInt64(r.ledgerId),
        lac: fromProtoInt64(r.lac),
        masterKey: asBuffer(r.masterKey),
        body: asBuffer(r.body),
      };
    }
    case 'READ_LAC': {
      const r = message.readLacRequest;
      if (r === null) return refuse('MISSING_BODY');
      return { op: 'READ_LAC', ...common, ledgerId: fromProtoInt64(r.ledgerId) };
    }
    case 'GET_BOOKIE_INFO': {
      const r = message.getBookieInfoRequest;
      if (r === null) return refuse('MISSING_BODY');
      return {
        op: 'GET_BOOKIE_INFO',
        ...common,
        ...(r.requested !== null && { requested: fromProtoInt64(r.requested) }),
      };
    }
    case 'START_TLS':
      // The sub-request is an empty message: its absence carries no information.
      return { op: 'START_TLS', ...common };
    case 'FORCE_LEDGER': {
      const r = message.forceLedgerRequest;
      if (r === null) return refuse('MISSING_BODY');
      return { op: 'FORCE_LEDGER', ...common, ledgerId: fromProtoInt64(r.ledgerId) };
    }
    case 'GET_LIST_OF_ENTRIES_OF_LEDGER': {
      const r = message.getListOfEntriesOfLedgerRequest;
      if (r === null) return refuse('MISSING_BODY');
      return { op: 'GET_LIST_OF_ENTRIES_OF_LEDGER', ...common, ledgerId: fromProtoInt64(r.ledgerId) };
    }
    case 'RANGE_READ_ENTRY':
    case 'RANGE_ADD_ENTRY':
    case 'BATCH_READ_ENTRY':
      return refuse('NOT_SUPPORTED');
  }
}

/** One complete frame (length prefix included) for a bookie response. */
export function encodeResponse(response: Response): Buffer {
  if (response.op === 'ADD_ENTRY') {
    const frame = encodeAddResponse(response);
    if (frame !== undefined) return frame;
  }
  const operation = response.op === 'STATUS_ONLY' ? response.operation : response.op;
  const status = Status[response.status];
  // The header echoes the request's version, operation and txnId; BookKeeper omits priority.
  const message: bookkeeper.Response.$Properties = { header: header(operation, response.txnId), status };
  let bytesFields = 0;
  switch (response.op) {
    case 'READ_ENTRY':
      message.readResponse = {
        status,
        ledgerId: toProtoInt64(response.ledgerId),
        entryId: toProtoInt64(response.entryId),
        body: response.body ?? null,
        maxLAC: optionalInt64(response.maxLAC),
        lacUpdateTimestamp: optionalInt64(response.lacUpdateTimestamp),
      };
      bytesFields = response.body?.length ?? 0;
      break;
    case 'ADD_ENTRY':
      message.addResponse = {
        status,
        ledgerId: toProtoInt64(response.ledgerId),
        entryId: toProtoInt64(response.entryId),
      };
      break;
    case 'AUTH':
      message.authResponse = { authPluginName: response.authPluginName, payload: response.payload };
      bytesFields = Buffer.byteLength(response.authPluginName) + response.payload.length;
      break;
    case 'WRITE_LAC':
      message.writeLacResponse = { status, ledgerId: toProtoInt64(response.ledgerId) };
      break;
    case 'READ_LAC':
      message.readLacResponse = {
        status,
        ledgerId: toProtoInt64(response.ledgerId),
        lacBody: response.lacBody ?? null,
        lastEntryBody: response.lastEntryBody ?? null,
      };
      bytesFields = (response.lacBody?.length ?? 0) + (response.lastEntryBody?.length ?? 0);
      break;
    case 'GET_BOOKIE_INFO':
      message.getBookieInfoResponse = {
        status,
        totalDiskCapacity: optionalInt64(response.totalDiskCapacity),
        freeDiskSpace: optionalInt64(response.freeDiskSpace),
      };
      break;
    case 'START_TLS':
      message.startTLSResponse = {};
      break;
    case 'FORCE_LEDGER':
      message.forceLedgerResponse = { status, ledgerId: toProtoInt64(response.ledgerId) };
      break;
    case 'GET_LIST_OF_ENTRIES_OF_LEDGER':
      message.getListOfEntriesOfLedgerResponse = {
        status,
        ledgerId: toProtoInt64(response.ledgerId),
        availabilityOfEntriesOfLedger: response.availabilityOfEntriesOfLedger ?? null,
      };
      bytesFields = response.availabilityOfEntriesOfLedger?.length ?? 0;
      break;
    case 'STATUS_ONLY':
      break;
  }
  return toFrame(bytesFields, (writer) => bookkeeper.Response.encode(message, writer));
}

/** Decodes a response frame's payload (without the length prefix). Throws MALFORMED_FRAME. */
export function decodeResponse(payload: Buffer): Response {
  const add = decodeAddResponse(payload);
  if (add !== undefined) return add;
  const message = parse('response', () => bookkeeper.Response.decode(payload));
  const operation = operationName(message.header.operation);
  const txnId = fromProtoUint64(message.header.txnId);
  const topStatus = message.status;
  // The Java client's rule: a failed top-level status wins over whatever the body says.
  const status = (body: { status: bookkeeper.StatusCode }): StatusCode =>
    statusName(topStatus === Status.EOK ? body.status : topStatus);
  const statusOnly = (): Response => {
    if (topStatus === Status.EOK) throw malformed(`EOK ${operation} response without its body`);
    return { op: 'STATUS_ONLY', operation, txnId, status: statusName(topStatus) };
  };
  switch (operation) {
    case 'READ_ENTRY': {
      const r = message.readResponse;
      if (r === null) return statusOnly();
      return {
        op: 'READ_ENTRY',
        txnId,
        status: status(r),
        ledgerId: fromProtoInt64(r.ledgerId),
        entryId: fromProtoInt64(r.entryId),
        ...(r.body !== null && { body: asBuffer(r.body) }),
        ...(r.maxLAC !== null && { maxLAC: fromProtoInt64(r.maxLAC) }),
        ...(r.lacUpdateTimestamp !== null && { lacUpdateTimestamp: fromProtoInt64(r.lacUpdateTimestamp) }),
      };
    }
    case 'ADD_ENTRY': {
      const r = message.addResponse;
      if (r === null) return statusOnly();
      return {
        op: 'ADD_ENTRY',
        txnId,
        status: status(r),
        ledgerId: fromProtoInt64(r.ledgerId),
        entryId: fromProtoInt64(r.entryId),
      };
    }
    case 'AUTH': {
      const r = message.authResponse;
      if (r === null) return statusOnly();
      return {
        op: 'AUTH',
        txnId,
        status: statusName(topStatus),
        authPluginName: r.authPluginName,
        payload: asBuffer(r.payload),
      };
    }
    case 'WRITE_LAC': {
      const r = message.writeLacResponse;
      if (r === null) return statusOnly();
      return { op: 'WRITE_LAC', txnId, status: status(r), ledgerId: fromProtoInt64(r.ledgerId) };
    }
    case 'READ_LAC': {
      const r = message.readLacResponse;
      if (r === null) return statusOnly();
      return {
        op: 'READ_LAC',
        txnId,
        status: status(r),
        ledgerId: fromProtoInt64(r.ledgerId),
        ...(r.lacBody !== null && { lacBody: asBuffer(r.lacBody) }),
        ...(r.lastEntryBody !== null && { lastEntryBody: asBuffer(r.lastEntryBody) }),
      };
    }
    case 'GET_BOOKIE_INFO': {
      const r = message.getBookieInfoResponse;
      if (r === null) return statusOnly();
      return {
        op: 'GET_BOOKIE_INFO',
        txnId,
        status: status(r),
        ...(r.totalDiskCapacity !== null && { totalDiskCapacity: fromProtoInt64(r.totalDiskCapacity) }),
        ...(r.freeDiskSpace !== null && { freeDiskSpace: fromProtoInt64(r.freeDiskSpace) }),
      };
    }
    case 'START_TLS':
      return { op: 'START_TLS', txnId, status: statusName(topStatus) };
    case 'FORCE_LEDGER': {
      const r = message.forceLedgerResponse;
      if (r === null) return statusOnly();
      return { op: 'FORCE_LEDGER', txnId, status: status(r), ledgerId: fromProtoInt64(r.ledgerId) };
    }
    case 'GET_LIST_OF_ENTRIES_OF_LEDGER': {
      const r = message.getListOfEntriesOfLedgerResponse;
      if (r === null) return statusOnly();
      return {
        op: 'GET_LIST_OF_ENTRIES_OF_LEDGER',
        txnId,
        status: status(r),
        ledgerId: fromProtoInt64(r.ledgerId),
        ...(r.availabilityOfEntriesOfLedger !== null && {
          availabilityOfEntriesOfLedger: asBuffer(r.availabilityOfEntriesOfLedger),
        }),
      };
    }
    case 'RANGE_READ_ENTRY':
    case 'RANGE_ADD_ENTRY':
    case 'BATCH_READ_ENTRY':
      return statusOnly();
  }
}

function header(operation: Operation, txnId: bigint, priority = 0): bookkeeper.BKPacketHeader.$Properties {
  return {
    version: ProtocolVersion.VERSION_THREE,
    operation: OperationType[operation],
    txnId: toProtoInt64(txnId),
    // Java clients set it only for high-priority requests; matching that keeps frames byte-identical.
    priority: priority === 0 ? null : priority,
  };
}

function optionalInt64(value: bigint | undefined): ProtoInt64 | null {
  return value === undefined ? null : toProtoInt64(value);
}

/**
 * Encodes into a buffer sized up front (length prefix + fixed fields + bytes fields), so a large body
 * is copied once by the writer instead of again on each regrowth and once more by finish().
 */
function toFrame(bytesFields: number, encode: (writer: protobuf.Writer) => void): Buffer {
  const writer = protobuf.Writer.create();
  writer.buf = Buffer.allocUnsafe(FRAME_HEADER_SIZE + FIXED_FIELDS_MAX + bytesFields);
  writer.pos = FRAME_HEADER_SIZE;
  encode(writer);
  const frame = asBuffer(writer.finish(true));
  frame.writeInt32BE(frame.length - FRAME_HEADER_SIZE, 0);
  return frame;
}

function parse<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    throw malformed(`undecodable ${what}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

function malformed(message: string, cause?: unknown): WireError {
  return new WireError('MALFORMED_FRAME', message, cause === undefined ? {} : { cause });
}

// The generated decoder only stores enum values it knows, so the reverse lookups always find a name.
function operationName(value: bookkeeper.OperationType): Operation {
  return OperationType[value] as Operation;
}

function statusName(value: bookkeeper.StatusCode): StatusCode {
  return Status[value] as StatusCode;
}

/** protobufjs returns Buffer slices when decoding a Buffer; this makes the type say so without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
