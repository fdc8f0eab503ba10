// What a follower's last listing of a log's segments read, so that the next listing reads only the
// segment znodes that are new or changed (a follower used to re-read every znode on each change).
//
// How a change is told apart: a child created or deleted under `<root>/ledgers` moves its pzxid, and a
// create bumps its cversion (ZooKeeper 3.8 bumps it on a delete too, the local store does not). If no
// known name went away and cversion moved by exactly the number of new names, every create made a new
// name: no segment was re-created under its old name (DL rewrites a segment as delete + create, which
// needs one create more), so known znodes are reused without a request. Otherwise (a roll, which
// deletes inprogress_N, or a retention delete), and on a `verify` listing (the periodic safety net,
// which must also see a segment rewritten in place with setData, as Java DL's updater does), each
// known znode's stat is read and only one whose czxid or mzxid moved is read again.
import type { NodeStat } from '../../metadata/metadata-store.js';
import type { LogSegmentMetadata } from './log-segment-metadata.js';

export interface CachedSegment {
  /** Created (czxid) and last modified (mzxid) by these transactions. */
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly segment: LogSegmentMetadata;
}

export class SegmentListCache {
  /** `<root>/ledgers`'s cversion and pzxid when `byName` was listed; -1 before the first listing. */
  cversion = -1;
  pzxid = -1n;
  /** Segment znodes by child name. */
  byName = new Map<string, CachedSegment>();
  /** Znodes read (data) and stat'ed by the listings so far: what the cache saves shows here. */
  reads = 0;
  stats = 0;
}

export function sameZnode(cached: CachedSegment, stat: NodeStat): boolean {
  return cached.czxid === stat.czxid && cached.mzxid === stat.mzxid;
}
