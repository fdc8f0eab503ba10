// A bookie with its journal in a directory of its own and its ledgers spread over two ledger
// directories (ledgerId mod 2), against a real ZooKeeper: placement, restart (clean and SIGKILL,
// through the `dlog bookie --journal-dir --ledger-dirs` process), GC in either directory, and a
// changed or foreign directory list refused with BOOKIE_DIRS_CHANGED.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { startBookie, type Bookie, type BookieOptions } from '../../src/bookie/bookie.js';
import { JOURNAL_STAMP, LEDGER_STAMP } from '../../src/bookie/dir-layout.js';
import { LedgerStorage } from '../../src/bookie/ledger-storage.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ledgerPath } from '../../src/ledger-metadata/ledger-paths.js';
import { DLogError } from '../../src/errors.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { zooKeeper } from '../support/hooks.js';
import {
  addEntry, diskUsageOf, expectEntry, expectStatus, inBatches, readEntry, removeDir, tempDir, uniqueRoot,
} from '../support/bookie-test-utils.js';

const LEDGERS = [1n, 2n, 3n, 4n, 5n, 6n];
const ENTRIES = 40;

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.log'));
}

/** The ledgers a (closed) bookie stored in one ledger dir, read with the storage itself. */
async function ledgersIn(dir: string): Promise<bigint[]> {
  const storage = await LedgerStorage.open({ dir });
  try {
    return await storage.listLedgers();
  } finally {
    await storage.close();
  }
}

async function writeAll(client: BookieClient, ledgers: readonly bigint[], from = 0, to = ENTRIES): Promise<void> {
  const adds: [bigint, bigint][] = [];
  for (let e = from; e < to; e++) for (const id of ledgers) adds.push([id, BigInt(e)]);
  await inBatches(adds, 32, async ([id, e]) => { expectStatus(await addEntry(client, id, e), 'EOK'); });
}

async function readAll(client: BookieClient, ledgers: readonly bigint[], to = ENTRIES): Promise<void> {
  for (const id of ledgers) for (let e = 0; e < to; e++) await expectEntry(client, id, BigInt(e));
}

async function expectRefused(start: Promise<Bookie>, code: string, pattern: RegExp): Promise<void> {
  const err = await start.then(async (b) => { await b.close(); return undefined; }, (e: unknown) => e);
  expect(err, 'start should fail').to.be.instanceOf(DLogError);
  expect((err as DLogError).code).to.equal(code);
  expect((err as DLogError).message).to.match(pattern);
}

describe('bookie with a journal dir and several ledger dirs (real ZooKeeper)', function () {
  this.timeout(120_000);
  let zk: string;
  let dir: string | undefined;
  let store: ZkMetadataStore | undefined;
  let bookie: Bookie | undefined;
  let client: BookieClient | undefined;
  let root: string;

  before(async function () {
    zk = await zooKeeper(this);
  });

  beforeEach(async () => {
    dir = await tempDir('dirs');
    store = await ZkMetadataStore.connect(zk);
    root = uniqueRoot();
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    await bookie?.close();
    bookie = undefined;
    await store?.close();
    await removeDir(dir);
  });

  const journal = (): string => path.join(dir!, 'journal-disk');
  const ledgerDir = (i: number): string => path.join(dir!, `disk-${i}`);

  /** Journal and two ledger dirs apart, unless `options.dir` is given. */
  const start = async (options: Partial<BookieOptions> = {}): Promise<Bookie> => {
    bookie = await startBookie({
      metadata: store!, ledgersRoot: root, port: 0, gcIntervalMs: 0, checkpointIntervalMs: 0,
      ...(options.dir === undefined ? { journalDir: journal(), ledgerDirs: [ledgerDir(0), ledgerDir(1)] } : {}),
      storage: { entryLogSizeLimit: 64 * 1024 },
      ...options,
    });
    client?.close();
    client = new BookieClient(bookie.address);
    return bookie;
  };

  const stop = async (): Promise<void> => {
    client?.close();
    client = undefined;
    await bookie?.close();
    bookie = undefined;
  };

  it('spreads ledgers over the dirs by ledgerId mod 2, journals apart, and reads everything back after a restart', async () => {
    await start();
    await writeAll(client!, LEDGERS);
    await bookie!.checkpoint();
    await readAll(client!, LEDGERS);
    await stop();

    expect(await logFiles(ledgerDir(0)), 'entry logs in dir 0').to.not.be.empty;
    expect(await logFiles(ledgerDir(1)), 'entry logs in dir 1').to.not.be.empty;
    expect(await logFiles(journal()), 'no entry logs in the journal dir').to.be.empty;
    expect((await readdir(journal())).some((n) => n.endsWith('.jnl')), 'journal files in the journal dir').to.equal(true);
    expect(await ledgersIn(ledgerDir(0))).to.deep.equal([2n, 4n, 6n]);
    expect(await ledgersIn(ledgerDir(1))).to.deep.equal([1n, 3n, 5n]);

    await start();
    await readAll(client!, LEDGERS);
    // still writable, and new entries keep their ledger's dir
    await writeAll(client!, LEDGERS, ENTRIES, ENTRIES + 5);
    await readAll(client!, LEDGERS, ENTRIES + 5);
  });

  it('garbage-collects a deleted ledger in either dir and keeps the others', async () => {
    for (const id of LEDGERS) await store!.create(ledgerPath(root, id), Buffer.from('metadata'), { createParents: true });
    // every log that lost a byte is compacted: the dirs' space must come back whatever the mix
    await start({ compactionThreshold: 0.99 });
    await writeAll(client!, LEDGERS);
    await bookie!.checkpoint();
    const before = [await diskUsageOf(ledgerDir(0), (n) => n.endsWith('.log')), await diskUsageOf(ledgerDir(1), (n) => n.endsWith('.log'))];

    // 3 lives in dir 1, 4 in dir 0
    await store!.delete(ledgerPath(root, 3n));
    await store!.delete(ledgerPath(root, 4n));
    const report = await bookie!.collectGarbage();
    expect(report.deletedLedgers).to.equal(2);
    expect(report.failedLogs).to.deep.equal([]);
    for (const id of [3n, 4n]) expectStatus(await readEntry(client!, id, 0n), 'ENOLEDGER', `deleted ledger ${id}`);
    await readAll(client!, [1n, 2n, 5n, 6n]);
    const after = [await diskUsageOf(ledgerDir(0), (n) => n.endsWith('.log')), await diskUsageOf(ledgerDir(1), (n) => n.endsWith('.log'))];
    expect(after[0], 'dir 0 gave space back').to.be.lessThan(before[0]!);
    expect(after[1], 'dir 1 gave space back').to.be.lessThan(before[1]!);

    await stop();
    expect(await ledgersIn(ledgerDir(0))).to.deep.equal([2n, 6n]);
    expect(await ledgersIn(ledgerDir(1))).to.deep.equal([1n, 5n]);
  });

  it('refuses a dir list that is shorter, longer, reordered or from another bookie, and starts again with the right one', async () => {
    await start();
    await writeAll(client!, LEDGERS, 0, 3);
    await stop();

    await expectRefused(start({ ledgerDirs: [ledgerDir(0)] }), 'BOOKIE_DIRS_CHANGED', /was dir 1 of 2, now it is dir 1 of 1/);
    await expectRefused(start({ ledgerDirs: [ledgerDir(1), ledgerDir(0)] }), 'BOOKIE_DIRS_CHANGED', /was dir 2 of 2, now it is dir 1 of 2/);
    await expectRefused(start({ ledgerDirs: [ledgerDir(0), ledgerDir(1), ledgerDir(2)] }), 'BOOKIE_DIRS_CHANGED', /now it is dir 1 of 3/);
    await expectRefused(start({ journalDir: path.join(dir!, 'other-journal') }), 'BOOKIE_DIRS_CHANGED', /is not this bookie's journal/);
    await expectRefused(start({ ledgerDirs: [ledgerDir(0), ledgerDir(0)] }), 'INVALID_ARGUMENT', /listed twice/);

    // a ledger dir of another bookie
    await start({ journalDir: path.join(dir!, 'j2'), ledgerDirs: [path.join(dir!, 'other-0'), path.join(dir!, 'other-1')] });
    await stop();
    await expectRefused(start({ ledgerDirs: [ledgerDir(0), path.join(dir!, 'other-1')] }), 'BOOKIE_DIRS_CHANGED', /belongs to another bookie/);

    await start();
    await readAll(client!, LEDGERS, 3);
  });

  it('takes a lock on every dir', async () => {
    await start();
    await expectRefused(
      startBookie({ metadata: store!, ledgersRoot: root, port: 0, journalDir: path.join(dir!, 'j2'), ledgerDirs: [path.join(dir!, 'x'), ledgerDir(1)] }),
      'BOOKIE_LOCKED', /disk-1/,
    );
  });

  it('upgrades a single-dir bookie without stamps in place, and refuses to spread its ledgers over more dirs', async () => {
    const data = path.join(dir!, 'data');
    await start({ dir: data, });
    await writeAll(client!, LEDGERS, 0, 5);
    await stop();
    // what a bookie from before the stamps leaves behind
    await rm(path.join(data, 'journal', JOURNAL_STAMP));
    await rm(path.join(data, 'ledgers', LEDGER_STAMP));

    await expectRefused(
      start({ dir: data, ledgerDirs: [path.join(data, 'ledgers'), ledgerDir(1)] }),
      'BOOKIE_DIRS_CHANGED', /single-dir bookie/,
    );
    await start({ dir: data, });
    await readAll(client!, LEDGERS, 5);
    await stop();
    expect((await readdir(path.join(data, 'ledgers'))).includes(LEDGER_STAMP), 'stamped on the upgrade').to.equal(true);
    await expectRefused(
      start({ dir: data, ledgerDirs: [path.join(data, 'ledgers'), ledgerDir(1)] }),
      'BOOKIE_DIRS_CHANGED', /was dir 1 of 1, now it is dir 1 of 2/,
    );
  });
});

describe('dlog bookie --journal-dir --ledger-dirs (process)', function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let bookie: BookieProcess | undefined;
  let client: BookieClient | undefined;

  afterEach(async () => {
    client?.close();
    await killAllBookieProcesses();
    bookie = undefined;
    await removeDir(dir);
  });

  it('spreads ledgers over the listed dirs and replays the journal into them after SIGKILL', async function () {
    const zk = await zooKeeper(this);
    dir = await tempDir('dirs-cli');
    const dirs = [path.join(dir, 'a'), path.join(dir, 'b')];
    bookie = await startBookieProcess({ metadata: `zk://${zk}${uniqueRoot()}`, dir: path.join(dir, 'unused'), journalDir: path.join(dir, 'j'), ledgerDirs: dirs });
    client = new BookieClient(bookie.address, { requestTimeoutMs: 15_000 });
    await writeAll(client, LEDGERS, 0, 10);
    // no checkpoint yet (10 s interval): everything comes back from the journal
    await bookie.kill('SIGKILL');
    client.close();
    await bookie.restart();
    client = new BookieClient(bookie.address, { requestTimeoutMs: 15_000 });
    await readAll(client, LEDGERS, 10);
    // the start-up checkpoint wrote the replayed entries to their dirs
    expect(await logFiles(dirs[0]!), 'entry logs in a').to.not.be.empty;
    expect(await logFiles(dirs[1]!), 'entry logs in b').to.not.be.empty;
    expect((await readdir(path.join(dir, 'unused')).catch(() => [])), '--dir unused').to.deep.equal([]);
    await bookie.stop();
  });
});
