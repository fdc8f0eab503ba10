// Starting a bookie on a full disk, the cases the running bookie's read-only switch does not
// cover: (a) a journal to replay that is larger than the write cache (on a full disk the replayed
// records can only be held in the cache), and (b) a journal dir with no room for the new journal
// file it needs. Either start is refused with BOOKIE_DISK_FULL naming the directory and the space
// needed, nothing escapes as an unhandled rejection, and no journaled entry is lost: once space is
// freed the bookie starts and serves every one. (c) A bookie restarted on a disk with 0 bytes free
// (after a clean stop or a crash) starts read-only and serves every entry, flushed or journaled;
// (d) a new bookie there is refused with BOOKIE_DISK_FULL. (e) A disk under the usage threshold
// with too little room for the replay's flush: the failed flush turns the start read-only at once,
// holding the rest of the journal in the write cache (no wait for room, no TOO_MANY_REQUESTS), or
// refuses it with BOOKIE_DISK_FULL when it does not fit. Needs root to mount the tmpfs.
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieError } from '../../src/bookie/bookie-error.js';
import { startBookie, type Bookie, type BookieOptions } from '../../src/bookie/bookie.js';
import { Journal } from '../../src/bookie/journal.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { MASTER_KEY, addEntry, envelopeFor, expectEntry, removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';
import { rejection } from '../support/rejection.js';
import { fillDisk, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';
import { waitFor } from '../support/wait-for.js';

const SIZE = 4096;
/** Left free on the full disk: room for lock and cookie files, not for data (a disk over the threshold). */
const ROOM = 64 << 10;

describe('starting a bookie on a full disk (tmpfs)', function () {
  this.timeout(60_000);
  let mountPoint: string | undefined;
  let other: string | undefined;
  let bookie: Bookie | undefined;
  let client: BookieClient | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };

  beforeEach(async function (this: Context) {
    mountPoint = await mountTmpfs(this, 'disk-full-start', 24, 'the full-disk start tests are');
    other = await tempDir('disk-full-start-other');
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    client?.close();
    client = undefined;
    await bookie?.close();
    bookie = undefined;
    await removeDir(other);
    if (mountPoint !== undefined) {
      unmountTmpfs(mountPoint);
      mountPoint = undefined;
    }
  });

  it('(a) refuses with BOOKIE_DISK_FULL when the journal to replay exceeds the write cache, and loses nothing', async function (this: Context) {
    const zk = await zooKeeper(this);
    const options: BookieOptions = {
      metadata: `zk://${zk}${uniqueRoot()}`, dir: `${mountPoint}/bookie`, port: 0, bookieId: 'disk-full-start-a:3181', gcIntervalMs: 0,
      storage: { writeCacheBytes: 1 << 20 },
    };
    // a first start stamps the cookies; then 3 MiB of adds land in the journal after its mark, as
    // a bookie killed before its next checkpoint leaves them
    await (await startBookie(options)).close();
    const journal = await Journal.open(`${mountPoint}/bookie/journal`);
    const count = 768n;
    await journal.append({ type: 'masterKey', ledgerId: 1n, masterKey: MASTER_KEY });
    await Promise.all(Array.from({ length: Number(count) }, (_, i) => journal.append({ type: 'addEntry', ledgerId: 1n, entryId: BigInt(i), entry: envelopeFor(1n, BigInt(i), { size: SIZE }) })));
    await journal.close();
    fillDisk(`${mountPoint}/filler`, ROOM);

    const err = await rejection(startBookie(options), BookieError);
    expect(err.code).to.equal('BOOKIE_DISK_FULL');
    expect(err.retriable).to.equal(false);
    expect(err.message).to.include(path.join(mountPoint!, 'bookie', 'ledgers')).and.match(/journal to replay/).and.match(/\d+ bytes/);

    rmSync(`${mountPoint}/filler`);
    bookie = await startBookie(options);
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < count; e++) await expectEntry(client, 1n, e, envelopeFor(1n, e, { size: SIZE }));
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  });

  /** Refused with BOOKIE_DISK_FULL naming `dir` (the message matching `why`); once the filler is gone, started, taking and serving an add. */
  const refusedUntilFreed = async (options: BookieOptions, dir: string, why: RegExp): Promise<void> => {
    const err = await rejection(startBookie(options), BookieError);
    expect(err.code).to.equal('BOOKIE_DISK_FULL');
    expect(err.message).to.include(dir).and.match(why);

    rmSync(`${mountPoint}/filler`);
    bookie = await startBookie(options);
    client = new BookieClient(bookie.address);
    expect((await addEntry(client, 1n, 0n)).status).to.equal('EOK');
    await expectEntry(client, 1n, 0n);
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  };

  it('(b) refuses with BOOKIE_DISK_FULL when the journal dir has no room for a new journal file, and starts once it has', async function (this: Context) {
    const zk = await zooKeeper(this);
    const journalDir = `${mountPoint}/journal`;
    mkdirSync(journalDir);
    fillDisk(`${mountPoint}/filler`, ROOM);
    const options: BookieOptions = {
      metadata: `zk://${zk}${uniqueRoot()}`, journalDir, ledgerDirs: [`${other}/ledgers`], port: 0, bookieId: 'disk-full-start-b:3181', gcIntervalMs: 0,
    };
    await refusedUntilFreed(options, journalDir, /new journal file.*\d+ bytes/);
  });

  for (const stop of ['clean stop', 'crash'] as const) {
    it(`(c) starts read-only on a disk with 0 bytes free after a ${stop}, serves every entry, flushed or journaled, and turns writable once space frees`, async function (this: Context) {
      const zk = await zooKeeper(this);
      const options: BookieOptions = {
        metadata: `zk://${zk}${uniqueRoot()}`, dir: `${mountPoint}/bookie`, port: 0, bookieId: 'disk-full-start-c:3181', gcIntervalMs: 0, diskCheckIntervalMs: 50,
      };
      bookie = await startBookie(options);
      client = new BookieClient(bookie.address);
      for (let e = 0n; e < 20n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
      client.close();
      await bookie.close();
      bookie = undefined;
      // journaled after the last checkpoint: entries of ledger 1 and a new ledger 2
      const journal = await Journal.open(`${mountPoint}/bookie/journal`);
      await journal.append({ type: 'masterKey', ledgerId: 2n, masterKey: MASTER_KEY });
      const journaled = [...Array.from({ length: 20 }, (_, i) => [1n, BigInt(20 + i)] as const), ...Array.from({ length: 10 }, (_, i) => [2n, BigInt(i)] as const)];
      await Promise.all(journaled.map(([l, e]) => journal.append({ type: 'addEntry', ledgerId: l, entryId: e, entry: envelopeFor(l, e) })));
      await journal.close();
      // what a crash leaves: no clean-stop mark, so the start walks the whole index
      if (stop === 'crash') rmSync(`${mountPoint}/bookie/ledgers/cleanShutdown`);
      fillDisk(`${mountPoint}/filler`);
      expect(statfsSync(mountPoint!).bfree, 'no block free').to.equal(0);

      bookie = await startBookie(options);
      expect(bookie.readOnly).to.equal(true);
      client = new BookieClient(bookie.address);
      expect((await addEntry(client, 1n, 40n)).status).to.equal('EREADONLY');
      for (let e = 0n; e < 40n; e++) await expectEntry(client, 1n, e);
      for (let e = 0n; e < 10n; e++) await expectEntry(client, 2n, e);

      rmSync(`${mountPoint}/filler`);
      await waitFor(() => bookie?.readOnly === false, 10_000, 'writable once space is freed');
      expect((await addEntry(client, 1n, 40n)).status).to.equal('EOK');
      client.close();
      await bookie.close();
      // the held entries were flushed: a restart finds them all
      bookie = await startBookie(options);
      client = new BookieClient(bookie.address);
      for (let e = 0n; e <= 40n; e++) await expectEntry(client, 1n, e);
      for (let e = 0n; e < 10n; e++) await expectEntry(client, 2n, e);
      expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
    });
  }

  it('(d) refuses a new bookie on a disk with 0 bytes free with BOOKIE_DISK_FULL naming the dir, not a bare ENOSPC', async function (this: Context) {
    const zk = await zooKeeper(this);
    const dir = `${mountPoint}/bookie`;
    mkdirSync(dir);
    fillDisk(`${mountPoint}/filler`);
    const options: BookieOptions = { metadata: `zk://${zk}${uniqueRoot()}`, dir, port: 0, bookieId: 'disk-full-start-d:3181', gcIntervalMs: 0 };
    await refusedUntilFreed(options, path.join(dir, 'journal'), /no room for .*\d+ bytes/);
  });

  /** A bookie whose ledger dir is on the tmpfs (filled to `freeBytes` free, under the 0.95 threshold) and whose journal holds `count` 4 KiB entries to replay. */
  const replayOnto = async (ctx: Context, count: bigint, freeBytes: number): Promise<BookieOptions> => {
    const zk = await zooKeeper(ctx);
    const options: BookieOptions = {
      metadata: `zk://${zk}${uniqueRoot()}`, journalDir: `${other}/journal`, ledgerDirs: [`${mountPoint}/ledgers`], port: 0,
      bookieId: 'disk-full-start-e:3181', gcIntervalMs: 0, checkpointIntervalMs: 100, diskCheckIntervalMs: 50, storage: { writeCacheBytes: 8 << 20 },
    };
    await (await startBookie(options)).close();
    const journal = await Journal.open(`${other}/journal`);
    await journal.append({ type: 'masterKey', ledgerId: 1n, masterKey: MASTER_KEY });
    await Promise.all(Array.from({ length: Number(count) }, (_, i) => journal.append({ type: 'addEntry', ledgerId: 1n, entryId: BigInt(i), entry: envelopeFor(1n, BigInt(i), { size: SIZE }) })));
    await journal.close();
    fillDisk(`${mountPoint}/filler`, freeBytes);
    const fs = statfsSync(mountPoint!);
    expect(1 - fs.bavail / fs.blocks, 'disk usage under the threshold').to.be.below(0.95);
    return options;
  };

  it('(e) a replay whose flush fails on a disk under the threshold starts read-only at once, holding the rest in the write cache, and loses nothing', async function (this: Context) {
    // 6 MiB to replay, 4 MiB write-cache halves, 2 MiB free: the first half's flush fails
    const count = 1536n;
    const options = await replayOnto(this, count, 2 << 20);
    bookie = await startBookie(options);
    expect(bookie.readOnly).to.equal(true);
    client = new BookieClient(bookie.address);
    expect((await addEntry(client, 1n, count)).status).to.equal('EREADONLY');
    for (let e = 0n; e < count; e++) await expectEntry(client, 1n, e, envelopeFor(1n, e, { size: SIZE }));

    rmSync(`${mountPoint}/filler`);
    await waitFor(() => bookie?.readOnly === false, 10_000, 'writable once the start-up flush succeeds');
    expect((await addEntry(client, 1n, count)).status).to.equal('EOK');
    client.close();
    await bookie.close();
    bookie = await startBookie(options);
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < count; e++) await expectEntry(client, 1n, e, envelopeFor(1n, e, { size: SIZE }));
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  });

  it('(e) ... and refuses it with BOOKIE_DISK_FULL naming the bytes to free when the rest does not fit in the write cache', async function (this: Context) {
    // 12 MiB to replay: after the failed flush 4 MiB more fit in the cache
    const count = 3072n;
    const options = await replayOnto(this, count, 2 << 20);
    const err = await rejection(startBookie(options), BookieError);
    expect(err.code).to.equal('BOOKIE_DISK_FULL');
    expect(err.message).to.include(path.join(mountPoint!, 'ledgers')).and.match(/flush .*failed/).and.match(/free about \d+ bytes/);

    rmSync(`${mountPoint}/filler`);
    bookie = await startBookie(options);
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < count; e++) await expectEntry(client, 1n, e, envelopeFor(1n, e, { size: SIZE }));
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
  });
});
