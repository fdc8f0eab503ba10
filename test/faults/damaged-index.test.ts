// A damaged LMDB index (data.mdb truncated, bytes flipped in a page) must never crash the bookie
// (it used to SIGSEGV at start with nothing printed, or SIGBUS on a read) nor make it answer
// ENOENTRY for entries it holds: `dlog bookie` refuses to start with one INDEX_CORRUPT line naming
// the file and exits 1 (the full walk of the index runs after an unclean stop, or when asked for
// with --verify-index; the meta-page check at every start). The page sweep checks every page of a real index: each flip is refused by
// the start-up checks, or leaves every key in place (a free or unused page, or a location changed
// to point at no intact record, which the check counts and reads answer with CORRUPT_ENTRY).
import { execFile } from 'node:child_process';
import { closeSync, cpSync, openSync, readFileSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { CLEAN_SHUTDOWN_FILE } from '../../src/bookie/clean-shutdown-mark.js';
import { checkIndexFile, verifyIndex } from '../../src/bookie/index-check.js';
import { StorageError } from '../../src/bookie/storage-error.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { BookieStartError, killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { addEntry, expectEntry, removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';

const LEDGERS = [1n, 2n, 3n];
/** The bookie restarts on other ports: a fixed id keeps its cookies valid. */
const BOOKIE_ID = 'damaged-index-bookie';
const ENTRIES = 600n;

/** Every (key, location) of the index, read in a child process (a crash there is a result, not our death). */
async function dumpLocations(indexDir: string): Promise<string> {
  const script = `const { open } = require(process.argv[1]);
    const db = open({ path: process.argv[2], maxDbs: 4, readOnly: true }).openDB({ name: 'locations', keyEncoding: 'binary', encoding: 'binary' });
    const out = []; for (const { key, value } of db.getRange()) out.push(key.toString('hex') + '=' + value.toString('hex'));
    process.stdout.write(out.join('\\n'));`;
  const lmdb = createRequire(import.meta.url).resolve('lmdb');
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, lmdb, indexDir], { maxBuffer: 64 << 20, env: { ...process.env, NODE_OPTIONS: '' } });
  return stdout;
}

function flip(file: string, offset: number, length: number): void {
  const fd = openSync(file, 'r+');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    for (let i = 0; i < length; i++) buf[i] = (buf[i] ?? 0) ^ 0x5a;
    writeSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

describe('a damaged ledger index', function () {
  this.timeout(300_000);
  /** Where the bookie made its directories (its cookies name them); each test damages a fresh copy there. */
  let live: string;
  /** The undamaged directories, kept aside. */
  let pristine: string;
  let metadata: string;
  let client: BookieClient | undefined;

  before(async function (this: Context) {
    const zk = await zooKeeper(this);
    metadata = `zk://${zk}${uniqueRoot()}`;
    live = await tempDir('damaged-index');
    const bookie = await startBookieProcess({ metadata, dir: live, bookieId: BOOKIE_ID });
    const c = new BookieClient(bookie.address);
    try {
      for (const ledgerId of LEDGERS) {
        for (let e = 0n; e < ENTRIES; e += 100n) {
          const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => addEntry(c, ledgerId, e + BigInt(i))));
          expect(rs.every((r) => r.status === 'EOK')).to.equal(true);
        }
      }
    } finally {
      c.close();
    }
    await bookie.stop(); // clean: checkpointed, the index holds every entry
    pristine = await tempDir('damaged-index-pristine');
    cpSync(live, pristine, { recursive: true });
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await killAllBookieProcesses();
  });
  after(async () => {
    await removeDir(live);
    await removeDir(pristine);
  });

  const copy = (): { dir: string; mdb: string } => {
    rmSync(live, { recursive: true, force: true });
    cpSync(pristine, live, { recursive: true });
    return { dir: live, mdb: path.join(live, 'ledgers', 'index', 'data.mdb') };
  };

  const expectRefused = async (dir: string, mdb: string, extraArgs: readonly string[] = []): Promise<void> => {
    const err = await startBookieProcess({ metadata, dir, bookieId: BOOKIE_ID, extraArgs }).then((b: BookieProcess) => b, (e: unknown) => e);
    expect(err, 'the bookie refused to start').to.be.instanceOf(BookieStartError);
    const { exitCode, signal, stderr } = err as BookieStartError;
    expect(signal, `no crash; stderr:\n${stderr}`).to.equal(null);
    expect(exitCode).to.equal(1);
    // a loaded machine may add ZooKeeper connection warnings while the index is walked
    const lines = stderr.trim().split('\n').filter((l) => !/^warn \[bookie\] .*ZooKeeper/.test(l));
    expect(lines, stderr).to.have.length(1);
    expect(lines[0]).to.contain('[INDEX_CORRUPT]').and.to.contain(mdb);
  };

  it('the undamaged copy starts and serves every entry (the control)', async () => {
    const { dir } = copy();
    const bookie = await startBookieProcess({ metadata, dir, bookieId: BOOKIE_ID });
    client = new BookieClient(bookie.address);
    for (const ledgerId of LEDGERS) for (let e = 0n; e < ENTRIES; e += 37n) await expectEntry(client, ledgerId, e);
  });

  it('refuses a truncated data.mdb with one line naming it, exit 1, no signal', async () => {
    const { dir, mdb } = copy();
    truncateSync(mdb, Math.floor(statSync(mdb).size / 2));
    await expectRefused(dir, mdb);
  });

  /** Flips bytes in the leaf page holding ledger 2's entry 300 (found by its key's bytes). */
  const flipLocationsPage = (mdb: string): void => {
    const key = Buffer.alloc(16);
    key.writeBigUInt64BE(2n, 0);
    key.writeBigUInt64BE(300n, 8);
    const at = readFileSync(mdb).indexOf(key);
    expect(at).to.be.greaterThan(0);
    flip(mdb, at - 32, 64);
  };

  it('refuses flipped bytes in the pages the locations live in, after an unclean stop', async () => {
    const { dir, mdb } = copy();
    rmSync(path.join(dir, 'ledgers', CLEAN_SHUTDOWN_FILE)); // as a crash or a kill leaves it
    flipLocationsPage(mdb);
    await expectRefused(dir, mdb);
  });

  it('refuses them after a clean stop too when asked to walk the index (--verify-index)', async () => {
    const { dir, mdb } = copy();
    flipLocationsPage(mdb);
    await expectRefused(dir, mdb, ['--verify-index']);
  });

  it('every page flipped: refused at start, or every location still read back unchanged', async () => {
    const { dir, mdb } = copy();
    const indexDir = path.dirname(mdb);
    const want = await dumpLocations(path.join(pristine, 'ledgers', 'index'));
    expect(want.split('\n')).to.have.length(LEDGERS.length * Number(ENTRIES));
    const pages = statSync(mdb).size / 4096;
    const outcome = { refused: 0, harmless: 0 };
    for (let page = 0; page < pages; page++) {
      cpSync(path.join(pristine, 'ledgers', 'index', 'data.mdb'), mdb);
      flip(mdb, page * 4096 + 40, 64); // past the page header: the meta, or the first nodes/pointers
      let damagedRecords = 0;
      try {
        if (await checkIndexFile(indexDir)) ({ damagedRecords } = await verifyIndex(indexDir, path.join(dir, 'ledgers')));
      } catch (err) {
        expect(err, `page ${page}`).to.be.instanceOf(StorageError);
        expect((err as StorageError).code).to.equal('INDEX_CORRUPT');
        outcome.refused++;
        continue;
      }
      const got = await dumpLocations(indexDir).catch((err: unknown) => `crashed: ${String(err)}`);
      // every key is still there (no ENOENTRY for an entry the logs hold); a changed location
      // points at no intact record (its read fails with CORRUPT_ENTRY) and was counted
      const keys = (dump: string): string[] => dump.split('\n').map((l) => l.split('=')[0] ?? '');
      expect(keys(got), `page ${page} passed the checks but lost keys: ${got.slice(0, 200)}`).to.deep.equal(keys(want));
      const changed = got.split('\n').filter((l, i) => l !== want.split('\n')[i]).length;
      expect(damagedRecords, `page ${page}: ${changed} changed locations`).to.be.at.least(changed);
      outcome.harmless++;
    }
    process.stdout.write(`      ${pages} pages: ${outcome.refused} refused, ${outcome.harmless} passed\n`);
    expect(outcome.refused).to.be.greaterThan(0);
    rmSync(mdb);
  });
});
