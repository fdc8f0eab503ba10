// A failed LMDB commit of the ledger index, in a bookie used as a library (no CLI backstop): the
// ledger dir is a small tmpfs that a hook fills right after a checkpoint's entry-log sync, so the
// index commit that follows fails for real (lmdb: `Commit failed`, ENOSPC). The bookie must turn
// read-only at once (registered under available/readonly), log the real error, keep serving what it
// acknowledged, and let no rejection escape (lmdb's own batch promise used to: an unhandled
// rejection that kills a process without a handler). The same for the index writes of garbage
// collection: a ledger deletion and a compaction's commit, failed for real by filling the disk just
// before them (the storage's beforeIndexWrite hook): read-only at once, every entry of the live
// ledgers served, and after a restart with space the next collection finishes. Needs root to mount
// the tmpfs.
import { rmSync } from 'node:fs';
import { ledgerPath } from '../../src/ledger-metadata/ledger-paths.js';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { startBookie, type Bookie, type BookieOptions } from '../../src/bookie/bookie.js';
import type { GcReport } from '../../src/bookie/garbage-collector.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import type { Logger } from '../../src/util/logger.js';
import { addEntry, expectEntry, removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';
import { fillDisk, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';
import { settleEventLoop, waitFor } from '../support/wait-for.js';

describe('a bookie whose ledger index commit fails (tmpfs, real ZooKeeper)', function () {
  this.timeout(60_000);
  let mountPoint: string | undefined;
  let journalDir: string | undefined;
  let bookie: Bookie | undefined;
  let client: BookieClient | undefined;
  let observer: ZkMetadataStore | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };

  beforeEach(async function (this: Context) {
    mountPoint = await mountTmpfs(this, 'index-commit', 8, 'the index commit failure tests are');
    journalDir = await tempDir('index-commit-journal');
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    client?.close();
    client = undefined;
    await observer?.close();
    observer = undefined;
    if (mountPoint !== undefined) rmSync(`${mountPoint}/filler`, { force: true });
    await bookie?.close();
    bookie = undefined;
    await removeDir(journalDir);
    if (mountPoint !== undefined) {
      unmountTmpfs(mountPoint);
      mountPoint = undefined;
    }
  });

  const failAndCheck = async (ctx: Context, flushBy: 'checkpoint' | 'full write cache'): Promise<void> => {
    const zk = await zooKeeper(ctx);
    const root = uniqueRoot();
    const filler = `${mountPoint}/filler`;
    const disk = { fillAtSync: false, filled: false };
    const errors: { fields: Record<string, unknown>; message: string }[] = [];
    const capture = (fields: object | string, message = ''): void => {
      if (typeof fields === 'object') errors.push({ fields: fields as Record<string, unknown>, message });
    };
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: capture };
    bookie = await startBookie({
      metadata: `zk://${zk}${root}`, journalDir: journalDir!, ledgerDirs: [`${mountPoint}/ledgers`], port: 0, logger,
      // the disk monitor must not be what turns it read-only; in the second case only a full
      // write cache flushes (no timed checkpoints)
      gcIntervalMs: 0, diskUsageThreshold: 1, checkpointIntervalMs: flushBy === 'checkpoint' ? 200 : 0,
      storage: {
        ...(flushBy === 'checkpoint' ? {} : { writeCacheBytes: 256 << 10 }),
        hooks: {
          beforeEntryLogSync: () => {
            if (!disk.fillAtSync || disk.filled) return;
            disk.filled = true;
            fillDisk(filler);
          },
        },
      },
    });
    const id = bookie.bookieId;
    observer = await ZkMetadataStore.connect(zk);
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < 4n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
    await bookie.checkpoint();
    disk.fillAtSync = true;
    // enough new locations for the commit to need new pages of the index file; the failed
    // flush may come part-way, and adds are refused from then on
    let acked = 4n;
    for (; acked < 2004n; acked++) {
      const { status } = await addEntry(client, 1n, acked);
      if (status !== 'EOK') {
        expect(status).to.equal('EREADONLY');
        break;
      }
    }
    await waitFor(() => bookie?.readOnly === true, 10_000, 'read-only after the failed index commit');
    expect(disk.filled).to.equal(true);
    expect((await addEntry(client, 1n, 5000n)).status).to.equal('EREADONLY');
    for (let e = 0n; e < acked; e++) await expectEntry(client, 1n, e);
    await waitFor(async () => (await observer!.exists(`${root}/available/readonly/${id}`)) !== null, 10_000, 'registered read-only');
    expect(await observer.exists(`${root}/available/${id}`), 'no longer registered writable').to.equal(null);
    const line = errors.find((l) => /read-only until restarted/.test(l.message));
    const err = line?.fields.err as (Error & { cause?: Error }) | undefined;
    expect(`${err?.message} ${err?.cause?.message}`, 'the line carries the index error').to.match(/ledger index/);
    await settleEventLoop();
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  };

  it('at a checkpoint: turns read-only at once, logs the disk error, serves reads, and lets no rejection escape', async function (this: Context) {
    await failAndCheck(this, 'checkpoint');
  });

  it('at the flush of a full write cache: the same (not only logged as a failed flush)', async function (this: Context) {
    await failAndCheck(this, 'full write cache');
  });

  /**
   * Ledgers 1 and 3 live (they have metadata), 2 dead (none); `failing` names the GC index write
   * that fails (ledger-index.ts): the disk is filled right before it, or it throws EIO. Adds go in small checkpoints, ledger 2
   * three times as many, so 64 KiB entry logs mix live and dead entries: once the collection has
   * deleted ledger 2 they are sparse and compacted.
   */
  const failGc = async (ctx: Context, failing: 'delete locations' | 'commit a compaction', how: 'full disk' | 'EIO'): Promise<{ reportOrError: unknown; reopen: () => Promise<Bookie> }> => {
    const zk = await zooKeeper(ctx);
    const root = uniqueRoot();
    observer = await ZkMetadataStore.connect(zk);
    for (const id of [1n, 3n]) await observer.create(ledgerPath(root, id), Buffer.from('metadata'), { createParents: true });
    const disk = { armed: false, filled: false };
    const errors: string[] = [];
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (fields: object | string, message = '') => { errors.push(`${message} ${String((fields as { err?: unknown }).err)}`); } };
    const options: BookieOptions = {
      metadata: `zk://${zk}${root}`, journalDir: journalDir!, ledgerDirs: [`${mountPoint}/ledgers`], port: 0, bookieId: 'gc-index-failure:3181',
      gcIntervalMs: 0, checkpointIntervalMs: 0, diskUsageThreshold: 1,
      storage: { entryLogSizeLimit: 64 << 10 },
    };
    bookie = await startBookie({
      ...options, logger,
      storage: {
        ...options.storage,
        hooks: {
          beforeIndexWrite: (what) => {
            if (!disk.armed || disk.filled || what !== failing) return;
            disk.filled = true;
            if (how === 'EIO') throw Object.assign(new Error(`EIO: i/o error, injected before "${what}"`), { code: 'EIO' });
            fillDisk(`${mountPoint}/filler`);
          },
        },
      },
    });
    client = new BookieClient(bookie.address);
    for (let part = 0n; part < 10n; part++) {
      for (let e = part * 12n; e < (part + 1n) * 12n; e++) {
        for (const id of [1n, 3n]) expect((await addEntry(client, id, e)).status).to.equal('EOK');
        for (let k = 0n; k < 3n; k++) expect((await addEntry(client, 2n, e * 3n + k)).status).to.equal('EOK');
      }
      await bookie.checkpoint();
    }
    disk.armed = true;
    const reportOrError = await bookie.collectGarbage().catch((err: unknown) => err);
    expect(disk.filled, `"${failing}" was made to fail`).to.equal(true);
    expect(bookie.readOnly, 'read-only at once').to.equal(true);
    expect((await addEntry(client, 1n, 1000n)).status).to.equal('EREADONLY');
    for (const id of [1n, 3n]) for (let e = 0n; e < 120n; e++) await expectEntry(client, id, e);
    const id = bookie.bookieId;
    await waitFor(async () => (await observer!.exists(`${root}/available/readonly/${id}`)) !== null, 10_000, 'registered read-only');
    expect(errors.find((l) => /read-only until restarted/.test(l)), 'the read-only line carries the index error').to.match(/ledger index could not/);
    await settleEventLoop();
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);

    rmSync(`${mountPoint}/filler`, { force: true });
    return {
      reportOrError,
      reopen: async () => {
        client?.close();
        await bookie?.close();
        bookie = await startBookie(options);
        client = new BookieClient(bookie.address);
        return bookie;
      },
    };
  };

  it('in garbage collection (a ledger deletion): read-only at once, live ledgers served, no rejection escapes; the next run after a restart deletes it', async function (this: Context) {
    const { reportOrError, reopen } = await failGc(this, 'delete locations', 'full disk');
    expect(reportOrError, 'the collection fails').to.be.instanceOf(Error).and.have.property('message').that.match(/ledger index could not delete locations/);
    const b = await reopen();
    expect(b.readOnly).to.equal(false);
    expect((await b.collectGarbage()).deletedLedgers).to.equal(1);
    for (const id of [1n, 3n]) for (let e = 0n; e < 120n; e++) await expectEntry(client!, id, e);
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  });

  it('in compaction: read-only at once, the log is kept and its live entries served, no rejection escapes; the next run after a restart compacts it', async function (this: Context) {
    // the deletion of ledger 2 frees index pages that the compaction's commit reuses: a full disk
    // does not fail it, so the failure is injected (EIO)
    const { reportOrError, reopen } = await failGc(this, 'commit a compaction', 'EIO');
    const report = reportOrError as GcReport;
    expect(report.failedLogs.length, 'logs whose compaction failed (kept)').to.be.greaterThan(0);
    const b = await reopen();
    expect(b.readOnly).to.equal(false);
    expect((await b.collectGarbage()).compactedLogs).to.be.greaterThan(0);
    for (const id of [1n, 3n]) for (let e = 0n; e < 120n; e++) await expectEntry(client!, id, e);
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  });
});
