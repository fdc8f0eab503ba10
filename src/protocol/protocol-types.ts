// The BookKeeper v3 requests and responses as our TypeScript code sees them: one flat object per
// operation, discriminated by `op`, with bigint ids and Buffer bodies. protocol-codec.ts maps them to
// and from the generated protobuf messages (src/proto/bookkeeper.proto).
import type { bookkeeper } from '../proto/index.js';

/** OperationType names ('READ_ENTRY', 'ADD_ENTRY', ...). */
export type Operation = keyof typeof bookkeeper.OperationType;
/** StatusCode names ('EOK', 'ENOENTRY', ...). */
export type StatusCode = keyof typeof bookkeeper.StatusCode;

interface RequestHeader {
  /** Correlates the response; BookKeeper clients count up from 0 per process. */
  readonly txnId: bigint;
  /** > 0 selects the bookie's high-priority pools (BookKeeper recovery sends 100). Absent means 0. */
  readonly priority?: number;
}

export interface ReadEntryRequest extends RequestHeader {
  readonly op: 'READ_ENTRY';
  readonly ledgerId: bigint;
  /** -1n reads the highest entry the bookie stores. */
  readonly entryId: bigint;
  readonly flag?: 'FENCE_LEDGER' | 'ENTRY_PIGGYBACK';
  /** Required with FENCE_LEDGER. */
  readonly masterKey?: Buffer;
  /** With timeOut: a long-poll read that waits for the bookie's LAC to pass previousLAC. */
  readonly previousLAC?: bigint;
  /** Long-poll timeout in milliseconds. */
  readonly timeOut?: bigint;
}

export interface AddEntryRequest extends RequestHeader {
  readonly op: 'ADD_ENTRY';
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  readonly masterKey: Buffer;
  /** The entry envelope (entry-envelope.ts). */
  readonly body: Buffer;
  /** RECOVERY_ADD: accepted by a fenced ledger. */
  readonly recoveryAdd?: boolean;
  /** Bit 0 = DEFERRED_SYNC. Sent only when non-zero. */
  readonly writeFlags?: number;
}

export interface AuthRequest extends RequestHeader {
  readonly op: 'AUTH';
  readonly authPluginName: string;
  readonly payload: Buffer;
}

export interface WriteLacRequest extends RequestHeader {
  readonly op: 'WRITE_LAC';
  readonly ledgerId: bigint;
  readonly lac: bigint;
  readonly masterKey: Buffer;
  /** The LAC envelope (lac-envelope.ts). */
  readonly body: Buffer;
}

export interface ReadLacRequest extends RequestHeader {
  readonly op: 'READ_LAC';
  readonly ledgerId: bigint;
}

export interface GetBookieInfoRequest extends RequestHeader {
  readonly op: 'GET_BOOKIE_INFO';
  /** Bit mask: 1 = total disk capacity, 2 = free disk space. */
  readonly requested?: bigint;
}

export interface StartTlsRequest extends RequestHeader {
  readonly op: 'START_TLS';
}

export interface ForceLedgerRequest extends RequestHeader {
  readonly op: 'FORCE_LEDGER';
  readonly ledgerId: bigint;
}

export interface GetListOfEntriesOfLedgerRequest extends RequestHeader {
  readonly op: 'GET_LIST_OF_ENTRIES_OF_LEDGER';
  readonly ledgerId: bigint;
}

export type Request =
  | ReadEntryRequest
  | AddEntryRequest
  | AuthRequest
  | WriteLacRequest
  | ReadLacRequest
  | GetBookieInfoRequest
  | StartTlsRequest
  | ForceLedgerRequest
  | GetListOfEntriesOfLedgerRequest;

/**
 * A well-formed request a bookie must refuse: BAD_VERSION (header version is not 3: answer
 * EBADVERSION), NOT_SUPPORTED (an operation v3 does not serve) or MISSING_BODY (no sub-request for
 * the header's operation); the last two are answered with EBADREQ.
 */
export interface UnsupportedRequest extends RequestHeader {
  readonly op: 'UNSUPPORTED';
  readonly operation: Operation;
  readonly reason: 'BAD_VERSION' | 'NOT_SUPPORTED' | 'MISSING_BODY';
}

export type DecodedRequest = Request | UnsupportedRequest;

interface ResponseHeader {
  readonly txnId: bigint;
  /**
   * On encode, written both as Response.status and as the sub-response status. On decode, the
   * top-level status unless it is EOK, then the sub-response's (as the Java client reads it).
   */
  readonly status: StatusCode;
}

export interface ReadEntryResponse extends ResponseHeader {
  readonly op: 'READ_ENTRY';
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  /** The entry envelope. */
  readonly body?: Buffer;
  /** The bookie's LAC, piggybacked. */
  readonly maxLAC?: bigint;
  readonly lacUpdateTimestamp?: bigint;
}

export interface AddEntryResponse extends ResponseHeader {
  readonly op: 'ADD_ENTRY';
  readonly ledgerId: bigint;
  readonly entryId: bigint;
}

export interface AuthResponse extends ResponseHeader {
  readonly op: 'AUTH';
  readonly authPluginName: string;
  readonly payload: Buffer;
}

export interface WriteLacResponse extends ResponseHeader {
  readonly op: 'WRITE_LAC';
  readonly ledgerId: bigint;
}

export interface ReadLacResponse extends ResponseHeader {
  readonly op: 'READ_LAC';
  readonly ledgerId: bigint;
  /** The last explicit LAC envelope. */
  readonly lacBody?: Buffer;
  /** The envelope of the highest stored entry. */
  readonly lastEntryBody?: Buffer;
}

export interface GetBookieInfoResponse extends ResponseHeader {
  readonly op: 'GET_BOOKIE_INFO';
  readonly totalDiskCapacity?: bigint;
  readonly freeDiskSpace?: bigint;
}

export interface StartTlsResponse extends ResponseHeader {
  readonly op: 'START_TLS';
}

export interface ForceLedgerResponse extends ResponseHeader {
  readonly op: 'FORCE_LEDGER';
  readonly ledgerId: bigint;
}

export interface GetListOfEntriesOfLedgerResponse extends ResponseHeader {
  readonly op: 'GET_LIST_OF_ENTRIES_OF_LEDGER';
  readonly ledgerId: bigint;
  /** Condensed bitmap of the entries the bookie holds. */
  readonly availabilityOfEntriesOfLedger?: Buffer;
}

/**
 * Header and status only, no sub-response: how a bookie refuses a request it could not dispatch
 * (unknown operation, unauthorised connection). Its status is never EOK.
 */
export interface StatusOnlyResponse extends ResponseHeader {
  readonly op: 'STATUS_ONLY';
  readonly operation: Operation;
}

export type Response =
  | ReadEntryResponse
  | AddEntryResponse
  | AuthResponse
  | WriteLacResponse
  | ReadLacResponse
  | GetBookieInfoResponse
  | StartTlsResponse
  | ForceLedgerResponse
  | GetListOfEntriesOfLedgerResponse
  | StatusOnlyResponse;
