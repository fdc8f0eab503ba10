// A bookie whose directory is a small tmpfs fills it with 4 KiB adds: it must turn read-only
// (registered under available/readonly), keep serving every entry it acknowledged, and never
// crash (the issue saw an unhandled LMDB `Commit failed … No space left on device`). Needs root
// to mount the tmpfs; skipped, loudly, elsewhere.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { addEntry, envelopeFor, expectEntry, sleep, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';

const SIZE = 4096;

describe('bookie on a full disk (tmpfs)', function () {
  this.timeout(180_000);
  let mountPoint: string | undefined;
  let observer: ZkMetadataStore | undefined;
  let client: BookieClient | undefined;
  before(async function (this: Context) {
    const dir = await tempDir('disk-full');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir], { stdio: 'ignore' });
      mountPoint = dir;
    } catch {
      process.stderr.write('\n!!! cannot mount a tmpfs (needs root): the disk-full test is SKIPPED !!!\n\n');
      rmSync(dir, { recursive: true, force: true });
      this.skip();
    }
  });
  after(async () => {
    client?.close();
    await observer?.close();
    await killAllBookieProcesses();
    if (mountPoint !== undefined) {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('turns read-only, keeps serving what it acknowledged, and does not crash', async function (this: Context) {
    const zk = await zooKeeper(this);
    const root = uniqueRoot();
    const dir = `${mountPoint}/bookie`;
    mkdirSync(dir);
    const bookie: BookieProcess = await startBookieProcess({ metadata: `zk://${zk}${root}`, dir, checkpointIntervalMs: 500 });
    observer = await ZkMetadataStore.connect(zk);
    client = new BookieClient(bookie.address);
    const acked: bigint[] = [];
    let refused = '';
    for (let e = 0n; e < 40_000n && refused === ''; e += 64n) {
      const batch = await Promise.all(Array.from({ length: 64 }, (_, i) => addEntry(client!, 1n, e + BigInt(i), { body: envelopeFor(1n, e + BigInt(i), { size: SIZE }) })));
      batch.forEach((r, i) => { if (r.status === 'EOK') acked.push(e + BigInt(i)); else refused ||= r.status; });
    }
    process.stdout.write(`      ${acked.length} entries of ${SIZE} B acknowledged before the first refusal (${refused})\n`);
    expect(refused, 'the disk filled up').to.not.equal('');
    // the checkpoints that follow hit the full disk too: the process must survive them
    await sleep(2000);
    expect(bookie.running, `bookie still running; stderr:\n${bookie.stderr}`).to.equal(true);
    expect((await addEntry(client, 2n, 0n)).status).to.be.oneOf(['EREADONLY', 'EIO']);
    for (const e of acked.filter((_, i) => i % 50 === 0)) await expectEntry(client, 1n, e, envelopeFor(1n, e, { size: SIZE }));
    await observer.sync(root);
    expect(await observer.exists(`${root}/available/readonly/${bookie.bookieId}`), 'registered read-only').to.not.equal(null);
    expect(await observer.exists(`${root}/available/${bookie.bookieId}`), 'not registered writable').to.equal(null);
  });
});
