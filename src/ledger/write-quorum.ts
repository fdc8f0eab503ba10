// Round-robin striping (BookKeeper's RoundRobinDistributionSchedule) and the ensemble that serves
// an entry: the last ensemble segment whose first entry is at or before it.
import type { EnsembleSegment } from '../ledger-metadata/ledger-metadata-codec.js';

/** Indices into the ensemble of the bookies that store entry `entryId`. */
export function writeSet(entryId: bigint, ensembleSize: number, writeQuorumSize: number): number[] {
  const first = Number(entryId % BigInt(ensembleSize));
  const set: number[] = [];
  for (let i = 0; i < writeQuorumSize; i++) set.push((first + i) % ensembleSize);
  return set;
}

export function ensembleFor(ensembles: readonly EnsembleSegment[], entryId: bigint): readonly string[] {
  let found: readonly string[] | undefined;
  for (const [firstEntryId, bookies] of ensembles) {
    if (firstEntryId > entryId) break;
    found = bookies;
  }
  if (found === undefined) throw new RangeError(`no ensemble serves entry ${entryId}`);
  return found;
}
