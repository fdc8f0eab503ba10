import { expect } from 'chai';
import { BookieHealth } from '../../src/ledger/bookie-health.js';

describe('BookieHealth (read replica order)', () => {
  it('keeps the order when every bookie is healthy', () => {
    expect(new BookieHealth().order(['a', 'b', 'c'])).to.deep.equal(['a', 'b', 'c']);
  });

  it('puts slow bookies after healthy ones and failed ones last', () => {
    const h = new BookieHealth();
    h.failed('a');
    h.slow('b');
    expect(h.order(['a', 'b', 'c'])).to.deep.equal(['c', 'b', 'a']);
    expect(h.isSuspect('a')).to.equal(true);
    expect(h.isSuspect('c')).to.equal(false);
  });

  it('does not downgrade a failure to slow, and a timely answer clears the mark', () => {
    const h = new BookieHealth();
    h.failed('a');
    h.slow('a');
    h.slow('b');
    expect(h.order(['a', 'b', 'c'])).to.deep.equal(['c', 'b', 'a']);
    h.answered('a');
    expect(h.order(['a', 'b', 'c'])).to.deep.equal(['a', 'c', 'b']);
  });

  it('forgets marks after the expiry', () => {
    const h = new BookieHealth(0);
    h.failed('a');
    expect(h.order(['a', 'b'])).to.deep.equal(['a', 'b']);
  });
});
