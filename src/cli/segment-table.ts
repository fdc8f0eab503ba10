// How the commands show a log's segments: `dlog log show` prints them as a table, `dlog truncate`
// reports their truncation states.
import { LedgerClientError } from '../ledger/ledger-client-error.js';
import { TruncationStatus, type LogSegmentMetadata } from '../log/metadata/log-segment-metadata.js';
import type { Namespace } from '../log/namespace.js';
import { formatTable } from './table.js';

/** `active`, `partial@(lssn,entry,slot)` (readable from that DLSN on) or `truncated`. */
export function truncationLabel(segment: LogSegmentMetadata): string {
  switch (segment.truncationStatus) {
    case TruncationStatus.ACTIVE: return 'active';
    case TruncationStatus.PARTIALLY_TRUNCATED: return `partial@${segment.minActiveDLSN.toString()}`;
    case TruncationStatus.TRUNCATED: return 'truncated';
  }
}

/** A closed ledger's length in bytes; '-' while in progress (not known yet) or once deleted by retention. */
async function sizeOf(ns: Namespace, segment: LogSegmentMetadata): Promise<string> {
  if (segment.inProgress) return '-';
  try {
    return String((await ns.getLedgerMetadata(segment.logSegmentId)).length);
  } catch (err) {
    if (err instanceof LedgerClientError && err.code === 'NO_SUCH_LEDGER') return '-';
    throw err;
  }
}

const COLUMNS = ['LSSN', 'ledger', 'state', 'first txid', 'last txid', 'records', 'size', 'truncation'] as const;
const KEYS = ['lssn', 'ledger', 'state', 'firstTxId', 'lastTxId', 'records', 'size', 'truncation'] as const;

/** The segments, oldest first, one row each; in-progress segments have no last txid or count yet ('-'). */
async function segmentRows(ns: Namespace, segments: readonly LogSegmentMetadata[]): Promise<string[][]> {
  const sizes = await Promise.all(segments.map((s) => sizeOf(ns, s)));
  return segments.map((s, i) => [
    String(s.logSegmentSequenceNo),
    String(s.logSegmentId),
    s.inProgress ? 'in progress' : 'completed',
    String(s.firstTxId),
    s.inProgress ? '-' : String(s.lastTxId),
    s.inProgress ? '-' : String(s.recordCount),
    sizes[i] ?? '-',
    truncationLabel(s),
  ]);
}

export async function segmentTable(ns: Namespace, segments: readonly LogSegmentMetadata[]): Promise<string> {
  return formatTable([[...COLUMNS], ...await segmentRows(ns, segments)]);
}

/** The same rows as objects for --json: numbers as strings (64-bit), null where the table has '-'. */
export async function segmentObjects(ns: Namespace, segments: readonly LogSegmentMetadata[]): Promise<Array<Record<string, string | null>>> {
  return (await segmentRows(ns, segments)).map((row) => Object.fromEntries(KEYS.map((k, i) => [k, row[i] === '-' ? null : row[i] ?? null])));
}
