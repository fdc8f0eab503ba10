import { expect } from 'chai';
import { RingQueue } from '../../src/util/ring-queue.js';

describe('RingQueue', () => {
  it('is FIFO across growth and wrap-around', () => {
    const q = new RingQueue<number>();
    const expected: number[] = [];
    let next = 0;
    // interleave pushes and shifts so the head wraps while the buffer grows
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7 + round; i++) { q.push(next); expected.push(next++); }
      for (let i = 0; i < 5; i++) expect(q.shift()).to.equal(expected.shift());
      expect(q.length).to.equal(expected.length);
      expect(q.peek()).to.equal(expected[0]);
      expect([...q]).to.deep.equal(expected);
    }
    expect(q.drain()).to.deep.equal(expected);
    expect(q.length).to.equal(0);
    expect(q.shift()).to.equal(undefined);
    expect(q.peek()).to.equal(undefined);
  });
});
