// A hung bookie (SIGSTOP: a GC pause, a dead disk and a network blackhole look the same) against
// readers: a catch-up reader pays the speculative-read timeout once, then asks the healthy replicas
// first, so it reads everything at close to the healthy rate; a tailing reader keeps going while
// writes move to another bookie. Four bookie processes behind fault proxies, E3 W3 A2; the history
// checker holds every acknowledged record read exactly once, in order.
import { expect } from 'chai';
import type { Context } from 'mocha';
import type { DistributedLog } from '../../src/log/distributed-log.js';
import type { LogWriter } from '../../src/log/writer/log-writer.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';
import { History, recordKey } from '../support/history.js';

const BEFORE = 1500;
const DURING = 300;

async function write(writer: LogWriter, history: History, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const key = recordKey('w', i);
    history.attempted(key, BigInt(i));
    history.acked(key, await writer.asyncWrite({ txid: BigInt(i), payload: Buffer.from(key) }));
  }
}

/** Reads into `history` as `name` until `until()` holds after a read returned nothing new. */
async function readUntil(log: DistributedLog, history: History, name: string, until: () => boolean): Promise<void> {
  const reader = await log.openReader();
  try {
    for (;;) {
      const batch = await reader.readBulk(1000, { waitMs: 200 });
      for (const r of batch) history.read(name, r.payload.toString(), r.txid, r.dlsn);
      if (batch.length === 0 && until()) return;
    }
  } finally {
    await reader.close();
  }
}

describe('hung bookie vs readers (zk, 4 bookie processes, E3 W3 A2)', function () {
  this.timeout(180_000);
  let deployment: LogDeployment;

  before(async function (this: Context) {
    deployment = await startLogDeployment(this, 'zk', 'hung', { bookies: 4, proxied: true });
  });
  after(async () => {
    for (const b of deployment.bookies) b.resume();
    await deployment.close();
  });

  it('catch-up reads everything, asking the hung bookie only for the first window; tailing keeps going', async () => {
    const ns = await deployment.open();
    const log = await ns.openLog('hung', { create: true });
    const writer = await log.openWriter();
    const history = new History();
    const done = { writing: true };
    const tailing = readUntil(log, history, 'tail', () => !done.writing && history.readCount('tail') >= history.ackedCount);

    const healthyStart = Date.now();
    await write(writer, history, 0, BEFORE);
    const healthyMs = Date.now() - healthyStart;
    // one bookie of the ensemble (the fourth one got no request) hangs
    const hung = deployment.proxies.findIndex((p) => p.bytesFromClients > 0);
    deployment.bookies[hung]!.pause();
    const writeStart = Date.now();
    await write(writer, history, BEFORE, DURING);
    const writeMs = Date.now() - writeStart;
    done.writing = false;

    const asked = deployment.proxies.map((p) => p.bytesFromClients);
    const catchUpStart = Date.now();
    await readUntil(log, history, 'catch-up', () => history.readCount('catch-up') >= history.ackedCount);
    const catchUpMs = Date.now() - catchUpStart;
    await tailing;
    const askedNow = deployment.proxies.map((p, i) => p.bytesFromClients - (asked[i] ?? 0));
    const toHung = askedNow[hung] ?? 0;
    const toHealthy = askedNow.reduce((a, b) => a + b, 0) - toHung;
    process.stdout.write(`      catch-up of ${history.readCount('catch-up')} records with a hung replica: ${catchUpMs} ms `
      + `(${Math.round(history.readCount('catch-up') / (catchUpMs / 1000))}/s); ${BEFORE} healthy writes took ${healthyMs} ms; `
      + `${DURING} writes with a hung bookie ${writeMs} ms; request bytes to the hung bookie ${toHung}, to the others ${toHealthy}\n`);

    const report = history.check(['tail', 'catch-up']);
    expect(report.violations).to.deep.equal([]);
    expect(report.acked).to.equal(BEFORE + DURING);
    // each entry would be asked of the hung bookie first for a third of the entries; after the
    // first speculative timeout it is asked last, so it sees a small fraction of the requests
    expect(toHung).to.be.below(toHealthy / 10);
    deployment.bookies[hung]!.resume();
    await writer.close();
  });
});
