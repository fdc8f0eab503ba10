// Garbage collection against a real ZooKeeper: a ledger whose metadata znode is gone is deleted
// from the bookie by collectGarbage(), its entry-log space comes back, and live ledgers are intact.
import path from 'node:path';
import { expect } from 'chai';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { ledgerPath } from '../../src/ledger-metadata/ledger-paths.js';
import { zooKeeper } from '../support/hooks.js';
import {
  addEntry, diskUsageOf, expectEntry, inBatches, readEntry, removeDir, tempDir, uniqueRoot,
} from '../support/bookie-test-utils.js';

const ENTRIES = 120;

describe('bookie garbage collection (real ZooKeeper)', function () {
  this.timeout(60_000);
  let zk: string;
  let dir: string | undefined;
  let store: ZkMetadataStore | undefined;
  let bookie: Bookie | undefined;
  let client: BookieClient | undefined;

  before(async function () {
    zk = await zooKeeper(this);
  });

  beforeEach(async () => {
    dir = await tempDir('gc');
    store = await ZkMetadataStore.connect(zk);
  });

  afterEach(async () => {
    client?.close();
    await bookie?.close();
    bookie = undefined;
    await store?.close();
    await removeDir(dir);
  });

  const start = async (root: string): Promise<Bookie> => {
    bookie = await startBookie({
      metadata: store!,
      ledgersRoot: root,
      dir: dir!,
      port: 0,
      gcIntervalMs: 0, // collectGarbage() by hand
      checkpointIntervalMs: 0, // checkpoint() by hand
      storage: { entryLogSizeLimit: 64 * 1024 },
    });
    client?.close();
    client = new BookieClient(bookie.address);
    return bookie;
  };

  const entryLogBytes = (): Promise<number> => diskUsageOf(path.join(dir!, 'ledgers'), (name) => name.endsWith('.log'));

  it('deletes ledgers whose metadata is gone, keeps the live ones, and gives the space back', async () => {
    const root = uniqueRoot();
    const ledgers = [11n, 12n, 13n, 14n, 15n];
    const dead = new Set([11n, 13n, 14n]);
    for (const id of ledgers) await store!.create(ledgerPath(root, id), Buffer.from('metadata'), { createParents: true });
    const b = await start(root);
    const c = client!;

    // interleaved adds over several checkpoints, each flush writing its entries sorted by ledger: a
    // big first flush leaves 64 KiB entry logs holding one ledger each (some wholly dead, deleted),
    // small later ones leave logs that mix ledgers (partly dead, compacted)
    const bounds = [0, 60, 75, 90, 105, ENTRIES];
    for (let part = 0; part + 1 < bounds.length; part++) {
      const adds: [bigint, bigint][] = [];
      for (let e = bounds[part]!; e < bounds[part + 1]!; e++) for (const id of ledgers) adds.push([id, BigInt(e)]);
      await inBatches(adds, 64, async ([id, e]) => { expect((await addEntry(c, id, e)).status).to.equal('EOK'); });
      await b.checkpoint();
    }
    const before = await entryLogBytes();
    expect(before, 'entry log bytes').to.be.greaterThan(ledgers.length * ENTRIES * 1024);

    // a collection while every ledger is live deletes nothing
    const idle = await b.collectGarbage();
    expect(idle.deletedLedgers).to.equal(0);
    for (const id of ledgers) await expectEntry(c, id, BigInt(ENTRIES - 1));

    for (const id of dead) await store!.delete(ledgerPath(root, id));
    const report = await b.collectGarbage();
    expect(report.deletedLedgers, 'deleted ledgers').to.equal(dead.size);
    expect(report.failedLogs).to.deep.equal([]);
    expect(report.deletedLogs, 'logs deleted').to.be.greaterThan(0);
    expect(report.compactedLogs, 'logs compacted').to.be.greaterThan(0);
    expect(report.movedEntries, 'live entries moved by compaction').to.be.greaterThan(0);
    expect(report.bytesReclaimed, 'bytes reclaimed').to.be.greaterThan(0);

    const check = async (): Promise<void> => {
      const c = client!; // the current bookie's
      for (const id of ledgers) {
        if (dead.has(id)) {
          for (const e of [0n, BigInt(ENTRIES / 2), -1n]) expect((await readEntry(c, id, e)).status, `ledger ${id} entry ${e}`).to.equal('ENOLEDGER');
        } else {
          await inBatches(Array.from({ length: ENTRIES }, (_, i) => BigInt(i)), 32, (e) => expectEntry(c, id, e));
        }
      }
    };
    await check();
    await b.checkpoint();
    const after = await entryLogBytes();
    const deadBytes = dead.size * ENTRIES * 1024;
    expect(before - after, `entry log bytes freed (before ${before}, after ${after})`).to.be.greaterThan(deadBytes / 2);
    await check();

    // and it stays that way across a restart
    await b.close();
    await start(root);
    await check();
    expect((await addEntry(client!, 12n, BigInt(ENTRIES))).status, 'the live ledgers still take adds').to.equal('EOK');
  });
});
