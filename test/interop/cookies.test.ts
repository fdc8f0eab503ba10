// BookKeeper cookies and discovery in a mixed cluster: Java's tools list our bookies (registered
// and `listbookies -a`, which lists cookies/), a Java bookie's cookie check accepts the cookies we
// write, we parse Java's cookies byte for byte, and our bookie refuses another cluster's INSTANCEID.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeCookie, parseCookie } from '../../src/bookie/cookie.js';
import { BookieStartError, startBookieProcess } from '../support/bookie-process.js';
import { rejection } from '../support/rejection.js';
import { BK_VERSIONS } from './support/java.js';
import { startInteropCluster, type InteropCluster } from './support/interop-cluster.js';

for (const { version } of BK_VERSIONS) {
  describe(`interop: cookies and discovery with Java ${version}`, function () {
    this.timeout(240_000);
    let c = undefined as unknown as InteropCluster;
    const dirOf = (i: number): string => path.join(c.dir, `b${i}`);
    const text = (file: string): string => readFileSync(file, 'utf8');

    before(async function () {
      c = await startInteropCluster(this, 'cookies', { version, bookies: ['java', 'ours'] });
    });
    after(async () => { await (c as InteropCluster | undefined)?.close(); });

    it('Java lists our bookie beside its own: writable and among all bookies (cookies/)', async () => {
      const ids = c.bookies.map((b) => b.bookieId).sort().join(',');
      expect(await c.java.call('bookies')).to.equal(ids);
      expect(await c.java.call('allbookies')).to.equal(ids);
    });

    it('a Java bookie\'s cookie check accepts ours (metadata store and every dir), and Java re-serializes it byte for byte', async () => {
      const ours = c.bookies[1]!;
      const journal = path.join(dirOf(1), 'journal');
      const ledgers = path.join(dirOf(1), 'ledgers');
      const registered = (await c.store.get(`${c.root}/cookies/${ours.bookieId}`)).data.toString('utf8');
      const javaText = Buffer.from(await c.java.call('cookie', ours.bookieId, journal, ledgers), 'hex').toString('utf8');
      expect(javaText).to.equal(registered);
      expect(text(path.join(journal, 'current/VERSION'))).to.equal(registered);
      const instanceId = (await c.store.get(`${c.root}/INSTANCEID`)).data.toString('utf8');
      expect(parseCookie(registered, 'ours')).to.deep.include({ bookieHost: ours.bookieId, journalDirs: journal, ledgerDirs: `1\t${ledgers}`, instanceId });
    });

    it('we parse the Java bookie\'s cookies (metadata store and dirs) and encode them to the same bytes', async () => {
      const java = c.bookies[0]!;
      const registered = (await c.store.get(`${c.root}/cookies/${java.bookieId}`)).data.toString('utf8');
      const cookie = parseCookie(registered, 'java');
      const instanceId = (await c.store.get(`${c.root}/INSTANCEID`)).data.toString('utf8');
      expect(cookie).to.deep.equal({
        layoutVersion: 5, bookieHost: java.bookieId, journalDirs: path.join(dirOf(0), 'journal'),
        ledgerDirs: `1\t${path.join(dirOf(0), 'ledgers')}`, instanceId,
      });
      expect(encodeCookie(cookie)).to.equal(registered);
      for (const sub of ['journal', 'ledgers']) expect(text(path.join(dirOf(0), sub, 'current/VERSION')), sub).to.equal(registered);
    });

    it('our bookie refuses to start in a cluster Java initialised with another INSTANCEID, and starts again in its own', async () => {
      const ours = c.bookies[1]!;
      const port = Number(ours.bookieId.split(':')[1]);
      await ours.kill();
      const foreign = `${c.root}-foreign`;
      await c.java.call('init', `zk+hierarchical://${c.zk}${foreign}`);
      const err = await rejection(startBookieProcess({ metadata: `zk://${c.zk}${foreign}`, dir: dirOf(1), port }), BookieStartError);
      expect(err.stderr).to.match(/it belongs to the cluster with instance id .*\[BOOKIE_COOKIE_MISMATCH\]/);
      await ours.restart();
      expect(await c.java.call('bookies')).to.contain(ours.bookieId);
    });
  });
}
