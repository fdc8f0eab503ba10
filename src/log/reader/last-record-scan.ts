// The last record of a log segment, found by scanning its ledger backwards from the LAC (§5.2 step
// 3, DL's ReadUtils.asyncReadLastRecord). Recovery wants every record (control and end-of-stream
// included: the segment's last DLSN counts their slots); getLastLogRecord wants user records only.
import { InvalidArgumentError } from '../../errors.js';
import type { LedgerHandle } from '../../ledger/ledger-handle.js';
import type { Entry } from '../../protocol/bk-entry-envelope.js';
import { DLSN } from '../format/dlsn.js';
import { decodeEnvelopedEntry } from '../format/dl-entry-envelope.js';
import { isControl, isEndOfStream } from '../format/log-record.js';
import type { LogSegmentMetadata } from '../metadata/log-segment-metadata.js';
import { readEntryRecords, type EntryRecord } from '../format/entry-records.js';

/** Entries read by the first backward read (DL's firstNumEntriesEachPerLastRecordScan). */
export const FIRST_LAST_RECORD_SCAN_ENTRIES = 2;
/** The backward reads double up to this many entries (DL's maxNumEntriesPerReadLastRecordScan). */
export const MAX_LAST_RECORD_SCAN_ENTRIES = 16;

export interface LastRecord {
  readonly dlsn: DLSN;
  readonly txid: bigint;
  /**
   * The record's position field: user records before it plus itself; control and end-of-stream
   * records carry the count so far. Either way, for the last record it is the segment's record count.
   */
  readonly position: number;
  /** RecordFlags bits: 0 for a user record (or an inner record of a record set). */
  readonly flags: number;
  readonly entryId: bigint;
  readonly slotId: bigint;
}

export interface ReadLastRecordOptions {
  /** Also return control and end-of-stream records (recovery); otherwise only user records count. */
  readonly includeControl: boolean;
}

/**
 * The last record of `segment` in entries 0..handle.lastAddConfirmed, or undefined when there is
 * none (an empty ledger, or only control records when they are excluded). For a ledger still being
 * written, refresh the LAC first (readLastAddConfirmed); entries past it are not looked at.
 * Record sets are expanded: their last inner record is the candidate, with its own slot and position.
 */
export async function readLastRecord(
  handle: LedgerHandle,
  segment: LogSegmentMetadata,
  options: ReadLastRecordOptions,
): Promise<LastRecord | undefined> {
  if (handle.id !== segment.logSegmentId) {
    throw new InvalidArgumentError(`ledger ${handle.id} is not the ledger of segment ${segment.logSegmentSequenceNo} (${segment.logSegmentId})`);
  }
  const maxBatch = BigInt(MAX_LAST_RECORD_SCAN_ENTRIES);
  let last = handle.lastAddConfirmed;
  let batch = BigInt(FIRST_LAST_RECORD_SCAN_ENTRIES);
  while (last >= 0n) {
    const first = last - batch + 1n > 0n ? last - batch + 1n : 0n;
    const entries = await handle.readEntries(first, last);
    for (let i = entries.length - 1; i >= 0; i--) {
      const found = lastOfEntry(entries[i] as Entry, segment, options.includeControl);
      if (found !== undefined) return found;
    }
    last = first - 1n;
    batch = batch * 2n < maxBatch ? batch * 2n : maxBatch;
  }
  return undefined;
}

function lastOfEntry(entry: Entry, segment: LogSegmentMetadata, includeControl: boolean): LastRecord | undefined {
  const bytes = segment.envelopedEntries ? decodeEnvelopedEntry(entry.payload) : entry.payload;
  let found: EntryRecord | undefined;
  for (const record of readEntryRecords(bytes)) {
    if (includeControl || !(isControl(record) || isEndOfStream(record))) found = record;
  }
  if (found === undefined) return undefined;
  return {
    dlsn: new DLSN(segment.logSegmentSequenceNo, entry.entryId, found.slotId),
    txid: found.txid,
    position: found.position,
    flags: found.flags,
    entryId: entry.entryId,
    slotId: found.slotId,
  };
}
