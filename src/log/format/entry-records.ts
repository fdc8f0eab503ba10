// The records of one BK entry: a writer that packs LogRecords into the entry buffer, and a reader
// that walks them assigning slot ids. A slot is a record's index in the entry; it counts every
// record, control records included, and each inner record of a record set (§3, §4.2).
import { LogError } from '../log-error.js';
import { readLogRecordSet, recordSetCount } from './log-record-set.js';
import {
  isControl,
  isRecordSet,
  type LogRecord,
  logRecordSize,
  MAX_LOGRECORDSET_SIZE,
  readLogRecord,
  writeLogRecord,
} from './log-record.js';

/**
 * Below Buffer.poolSize / 2, so the buffer of a small entry (one record in flight per log) is a
 * slice of Node's shared pool rather than its own ArrayBuffer: measured in bench/scale.ts, a
 * 4 KiB unpooled buffer per entry was a visible share of the client's allocation and GC time.
 */
const INITIAL_CAPACITY = 512;

/**
 * Packs records into one entry buffer, at most `maxBytes` (default and ceiling 1,044,480). The
 * caller decides when to transmit (§5.3) using `numBytes`, `fits` and `hasUserRecords`.
 * `headroom` bytes are kept free before the records, so an envelope header can be written in
 * place (withHeadroom) instead of copying the records into a new buffer.
 */
export class EntryRecordWriter {
  readonly maxBytes: number;
  readonly headroom: number;
  private buffer = Buffer.alloc(0);
  private bytes = 0;
  private slots = 0;
  private userRecords = false;

  constructor(maxBytes = MAX_LOGRECORDSET_SIZE, headroom = 0) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0 || maxBytes > MAX_LOGRECORDSET_SIZE) {
      throw new RangeError(`entry size cap ${maxBytes} must be in 1..${MAX_LOGRECORDSET_SIZE}`);
    }
    this.maxBytes = maxBytes;
    this.headroom = headroom;
  }

  /** Slots used so far: the slot the next record will get. */
  get numRecords(): number {
    return this.slots;
  }

  get numBytes(): number {
    return this.bytes;
  }

  /** Control records are never packed with user records, so the caller needs to know. */
  get hasUserRecords(): boolean {
    return this.userRecords;
  }

  fits(record: LogRecord): boolean {
    return this.bytes + logRecordSize(record) <= this.maxBytes;
  }

  /**
   * Appends a record and returns its (first) slot. The record's fields are trusted (checked once
   * where it entered the client); what this entry checks is its own room: a record that does not
   * fit is RECORD_TOO_LARGE, and nothing is written.
   */
  append(record: LogRecord): bigint {
    let slotsUsed = 1;
    if (isRecordSet(record)) {
      const count = recordSetCount(record.payload);
      if (count === undefined) {
        throw new LogError('INVALID_RECORD', 'record flagged RECORD_SET does not carry a valid record set');
      }
      slotsUsed = count;
    }
    if (!this.fits(record)) {
      throw new LogError(
        'RECORD_TOO_LARGE',
        `record of ${logRecordSize(record)} bytes does not fit the entry (${this.bytes}/${this.maxBytes} used)`,
      );
    }
    this.reserve(logRecordSize(record));
    this.bytes = writeLogRecord(record, this.buffer, this.headroom + this.bytes) - this.headroom;
    const slot = BigInt(this.slots);
    this.slots += slotsUsed;
    if (!isControl(record)) this.userRecords = true;
    return slot;
  }

  /** The entry's records so far. Later appends never change bytes already returned. */
  toBuffer(): Buffer {
    return this.buffer.subarray(this.headroom, this.headroom + this.bytes);
  }

  /** The headroom (contents undefined) followed by the records: for an envelope written in place. */
  withHeadroom(): Buffer {
    this.reserve(0);
    return this.buffer.subarray(0, this.headroom + this.bytes);
  }

  private reserve(extra: number): void {
    const needed = this.headroom + this.bytes + extra;
    if (needed <= this.buffer.length) return;
    let capacity = Math.max(this.buffer.length * 2, INITIAL_CAPACITY);
    while (capacity < needed) capacity *= 2;
    // Growing copies into a new buffer, so views handed out by toBuffer stay intact.
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.headroom + this.maxBytes));
    this.buffer.copy(grown, 0, 0, this.headroom + this.bytes);
    this.buffer = grown;
  }
}

export interface EntryRecord extends LogRecord {
  readonly slotId: bigint;
  /** startSequenceId + position − 1; undefined when the segment has no start sequence id. */
  readonly sequenceId: bigint | undefined;
}

export interface ReadEntryOptions {
  /** Slot of the first record; 0 for a whole entry. */
  readonly startSlotId?: bigint;
  /** The segment's startSequenceId (v5 metadata); negative or absent means unknown. */
  readonly startSequenceId?: bigint;
  /**
   * Expand record sets into their inner records (config deserializeRecordSetOnReads, default
   * true). When false the set is yielded whole and the next record's slot skips past its count.
   */
  readonly expandRecordSets?: boolean;
}

/**
 * Walks the records of an entry payload (already un-enveloped). Payloads are views of `records`
 * (or of a decompressed record set). Damage is CORRUPT_ENTRY, thrown when the reader reaches it.
 */
export function* readEntryRecords(records: Buffer, options: ReadEntryOptions = {}): Generator<EntryRecord> {
  const startSequenceId = options.startSequenceId ?? -1n;
  const expand = options.expandRecordSets ?? true;
  const sequenceIdOf = (position: number): bigint | undefined =>
    startSequenceId < 0n ? undefined : startSequenceId + BigInt(position) - 1n;
  let slotId = options.startSlotId ?? 0n;
  let offset = 0;
  while (offset < records.length) {
    const { record, next } = readLogRecord(records, offset);
    offset = next;
    if (!isRecordSet(record)) {
      // a literal, not a spread: this runs once per record read
      yield { txid: record.txid, payload: record.payload, flags: record.flags, position: record.position, slotId, sequenceId: sequenceIdOf(record.position) };
      slotId += 1n;
    } else if (expand) {
      // Inner records take the outer txid and consecutive positions from the outer record's.
      let position = record.position;
      for (const payload of readLogRecordSet(record.payload)) {
        yield { txid: record.txid, payload, flags: 0, position, slotId, sequenceId: sequenceIdOf(position) };
        slotId += 1n;
        position += 1;
      }
    } else {
      const count = recordSetCount(record.payload);
      if (count === undefined) {
        throw new LogError('CORRUPT_ENTRY', `record set at slot ${slotId} has an invalid header`);
      }
      yield { txid: record.txid, payload: record.payload, flags: record.flags, position: record.position, slotId, sequenceId: sequenceIdOf(record.position) };
      slotId += BigInt(count);
    }
  }
}
