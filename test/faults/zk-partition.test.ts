// ZooKeeper unreachable for a writer and a reader (their namespaces reach it through a fault proxy,
// blackholed), the bookies still reachable: writes into the current segment go on and a tailing
// reader keeps reading them. Past the writer's session, a new writer (direct to ZooKeeper) takes
// the log over and fences it: the old writer gets no acknowledgement after the new one's first.
// The history checker reads everything back.
import { expect } from 'chai';
import type { Context } from 'mocha';
import { Namespace } from '../../src/log/namespace.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { History, recordKey } from '../support/history.js';
import { drain, readAllBack, writeLoop } from '../support/log-history.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';

describe('ZooKeeper partitioned from clients that still reach the bookies (zk)', function () {
  this.timeout(120_000);
  let deployment: LogDeployment;
  let proxy: FaultProxy;
  const namespaces: Namespace[] = [];

  before(async function (this: Context) {
    deployment = await startLogDeployment(this, 'zk', 'zk-partition');
    proxy = await FaultProxy.start(deployment.zk as string);
  });
  afterEach(async () => {
    proxy.heal();
    for (const ns of namespaces.splice(0)) await ns.close().catch(() => undefined);
  });
  after(async () => {
    await deployment.close();
    await proxy.close();
  });
  const viaProxy = async (sessionTimeoutMs: number): Promise<Namespace> => {
    const ns = await Namespace.open(deployment.uri.replace(deployment.zk as string, proxy.address), { sessionTimeoutMs });
    namespaces.push(ns);
    return ns;
  };

  it('writes into the current segment go on and a tailing reader follows them while ZooKeeper is blackholed', async () => {
    const ns = await viaProxy(30_000);
    const log = await ns.openLog('outage', { create: true });
    const writer = await log.openWriter();
    const reader = await log.openReader();
    const history = new History();
    const txid = { next: 1n };
    const state = { stop: false };
    const writing = writeLoop(writer, 'w', history, txid, () => state.stop || history.ackedCount >= 300);
    await drain(reader, history, 'tail', () => history.readCount('tail') >= 100);

    proxy.set({ kind: 'blackhole' });
    const ackedAtCut = history.ackedCount;
    // both sides make progress without ZooKeeper
    await drain(reader, history, 'tail', () => history.readCount('tail') >= ackedAtCut + 100);
    expect(history.ackedCount).to.be.at.least(ackedAtCut + 100);
    proxy.heal();

    expect(await writing).to.equal(undefined);
    await drain(reader, history, 'tail', () => history.readCount('tail') >= history.ackedCount);
    await writer.close();
    await reader.close();
    const report = history.check(['tail']);
    expect(report.violations).to.deep.equal([]);
    expect(report.acked).to.equal(300);
  });

  it('a writer cut off past its session is fenced by a new writer and gets no ack after it', async () => {
    const nsOld = await viaProxy(4000);
    const logOld = await nsOld.openLog('takeover', { create: true });
    const old = await logOld.openWriter();
    const history = new History();
    const txid = { next: 1n };
    const state = { stop: false };
    const oldLoop = writeLoop(old, 'old', history, txid, () => state.stop);
    while (history.ackedCount < 100) await new Promise((r) => setImmediate(r));

    proxy.set({ kind: 'blackhole' });
    const direct = await deployment.open();
    const log = await direct.openLog('takeover');
    // the old member node goes when ZooKeeper expires the old session; then the lock is ours
    const successor = await log.openWriter({ lockTimeoutMs: 60_000 });
    history.fenced('old', 'new');
    const newTxid = { next: txid.next + 1_000_000n };
    for (let seq = 0; seq < 100; seq++) {
      const key = recordKey('new', seq);
      const id = newTxid.next++;
      history.attempted(key, id);
      history.acked(key, await successor.asyncWrite({ txid: id, payload: Buffer.from(key) }));
    }
    state.stop = true;
    const oldError = await oldLoop;
    expect(oldError, 'the old writer failed once fenced').to.not.equal(undefined);
    await successor.close();
    await old.abort();

    const report = await readAllBack(log, history);
    expect(report.violations).to.deep.equal([]);
  });
});
