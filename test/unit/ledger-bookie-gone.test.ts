// A bookie gone for good (LedgerClient.failBookie, what the embedded cluster calls when it gives a
// bookie up): its requests in flight fail with the given error at once, it gets no request again,
// placement never picks it although it is still registered, a writer moves off it by ensemble
// change or fails with NOT_ENOUGH_BOOKIES caused by it, and reads go to the other replicas.
// Scripted in-memory bookies; the embedded cluster end to end is in test/faults/embedded-worker.test.ts.
import { expect } from 'chai';
import { DLogError } from '../../src/errors.js';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import type { FakeBookie, FakeBookieCluster } from '../support/fake-bookies.js';
import { LEDGERS_ROOT, eachFakeDeployment, type LedgerDeployment } from '../support/ledger-backends.js';
import { rejection } from '../support/rejection.js';
import { ids } from '../support/entry-ids.js';

const payload = (i: number): Buffer => Buffer.from(`entry-${i}`);
const given = (bookieId: string): DLogError => new DLogError('EMBEDDED_BOOKIE_FAILED', `embedded bookie ${bookieId} died 6 times and is not restarted again`);

describe('a bookie gone for good (LedgerClient.failBookie, fake bookies)', function () {
  this.timeout(10_000);
  let d: LedgerDeployment;
  let fakes: FakeBookieCluster;
  eachFakeDeployment(4, (deployment, cluster) => { d = deployment; fakes = cluster; });

  const ensembleOf = (h: LedgerHandle): FakeBookie[] => (h.metadata.ensembles[0]?.[1] ?? []).map((id) => fakes.bookie(id));
  const requestsTo = (b: FakeBookie): number => b.seen.length;
  /** Recovers the ledger first when it is still open (its writer failed). */
  const readBack = async (client: LedgerClient, h: LedgerHandle, count: number, recover = false): Promise<string[]> =>
    (await (await client.openLedger(h.id, { recover })).readEntries(0n, BigInt(count - 1))).map((e) => Buffer.from(e.payload).toString());

  it('with a spare: the adds held by it fail at once, the writer moves to the spare, every entry is acknowledged in order and read back', async () => {
    const client = await d.client({ requestTimeoutMs: 60_000 });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    const gone = ensembleOf(h)[1]!;
    const spare = fakes.bookies.find((b) => !ensembleOf(h).includes(b))!;
    gone.script = { hold: true }; // applied, answered never: only the failure can end these adds
    const adds = ids(5).map((i) => h.addEntry(payload(Number(i))));
    const seen = requestsTo(gone);
    const err = given(gone.id);
    const started = Date.now();
    client.failBookie(gone.id, err);
    expect(await Promise.all(adds)).to.deep.equal(ids(5));
    expect(Date.now() - started, 'no request timeout waited for').to.be.lessThan(5000);
    expect(await h.addEntry(payload(5))).to.equal(5n);
    expect(requestsTo(gone), 'no request sent to it after the failure').to.equal(seen);
    expect(h.metadata.ensembles.at(-1)?.[1]).to.include(spare.id).and.not.include(gone.id);
    await h.close();
    expect(await readBack(client, h, 6)).to.deep.equal(ids(6).map((i) => `entry-${i}`));
  });

  it('is never placed although still registered; with no spare the writer fails with NOT_ENOUGH_BOOKIES whose cause is the failure, naming it', async () => {
    const client = await d.client({ requestTimeoutMs: 60_000 });
    const gone = fakes.bookies[0]!;
    const err = given(gone.id);
    client.failBookie(gone.id, err);
    expect(await d.store.exists(`${LEDGERS_ROOT}/available/${gone.id}`), 'still registered').to.not.equal(null);
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    expect(h.metadata.ensembles[0]?.[1]).to.not.include(gone.id);
    expect(await Promise.all(ids(3).map((i) => h.addEntry(payload(Number(i)))))).to.deep.equal(ids(3));
    // the three others are the ensemble: losing one of them leaves no bookie to move to
    const lost = ensembleOf(h)[2]!;
    lost.script = { down: true };
    const failure = await rejection(h.addEntry(payload(3)), LedgerClientError);
    expect(failure.code).to.equal('NOT_ENOUGH_BOOKIES');
    expect(failure.cause).to.equal(err);
    expect(failure.message).to.contain(gone.id).and.contain('gone for good').and.contain(err.message);
    const creating = await rejection(client.createLedger({ ensembleSize: 4, writeQuorumSize: 3, ackQuorumSize: 2 }), LedgerClientError);
    expect(creating.code).to.equal('NOT_ENOUGH_BOOKIES');
    expect(creating.cause).to.equal(err);
    lost.script = {};
    expect(await readBack(await d.client(), h, 3, true)).to.deep.equal(ids(3).map((i) => `entry-${i}`));
  });

  it('reads go to the other replicas; an entry with no replica left fails with BOOKIE_ERROR caused by the failure', async () => {
    const writer = await d.client();
    const h = await writer.createLedger({ ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 2 });
    await Promise.all(ids(10).map((i) => h.addEntry(payload(Number(i)))));
    await h.close();
    const [first, second] = ensembleOf(h);
    const reader = await d.client();
    const err = given(first!.id);
    reader.failBookie(first!.id, err);
    const seen = requestsTo(first!);
    expect(await readBack(reader, h, 10)).to.deep.equal(ids(10).map((i) => `entry-${i}`));
    expect(requestsTo(first!), 'not asked').to.equal(seen);
    reader.failBookie(second!.id, given(second!.id));
    const failure = await rejection(readBack(reader, h, 10), LedgerClientError);
    expect(failure.code).to.equal('BOOKIE_ERROR');
    expect(failure.cause).to.be.instanceOf(DLogError);
    expect((failure.cause as DLogError).code).to.equal('EMBEDDED_BOOKIE_FAILED');
    expect(failure.retriable).to.equal(false);
  });
});
