// Recovery of a previous writer's in-progress segments (reference §5.2 step 3, with §11's change): open
// each ledger with BK recovery, which fences it so the old writer's adds fail from now on, find the
// last record (control and end-of-stream records included) and complete the segment with it. An empty
// segment is deleted rather than completed, so maxtxid and the segment list never advertise records
// that do not exist.
import type { LedgerClient } from '../../ledger/ledger-client.js';
import type { Logger } from '../../util/logger.js';
import { readLastRecord } from '../reader/last-record-scan.js';
import type { LogMetadataStore, LogVersions } from '../metadata/log-metadata-store.js';
import { isEndOfStream, MAX_TXID } from '../format/log-record.js';
import { nextStartSequenceId, type LogSegmentMetadata } from '../metadata/log-segment-metadata.js';

export interface SegmentRecoveryContext {
  readonly logName: string;
  readonly metadata: LogMetadataStore;
  readonly ledgers: LedgerClient;
  readonly password: Uint8Array;
  readonly logger: Logger;
}

export interface RecoveredLog {
  readonly versions: LogVersions;
  /** Every segment after recovery, all completed, sorted. */
  readonly segments: readonly LogSegmentMetadata[];
}

/** Must run while holding the log's ownership lock, with versions read after acquiring it. */
export async function recoverInProgressSegments(ctx: SegmentRecoveryContext, versions: LogVersions): Promise<RecoveredLog> {
  let current = versions;
  const segments = [...(await ctx.metadata.listSegments(ctx.logName))];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as LogSegmentMetadata;
    if (!segment.inProgress) continue;
    const handle = await ctx.ledgers.openLedger(segment.logSegmentId, { recover: true, password: ctx.password });
    try {
      const last = await readLastRecord(handle, segment, { includeControl: true });
      if (last === undefined) {
        await ctx.metadata.deleteSegment(ctx.logName, segment);
        await deleteLedgerQuietly(ctx, segment.logSegmentId);
        segments.splice(i, 1);
        i -= 1;
        ctx.logger.info({ log: ctx.logName, lssn: String(segment.logSegmentSequenceNo) }, 'deleted an empty in-progress segment');
        continue;
      }
      const completed = segment.complete({
        lastTxId: isEndOfStream(last) ? MAX_TXID : last.txid,
        recordCount: last.position,
        lastEntryId: last.entryId,
        lastSlotId: last.slotId,
        startSequenceId: nextStartSequenceId(i > 0 ? segments[i - 1] : undefined),
      });
      current = await ctx.metadata.completeSegment(ctx.logName, segment, completed, current.maxLssn, current.maxTxId);
      segments[i] = completed;
      ctx.logger.info(
        { log: ctx.logName, lssn: String(segment.logSegmentSequenceNo), records: completed.recordCount },
        'recovered an in-progress segment',
      );
    } finally {
      await handle.close();
    }
  }
  return { versions: current, segments };
}

/** An empty ledger left behind is only wasted metadata: a failure to delete it must not fail recovery. */
async function deleteLedgerQuietly(ctx: SegmentRecoveryContext, ledgerId: bigint): Promise<void> {
  try {
    await ctx.ledgers.deleteLedger(ledgerId);
  } catch (err) {
    ctx.logger.warn({ err, log: ctx.logName, ledgerId: String(ledgerId) }, 'could not delete an empty segment ledger');
  }
}
