// The full walk of the ledger index (index-check.ts, about a minute at 10M entries) runs only after
// an unclean stop: a clean stop leaves a mark that lets the next start skip it, a SIGKILL leaves
// none, and --verify-index walks anyway. Observed through the bookie's own log lines (--verbose).
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { addEntry, expectEntry, removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';

const SKIPPED = 'ledger index: stopped cleanly, its full check is skipped';
const WALKED = 'ledger index: checked in full';

describe('the full check of the ledger index at start', function () {
  this.timeout(120_000);
  let dir: string | undefined;
  let client: BookieClient | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    await killAllBookieProcesses();
    await removeDir(dir);
  });

  it('is skipped after a clean stop, runs after a SIGKILL, and runs when asked (--verify-index)', async function (this: Context) {
    const zk = await zooKeeper(this);
    dir = await tempDir('index-walk');
    const metadata = `zk://${zk}${uniqueRoot()}`;
    const bookieId = 'index-walk-bookie';
    const start = (extraArgs: readonly string[] = []): Promise<BookieProcess> => startBookieProcess({ metadata, dir: dir!, bookieId, extraArgs: ['--verbose', ...extraArgs] });
    let bookie = await start();
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < 50n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
    client.close();
    await bookie.stop();

    bookie = await start();
    expect(bookie.stderr, 'after a clean stop').to.contain(SKIPPED).and.not.contain(WALKED);
    client = new BookieClient(bookie.address);
    for (let e = 50n; e < 100n; e++) expect((await addEntry(client, 1n, e)).status).to.equal('EOK');
    await bookie.kill('SIGKILL');
    client.close();

    await bookie.restart();
    expect(bookie.stderr, 'after a SIGKILL').to.contain(WALKED).and.not.contain(SKIPPED);
    client = new BookieClient(bookie.address);
    for (let e = 0n; e < 100n; e++) await expectEntry(client, 1n, e);
    client.close();
    await bookie.stop();

    bookie = await start(['--verify-index']);
    expect(bookie.stderr, 'with --verify-index').to.contain(WALKED).and.not.contain(SKIPPED);
    client = new BookieClient(bookie.address);
    await expectEntry(client, 1n, 99n);
  });
});
