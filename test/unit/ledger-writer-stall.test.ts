// A bookie that times out when no bookie can replace it (exactly E fake bookies): the writer keeps it,
// sends it the adds again and waits up to stalledBookieWaitMs instead of failing. Scripted in-memory
// bookies; the same behaviour against real bookie processes is in test/faults/stalled-bookie.test.ts.
import { expect } from 'chai';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { FakeBookie, FakeBookieCluster } from '../support/fake-bookies.js';
import { LEDGERS_ROOT, startLedgerDeployment, type LedgerDeployment } from '../support/ledger-backends.js';
import { rejection } from '../support/rejection.js';
import { settleEventLoop, waitFor } from '../support/wait-for.js';
import { ids } from '../support/entry-ids.js';

const REQUEST_TIMEOUT_MS = 100;
const payload = (i: number): Buffer => Buffer.from(`entry-${i}`);

describe('LedgerWriter with a stalled bookie and no spare (fake bookies)', function () {
  this.timeout(10_000);
  let d: LedgerDeployment;
  let fakes: FakeBookieCluster;

  /** The fourth fake's registration: absent, so that exactly three bookies are writable, until a test adds it. */
  let lateRegistration: string;

  beforeEach(async () => {
    d = await startLedgerDeployment('fake', 4);
    fakes = d.fakes as FakeBookieCluster;
    lateRegistration = `${LEDGERS_ROOT}/available/${fakes.bookies[3]!.id}`;
    await d.store.delete(lateRegistration);
  });
  afterEach(async () => { await d.close(); });

  const ensembleOf = (h: LedgerHandle): FakeBookie[] => (h.metadata.ensembles[0]?.[1] ?? []).map((id) => fakes.bookie(id));
  const addsSeen = (b: FakeBookie, ledgerId: bigint): bigint[] =>
    b.seen.filter((r) => r.op === 'ADD_ENTRY' && r.ledgerId === ledgerId).map((r) => r.entryId ?? -1n);

  /** The payloads of the ledger's first `count` entries, as a new client reads them (recovering it first when it is still open). */
  async function readBack(h: LedgerHandle, count: number, recover = false): Promise<string[]> {
    const reader = await (await d.client()).openLedger(h.id, { recover });
    return (await reader.readEntries(0n, BigInt(count - 1))).map((e) => Buffer.from(e.payload).toString());
  }

  it('A2: adds complete with the other two while it stalls; its timed-out adds are sent to it again and it ends with every entry', async () => {
    const client = await d.client({ requestTimeoutMs: REQUEST_TIMEOUT_MS, stalledBookieWaitMs: 5000 });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    const slow = ensembleOf(h)[2]!;
    slow.script = { drop: true }; // applied, never answered: every add to it times out
    expect(await Promise.all(ids(5).map((i) => h.addEntry(payload(Number(i)))))).to.deep.equal(ids(5));
    await waitFor(() => addsSeen(slow, h.id).length === 10, 3000, 'the timed-out adds to be sent again');
    // the resends last the whole wait: answered late (a bookie catching up), they count
    slow.script = { hold: true };
    expect(await Promise.all(ids(5, 5).map((i) => h.addEntry(payload(Number(i)))))).to.deep.equal(ids(5, 5));
    slow.release();
    await h.close();
    expect(h.metadata.ensembles, 'no ensemble change').to.have.length(1);
    expect(slow.entryIds(h.id)).to.deep.equal(ids(10));
    expect(await readBack(h, 10)).to.deep.equal(ids(10).map((i) => `entry-${i}`));
  });

  it('A3: adds wait for it past the request timeout and complete, in order, once it answers', async () => {
    const client = await d.client({ requestTimeoutMs: REQUEST_TIMEOUT_MS, stalledBookieWaitMs: 5000 });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    const slow = ensembleOf(h)[0]!;
    // each answer comes four request timeouts late: the first sends time out, the resends are answered
    slow.script = { delayMs: 4 * REQUEST_TIMEOUT_MS };
    const completed: bigint[] = [];
    const adds = ids(5).map((i) => h.addEntry(payload(Number(i))).then((id) => { completed.push(id); return id; }));
    await waitFor(() => addsSeen(slow, h.id).length === 10, 3000, 'the timed-out adds to be sent again');
    expect(await Promise.all(adds)).to.deep.equal(ids(5));
    expect(completed, 'callbacks in entry order').to.deep.equal(ids(5));
    slow.script = {};
    expect(await h.addEntry(payload(5))).to.equal(5n);
    await h.close();
    expect(h.metadata.ensembles).to.have.length(1);
    expect(await readBack(h, 6)).to.deep.equal(ids(6).map((i) => `entry-${i}`));
  });

  it('a bookie that never answers fails the writer with NOT_ENOUGH_BOOKIES (retriable) once the wait runs out; what was acknowledged stays', async () => {
    const WAIT_MS = 600;
    const client = await d.client({ requestTimeoutMs: REQUEST_TIMEOUT_MS, stalledBookieWaitMs: WAIT_MS });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    expect(await h.addEntry(payload(0))).to.equal(0n);
    const hung = ensembleOf(h)[1]!;
    hung.script = { drop: true };
    const start = Date.now();
    const err = await rejection(h.addEntry(payload(1)), LedgerClientError);
    const took = Date.now() - start;
    expect(err.code).to.equal('NOT_ENOUGH_BOOKIES');
    expect(err.retriable).to.equal(true);
    expect(err.message).to.include(hung.id).and.include(`within ${WAIT_MS} ms`);
    expect(took, 'waited for the bookie first').to.be.at.least(WAIT_MS);
    expect((await rejection(h.addEntry(payload(2)), LedgerClientError)).code, 'the failure is sticky').to.equal('NOT_ENOUGH_BOOKIES');
    expect(h.lastAddConfirmed).to.equal(0n);
    hung.script = {};
    expect(await readBack(h, 1, true)).to.deep.equal(['entry-0']);
  });

  it('a bookie that became writable during the wait replaces the silent one when the wait runs out', async () => {
    const late = fakes.bookies[3]!;
    const client = await d.client({ requestTimeoutMs: REQUEST_TIMEOUT_MS, stalledBookieWaitMs: 1500 });
    expect(client.writableBookies().size).to.equal(3);
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    const ensemble = ensembleOf(h);
    const hung = ensemble[1]!;
    hung.script = { drop: true };
    const add = h.addEntry(payload(0));
    await waitFor(() => addsSeen(hung, h.id).length === 2, 3000, 'the timed-out add to be sent again');
    await d.store.create(lateRegistration, new Uint8Array(0));
    await waitFor(() => client.writableBookies().size === 4, 3000, 'the client to see the fourth bookie');
    expect(await add).to.equal(0n);
    expect(h.metadata.ensembles).to.deep.equal([[0n, ensemble.map((b) => (b === hung ? late.id : b.id))]]);
    expect(late.entryIds(h.id)).to.deep.equal([0n]);
  });

  it('a bookie whose connection is refused is not waited for: NOT_ENOUGH_BOOKIES at once, as without the wait', async () => {
    const client = await d.client({ requestTimeoutMs: REQUEST_TIMEOUT_MS, stalledBookieWaitMs: 60_000 });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
    expect(await h.addEntry(payload(0))).to.equal(0n);
    ensembleOf(h)[0]!.script = { down: true };
    const start = Date.now();
    // the add itself completes with the other two; the writer fails right after
    await h.addEntry(payload(1)).catch(() => undefined);
    const err = await rejection(h.addEntry(payload(2)), LedgerClientError);
    expect(err.code).to.equal('NOT_ENOUGH_BOOKIES');
    expect(Date.now() - start).to.be.below(5000);
  });

  it('stalledBookieWaitMs 0: a timeout with no replacement fails the writer at once', async () => {
    const client = await d.client({ requestTimeoutMs: REQUEST_TIMEOUT_MS, stalledBookieWaitMs: 0 });
    const h = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    ensembleOf(h)[2]!.script = { drop: true };
    expect((await rejection(h.addEntry(payload(0)), LedgerClientError)).code).to.equal('NOT_ENOUGH_BOOKIES');
    await settleEventLoop();
    expect(addsSeen(ensembleOf(h)[2]!, h.id), 'nothing sent again').to.deep.equal([0n]);
  });

  it('refuses a negative stalledBookieWaitMs', async () => {
    const err = await rejection(d.client({ stalledBookieWaitMs: -1 }), Error);
    expect(err.message).to.include('stalledBookieWaitMs');
  });
});
