import { expect } from 'chai';
import { bounded, CleanupStack } from '../../src/util/cleanup-stack.js';
import type { Logger } from '../../src/util/logger.js';

function recordingLogger(lines: string[]): Logger {
  const log = (obj: object | string, msg?: string): void => { lines.push(typeof obj === 'string' ? obj : msg ?? ''); };
  return { debug: log, info: log, warn: log, error: log };
}

describe('CleanupStack', () => {
  it('runs every step in reverse even when one fails, then rethrows the first failure', async () => {
    const ran: string[] = [];
    const lines: string[] = [];
    const stack = new CleanupStack(recordingLogger(lines));
    stack.push(() => { ran.push('unlock'); });
    stack.push(() => { ran.push('journal'); throw new Error('journal close failed'); });
    stack.push(async () => { ran.push('checkpoint'); await Promise.reject(new Error('checkpoint failed')); });
    stack.push(() => { ran.push('server'); });
    let thrown: unknown;
    await stack.unwind().catch((err: unknown) => { thrown = err; });
    expect(ran).to.deep.equal(['server', 'checkpoint', 'journal', 'unlock']);
    expect((thrown as Error).message).to.equal('checkpoint failed');
    expect(lines).to.have.length(2);
    // the steps are forgotten: a second unwind runs nothing
    await stack.unwind();
    expect(ran).to.have.length(4);
  });
});

describe('bounded', () => {
  it('stops waiting after the bound and logs a late rejection instead of leaving it unhandled', async () => {
    const lines: string[] = [];
    let fail: (err: Error) => void = () => undefined;
    const never = new Promise<void>((_, reject) => { fail = reject; });
    await bounded(never, 20, 'waiting for a hung peer', recordingLogger(lines));
    expect(lines[0]).to.include('did not finish within 20 ms');
    fail(new Error('late'));
    await new Promise((r) => setImmediate(r));
    expect(lines[1]).to.include('failed after its wait ended');
  });

  it('passes a rejection within the bound through', async () => {
    let thrown: unknown;
    await bounded(Promise.reject(new Error('now')), 1000, 'x', recordingLogger([])).catch((err: unknown) => { thrown = err; });
    expect((thrown as Error).message).to.equal('now');
  });
});
