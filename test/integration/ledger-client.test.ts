// The ledger client against real bookies (in-process here; the process-kill tests live in
// ledger-failures.test.ts) and a real ZooKeeper.
import { expect } from 'chai';
import { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';

describe('LedgerClient with real bookies (E3 W3 A2)', function () {
  this.timeout(60_000);

  let cluster: BookieCluster;
  const client = (): Promise<LedgerClient> => cluster.client();

  before(async function () {
    cluster = await startBookieCluster(this, 'client');
  });

  after(async () => { await cluster.close(); });

  it('writes entries in order and reads them back byte-identical after close', async () => {
    const c = await client();
    const ledger = await c.createLedger({ password: Buffer.from('pw') });
    expect(ledger.metadata.ensembles[0]?.[1]).to.have.length(3);
    const payloads = Array.from({ length: 500 }, (_, i) => Buffer.from(`entry-${i}-`.repeat(20)));
    const ids = await Promise.all(payloads.map((p) => ledger.addEntry(p)));
    expect(ids).to.deep.equal(payloads.map((_, i) => BigInt(i)));
    expect(ledger.lastAddConfirmed).to.equal(499n);
    await ledger.close();
    expect(ledger.metadata.state).to.equal('CLOSED');
    expect(ledger.metadata.lastEntryId).to.equal(499n);
    expect(ledger.metadata.length).to.equal(BigInt(payloads.reduce((n, p) => n + p.length, 0)));

    const reader = await c.openLedger(ledger.id, { recover: false, password: Buffer.from('pw') });
    const entries = await reader.readEntries(0n, 499n);
    expect(entries.map((e) => e.payload.toString())).to.deep.equal(payloads.map((p) => p.toString()));
    try {
      await reader.readEntries(499n, 500n);
      expect.fail('read past the LAC');
    } catch (err) {
      expect((err as LedgerClientError).code).to.equal('READ_BEYOND_LAC');
    }
  });

  it('refuses a wrong password', async () => {
    const c = await client();
    const ledger = await c.createLedger({ password: Buffer.from('right') });
    await ledger.close();
    try {
      await c.openLedger(ledger.id, { recover: false, password: Buffer.from('wrong') });
      expect.fail('opened with a wrong password');
    } catch (err) {
      expect((err as LedgerClientError).code).to.equal('UNAUTHORIZED');
    }
  });

  it('fences the writer on recovery; the recovered ledger has every acknowledged entry and nothing after', async () => {
    const a = await client();
    const b = await client();
    const writer = await a.createLedger();
    const acked: bigint[] = [];
    await Promise.all(Array.from({ length: 200 }, (_, i) => writer.addEntry(Buffer.from(`a${i}`)).then((id) => acked.push(id))));
    const recovered = await b.openLedger(writer.id, { recover: true });
    expect(recovered.metadata.state).to.equal('CLOSED');
    const last = recovered.metadata.lastEntryId;
    // every entry acknowledged to the fenced writer is inside the recovered ledger
    expect(acked).to.have.length(200);
    expect(acked.every((id) => id <= last)).to.equal(true);
    try {
      await writer.addEntry(Buffer.from('after fencing'));
      expect.fail('a fenced writer got an acknowledgement');
    } catch (err) {
      expect((err as LedgerClientError).code).to.equal('LEDGER_FENCED');
    }
    const entries = await recovered.readEntries(0n, last);
    expect(entries.map((e) => e.payload.toString())).to.deep.equal(Array.from({ length: Number(last) + 1 }, (_, i) => `a${i}`));
  });

  it('recovers an empty ledger, and two concurrent recoveries agree', async () => {
    const a = await client();
    const empty = await a.createLedger();
    const r = await (await client()).openLedger(empty.id, { recover: true });
    expect(r.metadata.state).to.equal('CLOSED');
    expect(r.metadata.lastEntryId).to.equal(-1n);

    const writer = await a.createLedger();
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.addEntry(Buffer.from(`x${i}`))));
    const [r1, r2] = await Promise.all([
      (await client()).openLedger(writer.id, { recover: true }),
      (await client()).openLedger(writer.id, { recover: true }),
    ]);
    expect(r1.metadata.lastEntryId).to.equal(49n);
    expect(r2.metadata.lastEntryId).to.equal(49n);
    expect(r1.metadata.length).to.equal(r2.metadata.length);
  });

  it('long-polls the LAC and returns promptly on a new add', async () => {
    const c = await client();
    const writer = await c.createLedger();
    await writer.addEntry(Buffer.from('first'));
    await writer.addEntry(Buffer.from('second'));
    const reader = await (await client()).openLedger(writer.id, { recover: false });
    expect(await reader.readLastAddConfirmed()).to.equal(0n);
    const start = Date.now();
    const polled = reader.readLastAddConfirmedAndEntry(0n, 10_000);
    setTimeout(() => { void writer.addEntry(Buffer.from('third')); }, 200);
    const { lastAddConfirmed } = await polled;
    expect(lastAddConfirmed).to.equal(1n);
    expect(Date.now() - start).to.be.lessThan(5000);
  });

  it('makes the last entry of a quiet ledger visible with explicit LAC writes, and not without', async () => {
    const c = await client();
    const quiet = await c.createLedger();
    const explicit = await c.createLedger({ explicitLacIntervalMs: 50 });
    for (const ledger of [quiet, explicit]) {
      for (let i = 0; i < 3; i++) await ledger.addEntry(Buffer.from(`e${i}`));
    }
    await new Promise((r) => setTimeout(r, 400));
    const other = await client();
    // envelopes carry the LAC at send time: entry 2 says 1, so only WRITE_LAC reveals entry 2
    expect(await (await other.openLedger(quiet.id, { recover: false })).readLastAddConfirmed()).to.equal(1n);
    expect(await (await other.openLedger(explicit.id, { recover: false })).readLastAddConfirmed()).to.equal(2n);
    await quiet.close();
    await explicit.close();
  });
});
