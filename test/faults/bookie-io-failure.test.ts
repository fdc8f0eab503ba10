// A failed journal write (EIO injected through the journal's beforeSync hook) or entry-log sync (the
// storage's beforeEntryLogSync hook, at a checkpoint) turns the bookie
// read-only at once, not at the next disk check: it moves to available/readonly/<id>, refuses adds
// with EREADONLY instead of answering EIO forever, and keeps serving what it stored.
import { expect } from 'chai';
import type { Context } from 'mocha';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { addEntry, expectEntry, removeDir, sleep, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';
import type { Logger } from '../../src/util/logger.js';
import { waitFor } from '../support/wait-for.js';

describe('a bookie whose journal write fails (real ZooKeeper)', function () {
  this.timeout(60_000);
  let dir: string;
  let dir2: string | undefined;
  let dir3: string | undefined;
  let observer: ZkMetadataStore;
  let bookie: Bookie | undefined;
  let client: BookieClient | undefined;
  let zk: string;
  before(async function (this: Context) {
    zk = await zooKeeper(this);
    dir = await tempDir('io-failure');
    observer = await ZkMetadataStore.connect(zk);
  });
  after(async () => {
    client?.close();
    await bookie?.close();
    await observer.close();
    await removeDir(dir);
    await removeDir(dir2);
    await removeDir(dir3);
  });

  it('turns read-only at once, re-registers under available/readonly, and serves reads', async () => {
    const root = uniqueRoot();
    const disk = { failing: false };
    bookie = await startBookie({
      metadata: `zk://${zk}${root}`, dir, port: 0, gcIntervalMs: 0,
      journal: {
        hooks: {
          beforeSync: () => {
            if (disk.failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          },
        },
      },
    });
    const id = bookie.bookieId;
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < 4n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
    expect(await observer.exists(`${root}/available/${id}`)).to.not.equal(null);

    disk.failing = true;
    expect((await addEntry(client, 1n, 4n)).status).to.equal('EIO');
    expect(bookie.readOnly, 'read-only as soon as the failure is answered').to.equal(true);
    disk.failing = false; // space freed: the journal is still unusable until a restart replays it
    expect((await addEntry(client, 1n, 5n)).status).to.equal('EREADONLY');
    for (let e = 0n; e < 4n; e++) await expectEntry(client, 1n, e);

    // the registration follows (asynchronously, through ZooKeeper)
    for (let i = 0; i < 200 && (await observer.exists(`${root}/available/readonly/${id}`)) === null; i++) await sleep(50);
    await observer.sync(root);
    expect(await observer.exists(`${root}/available/readonly/${id}`), 'registered read-only').to.not.equal(null);
    expect(await observer.exists(`${root}/available/${id}`), 'no longer registered writable').to.equal(null);
  });

  it('logs a failed journal group once, not once per add in it', async () => {
    await bookie?.close();
    client?.close();
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const capture = (fields: object | string, message = ''): void => {
      if (typeof fields === 'object') lines.push({ fields: fields as Record<string, unknown>, message });
    };
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: capture, error: capture };
    const disk = { failing: false };
    bookie = await startBookie({
      metadata: `zk://${zk}${uniqueRoot()}`, dir: (dir2 = await tempDir('io-failure-log')), port: 0, gcIntervalMs: 0, logger,
      journal: { hooks: { beforeSync: () => { if (disk.failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }); } } },
    });
    client = new BookieClient(bookie.address);
    expect((await addEntry(client, 1n, 0n)).status).to.equal('EOK');
    disk.failing = true;
    // pipelined: all of them reach the journal before the first failure turns the bookie read-only
    const statuses = (await Promise.all(Array.from({ length: 200 }, (_, i) => addEntry(client!, 1n, BigInt(i + 1))))).map((r) => r.status);
    const failed = statuses.filter((s) => s === 'EIO').length;
    expect(failed, `statuses: ${[...new Set(statuses)].join(',')}`).to.be.greaterThan(50);
    const journalLines = lines.filter((l) => l.message === 'journal write failed');
    expect(journalLines.length, 'lines for a burst of failed adds').to.be.within(1, 2);
    const err = journalLines[0]?.fields.err as (Error & { cause?: Error }) | undefined;
    expect(`${err?.message} ${err?.cause?.message}`, 'the line carries the error').to.match(/EIO/);
  });

  it('turns read-only at once when an entry-log sync fails at a checkpoint, and keeps serving reads', async () => {
    await bookie?.close();
    client?.close();
    const root = uniqueRoot();
    const disk = { failing: false, failures: 0 };
    bookie = await startBookie({
      metadata: `zk://${zk}${root}`, dir: (dir3 = await tempDir('io-failure-entry-log')), port: 0, gcIntervalMs: 0, checkpointIntervalMs: 100,
      storage: {
        hooks: {
          beforeEntryLogSync: () => {
            if (!disk.failing) return;
            disk.failures++;
            throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
          },
        },
      },
    });
    const id = bookie.bookieId;
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < 4n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
    disk.failing = true;
    for (let e = 4n; e < 8n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
    // the next checkpoint flushes entries 4-7 (at least) and its entry-log sync fails
    await waitFor(() => bookie?.readOnly === true, 10_000, 'read-only after the failed entry-log sync');
    expect(disk.failures).to.be.greaterThan(0);
    expect((await addEntry(client, 1n, 8n)).status).to.equal('EREADONLY');
    // what it acknowledged is still served (from the write cache the failed flush kept, or the logs)
    for (let e = 0n; e < 8n; e++) await expectEntry(client, 1n, e);
    await waitFor(async () => (await observer.exists(`${root}/available/readonly/${id}`)) !== null, 10_000, 'registered read-only');
    expect(await observer.exists(`${root}/available/${id}`), 'no longer registered writable').to.equal(null);
    disk.failing = false; // the disk recovers: the close's flush succeeds (a failing one is rethrown by close)
  });
});
