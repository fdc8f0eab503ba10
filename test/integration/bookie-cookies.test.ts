// BookKeeper cookies on a real ZooKeeper: written on the first start in every dir and under
// <root>/cookies/<id>, checked on every later start; a bookie with another cluster's, another
// bookie's or wiped directories is refused (BOOKIE_COOKIE_MISMATCH), from the API and from `dlog bookie`.
import { expect } from 'chai';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startBookie, type Bookie, type BookieOptions } from '../../src/bookie/bookie.js';
import { BookieError } from '../../src/bookie/bookie-error.js';
import { cookieFor, encodeCookie } from '../../src/bookie/cookie.js';
import { freePort } from '../../src/cli/zookeeper-server.js';
import { MetadataError } from '../../src/errors.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { BookieStartError, startBookieProcess } from '../support/bookie-process.js';
import { removeDir, tempDir, uniqueRoot } from '../support/bookie-test-utils.js';
import { zooKeeper } from '../support/hooks.js';
import { rejection } from '../support/rejection.js';

describe('bookie cookies (real ZooKeeper)', function () {
  this.timeout(90_000);
  let zk: string;
  let dir: string | undefined;
  let store: ZkMetadataStore | undefined;
  const bookies: Bookie[] = [];

  before(async function () {
    zk = await zooKeeper(this);
  });

  beforeEach(async () => {
    dir = realpathSync(await tempDir('cookies'));
    store = await ZkMetadataStore.connect(zk);
  });

  afterEach(async () => {
    for (const b of bookies.splice(0)) await b.close();
    await store?.close();
    await removeDir(dir);
  });

  const journal = (): string => path.join(dir!, 'journal');
  const ledgers = (i: number): string => path.join(dir!, `disk${i}`);
  const start = async (root: string, port: number, more: Partial<BookieOptions> = {}): Promise<Bookie> => {
    const b = await startBookie({ metadata: store!, ledgersRoot: root, port, gcIntervalMs: 0, journalDir: journal(), ledgerDirs: [ledgers(0), ledgers(1)], ...more });
    bookies.push(b);
    return b;
  };
  const stop = async (b: Bookie): Promise<void> => {
    await b.close();
    bookies.splice(bookies.indexOf(b), 1);
  };
  const refusal = async (p: Promise<Bookie>): Promise<BookieError> => {
    const err = await rejection(p, BookieError);
    expect(err.code).to.equal('BOOKIE_COOKIE_MISMATCH');
    return err;
  };
  const dirCookie = (d: string): string => readFileSync(path.join(d, 'current/VERSION'), 'utf8');
  const instanceId = async (root: string): Promise<string> => (await store!.get(`${root}/INSTANCEID`)).data.toString('utf8');

  it('writes the cookie in every dir and under cookies/<id> on the first start, and starts again with it', async () => {
    const root = uniqueRoot();
    const port = await freePort();
    await stop(await start(root, port));
    const id = `127.0.0.1:${port}`;
    const want = encodeCookie(cookieFor(id, journal(), [ledgers(0), ledgers(1)], await instanceId(root)));
    expect((await store!.get(`${root}/cookies/${id}`)).data.toString('utf8')).to.equal(want);
    for (const d of [journal(), ledgers(0), ledgers(1)]) expect(dirCookie(d), d).to.equal(want);
    const again = await start(root, port);
    expect(again.bookieId).to.equal(id);
  });

  it('refuses directories of another cluster (another INSTANCEID) and leaves their cookies alone', async () => {
    const port = await freePort();
    const first = uniqueRoot();
    await stop(await start(first, port));
    const before = dirCookie(journal());
    const err = await refusal(start(uniqueRoot(), port));
    expect(err.message).to.contain(`instance id ${await instanceId(first)}`).and.contain('current/VERSION');
    expect(dirCookie(journal())).to.equal(before);
  });

  it('refuses another bookie id on the same directories, and moved directories', async () => {
    const root = uniqueRoot();
    const port = await freePort();
    await stop(await start(root, port));
    expect((await refusal(start(root, await freePort()))).message).to.match(new RegExp(`bookie 127\\.0\\.0\\.1:${port}'s`));
    const swapped = await refusal(start(root, port, { ledgerDirs: [ledgers(0), ledgers(2)] }));
    expect(swapped.message).to.contain(`${ledgers(0)}, ${ledgers(1)}`);
  });

  it('refuses a bookie the cluster knows whose directory was wiped', async () => {
    const root = uniqueRoot();
    const port = await freePort();
    await stop(await start(root, port));
    rmSync(ledgers(1), { recursive: true, force: true });
    const err = await refusal(start(root, port));
    expect(err.message).to.contain(`${ledgers(1)} has no cookie while the cluster has one for bookie 127.0.0.1:${port}`);
  });

  it('a bookie on an OS-chosen port (port 0) keeps its directories across restarts: its cookies follow the port', async () => {
    const root = uniqueRoot();
    const a = await start(root, 0);
    const firstId = a.bookieId;
    await stop(a);
    const b = await start(root, 0);
    expect(dirCookie(journal())).to.contain(`bookieHost: "${b.bookieId}"`);
    expect(await store!.exists(`${root}/cookies/${b.bookieId}`)).to.not.equal(null);
    await stop(b);
    expect(firstId, 'the test needs two different ports').to.not.equal(b.bookieId);
    // ...but still not in another cluster
    await refusal(start(uniqueRoot(), 0));
  });

  it('retries a lost ZooKeeper connection while checking and writing cookies', async () => {
    const root = uniqueRoot();
    // the real store, with the first read of the cookie and the first cookie write losing the connection
    const failed = new Set<string>();
    const once = (op: string, at: string): void => {
      if (at.includes('/cookies/') && !failed.has(op)) {
        failed.add(op);
        throw new MetadataError('CONNECTION_LOSS', `injected: connection lost at ${at}`);
      }
    };
    const flaky = new Proxy(store!, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown; // getters run on the store itself (private fields)
        if (prop !== 'get' && prop !== 'create') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (at: string, ...rest: unknown[]) => {
          once(prop, at);
          return (value as (...a: unknown[]) => Promise<unknown>).call(target, at, ...rest);
        };
      },
    });
    const b = await start(root, await freePort(), { metadata: flaky });
    expect([...failed].sort()).to.deep.equal(['create', 'get']);
    expect((await store!.get(`${root}/cookies/${b.bookieId}`)).data.toString('utf8')).to.equal(dirCookie(journal()));
  });

  it('`dlog bookie` on another cluster\'s directories prints one line and exits 1', async () => {
    const d = path.join(dir!, 'cli');
    const port = await freePort();
    const first = await startBookieProcess({ metadata: `zk://${zk}${uniqueRoot()}`, dir: d, port });
    await first.stop();
    const err = await rejection(startBookieProcess({ metadata: `zk://${zk}${uniqueRoot()}`, dir: d, port }), BookieStartError);
    expect(err.exitCode).to.equal(1);
    const lines = err.stderr.trim().split('\n');
    expect(lines, err.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^dlog bookie: the cookie in .* is not this bookie's: it belongs to the cluster with instance id .*\[BOOKIE_COOKIE_MISMATCH\]$/);
  });
});
