// Writes queued while a segment roll waits on ZooKeeper (blackholed through a fault proxy) count
// against maxPendingBytes and pendingTimeoutMs: beyond the budget they fail with the retriable
// WRITE_LIMIT_EXCEEDED instead of buffering without bound; within it they wait, and are
// acknowledged once ZooKeeper answers again. The history checker reads the log back.
import { expect } from 'chai';
import type { Context } from 'mocha';
import { LogError } from '../../src/log/log-error.js';
import { Namespace } from '../../src/log/namespace.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { History, recordKey } from '../support/history.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';

const RECORD = 100 * 1024;
const BUDGET = 1024 * 1024;

describe('writes queued behind a roll while ZooKeeper hangs (zk)', function () {
  this.timeout(120_000);
  let deployment: LogDeployment;
  let proxy: FaultProxy;

  before(async function (this: Context) {
    deployment = await startLogDeployment(this, 'zk', 'roll-queue');
    proxy = await FaultProxy.start(deployment.zk as string);
  });
  after(async () => {
    await deployment.close();
    await proxy.close();
  });

  it('fail beyond maxPendingBytes after pendingTimeoutMs, and the rest are acknowledged once ZooKeeper is back', async () => {
    const ns = await deployment.open({ sessionTimeoutMs: 60_000 });
    // the writer's namespace reaches ZooKeeper through the proxy; `ns` (for reading back) directly
    const proxied = await Namespace.open(deployment.uri.replace(deployment.zk as string, proxy.address), { sessionTimeoutMs: 60_000 });
    const history = new History();
    try {
      const log = await proxied.openLog('roll-queue', { create: true });
      // every write after the first rolls: the roll needs ZooKeeper
      const writer = await log.openWriter({ maxSegmentBytes: 1, maxPendingBytes: BUDGET, pendingTimeoutMs: 500 });
      const first = recordKey('w', 0);
      history.attempted(first, 0n);
      history.acked(first, await writer.asyncWrite({ txid: 0n, payload: Buffer.from(first.padEnd(RECORD)) }));

      proxy.set({ kind: 'blackhole' });
      const outcomes = Array.from({ length: 20 }, (_, i) => {
        const key = recordKey('w', i + 1);
        history.attempted(key, BigInt(i + 1));
        return writer.asyncWrite({ txid: BigInt(i + 1), payload: Buffer.from(key.padEnd(RECORD)) }).then(
          (dlsn) => { history.acked(key, dlsn); return 'acked'; },
          (err: unknown) => (err instanceof LogError ? err.code : String(err)),
        );
      });
      // the writes past the budget fail while ZooKeeper still hangs
      const overBudget = outcomes.slice(Math.floor(BUDGET / (RECORD + 20)));
      expect(await Promise.all(overBudget)).to.satisfy((codes: string[]) => codes.every((c) => c === 'WRITE_LIMIT_EXCEEDED'));
      proxy.heal();
      const all = await Promise.all(outcomes);
      expect(all.filter((c) => c === 'acked')).to.have.length(20 - overBudget.length);
      await writer.close();

      const reader = await (await ns.openLog('roll-queue')).openReader();
      while (history.readCount('r') < history.ackedCount) {
        for (const r of await reader.readBulk(100, { waitMs: 1000 })) history.read('r', r.payload.toString().trimEnd(), r.txid, r.dlsn);
      }
      await reader.close();
      const report = history.check(['r']);
      expect(report.violations).to.deep.equal([]);
    } finally {
      proxy.heal();
      await proxied.close();
    }
  });
});
