// Physical deletion of old segments (§7.2, BKLogWriteHandler.purgeLogSegmentsOlderThanTimestamp /
// purgeLogSegmentsOlderThanTxnId) and of a whole log with its ledgers (DLM.delete). A segment is
// deleted ledger first, znode second: a crash in between leaves a znode whose ledger is missing,
// which the next purge deletes without complaint, never a ledger no znode points to.
import { InvalidArgumentError } from '../../errors.js';
import type { LedgerClient } from '../../ledger/ledger-client.js';
import { LedgerClientError } from '../../ledger/ledger-client-error.js';
import { noopLogger, type Logger } from '../../util/logger.js';
import { LogError } from '../log-error.js';
import type { LogMetadataStore } from '../metadata/log-metadata-store.js';
import type { LogSegmentMetadata } from '../metadata/log-segment-metadata.js';

export interface RetentionContext {
  readonly metadata: LogMetadataStore;
  readonly ledgers: LedgerClient;
  readonly logName: string;
  readonly logger?: Logger;
}

/** Each given condition must hold for a segment to go; at least one of olderThanMs and beforeTxId is needed. */
export interface PurgePolicy {
  /** Delete segments completed more than this long ago: completionTime < now − olderThanMs. */
  readonly olderThanMs?: number;
  /** Delete segments whose last txid is below this: lastTxId < beforeTxId. */
  readonly beforeTxId?: bigint;
  /** DL's explicitTruncationByApp: only segments marked TRUNCATED may go. */
  readonly explicitTruncation?: boolean;
  /** Milliseconds since the epoch; default Date.now(). */
  readonly now?: number;
}

/**
 * Deletes, oldest first, the completed segments before the first in-progress one, except the newest
 * completed (kept for sequence-id continuity), while each satisfies `policy`; stops at the first
 * that does not. Returns the deleted segments. The caller should own the log (its writer), as DL
 * purges on roll; a segment someone else deleted meanwhile counts as deleted.
 */
export async function purgeSegments(ctx: RetentionContext, policy: PurgePolicy): Promise<LogSegmentMetadata[]> {
  const eligible = purgeCondition(policy);
  const segments = await ctx.metadata.listSegments(ctx.logName);
  const firstInProgress = segments.findIndex((s) => s.inProgress);
  const completed = firstInProgress === -1 ? segments : segments.slice(0, firstInProgress);
  const deleted: LogSegmentMetadata[] = [];
  for (const segment of completed.slice(0, -1)) {
    if (!eligible(segment)) break;
    await deleteSegment(ctx, segment);
    deleted.push(segment);
  }
  return deleted;
}

/**
 * Deletes every segment's ledger (in-progress ones included), then the log's whole metadata tree.
 * The caller must keep writers away (hold the log's lock), as DL's delete() does; a ledger
 * pre-allocated under `<root>/allocation` is not deleted. LOG_NOT_FOUND if the log does not exist.
 */
export async function deleteLogWithLedgers(ctx: RetentionContext): Promise<void> {
  for (const segment of await ctx.metadata.listSegments(ctx.logName)) {
    await deleteLedger(ctx, segment);
  }
  await ctx.metadata.deleteLog(ctx.logName);
}

function purgeCondition(policy: PurgePolicy): (segment: LogSegmentMetadata) => boolean {
  const { olderThanMs, beforeTxId } = policy;
  if (olderThanMs === undefined && beforeTxId === undefined) {
    throw new InvalidArgumentError('a purge policy needs olderThanMs or beforeTxId');
  }
  if (olderThanMs !== undefined && !(Number.isSafeInteger(olderThanMs) && olderThanMs >= 0)) {
    throw new InvalidArgumentError(`olderThanMs must be a non-negative integer, got ${olderThanMs}`);
  }
  const now = policy.now ?? Date.now();
  if (!Number.isSafeInteger(now)) throw new InvalidArgumentError(`now must be an integer of milliseconds, got ${now}`);
  const cutoff = olderThanMs === undefined ? undefined : BigInt(now - olderThanMs);
  return (s) =>
    (policy.explicitTruncation !== true || s.isTruncated) &&
    (cutoff === undefined || s.completionTime < cutoff) &&
    (beforeTxId === undefined || s.lastTxId < beforeTxId);
}

async function deleteSegment(ctx: RetentionContext, segment: LogSegmentMetadata): Promise<void> {
  await deleteLedger(ctx, segment);
  try {
    await ctx.metadata.deleteSegment(ctx.logName, segment);
  } catch (err) {
    if (!(err instanceof LogError && err.code === 'SEGMENT_NOT_FOUND')) throw err;
    logger(ctx).debug({ lssn: String(segment.logSegmentSequenceNo) }, 'segment znode already deleted');
  }
  logger(ctx).info(
    { lssn: String(segment.logSegmentSequenceNo), ledgerId: String(segment.logSegmentId) },
    'deleted log segment',
  );
}

async function deleteLedger(ctx: RetentionContext, segment: LogSegmentMetadata): Promise<void> {
  try {
    await ctx.ledgers.deleteLedger(segment.logSegmentId);
  } catch (err) {
    // deleted already: by an earlier purge that crashed before deleting the znode
    if (!(err instanceof LedgerClientError && err.code === 'NO_SUCH_LEDGER')) throw err;
  }
}

function logger(ctx: RetentionContext): Logger {
  return ctx.logger ?? noopLogger;
}
