// Truncation marks segments before a DLSN as (partially) truncated (§7.2,
// BKLogWriteHandler.setLogSegmentsOlderThanDLSNTruncated). It changes metadata only: readers skip
// truncated data, and retention deletes the ledgers later.
import { InvalidArgumentError } from '../../errors.js';
import { DLSN } from '../format/dlsn.js';
import type { LogMetadataStore } from './log-metadata-store.js';
import { TruncationStatus, type LogSegmentMetadata } from './log-segment-metadata.js';

function checkTruncationPoint(dlsn: DLSN): void {
  if (dlsn.equals(DLSN.InvalidDLSN) || dlsn.logSegmentSequenceNo < 1n) {
    throw new InvalidArgumentError(`cannot truncate at ${dlsn.toString()}: not a position in a log`);
  }
}

/**
 * The segments (in `segments` order, sorted as listSegments returns them) that truncating at
 * `dlsn` changes, in their new form:
 * - the walk stops at the first in-progress segment, which is never truncated;
 * - a completed segment whose last DLSN is below `dlsn` becomes TRUNCATED;
 * - the completed segment with firstDLSN < dlsn <= lastDLSN becomes PARTIALLY_TRUNCATED with
 *   minActiveDLSN = dlsn, only if that moves its minActiveDLSN forward.
 * Segments that would not change (already TRUNCATED) are left out, so a segment never goes back
 * from TRUNCATED to PARTIALLY_TRUNCATED. InvalidArgumentError for InvalidDLSN or an LSSN below 1.
 */
export function planTruncation(segments: readonly LogSegmentMetadata[], dlsn: DLSN): LogSegmentMetadata[] {
  checkTruncationPoint(dlsn);
  const changed: LogSegmentMetadata[] = [];
  for (const segment of segments) {
    if (segment.inProgress) break;
    if (segment.lastDLSN.compare(dlsn) < 0) {
      if (!segment.isTruncated) changed.push(segment.withTruncationStatus(TruncationStatus.TRUNCATED));
      continue;
    }
    const partial = segment.firstDLSN.compare(dlsn) < 0 && !segment.isTruncated && segment.minActiveDLSN.compare(dlsn) < 0;
    if (partial) changed.push(segment.partiallyTruncated(dlsn));
    // dlsn lies in (or before) this segment: the ones after it hold nothing older
    break;
  }
  return changed;
}

/**
 * Truncates log `name` at `dlsn` (exclusive: the record at `dlsn` stays readable) in one metadata
 * multi and returns the changed segments. A `dlsn` past the last record truncates every completed
 * segment before the first in-progress one; the in-progress segment is never touched.
 */
export async function truncateLog(metadata: LogMetadataStore, name: string, dlsn: DLSN): Promise<LogSegmentMetadata[]> {
  checkTruncationPoint(dlsn);
  const changed = planTruncation(await metadata.listSegments(name), dlsn);
  await metadata.updateSegments(name, changed);
  return changed;
}
