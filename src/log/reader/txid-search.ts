// Positioning by transaction id (§6.2; DL's getDLSNNotLessThanTxId, findLogSegmentNotLessThanTxnId
// and ReadUtils.getLogRecordNotLessThanTxId): pick the segment from the metadata, then narrow the
// segment's entries [0, LAC] with an N-way search for the first user record with txid >= target.
// Txids are assumed non-decreasing; control records inherit the last user txid of their segment, so
// an entry's highest txid (control records included) is non-decreasing across a segment too.
import type { LedgerClient } from '../../ledger/ledger-client.js';
import type { LedgerHandle } from '../../ledger/ledger-handle.js';
import type { Entry } from '../../protocol/bk-entry-envelope.js';
import { InvalidArgumentError } from '../../errors.js';
import { DLSN } from '../format/dlsn.js';
import { decodeEnvelopedEntry } from '../format/dl-entry-envelope.js';
import { isControl, isEndOfStream } from '../format/log-record.js';
import type { LogSegmentMetadata } from '../metadata/log-segment-metadata.js';
import { readEntryRecords } from '../format/entry-records.js';

export interface TxIdSearchOptions {
  readonly ledgers: LedgerClient;
  readonly password?: Uint8Array;
  /** Entries read per round of the search (N). Default 8, at least 2. */
  readonly fanout?: number;
}

export const DEFAULT_TXID_SEARCH_FANOUT = 8;

/** What one entry tells the search. */
interface EntryProbe {
  /** Highest txid of any record in it (EOS counts as MAX); undefined for an empty entry. */
  readonly maxTxId: bigint | undefined;
  /** The first user (or EOS) record with txid >= target. */
  readonly match: DLSN | undefined;
  /** The position just after the entry's last record. */
  readonly after: DLSN;
}

type SegmentResult = { readonly found: DLSN } | { readonly after: DLSN };

/**
 * The DLSN of the first record with txid >= `txid` among the non-truncated `segments` (sorted, as
 * listSegments returns them). When no record qualifies: the position just after the last record,
 * so a reader started there sees only records written later. No segment: InitialDLSN.
 */
export async function dlsnNotLessThanTxId(
  segments: readonly LogSegmentMetadata[],
  txid: bigint,
  options: TxIdSearchOptions,
): Promise<DLSN> {
  const fanout = options.fanout ?? DEFAULT_TXID_SEARCH_FANOUT;
  if (!Number.isInteger(fanout) || fanout < 2) throw new InvalidArgumentError(`fanout must be an integer >= 2, got ${fanout}`);
  const readable = segments.filter((s) => !s.isTruncated);
  const last = readable.at(-1);
  if (last === undefined) return DLSN.InitialDLSN;
  let after = afterLastRecord(last);
  for (let i = pickSegment(readable, txid); i < readable.length; i++) {
    const result = await searchSegment(readable[i] as LogSegmentMetadata, txid, options, fanout);
    if ('found' in result) return result.found;
    after = result.after;
  }
  return after;
}

/** Index of the segment to search first (may be segments.length: every segment is below txid). */
function pickSegment(segments: readonly LogSegmentMetadata[], txid: bigint): number {
  let i = segments.findLastIndex((s) => s.firstTxId <= txid);
  if (i < 0) return 0;
  const seg = segments[i] as LogSegmentMetadata;
  if (seg.firstTxId === txid) {
    // a run of equal txids may have started in earlier segments
    for (let prev = segments[i - 1]; prev !== undefined && !prev.inProgress && prev.lastTxId >= txid; prev = segments[i - 1]) i -= 1;
  } else if (!seg.inProgress && seg.lastTxId < txid) {
    i += 1;
  }
  return i;
}

/** From a completed segment's metadata. */
function afterLastRecord(seg: LogSegmentMetadata): DLSN {
  return seg.inProgress || seg.lastEntryId < 0n ? seg.firstDLSN : seg.lastDLSN.next();
}

async function searchSegment(seg: LogSegmentMetadata, txid: bigint, options: TxIdSearchOptions, fanout: number): Promise<SegmentResult> {
  const handle = await options.ledgers.openLedger(seg.logSegmentId, {
    recover: false,
    ...(options.password === undefined ? {} : { password: options.password }),
  });
  try {
    const lac = handle.isClosed ? handle.metadata.lastEntryId : await handle.readLastAddConfirmed();
    if (lac < 0n) return { after: seg.firstDLSN };
    const probe = (entry: Entry): EntryProbe => probeEntry(seg, entry, txid);
    let lo = 0n;
    let hi = lac;
    // A segment starting at or after the target answers with its first record: scan from entry 0.
    if (seg.firstTxId < txid) {
      // Invariant: every entry below lo holds only txids < target; after the first round, entry hi
      // holds one >= target (so only the first round, whose last point is the LAC, can miss).
      while (hi - lo + 1n > BigInt(fanout)) {
        const points = spread(lo, hi, fanout);
        const probes = await Promise.all(points.map(async (id) => probe(await readOne(handle, id))));
        const k = probes.findIndex((p) => p.maxTxId !== undefined && p.maxTxId >= txid);
        if (k < 0) return { after: (probes.at(-1) as EntryProbe).after };
        lo = k === 0 ? lo : (points[k - 1] as bigint) + 1n;
        hi = points[k] as bigint;
      }
    }
    return await scan(handle, lo, lac, probe, fanout);
  } finally {
    await handle.close();
  }
}

/** Entries from `from` to `lac` in batches until a record matches. */
async function scan(
  handle: LedgerHandle,
  from: bigint,
  lac: bigint,
  probe: (entry: Entry) => EntryProbe,
  batch: number,
): Promise<SegmentResult> {
  let after: DLSN | undefined;
  for (let first = from; first <= lac; first += BigInt(batch)) {
    const last = first + BigInt(batch) - 1n < lac ? first + BigInt(batch) - 1n : lac;
    for (const entry of await handle.readEntries(first, last)) {
      const p = probe(entry);
      if (p.match) return { found: p.match };
      after = p.after;
    }
  }
  if (after === undefined) throw new InvalidArgumentError(`scan from entry ${from} past the LAC ${lac}`);
  return { after };
}

async function readOne(handle: LedgerHandle, entryId: bigint): Promise<Entry> {
  const [entry] = await handle.readEntries(entryId, entryId);
  if (entry === undefined) throw new Error(`ledger ${handle.id} returned no entry ${entryId}`);
  return entry;
}

function probeEntry(seg: LogSegmentMetadata, entry: Entry, txid: bigint): EntryProbe {
  const bytes = seg.envelopedEntries ? decodeEnvelopedEntry(entry.payload) : entry.payload;
  let maxTxId: bigint | undefined;
  let match: DLSN | undefined;
  let nextSlot = 0n;
  for (const r of readEntryRecords(bytes)) {
    nextSlot = r.slotId + 1n;
    if (maxTxId === undefined || r.txid > maxTxId) maxTxId = r.txid;
    const user = !isControl(r) || isEndOfStream(r);
    if (match === undefined && user && r.txid >= txid) match = new DLSN(seg.logSegmentSequenceNo, entry.entryId, r.slotId);
  }
  return { maxTxId, match, after: new DLSN(seg.logSegmentSequenceNo, entry.entryId, nextSlot) };
}

/** `n` strictly increasing entry ids from lo to hi, both included (needs hi - lo + 1 > n). */
function spread(lo: bigint, hi: bigint, n: number): bigint[] {
  const span = hi - lo;
  const steps = BigInt(n - 1);
  return Array.from({ length: n }, (_, j) => lo + (span * BigInt(j)) / steps);
}
