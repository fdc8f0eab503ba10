// Log-segment metadata (core/LogSegmentMetadata.java): the data of a segment znode under
// <logRoot>/ledgers. UTF-8 decimal longs joined by ';'; field 0 packs
// version (bits 0-7) | status (8-15) | regionId (28-31) | recordCount (32-63, completed only).
// Field counts, in progress / completed: V1 3/5, V2 4/8, V3 and V4 6/10, V5 7/11.
import { InvalidArgumentError } from '../../errors.js';
import { DLSN } from '../format/dlsn.js';
import { LogError } from '../log-error.js';
import { completedName, inprogressName } from './log-segment-names.js';

export type LogSegmentMetadataVersion = 1 | 2 | 3 | 4 | 5;
/** What new segments are written with (`ledgerMetadataLayoutVersion` default). */
export const CURRENT_METADATA_VERSION: LogSegmentMetadataVersion = 5;
/** Readers reject older versions unless told to skip the check (`ledgerMetadataSkipMinVersionCheck`). */
export const OLDEST_SUPPORTED_METADATA_VERSION: LogSegmentMetadataVersion = 2;
/** V4 and later: ledger entries are enveloped. */
export const ENVELOPED_ENTRIES_VERSION: LogSegmentMetadataVersion = 4;
/** V5 and later: startSequenceId is stored. */
export const SEQUENCE_ID_VERSION: LogSegmentMetadataVersion = 5;

/** The low two bits of the status byte. */
export const TruncationStatus = { ACTIVE: 0, PARTIALLY_TRUNCATED: 1, TRUNCATED: 2 } as const;
export type TruncationStatus = (typeof TruncationStatus)[keyof typeof TruncationStatus];

export const INVALID_TXID = -999n;
export const UNASSIGNED_LSSN = 0n;
export const UNASSIGNED_SEQUENCE_ID = -1n;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const TRUNCATION_STATUS_MASK = 0x3;
const MAX_REGION_ID = 0xf;

export interface LogSegmentMetadataFields {
  readonly version: LogSegmentMetadataVersion;
  /** The BookKeeper ledger id. */
  readonly logSegmentId: bigint;
  readonly firstTxId: bigint;
  /** INVALID_TXID (-999) while in progress. */
  readonly lastTxId: bigint;
  /** Milliseconds since the epoch; 0 while in progress. */
  readonly completionTime: bigint;
  /** The last user-record position, a Java int; 0 while in progress. */
  readonly recordCount: number;
  /** 1, 2, ...; UNASSIGNED_LSSN (0) for V1 segments. */
  readonly logSegmentSequenceNo: bigint;
  readonly lastEntryId: bigint;
  readonly lastSlotId: bigint;
  readonly minActiveEntryId: bigint;
  readonly minActiveSlotId: bigint;
  /** Stored by V5 only; UNASSIGNED_SEQUENCE_ID (-1) while in progress. */
  readonly startSequenceId: bigint;
  /** 0..15. */
  readonly regionId: number;
  /** The whole status byte; the truncation status is its low two bits. */
  readonly status: number;
  /** Not stored: implied by the field count. */
  readonly inProgress: boolean;
}

export interface CompletionFields {
  lastTxId: bigint;
  recordCount: number;
  lastEntryId: bigint;
  lastSlotId: bigint;
  startSequenceId: bigint;
  /** Defaults to now. */
  completionTime?: bigint;
}

function checkLong(field: string, v: bigint): void {
  if (v < INT64_MIN || v > INT64_MAX) throw new InvalidArgumentError(`segment ${field} ${v} is not a signed 64-bit value`);
}

function checkInt(field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`segment ${field} ${v} is not an integer in [${min}, ${max}]`);
  }
}

export class LogSegmentMetadata implements LogSegmentMetadataFields {
  readonly version: LogSegmentMetadataVersion;
  readonly logSegmentId: bigint;
  readonly firstTxId: bigint;
  readonly lastTxId: bigint;
  readonly completionTime: bigint;
  readonly recordCount: number;
  readonly logSegmentSequenceNo: bigint;
  readonly lastEntryId: bigint;
  readonly lastSlotId: bigint;
  readonly minActiveEntryId: bigint;
  readonly minActiveSlotId: bigint;
  readonly startSequenceId: bigint;
  readonly regionId: number;
  readonly status: number;
  readonly inProgress: boolean;

  constructor(f: LogSegmentMetadataFields) {
    checkInt('version', f.version, 1, CURRENT_METADATA_VERSION);
    checkInt('recordCount', f.recordCount, -0x80000000, 0x7fffffff);
    checkInt('regionId', f.regionId, 0, MAX_REGION_ID);
    checkInt('status', f.status, 0, 0xff);
    if ((f.status & TRUNCATION_STATUS_MASK) === 3) {
      throw new InvalidArgumentError(`segment status ${f.status} has an undefined truncation status 3`);
    }
    const longs = {
      logSegmentId: f.logSegmentId,
      firstTxId: f.firstTxId,
      lastTxId: f.lastTxId,
      completionTime: f.completionTime,
      logSegmentSequenceNo: f.logSegmentSequenceNo,
      lastEntryId: f.lastEntryId,
      lastSlotId: f.lastSlotId,
      minActiveEntryId: f.minActiveEntryId,
      minActiveSlotId: f.minActiveSlotId,
      startSequenceId: f.startSequenceId,
    };
    for (const [field, v] of Object.entries(longs)) checkLong(field, v);
    this.version = f.version;
    this.logSegmentId = f.logSegmentId;
    this.firstTxId = f.firstTxId;
    this.lastTxId = f.lastTxId;
    this.completionTime = f.completionTime;
    this.recordCount = f.recordCount;
    this.logSegmentSequenceNo = f.logSegmentSequenceNo;
    this.lastEntryId = f.lastEntryId;
    this.lastSlotId = f.lastSlotId;
    this.minActiveEntryId = f.minActiveEntryId;
    this.minActiveSlotId = f.minActiveSlotId;
    this.startSequenceId = f.startSequenceId;
    this.regionId = f.regionId;
    this.status = f.status;
    this.inProgress = f.inProgress;
  }

  get truncationStatus(): TruncationStatus {
    return (this.status & TRUNCATION_STATUS_MASK) as TruncationStatus;
  }

  get isTruncated(): boolean {
    return this.truncationStatus === TruncationStatus.TRUNCATED;
  }

  get isPartiallyTruncated(): boolean {
    return this.truncationStatus === TruncationStatus.PARTIALLY_TRUNCATED;
  }

  /** Entries of V4+ segments are enveloped. */
  get envelopedEntries(): boolean {
    return this.version >= ENVELOPED_ENTRIES_VERSION;
  }

  get firstDLSN(): DLSN {
    return DLSN.firstOf(this.logSegmentSequenceNo);
  }

  /** (lssn, -1, -1) while in progress. */
  get lastDLSN(): DLSN {
    return new DLSN(this.logSegmentSequenceNo, this.lastEntryId, this.lastSlotId);
  }

  get minActiveDLSN(): DLSN {
    return new DLSN(this.logSegmentSequenceNo, this.minActiveEntryId, this.minActiveSlotId);
  }

  /** The stored startSequenceId, or Long.MIN_VALUE + (lssn << 32) when none is stored (pre-V5 or unassigned). */
  get effectiveStartSequenceId(): bigint {
    if (this.version >= SEQUENCE_ID_VERSION && this.startSequenceId !== UNASSIGNED_SEQUENCE_ID) {
      return this.startSequenceId;
    }
    return BigInt.asIntN(64, INT64_MIN + (this.logSegmentSequenceNo << 32n));
  }

  /** The znode name under /ledgers (name version 1). */
  znodeName(): string {
    return this.inProgress ? inprogressName(this.logSegmentSequenceNo) : completedName(this.logSegmentSequenceNo);
  }

  /** The znode data, byte for byte as Java writes it. V1 stores neither status nor region (as in Java). */
  serialize(): string {
    const v = BigInt(this.version);
    const count = BigInt(this.recordCount) << 32n;
    if (this.version === 1) {
      return (
        this.inProgress
          ? [v, this.logSegmentId, this.firstTxId]
          : [BigInt.asIntN(64, v | count), this.logSegmentId, this.firstTxId, this.lastTxId, this.completionTime]
      ).join(';');
    }
    let vsc = v | (BigInt(this.status) << 8n) | (BigInt(this.regionId) << 28n);
    if (!this.inProgress) vsc = BigInt.asIntN(64, vsc | count);
    const fields = this.inProgress
      ? [vsc, this.logSegmentId, this.firstTxId, this.logSegmentSequenceNo]
      : [
          vsc,
          this.logSegmentId,
          this.firstTxId,
          this.lastTxId,
          this.completionTime,
          this.logSegmentSequenceNo,
          this.lastEntryId,
          this.lastSlotId,
        ];
    if (this.version >= 3) fields.push(this.minActiveEntryId, this.minActiveSlotId);
    if (this.version >= SEQUENCE_ID_VERSION) fields.push(this.startSequenceId);
    return fields.join(';');
  }

  with(changes: Partial<LogSegmentMetadataFields>): LogSegmentMetadata {
    return new LogSegmentMetadata({ ...this.fields(), ...changes });
  }

  /** The completed form of an in-progress segment; minActive and status carry over. */
  complete(c: CompletionFields): LogSegmentMetadata {
    if (!this.inProgress) {
      throw new InvalidArgumentError(`segment ${this.logSegmentSequenceNo} is already completed`);
    }
    return this.with({
      inProgress: false,
      lastTxId: c.lastTxId,
      recordCount: c.recordCount,
      lastEntryId: c.lastEntryId,
      lastSlotId: c.lastSlotId,
      startSequenceId: c.startSequenceId,
      completionTime: c.completionTime ?? BigInt(Date.now()),
    });
  }

  /** Replaces the truncation bits of the status, keeping its other bits. */
  withTruncationStatus(truncation: TruncationStatus): LogSegmentMetadata {
    return this.with({ status: (this.status & ~TRUNCATION_STATUS_MASK) | truncation });
  }

  /** PARTIALLY_TRUNCATED with minActiveDLSN = `minActive`, which must lie in this segment. */
  partiallyTruncated(minActive: DLSN): LogSegmentMetadata {
    if (minActive.logSegmentSequenceNo !== this.logSegmentSequenceNo) {
      throw new InvalidArgumentError(`${minActive.toString()} is not in segment ${this.logSegmentSequenceNo}`);
    }
    return this.withTruncationStatus(TruncationStatus.PARTIALLY_TRUNCATED).with({
      minActiveEntryId: minActive.entryId,
      minActiveSlotId: minActive.slotId,
    });
  }

  private fields(): LogSegmentMetadataFields {
    return {
      version: this.version,
      logSegmentId: this.logSegmentId,
      firstTxId: this.firstTxId,
      lastTxId: this.lastTxId,
      completionTime: this.completionTime,
      recordCount: this.recordCount,
      logSegmentSequenceNo: this.logSegmentSequenceNo,
      lastEntryId: this.lastEntryId,
      lastSlotId: this.lastSlotId,
      minActiveEntryId: this.minActiveEntryId,
      minActiveSlotId: this.minActiveSlotId,
      startSequenceId: this.startSequenceId,
      regionId: this.regionId,
      status: this.status,
      inProgress: this.inProgress,
    };
  }
}

export interface NewSegmentOptions {
  logSegmentId: bigint;
  firstTxId: bigint;
  logSegmentSequenceNo: bigint;
  version?: LogSegmentMetadataVersion;
  regionId?: number;
}

/** A freshly started segment with the in-progress defaults. */
export function newInProgressSegment(o: NewSegmentOptions): LogSegmentMetadata {
  return new LogSegmentMetadata({
    version: o.version ?? CURRENT_METADATA_VERSION,
    logSegmentId: o.logSegmentId,
    firstTxId: o.firstTxId,
    lastTxId: INVALID_TXID,
    completionTime: 0n,
    recordCount: 0,
    logSegmentSequenceNo: o.logSegmentSequenceNo,
    lastEntryId: -1n,
    lastSlotId: -1n,
    minActiveEntryId: 0n,
    minActiveSlotId: 0n,
    startSequenceId: UNASSIGNED_SEQUENCE_ID,
    regionId: o.regionId ?? 0,
    status: 0,
    inProgress: true,
  });
}

const FIELD_COUNTS: Readonly<Record<LogSegmentMetadataVersion, readonly [number, number]>> = {
  1: [3, 5],
  2: [4, 8],
  3: [6, 10],
  4: [6, 10],
  5: [7, 11],
};

export interface ParseOptions {
  /** Accept versions below OLDEST_SUPPORTED_METADATA_VERSION (`ledgerMetadataSkipMinVersionCheck`). */
  skipMinVersionCheck?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a segment znode's data; `name` (its znode name or path) is used in error messages only. */
export function parseLogSegmentMetadata(
  name: string,
  data: string | Uint8Array,
  options: ParseOptions = {},
): LogSegmentMetadata {
  const malformed = (why: string): LogError =>
    new LogError('MALFORMED_SEGMENT_METADATA', `segment ${name}: ${why}`);
  let text: string;
  try {
    text = typeof data === 'string' ? data : utf8.decode(data);
  } catch (cause) {
    throw new LogError('MALFORMED_SEGMENT_METADATA', `segment ${name}: data is not UTF-8`, { cause });
  }
  // Java's Long.parseLong: optional sign, decimal digits, signed 64-bit range
  const longs = text.split(';').map((part, i) => {
    const v = /^[+-]?[0-9]+$/.test(part) ? BigInt(part) : undefined;
    if (v === undefined || v < INT64_MIN || v > INT64_MAX) {
      throw malformed(`field ${i} ${JSON.stringify(part)} is not a signed 64-bit decimal in ${JSON.stringify(text)}`);
    }
    return v;
  });
  const vsc = longs[0] ?? 0n;
  const version = Number(vsc & 0xffn);
  const minVersion = options.skipMinVersionCheck === true ? 1 : OLDEST_SUPPORTED_METADATA_VERSION;
  if (!isVersion(version) || version < minVersion) {
    throw new LogError(
      'UNSUPPORTED_METADATA_VERSION',
      `segment ${name}: metadata version ${version} is not supported (readable: ${minVersion}..${CURRENT_METADATA_VERSION})`,
    );
  }
  const [inProgressCount, completedCount] = FIELD_COUNTS[version];
  if (longs.length !== inProgressCount && longs.length !== completedCount) {
    throw malformed(
      `version ${version} needs ${inProgressCount} (in progress) or ${completedCount} (completed) fields, ` +
        `got ${longs.length} in ${JSON.stringify(text)}`,
    );
  }
  const inProgress = longs.length === inProgressCount;
  const at = (i: number): bigint => longs[i] ?? 0n;
  const status = Number((vsc >> 8n) & 0xffn);
  if ((status & TRUNCATION_STATUS_MASK) === 3) throw malformed(`status ${status} has an undefined truncation status 3`);

  const base = newInProgressSegment({
    version,
    logSegmentId: at(1),
    firstTxId: at(2),
    logSegmentSequenceNo: version === 1 ? UNASSIGNED_LSSN : at(inProgress ? 3 : 5),
    regionId: Number((vsc >> 28n) & 0xfn),
  }).with({ status });
  // index of minActiveEntryId (V3+) and startSequenceId (V5) in this form
  const extra = inProgress ? 4 : 8;
  const withExtras = base.with({
    ...(version >= 3 ? { minActiveEntryId: at(extra), minActiveSlotId: at(extra + 1) } : {}),
    ...(version >= SEQUENCE_ID_VERSION ? { startSequenceId: at(extra + 2) } : {}),
  });
  if (inProgress) return withExtras;
  return withExtras.with({
    inProgress: false,
    lastTxId: at(3),
    completionTime: at(4),
    recordCount: Number(BigInt.asIntN(32, vsc >> 32n)),
    ...(version >= 2 ? { lastEntryId: at(6), lastSlotId: at(7) } : {}),
  });
}

function isVersion(v: number): v is LogSegmentMetadataVersion {
  return Number.isInteger(v) && v >= 1 && v <= CURRENT_METADATA_VERSION;
}

/**
 * Segment order: by LSSN, an in-progress segment before a completed one with the same LSSN; if either
 * LSSN is unassigned (0), by firstTxId.
 */
export function compareLogSegments(a: LogSegmentMetadata, b: LogSegmentMetadata): number {
  if (a.logSegmentSequenceNo === UNASSIGNED_LSSN || b.logSegmentSequenceNo === UNASSIGNED_LSSN) {
    return cmp(a.firstTxId, b.firstTxId);
  }
  return cmp(a.logSegmentSequenceNo, b.logSegmentSequenceNo) || Number(b.inProgress) - Number(a.inProgress);
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The startSequenceId of the segment after `previous` (DL computes it at completion): the previous
 * segment's start plus its record count, 0 for the first segment or after a segment without one.
 */
export function nextStartSequenceId(previous: LogSegmentMetadata | undefined): bigint {
  if (previous === undefined || previous.inProgress) return 0n;
  if (previous.version < SEQUENCE_ID_VERSION || previous.startSequenceId < 0n) return 0n;
  return previous.startSequenceId + BigInt(previous.recordCount);
}
