import { expect } from 'chai';
import {
  availableEntryIds, decodeEntriesAvailability, encodeEntriesAvailability, EntriesAvailabilityBuilder, MAX_GROUPS,
} from '../../src/protocol/entries-availability.js';

/** A header (version 0, `groups`) followed by the given 24-byte groups, as hex. */
function expected(groups: readonly [first: number, last: number, length: number, period: number][]): string {
  const header = Buffer.alloc(64);
  header.writeInt32BE(groups.length, 4);
  const body = groups.map(([first, last, length, period]) => {
    const g = Buffer.alloc(24);
    g.writeBigInt64BE(BigInt(first), 0);
    g.writeBigInt64BE(BigInt(last), 8);
    g.writeInt32BE(length, 16);
    g.writeInt32BE(period, 20);
    return g;
  });
  return Buffer.concat([header, ...body]).toString('hex');
}

const ids = (...xs: number[]): bigint[] => xs.map(BigInt);

describe('entries availability (GET_LIST_OF_ENTRIES_OF_LEDGER body)', () => {
  it('writes one group per run of consecutive ids, each with period 0, after a 64-byte header', () => {
    expect(encodeEntriesAvailability([]).toString('hex')).to.equal(expected([]));
    expect(encodeEntriesAvailability(ids(0, 1, 2)).toString('hex')).to.equal(expected([[0, 0, 3, 0]]));
    // the striping of E3 W2 on one bookie: runs of two every three ids stay separate groups, as Java writes them
    expect(encodeEntriesAvailability(ids(0, 2, 3, 5, 6, 8, 9)).toString('hex'))
      .to.equal(expected([[0, 0, 1, 0], [2, 2, 2, 0], [5, 5, 2, 0], [8, 8, 2, 0]]));
    expect(encodeEntriesAvailability(ids(1, 2, 3, 5, 6, 11, 20000, 20001)).toString('hex'))
      .to.equal(expected([[1, 1, 3, 0], [5, 5, 2, 0], [11, 11, 1, 0], [20000, 20000, 2, 0]]));
  });

  it('refuses more runs than fit in a frame (the bookie answers EIO)', () => {
    expect(MAX_GROUPS).to.equal(218_408);
    const b = new EntriesAvailabilityBuilder(2);
    for (const id of [0n, 1n, 3n, 4n]) b.add(id);
    expect(() => { b.add(6n); }).to.throw(RangeError, /more than 2 runs/);
  });

  it('ignores repeated ids and refuses descending ones', () => {
    expect(encodeEntriesAvailability(ids(1, 1, 2, 2, 2, 4, 4)).toString('hex')).to.equal(expected([[1, 1, 2, 0], [4, 4, 1, 0]]));
    const b = new EntriesAvailabilityBuilder();
    b.add(5n);
    b.add(6n);
    expect(() => { b.add(3n); }).to.throw(RangeError, /ascend/);
  });

  it('decodes what it encodes and expands periodic groups (as other writers may send them)', () => {
    const sample = ids(0, 2, 3, 5, 6, 8, 9, 1000, 1001, 1002);
    expect([...availableEntryIds(decodeEntriesAvailability(encodeEntriesAvailability(sample)))]).to.deep.equal(sample);
    const periodic = Buffer.from(expected([[10, 16, 2, 3]]), 'hex');
    expect([...availableEntryIds(decodeEntriesAvailability(periodic))]).to.deep.equal(ids(10, 11, 13, 14, 16, 17));
  });

  it('refuses a short buffer, a truncated group list and a newer version', () => {
    expect(() => decodeEntriesAvailability(Buffer.alloc(10))).to.throw(RangeError, /header/);
    const truncated = Buffer.from(expected([[0, 0, 1, 0]]), 'hex').subarray(0, 70);
    expect(() => decodeEntriesAvailability(truncated)).to.throw(RangeError, /announces 1 groups/);
    const v1 = Buffer.alloc(64);
    v1.writeInt32BE(1, 0);
    expect(() => decodeEntriesAvailability(v1)).to.throw(RangeError, /version 1/);
  });
});
