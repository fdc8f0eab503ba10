// A bookie whose directory is a small tmpfs fills it with 4 KiB adds: it must turn read-only
// (registered under available/readonly), keep serving every entry it acknowledged, and never
// crash (the issue saw an unhandled LMDB `Commit failed … No space left on device`). Restarted on
// the full disk it must start read-only (it used to wait forever on an LMDB commit) and turn
// writable once space frees. Needs root to mount the tmpfs; skipped, loudly, elsewhere.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { addEntry, envelopeFor, expectEntry, sleep, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';
import { mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';
import { waitFor } from '../support/wait-for.js';

const SIZE = 4096;
const DISK_CHECK_MS = 500;

/** Adds 4 KiB entries to ledger 1 until the bookie refuses one; the acknowledged entry ids. */
async function fillUp(client: BookieClient): Promise<{ acked: bigint[]; refused: string }> {
  const acked: bigint[] = [];
  let refused = '';
  for (let e = 0n; e < 40_000n && refused === ''; e += 64n) {
    const batch = await Promise.all(Array.from({ length: 64 }, (_, i) => addEntry(client, 1n, e + BigInt(i), { body: envelopeFor(1n, e + BigInt(i), { size: SIZE }) })));
    batch.forEach((r, i) => { if (r.status === 'EOK') acked.push(e + BigInt(i)); else refused ||= r.status; });
  }
  process.stdout.write(`      ${acked.length} entries of ${SIZE} B acknowledged before the first refusal (${refused})\n`);
  return { acked, refused };
}

async function expectSample(client: BookieClient, acked: readonly bigint[]): Promise<void> {
  for (const e of acked.filter((_, i) => i % 50 === 0 || i === acked.length - 1)) await expectEntry(client, 1n, e, envelopeFor(1n, e, { size: SIZE }));
}

describe('bookie on a full disk (tmpfs)', function () {
  this.timeout(180_000);
  let mountPoint: string | undefined;
  let observer: ZkMetadataStore | undefined;
  let client: BookieClient | undefined;
  beforeEach(async function (this: Context) {
    mountPoint = await mountTmpfs(this, 'disk-full', 40, 'the disk-full tests');
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await observer?.close();
    observer = undefined;
    await killAllBookieProcesses();
    if (mountPoint !== undefined) unmountTmpfs(mountPoint);
    mountPoint = undefined;
  });

  const registeredAs = async (root: string, bookieId: string): Promise<'readonly' | 'writable' | 'both' | 'none'> => {
    await observer!.sync(root);
    const ro = (await observer!.exists(`${root}/available/readonly/${bookieId}`)) !== null;
    const rw = (await observer!.exists(`${root}/available/${bookieId}`)) !== null;
    return ro && rw ? 'both' : ro ? 'readonly' : rw ? 'writable' : 'none';
  };

  it('turns read-only, keeps serving what it acknowledged, and does not crash', async function (this: Context) {
    const zk = await zooKeeper(this);
    const root = uniqueRoot();
    const dir = `${mountPoint}/bookie`;
    mkdirSync(dir);
    const bookie: BookieProcess = await startBookieProcess({ metadata: `zk://${zk}${root}`, dir, checkpointIntervalMs: 500 });
    observer = await ZkMetadataStore.connect(zk);
    client = new BookieClient(bookie.address);
    const { acked, refused } = await fillUp(client);
    expect(refused, 'the disk filled up').to.not.equal('');
    // the checkpoints that follow hit the full disk too: the process must survive them
    await sleep(2000);
    expect(bookie.running, `bookie still running; stderr:\n${bookie.stderr}`).to.equal(true);
    expect((await addEntry(client, 2n, 0n)).status).to.be.oneOf(['EREADONLY', 'EIO']);
    await expectSample(client, acked);
    expect(await registeredAs(root, bookie.bookieId)).to.equal('readonly');
  });

  it('starts read-only on the full disk after a SIGKILL, serves reads, and turns writable when space frees', async function (this: Context) {
    const zk = await zooKeeper(this);
    const root = uniqueRoot();
    const dir = `${mountPoint}/bookie`;
    mkdirSync(dir);
    // room to give back later: with it gone the disk is well under the warn threshold again, with
    // space for the flush of everything journaled since the last checkpoint that succeeded
    const filler = `${mountPoint}/filler`;
    writeFileSync(filler, Buffer.alloc(24 << 20));
    const bookie = await startBookieProcess({
      metadata: `zk://${zk}${root}`, dir, checkpointIntervalMs: 500,
      extraArgs: ['--disk-check-interval-ms', String(DISK_CHECK_MS)],
    });
    observer = await ZkMetadataStore.connect(zk);
    client = new BookieClient(bookie.address);
    const { acked, refused } = await fillUp(client);
    expect(refused, 'the disk filled up').to.not.equal('');
    await bookie.kill('SIGKILL');
    client.close();

    await bookie.restart();
    client = new BookieClient(bookie.address);
    await expectSample(client, acked);
    // the killed process's ephemeral node lingers until its session expires
    await waitFor(async () => (await registeredAs(root, bookie.bookieId)) === 'readonly', 15_000, 'registered read-only only');
    expect((await addEntry(client, 2n, 0n)).status).to.equal('EREADONLY');

    rmSync(filler);
    await waitFor(async () => (await registeredAs(root, bookie.bookieId)) === 'writable', 20 * DISK_CHECK_MS, 'registered writable')
      .catch((err: unknown) => { throw new Error(`${String(err)}; bookie stderr:\n${bookie.stderr}`); });
    const r = await addEntry(client, 2n, 0n);
    expect(r.status, `add after space freed; stderr:\n${bookie.stderr}`).to.equal('EOK');
    await expectEntry(client, 2n, 0n);
    await expectSample(client, acked);
    expect(bookie.running).to.equal(true);
  });
});
