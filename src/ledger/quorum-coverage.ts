// BookKeeper's coverage rule (RRQuorumCoverageSet): enough bookies of an ensemble have answered
// when, in every write quorum (each window of W consecutive ensemble indices), fewer than A remain
// unknown. Then no writer can gather A acknowledgements without one of the bookies that answered,
// so a fence read, or a LAC read, has seen everything that can have been acknowledged.

/** `answered[i]`: ensemble index i replied OK or no-such-entry/ledger (errors count as unknown). */
export function isCovered(answered: readonly boolean[], writeQuorumSize: number, ackQuorumSize: number): boolean {
  const ensembleSize = answered.length;
  for (let start = 0; start < ensembleSize; start++) {
    let unknown = 0;
    for (let i = 0; i < writeQuorumSize; i++) if (answered[(start + i) % ensembleSize] !== true) unknown++;
    if (unknown >= ackQuorumSize) return false;
  }
  return true;
}
