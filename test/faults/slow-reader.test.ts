// The slow-reader attack on a real bookie process: one raw connection that never reads its socket
// pipelines 20,000 reads of 1 MiB entries. The bookie stops reading that connection once its
// responses back up (maxQueuedResponseBytes 16 MiB, 128 entry reads in flight), so its RSS stays
// bounded, and it serves a correct client meanwhile. (Unbounded, RSS grew by 1.7 GB in 5 s.)
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { encodeRequest } from '../../src/protocol/protocol-codec.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { addEntry, envelopeFor, expectEntry, expectStatus, removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';

const MIB = 1 << 20;
const ENTRIES = 8n;
/** Growth the bookie's RSS must stay under: 16 MiB of queued responses + 128 reads of 1 MiB, with room for copies. */
const RSS_BOUND = 400 * MIB;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

describe('slow-reader attack on a bookie process', function () {
  this.timeout(120_000);
  let dir: string;
  let bookie: BookieProcess;
  let client: BookieClient | undefined;
  let attacker: net.Socket | undefined;
  before(async function (this: Context) {
    const zk = await zooKeeper(this);
    dir = await tempDir('slow-reader');
    bookie = await startBookieProcess({ metadata: `zk://${zk}${uniqueRoot()}`, dir });
  });
  after(async () => {
    attacker?.destroy();
    client?.close();
    await killAllBookieProcesses();
    await removeDir(dir);
  });

  it('keeps RSS bounded while one connection never reads, and serves others meanwhile', async () => {
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < ENTRIES; e++) expectStatus(await addEntry(client, 1n, e, { body: envelopeFor(1n, e, { size: MIB }) }), 'EOK');
    const baseline = rssOf(bookie.pid);

    attacker = net.connect({ host: '127.0.0.1', port: bookie.port });
    attacker.on('error', () => undefined);
    await once(attacker, 'connect');
    attacker.pause();
    const frames = Array.from({ length: 20_000 }, (_, i) => encodeRequest({ op: 'READ_ENTRY', ledgerId: 1n, entryId: BigInt(i) % ENTRIES, txnId: BigInt(i) }));
    attacker.write(Buffer.concat(frames));

    // sample while the attack runs (measurement, not synchronisation)
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, rssOf(bookie.pid));
      await new Promise((r) => setTimeout(r, 200));
    }
    process.stdout.write(`      bookie RSS ${Math.round(baseline / MIB)} MiB before, peak ${Math.round(peak / MIB)} MiB during the attack\n`);
    await expectEntry(client, 1n, 3n, envelopeFor(1n, 3n, { size: MIB }));
    expect(bookie.running).to.equal(true);
    expect(peak - baseline).to.be.below(RSS_BOUND);
  });
});
