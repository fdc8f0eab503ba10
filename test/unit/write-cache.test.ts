// WriteCache keys entries by number when the id is exact and by bigint above 2^53: both kinds of id
// must come back exact, sorted, and findable.
import { expect } from 'chai';
import { WriteCache } from '../../src/bookie/write-cache.js';

const body = (s: string): Buffer => Buffer.from(s);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

describe('WriteCache', () => {
  it('returns entries sorted by (ledger, entry) with exact ids, below and above 2^53', () => {
    const cache = new WriteCache(1 << 20);
    const big = [MAX_SAFE + 2n, MAX_SAFE, MAX_SAFE + 1n, (1n << 63n) - 1n];
    for (const id of big) cache.put(7n, id, body(`e${id}`));
    cache.put(3n, 5n, body('a'));
    cache.put(3n, 2n, body('b'));
    const sorted = cache.sorted().map((r) => [r.ledgerId, r.entryId]);
    expect(sorted).to.deep.equal([[3n, 2n], [3n, 5n], [7n, MAX_SAFE], [7n, MAX_SAFE + 1n], [7n, MAX_SAFE + 2n], [7n, (1n << 63n) - 1n]]);
    for (const id of big) expect(cache.get(7n, id)?.toString()).to.equal(`e${id}`);
    expect(cache.get(7n, MAX_SAFE + 3n)).to.equal(undefined);
    expect(cache.lastEntryId(7n)).to.equal((1n << 63n) - 1n);
  });

  it('a second put of an entry replaces the first; records keep their bytes after the cache is cleared', () => {
    const cache = new WriteCache(1 << 20);
    cache.put(1n, 0n, body('old'));
    cache.put(1n, 0n, body('new'));
    const kept = cache.get(1n, 0n);
    expect(cache.sorted()).to.have.length(1);
    cache.clear();
    expect(cache.isEmpty).to.equal(true);
    expect(kept?.toString()).to.equal('new');
  });
});
