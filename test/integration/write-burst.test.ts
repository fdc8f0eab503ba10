// What a new user does first (issue 14): fire a large burst of un-awaited writes, and close the
// namespace in a `finally` after the writer failed. The burst must complete with every promise
// resolved (the client must not take its own busy event loop for dead bookies); the close must
// reject once and leave no uncaught error or unhandled rejection behind.
import { expect } from 'chai';
import type { DLSN } from '../../src/log/format/dlsn.js';
import { logDeploymentFor, type LogDeployment } from '../support/log-backends.js';

describe('an un-awaited burst of 1,000,000 writes (local:)', function () {
  this.timeout(180_000);
  let deployment: LogDeployment;

  logDeploymentFor('local', 'burst', (d) => { deployment = d; });

  it('resolves every promise, in order, and reads every record back', async () => {
    const count = 1_000_000;
    const ns = await deployment.open();
    const log = await ns.openLog('burst', { create: true });
    const writer = await log.openWriter();
    const payload = Buffer.alloc(100, 0x61);
    const writes: Promise<DLSN>[] = [];
    for (let i = 0; i < count; i++) writes.push(writer.asyncWrite({ txid: BigInt(i), payload }));
    const results = await Promise.allSettled(writes);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected?.reason).to.equal(undefined);
    const dlsns = results.map((r) => (r as PromiseFulfilledResult<DLSN>).value);
    for (let i = 1; i < count; i++) {
      if ((dlsns[i - 1] as DLSN).compare(dlsns[i] as DLSN) >= 0) expect.fail(`DLSN ${i} is not after DLSN ${i - 1}`);
    }
    await writer.close();

    const reader = await log.openReader();
    try {
      let next = 0n;
      while (next < BigInt(count)) {
        for (const r of await reader.readBulk(10_000, { waitMs: 5000 })) {
          if (r.txid !== next || r.payload.length !== 100) expect.fail(`record ${next}: got txid ${r.txid}, ${r.payload.length} bytes`);
          next += 1n;
        }
      }
    } finally {
      await reader.close();
    }
  });
});

describe('closing after the writer failed (zk, bookies killed)', function () {
  this.timeout(120_000);
  let deployment: LogDeployment;

  logDeploymentFor('zk', 'close-after-failure', (d) => { deployment = d; });

  it('ns.close() rejects once and leaves no uncaught error', async () => {
    const stray: unknown[] = [];
    const onStray = (err: unknown): void => { stray.push(err); };
    process.on('unhandledRejection', onStray);
    process.on('uncaughtException', onStray);
    try {
      const ns = await deployment.open();
      const log = await ns.openLog('doomed', { create: true });
      const writer = await log.openWriter();
      await writer.asyncWrite({ txid: 1n, payload: Buffer.from('before') });
      for (const bookie of deployment.bookies) await bookie.kill();
      const writes = Array.from({ length: 1000 }, (_, i) => writer.asyncWrite({ txid: BigInt(i + 2), payload: Buffer.from('after') }));
      const settled = await Promise.allSettled(writes);
      expect(settled.every((r) => r.status === 'rejected')).to.equal(true);
      // the writer's closed promise told why it stopped, without another call
      const why = await writer.closed.then(() => undefined, (err: unknown) => err);
      expect(why).to.equal((settled[0] as PromiseRejectedResult).reason);
      const first = await ns.close().then(() => undefined, (err: unknown) => err);
      expect(first).to.be.instanceOf(Error);
      // a second close reports the same outcome, it does not fail anew
      expect(await ns.close().then(() => undefined, (err: unknown) => err)).to.equal(first);
      // not synchronisation: gives a stray timer or socket callback of the closed client a chance to surface
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stray).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onStray);
      process.off('uncaughtException', onStray);
    }
  });
});
