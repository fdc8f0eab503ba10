// WriteCache keys entries by number when the id is exact and by bigint above 2^53: both kinds of id
// must come back exact, sorted, and findable.
import { expect } from 'chai';
import { ChunkPool } from '../../src/bookie/chunk-pool.js';
import { CHUNK_SIZE, WriteCache } from '../../src/bookie/write-cache.js';

const body = (s: string): Buffer => Buffer.from(s);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

describe('WriteCache', () => {
  it('returns entries sorted by (ledger, entry) with exact ids, below and above 2^53', () => {
    const cache = new WriteCache(1 << 20, new ChunkPool(CHUNK_SIZE, 4));
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

  it('keeps small records in chunks and large ones in their own buffers, both found by get() and sorted()', () => {
    const cache = new WriteCache(8 << 20, new ChunkPool(CHUNK_SIZE, 4));
    const large = Buffer.alloc(300_000, 7);
    cache.put(1n, 0n, body('small'));
    cache.put(1n, 1n, large);
    // 200 KB records: five fill a chunk, the sixth starts the second
    for (let i = 2; i < 8; i++) cache.put(1n, BigInt(i), Buffer.alloc(200_000, i));
    cache.put(1n, 8n, body('after'));
    expect(cache.get(1n, 0n)?.toString()).to.equal('small');
    expect(cache.get(1n, 1n)?.equals(large)).to.equal(true);
    for (let i = 2; i < 8; i++) expect(cache.get(1n, BigInt(i))?.equals(Buffer.alloc(200_000, i)), `entry ${i}`).to.equal(true);
    expect(cache.get(1n, 8n)?.toString()).to.equal('after');
    expect(cache.sorted().map((r) => r.bytes.length - 24)).to.deep.equal([5, 300_000, ...Array<number>(6).fill(200_000), 5]);
  });

  it('a second put of an entry replaces the first; records keep their bytes after the cache is cleared, until the next clear', () => {
    const cache = new WriteCache(1 << 20, new ChunkPool(CHUNK_SIZE, 4));
    cache.put(1n, 0n, body('old'));
    cache.put(1n, 0n, body('new'));
    const kept = cache.get(1n, 0n);
    expect(cache.sorted()).to.have.length(1);
    cache.clear();
    expect(cache.isEmpty).to.equal(true);
    expect(kept?.toString()).to.equal('new');
  });

  it('recycles chunks: a flushed cache\'s chunks are reused after one more clear, and no more than the pool cap are kept', () => {
    const pool = new ChunkPool(CHUNK_SIZE, 6);
    const a = new WriteCache(8 << 20, pool);
    const b = new WriteCache(8 << 20, pool);
    const fill = (cache: WriteCache, ledgerId: bigint, mark: number): void => {
      for (let i = 0; i < 40; i++) cache.put(ledgerId, BigInt(i), Buffer.alloc(60_000, mark));
    };
    fill(a, 1n, 1); // 3 chunks
    const kept = a.get(1n, 0n);
    a.clear();
    fill(b, 2n, 2); // 3 more: a's chunks rest
    expect(pool.allocated).to.equal(6);
    expect(kept?.every((byte) => byte === 1)).to.equal(true);
    b.clear(); // a's chunks are free now, b's rest
    fill(a, 3n, 3);
    expect(pool.allocated, 'a reused its old chunks').to.equal(6);
    expect(kept?.every((byte) => byte === 3), 'the old view now shows the new entries').to.equal(true);
    a.clear();
    expect(pool.retainedBytes).to.equal(6 * CHUNK_SIZE);
    for (let round = 0; round < 20; round++) {
      fill(round % 2 === 0 ? a : b, 4n, 4);
      (round % 2 === 0 ? a : b).clear();
    }
    expect(pool.allocated, 'steady state allocates nothing').to.equal(6);

    const small = new ChunkPool(CHUNK_SIZE, 2);
    const c = new WriteCache(8 << 20, small);
    for (let round = 0; round < 3; round++) {
      fill(c, 5n, 5);
      c.clear();
      expect(small.retainedBytes, 'the cap holds').to.be.at.most(2 * CHUNK_SIZE);
    }
  });
});
