// Ensembles of Java bookies and ours together, written by either client, with one bookie of each
// kind SIGKILLed in turn: every acknowledged entry is read back by both clients.
import { expect } from 'chai';
import { BK_VERSIONS } from './support/java.js';
import { hex, parseEntries, payload, startInteropCluster, type AnyBookie, type InteropCluster } from './support/interop-cluster.js';

const PW = Buffer.from('mixed');

/** The first bookie of `kind` in `ensemble` (E4 over 3 + 3 bookies always holds both kinds). */
function victim(c: InteropCluster, ensemble: readonly string[], kind: AnyBookie['kind']): AnyBookie {
  const found = c.bookies.find((b) => b.kind === kind && ensemble.includes(b.bookieId));
  if (found === undefined) throw new Error(`no ${kind} bookie in ensemble ${ensemble.join(',')}`);
  return found;
}

for (const { version } of BK_VERSIONS) {
  describe(`interop: mixed ensembles of Java ${version} bookies and ours`, function () {
    this.timeout(240_000);
    let c = undefined as unknown as InteropCluster;

    before(async function () {
      c = await startInteropCluster(this, 'mixed', { version, bookies: ['java', 'java-db', 'java', 'ours', 'ours', 'ours'] });
    });
    after(async () => { await (c as InteropCluster | undefined)?.close(); });

    it('our client, E4 W3 A2: a Java bookie then one of ours killed mid-write, nothing acknowledged lost', async () => {
      const lh = await c.client.createLedger({ ensembleSize: 4, writeQuorumSize: 3, ackQuorumSize: 2, password: PW });
      const sent = Array.from({ length: 60 }, (_, i) => payload('mixed-ours', i, 700));
      const killed: AnyBookie[] = [];
      for (const [i, p] of sent.entries()) {
        if (i === 20) killed.push(victim(c, lh.metadata.ensembles.at(-1)![1], 'java'));
        if (i === 40) killed.push(victim(c, lh.metadata.ensembles.at(-1)![1], 'ours'));
        if (i === 20 || i === 40) await killed.at(-1)!.kill();
        expect(await lh.addEntry(p)).to.equal(BigInt(i));
      }
      await lh.close();
      expect(lh.metadata.ensembles.length).to.be.at.least(3);
      const reader = await c.client.openLedger(lh.id, { recover: false, password: PW });
      expect((await reader.readEntries(0n, 59n)).map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
      await reader.close();
      expect(await c.java.call('open', lh.id, hex(PW), 'false', 'CRC32')).to.equal('59 CLOSED');
      expect(parseEntries(await c.java.call('read', lh.id, 0, 59)).map((e) => e.payload)).to.deep.equal(sent);
      await c.java.call('close', lh.id);
      await Promise.all(killed.map((b) => b.restart()));
    });

    it('the Java client, E4 W3 A2: one of ours then a Java bookie killed mid-write, nothing acknowledged lost', async () => {
      const id = BigInt(await c.java.call('create', 4, 3, 2, 'CRC32C', hex(PW)));
      const sent = Array.from({ length: 60 }, (_, i) => payload('mixed-java', i, 700));
      const killed: AnyBookie[] = [];
      const currentEnsemble = async (): Promise<readonly string[]> => (await c.client.readLedgerMetadata(id)).ensembles.at(-1)![1];
      for (const [i, p] of sent.entries()) {
        if (i === 20) killed.push(victim(c, await currentEnsemble(), 'ours'));
        if (i === 40) killed.push(victim(c, await currentEnsemble(), 'java'));
        if (i === 20 || i === 40) await killed.at(-1)!.kill();
        expect(await c.java.call('append', id, hex(p))).to.equal(String(i));
      }
      await c.java.call('close', id);
      const lh = await c.client.openLedger(id, { recover: false, password: PW });
      expect(lh.metadata.ensembles.length).to.be.at.least(3);
      expect((await lh.readEntries(0n, 59n)).map((e) => Buffer.from(e.payload))).to.deep.equal(sent);
      await lh.close();
      expect(await c.java.call('open', id, hex(PW), 'false', 'CRC32C')).to.equal('59 CLOSED');
      expect(parseEntries(await c.java.call('read', id, 0, 59)).map((e) => e.payload)).to.deep.equal(sent);
      await c.java.call('close', id);
    });
  });
}
