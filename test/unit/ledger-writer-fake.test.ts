// The ledger writer's trickiest paths on scripted in-memory bookies (no processes, no ZooKeeper):
// completion strictly in entry order whatever order the acks come in, an ensemble change during
// which a replaced bookie's late ack must not count, and a bookie whose responses are lost.
import { expect } from 'chai';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { FakeBookie, FakeBookieCluster } from '../support/fake-bookies.js';
import { eachFakeDeployment, type LedgerDeployment } from '../support/ledger-backends.js';
import { rejection } from '../support/rejection.js';
import { settleEventLoop, waitFor } from '../support/wait-for.js';
import { ids } from '../support/entry-ids.js';

const payload = (i: number): Buffer => Buffer.from(`entry-${i}`);

/** Adds entries, recording the order the callers see them complete in. */
function addAll(h: LedgerHandle, count: number, completed: bigint[]): Array<Promise<bigint>> {
  return Array.from({ length: count }, (_, i) => h.addEntry(payload(i)).then((id) => {
    completed.push(id);
    return id;
  }));
}

describe('LedgerWriter on fake bookies', function () {
  this.timeout(5000);
  let d: LedgerDeployment;
  let fakes: FakeBookieCluster;
  eachFakeDeployment(4, (deployment, cluster) => { d = deployment; fakes = cluster; });

  /** The ensemble of a new ledger, and the fourth bookie (the only possible replacement). */
  function roles(h: LedgerHandle): { ensemble: FakeBookie[]; spare: FakeBookie } {
    const ensemble = (h.metadata.ensembles[0]?.[1] ?? []).map((id) => fakes.bookie(id));
    const spare = fakes.bookies.find((b) => !ensemble.includes(b));
    if (spare === undefined) throw new Error('no spare bookie');
    return { ensemble, spare };
  }

  it('completes adds and moves the LAC strictly in entry order under reordered acks', async () => {
    const client = await d.client();
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    const [a, b, c] = roles(h).ensemble as [FakeBookie, FakeBookie, FakeBookie];
    for (const bookie of [a, b, c]) bookie.script = { hold: true };
    const completed: bigint[] = [];
    const adds = addAll(h, 10, completed);
    await waitFor(() => a.heldCount === 10 && b.heldCount === 10 && c.heldCount === 10, 2000, 'every add to reach every bookie');

    a.release([...ids(10)].reverse()); // one ack each: nothing reaches the ack quorum
    b.release(ids(9, 1).reverse()); // entries 9..1 have a quorum, entry 0 does not
    await settleEventLoop();
    expect(completed, 'nothing completes before entry 0 does').to.deep.equal([]);
    expect(h.lastAddConfirmed).to.equal(-1n);

    c.release([5n]); // entry 0 still missing its second ack
    await settleEventLoop();
    expect(completed).to.deep.equal([]);

    b.release([0n]);
    expect(await Promise.all(adds)).to.deep.equal(ids(10));
    expect(completed, 'callbacks in entry order').to.deep.equal(ids(10));
    expect(h.lastAddConfirmed).to.equal(9n);
    c.release();
    await h.close();
    expect((await client.readLedgerMetadata(h.id)).lastEntryId).to.equal(9n);
  });

  it('ensemble change: the replaced bookie\'s late ack counts for nothing, the replacement\'s does', async () => {
    const client = await d.client();
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    const { ensemble: [x, y, z], spare } = roles(h) as { ensemble: [FakeBookie, FakeBookie, FakeBookie]; spare: FakeBookie };
    z.script = { hold: true };
    spare.script = { hold: true };
    const completed: bigint[] = [];
    const first = addAll(h, 1, completed);
    await waitFor(() => z.heldCount === 1, 2000, 'entry 0 to reach z');
    z.script = { refuseWith: 'EIO' };
    const second = h.addEntry(payload(1)).then((id) => { completed.push(id); return id; });
    await waitFor(() => h.metadata.ensembles[0]?.[1].includes(spare.id) === true, 2000, 'the ensemble change');
    // nothing was acknowledged: the new ensemble serves from entry 0 and replaces the first one
    expect(h.metadata.ensembles).to.deep.equal([[0n, [x.id, y.id, spare.id]]]);
    // stored metadata says the same as the handle
    expect((await client.readLedgerMetadata(h.id)).ensembles).to.deep.equal(h.metadata.ensembles);

    z.release(); // z's EOK for entry 0, after z was replaced at its index
    await settleEventLoop();
    expect(completed, 'a replaced bookie\'s ack must not complete an add').to.deep.equal([]);
    expect(h.lastAddConfirmed).to.equal(-1n);

    await waitFor(() => spare.heldCount === 2, 2000, 'the resends of entries 0 and 1 to the replacement');
    spare.release();
    expect(await Promise.all([...first, second])).to.deep.equal([0n, 1n]);
    expect(completed).to.deep.equal([0n, 1n]);
    expect(spare.entryIds(h.id)).to.deep.equal([0n, 1n]);
    await h.close();
    const reader = await d.client();
    const entries = await (await reader.openLedger(h.id, { recover: false })).readEntries(0n, 1n);
    expect(entries.map((e) => Buffer.from(e.payload).toString())).to.deep.equal(['entry-0', 'entry-1']);
  });

  it('a bookie whose responses are dropped is replaced after the request timeout; acked entries stay where they were', async () => {
    const client = await d.client({ requestTimeoutMs: 150 });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    const { ensemble: [x, y, z], spare } = roles(h) as { ensemble: [FakeBookie, FakeBookie, FakeBookie]; spare: FakeBookie };
    z.script = { drop: true };
    const completed: bigint[] = [];
    expect(await Promise.all(addAll(h, 3, completed))).to.deep.equal(ids(3));
    await waitFor(() => h.metadata.ensembles.length === 2, 3000, 'the ensemble change after the timeouts');
    expect(h.metadata.ensembles).to.deep.equal([[0n, [x.id, y.id, z.id]], [3n, [x.id, y.id, spare.id]]]);
    expect(spare.entryIds(h.id), 'acknowledged entries are not resent').to.deep.equal([]);
    expect(await h.addEntry(payload(3))).to.equal(3n);
    expect(spare.entryIds(h.id)).to.deep.equal([3n]);
    expect(z.seen.filter((r) => r.op === 'ADD_ENTRY').map((r) => r.entryId)).to.deep.equal(ids(3));
  });

  it('a fencing answer fails every pending add, and later ones, with LEDGER_FENCED', async () => {
    const client = await d.client();
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    const [a, b, c] = roles(h).ensemble as [FakeBookie, FakeBookie, FakeBookie];
    expect(await h.addEntry(payload(0))).to.equal(0n);
    for (const bookie of [a, b]) bookie.script = { hold: true };
    c.script = { refuseWith: 'EFENCED' };
    const pending = [h.addEntry(payload(1)), h.addEntry(payload(2))];
    for (const p of pending) expect((await rejection(p, LedgerClientError)).code).to.equal('LEDGER_FENCED');
    expect((await rejection(h.addEntry(payload(3)), LedgerClientError)).code).to.equal('LEDGER_FENCED');
    expect(h.lastAddConfirmed).to.equal(0n);
    a.release();
    b.release();
    await settleEventLoop();
    expect(h.lastAddConfirmed, 'acks after the failure do not move the LAC').to.equal(0n);
  });
});
