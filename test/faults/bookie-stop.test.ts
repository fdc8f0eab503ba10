// SIGTERM and SIGINT stop a bookie process within 5 s whatever ZooKeeper is doing: gone (every
// connection reset) or hung (a blackhole: connections open, nothing answered). The bookie reaches
// ZooKeeper through a fault proxy; the shared test ZooKeeper itself is never touched.
import { expect } from 'chai';
import type { Context } from 'mocha';
import { FaultProxy, type LinkFault } from '../support/fault-proxy.js';
import { killAllBookieProcesses, startBookieProcess } from '../support/bookie-process.js';
import { removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';

const cases: Array<{ name: string; fault: LinkFault; signal: 'SIGTERM' | 'SIGINT' }> = [
  { name: 'gone (connections reset)', fault: { kind: 'reset' }, signal: 'SIGTERM' },
  { name: 'hung (blackholed)', fault: { kind: 'blackhole' }, signal: 'SIGINT' },
];

describe('stopping a bookie process while ZooKeeper is unreachable', function () {
  this.timeout(120_000);
  let proxy: FaultProxy;
  let dir: string;
  before(async function (this: Context) {
    proxy = await FaultProxy.start(await zooKeeper(this));
    dir = await tempDir('stop');
  });
  after(async () => {
    await killAllBookieProcesses();
    await proxy.close();
    await removeDir(dir);
  });

  for (const { name, fault, signal } of cases) {
    it(`${signal} stops it within 5 s with ZooKeeper ${name}, and says why in its log`, async () => {
      proxy.heal();
      const bookie = await startBookieProcess({
        metadata: `zk://${proxy.address}${uniqueRoot()}`, dir: `${dir}/${fault.kind}`, sessionTimeoutMs: 4000,
      });
      proxy.set(fault);
      const start = Date.now();
      await bookie.stop(signal); // throws unless the exit code is 0
      const tookMs = Date.now() - start;
      process.stdout.write(`      stopped in ${tookMs} ms\n`);
      expect(tookMs).to.be.below(5000);
      expect(bookie.stderr).not.to.include('undefined');
    });
  }
});
