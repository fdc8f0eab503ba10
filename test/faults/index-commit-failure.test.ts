// A failed LMDB commit of the ledger index, in a bookie used as a library (no CLI backstop): the
// ledger dir is a small tmpfs that a hook fills right after a checkpoint's entry-log sync, so the
// index commit that follows fails for real (lmdb: `Commit failed`, ENOSPC). The bookie must turn
// read-only at once (registered under available/readonly), log the real error, keep serving what it
// acknowledged, and let no rejection escape (lmdb's own batch promise used to: an unhandled
// rejection that kills a process without a handler). Needs root to mount the tmpfs.
import { rmSync } from 'node:fs';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
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
});
