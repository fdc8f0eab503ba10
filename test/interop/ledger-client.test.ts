// Our LedgerClient on real Java bookies, and the Java BookKeeper client on our bookies: the same
// bytes, ids and metadata read back on both sides (docs/formats.md, "Verified against").
import { expect } from 'chai';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { DigestType } from '../../src/protocol/digest.js';
import { BK_VERSIONS, JavaError } from './support/java.js';
import { hex, parseEntries, payload, startInteropCluster, type InteropCluster } from './support/interop-cluster.js';

const PW = Buffer.from('interop-pw');
const DIGESTS: readonly [DigestType, string][] = [['CRC32', 'CRC32'], ['CRC32C', 'CRC32C'], ['HMAC', 'MAC']];

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const { version } of BK_VERSIONS) {
  describe(`interop: our LedgerClient on Java ${version} bookies`, function () {
    this.timeout(180_000);
    let c = undefined as unknown as InteropCluster;

    before(async function () {
      c = await startInteropCluster(this, 'ours-on-java', { version, bookies: ['java', 'java', 'java-db', 'java-db'] });
    });
    after(async () => { await (c as InteropCluster | undefined)?.close(); });

    it('Java lists the Java bookies our client writes to', async () => {
      const listed = (await c.java.call('bookies')).split(',');
      expect(listed).to.deep.equal(c.bookies.map((b) => b.bookieId).sort());
      expect([...c.client.writableBookies()].sort()).to.deep.equal(listed);
    });

    for (const [ours, javaName] of DIGESTS) {
      it(`create/add/close/read with ${ours}; Java reads the same bytes and metadata`, async () => {
        const lh = await c.client.createLedger({ digest: ours, password: PW });
        const sent = Array.from({ length: 25 }, (_, i) => payload(`ours-${ours}`, i, 50 + i * 40));
        for (const [i, p] of sent.entries()) expect(await lh.addEntry(p)).to.equal(BigInt(i));
        await lh.close();
        const back = await lh.readEntries(0n, 24n);
        expect(back.map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
        expect(await c.java.call('open', lh.id, hex(PW), 'false', javaName)).to.equal('24 CLOSED');
        const javaRead = parseEntries(await c.java.call('read', lh.id, 0, 24));
        expect(javaRead.map((e) => e.payload)).to.deep.equal(sent);
        const ensemble = lh.metadata.ensembles[0]![1];
        expect(await c.java.call('ensembles', lh.id)).to.equal(`0=${ensemble.join('|')}`);
        await c.java.call('close', lh.id);
      });
    }

    it('Java lists and deletes our ledger; ledgers Java creates open on our side; one id generator', async () => {
      const ours = await c.client.createLedger({ password: PW });
      await ours.addEntry(Buffer.from('from node'));
      await ours.close();
      const javaId = BigInt(await c.java.call('create', 3, 3, 2, 'CRC32C', hex(PW)));
      await c.java.call('append', javaId, hex(Buffer.from('from java')));
      await c.java.call('close', javaId);
      const ours2 = await c.client.createLedger({ password: PW });
      await ours2.close();
      // ids come from the shared <root>/idgen: all distinct and increasing in creation order
      expect(ours.id < javaId && javaId < ours2.id, `${ours.id} ${javaId} ${ours2.id}`).to.equal(true);
      const listed = (await c.java.call('ledgers')).split(',').map(BigInt);
      expect(listed).to.include.members([ours.id, javaId, ours2.id]);
      const jh = await c.client.openLedger(javaId, { recover: false, password: PW });
      expect(jh.metadata.state).to.equal('CLOSED');
      expect(jh.metadata.digestType).to.equal('CRC32C');
      expect((await jh.readEntries(0n, 0n)).map((e) => e.payload.toString())).to.deep.equal(['from java']);
      await jh.close();
      await c.java.call('delete', ours.id);
      const err = await c.client.openLedger(ours.id, { recover: false, password: PW }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LedgerClientError).with.property('code', 'NO_SUCH_LEDGER');
      expect((await c.java.call('ledgers')).split(',').map(BigInt)).to.not.include(ours.id);
    });

    it('our recovery of a ledger our writer left open on Java bookies fences that writer', async () => {
      const writer = await c.client.createLedger({ password: PW });
      const sent = Array.from({ length: 10 }, (_, i) => payload('open', i));
      for (const p of sent) await writer.addEntry(p);
      const recovered = await c.client.openLedger(writer.id, { recover: true, password: PW });
      expect(recovered.metadata.state).to.equal('CLOSED');
      expect(recovered.metadata.lastEntryId).to.equal(9n);
      expect((await recovered.readEntries(0n, 9n)).map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
      const err = await writer.addEntry(Buffer.from('late')).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LedgerClientError);
      expect((err as LedgerClientError).code).to.be.oneOf(['LEDGER_FENCED', 'LEDGER_CLOSED']);
      await writer.close().catch(() => undefined);
      expect(await c.java.call('open', writer.id, hex(PW), 'false', 'CRC32')).to.equal('9 CLOSED');
      await c.java.call('close', writer.id);
    });

    it('LAC long poll on Java bookies returns when the writer moves the LAC', async () => {
      const writer = await c.client.createLedger({ password: PW });
      for (let i = 0; i < 3; i++) await writer.addEntry(payload('lac', i));
      const reader = await c.client.openLedger(writer.id, { recover: false, password: PW });
      const lac = await reader.readLastAddConfirmed();
      expect(lac).to.equal(1n); // the bookies learn the LAC from the next entry
      const poll = reader.readLastAddConfirmedAndEntry(lac, 20_000);
      await writer.addEntry(payload('lac', 3));
      const got = await poll;
      expect(got.lastAddConfirmed).to.equal(2n);
      expect(got.entry && Buffer.from(got.entry.payload)).to.deep.equal(payload('lac', 2));
      await writer.close();
      await reader.close();
    });

    it("a wrong password is our UNAUTHORIZED error; Java's client refuses it too", async () => {
      const lh = await c.client.createLedger({ password: PW });
      await lh.addEntry(Buffer.from('secret'));
      const err = await c.client.openLedger(lh.id, { recover: true, password: Buffer.from('wrong') }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LedgerClientError).with.property('code', 'UNAUTHORIZED');
      // (the bookies' own EUA for a wrong master key: bookie-protocol.test.ts)
      const javaErr = await c.java.call('open', lh.id, hex(Buffer.from('wrong')), 'true', 'CRC32').then(() => null, (e: unknown) => e);
      expect(javaErr).to.be.instanceOf(JavaError);
      await lh.close();
    });

    it('E3 W3 A2 with a Java bookie SIGKILLed mid-write: ensemble change, nothing acknowledged lost', async () => {
      const lh = await c.client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: PW });
      const sent: Buffer[] = [];
      const acks: Promise<bigint>[] = [];
      for (let i = 0; i < 40; i++) {
        sent.push(payload('kill', i, 1024));
        acks.push(lh.addEntry(sent[i]!));
        if (i === 19) {
          const victim = c.bookies.find((b) => b.bookieId === lh.metadata.ensembles[0]![1][0])!;
          await Promise.all(acks.slice(0, 20));
          await victim.kill();
        }
      }
      expect(await Promise.all(acks)).to.deep.equal(sent.map((_, i) => BigInt(i)));
      await lh.close();
      expect(lh.metadata.ensembles.length).to.be.greaterThan(1);
      const back = await (await c.client.openLedger(lh.id, { recover: false, password: PW })).readEntries(0n, 39n);
      expect(back.map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
      expect(await c.java.call('open', lh.id, hex(PW), 'false', 'CRC32')).to.equal('39 CLOSED');
      expect(parseEntries(await c.java.call('read', lh.id, 0, 39)).map((e) => e.payload)).to.deep.equal(sent);
      const javaEnsembles = await c.java.call('ensembles', lh.id);
      expect(javaEnsembles).to.equal(lh.metadata.ensembles.map(([first, e]) => `${first}=${e.join('|')}`).join(','));
      await c.java.call('close', lh.id);
    });
  });

  describe(`interop: the Java ${version} BookKeeper client on our bookies`, function () {
    this.timeout(180_000);
    let c = undefined as unknown as InteropCluster;

    before(async function () {
      c = await startInteropCluster(this, 'java-on-ours', { version, bookies: ['ours', 'ours', 'ours', 'ours'] });
    });
    after(async () => { await (c as InteropCluster | undefined)?.close(); });

    it("our bookies format the ledgers root as Java's BookKeeperAdmin.initNewCluster does", async () => {
      const javaRoot = `${c.root}-java-formatted`;
      expect(await c.java.call('init', `zk+hierarchical://${c.zk}${javaRoot}`)).to.equal('true');
      for (const node of ['LAYOUT', 'available', 'available/readonly']) {
        expect((await c.store.get(`${c.root}/${node}`)).data, node).to.deep.equal((await c.store.get(`${javaRoot}/${node}`)).data);
      }
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      expect((await c.store.get(`${c.root}/INSTANCEID`)).data.toString()).to.match(uuid);
      expect((await c.store.get(`${javaRoot}/INSTANCEID`)).data.toString()).to.match(uuid);
    });

    it('Java tooling lists our bookies (BookKeeperAdmin.getAvailableBookies)', async () => {
      await waitFor('4 bookies', async () => (await c.java.call('bookies')).split(',').length === 4);
      expect((await c.java.call('bookies')).split(',')).to.deep.equal(c.bookies.map((b) => b.bookieId).sort());
    });

    for (const [ours, javaName] of DIGESTS) {
      it(`Java create/append/read/close with ${javaName}; we read the same bytes`, async () => {
        const id = BigInt(await c.java.call('create', 3, 3, 2, javaName, hex(PW)));
        const sent = Array.from({ length: 20 }, (_, i) => payload(`java-${javaName}`, i, 30 + i * 50));
        for (const [i, p] of sent.entries()) expect(await c.java.call('append', id, hex(p))).to.equal(String(i));
        await c.java.call('close', id);
        expect(await c.java.call('open', id, hex(PW), 'false', javaName)).to.equal('19 CLOSED');
        expect(parseEntries(await c.java.call('read', id, 0, 19)).map((e) => e.payload)).to.deep.equal(sent);
        await c.java.call('close', id);
        const lh = await c.client.openLedger(id, { recover: false, password: PW });
        expect(lh.metadata.digestType).to.equal(ours);
        expect((await lh.readEntries(0n, 19n)).map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
        await lh.close();
      });
    }

    it("Java's recovery of a ledger our client left open; our writer is then fenced", async () => {
      const writer = await c.client.createLedger({ password: PW, digest: 'CRC32C' });
      const sent = Array.from({ length: 12 }, (_, i) => payload('left-open', i));
      for (const p of sent) await writer.addEntry(p);
      expect(await c.java.call('open', writer.id, hex(PW), 'true', 'CRC32C')).to.equal('11 CLOSED');
      expect(parseEntries(await c.java.call('read', writer.id, 0, 11)).map((e) => e.payload)).to.deep.equal(sent);
      await c.java.call('close', writer.id);
      const err = await writer.addEntry(Buffer.from('after fence')).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LedgerClientError);
      expect((err as LedgerClientError).code).to.be.oneOf(['LEDGER_FENCED', 'LEDGER_CLOSED']);
      await writer.close().catch(() => undefined);
      const meta = await c.client.readLedgerMetadata(writer.id);
      expect([meta.state, meta.lastEntryId]).to.deep.equal(['CLOSED', 11n]);
    });

    it("Java's readLastAddConfirmed and long poll follow our writer", async () => {
      const writer = await c.client.createLedger({ password: PW });
      for (let i = 0; i < 3; i++) await writer.addEntry(payload('jlac', i));
      expect(await c.java.call('open', writer.id, hex(PW), 'false', 'CRC32')).to.match(/^-?\d+ OPEN$/);
      expect(await c.java.call('lac', writer.id)).to.equal('1');
      const poll = c.java.call('longpoll', writer.id, 2, 20_000);
      await writer.addEntry(payload('jlac', 3));
      expect(await poll).to.equal(`2 ${hex(payload('jlac', 2))}`);
      await writer.close();
      await c.java.call('close', writer.id);
    });

    it("Java's ensemble change when one of our bookies dies mid-write", async () => {
      const id = BigInt(await c.java.call('create', 3, 3, 2, 'CRC32', hex(PW)));
      await c.java.call('open', id, hex(PW), 'false', 'CRC32');
      const first = (await c.java.call('ensembles', id)).split('=')[1]!.split('|');
      const sent = Array.from({ length: 40 }, (_, i) => payload('jkill', i, 512));
      for (const p of sent.slice(0, 20)) await c.java.call('append', id, hex(p));
      await c.bookies.find((b) => b.bookieId === first[0])!.kill();
      for (const p of sent.slice(20)) await c.java.call('append', id, hex(p));
      await c.java.call('close', id);
      const lh = await c.client.openLedger(id, { recover: false, password: PW });
      expect(lh.metadata.ensembles.length).to.be.greaterThan(1);
      expect(lh.metadata.ensembles[1]![1]).to.not.include(first[0]);
      expect((await lh.readEntries(0n, 39n)).map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
      await lh.close();
    });
  });
}
