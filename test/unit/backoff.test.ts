import { expect } from 'chai';
import { Backoff, retry } from '../../src/util/backoff.js';
import { rejection } from '../support/rejection.js';

describe('Backoff and retry', () => {
  it('doubles from the initial delay up to the maximum, and starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).to.equal(100);
    expect(new Backoff({ initialMs: 10, factor: 3 }).next()).to.equal(10);
    expect(new Backoff({ initialMs: 9000, maxMs: 5000 }).next(), 'the maximum caps the first delay too').to.equal(5000);
  });

  it('retries a failing operation with growing delays until it succeeds', async () => {
    const delays: number[] = [];
    const attempts: number[] = [];
    const result = await retry((attempt) => {
      attempts.push(attempt);
      return attempt < 3 ? Promise.reject(new Error(`failure ${attempt}`)) : Promise.resolve('done');
    }, { initialMs: 1, retries: 5, shouldRetry: () => true, onRetry: (_err, _attempt, delayMs) => { delays.push(delayMs); } });
    expect(result).to.equal('done');
    expect(attempts).to.deep.equal([0, 1, 2, 3]);
    expect(delays).to.deep.equal([1, 2, 4]);
  });

  it('gives up after the allowed retries with the last error', async () => {
    let calls = 0;
    const err = await rejection(retry(() => Promise.reject(new Error(`failure ${calls++}`)), { initialMs: 1, retries: 2, shouldRetry: () => true }), Error);
    expect(calls).to.equal(3);
    expect(err.message).to.equal('failure 2');
  });

  it('does not retry an error shouldRetry refuses', async () => {
    let calls = 0;
    const seen: unknown[] = [];
    const fatal = new Error('fatal');
    const err = await rejection(retry(() => { calls++; return Promise.reject(fatal); }, {
      initialMs: 1, retries: 5, shouldRetry: (e, attempt) => { seen.push([e, attempt]); return false; },
    }), Error);
    expect(err).to.equal(fatal);
    expect(calls).to.equal(1);
    expect(seen).to.deep.equal([[fatal, 0]]);
  });
});
