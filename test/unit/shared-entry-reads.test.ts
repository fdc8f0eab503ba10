import { expect } from 'chai';
import type { Entry } from '../../src/protocol/bk-entry-envelope.js';
import { CACHED_ENTRY_OVERHEAD_BYTES, SharedEntryReads, type LongPollResult } from '../../src/ledger/shared-entry-reads.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { thrown } from '../support/thrown.js';
import { waitFor } from '../support/wait-for.js';

const L = 7n;
/** What one kept 100-byte entry counts for. */
const KEPT = 100 + CACHED_ENTRY_OVERHEAD_BYTES;

function entry(entryId: bigint, size = 100): Entry {
  return { ledgerId: L, entryId, lastAddConfirmed: entryId - 1n, length: 0n, payload: Buffer.alloc(size, Number(entryId % 256n)) };
}

/** A read that resolves when told to, counting how often it was started. */
function deferredReads(): { read: (id: bigint) => () => Promise<Entry>; started: bigint[]; finish: (id: bigint) => void } {
  const started: bigint[] = [];
  const waiting = new Map<bigint, (e: Entry) => void>();
  return {
    started,
    read: (id) => () => {
      started.push(id);
      return new Promise<Entry>((resolve) => { waiting.set(id, resolve); });
    },
    finish: (id) => { waiting.get(id)?.(entry(id)); },
  };
}

describe('SharedEntryReads: one bookie read per entry for all readers of a ledger', () => {
  it('joins reads in flight: 100 readers of one entry start one read and all get its bytes', async () => {
    const shared = new SharedEntryReads();
    const detach = Array.from({ length: 100 }, () => shared.attach(L));
    const reads = deferredReads();
    const all = Array.from({ length: 100 }, () => shared.entry(L, 0n, reads.read(0n)));
    reads.finish(0n);
    const got = await Promise.all(all);
    expect(reads.started).to.deep.equal([0n]);
    for (const e of got) expect(e.payload).to.deep.equal(entry(0n).payload);
    expect([shared.entriesSent, shared.entriesShared]).to.deep.equal([1, 99]);
    // every reader took it while in flight: nothing is kept
    expect(shared.bytes).to.equal(0);
    for (const d of detach) d();
  });

  it('keeps an entry for the readers still behind and drops it once each of them took it', async () => {
    const shared = new SharedEntryReads();
    const detach = [shared.attach(L), shared.attach(L), shared.attach(L)];
    let reads = 0;
    const read = (): Promise<Entry> => { reads++; return Promise.resolve(entry(5n)); };
    expect((await shared.entry(L, 5n, read)).entryId).to.equal(5n);
    expect(shared.bytes, 'kept for the two others').to.equal(KEPT);
    expect((await shared.entry(L, 5n, read)).payload).to.deep.equal(entry(5n).payload);
    expect(shared.bytes).to.equal(KEPT);
    await shared.entry(L, 5n, read);
    expect(shared.bytes, 'every reader passed it').to.equal(0);
    expect(reads).to.equal(1);
    // a fourth read (a reader re-reading) goes to the bookies again
    await shared.entry(L, 5n, read);
    expect(reads).to.equal(2);
    for (const d of detach) d();
  });

  it('never holds more than its byte cap: the oldest go first and a slow reader reads them itself', async () => {
    const shared = new SharedEntryReads(10 * KEPT);
    const fast = shared.attach(L);
    const slow = shared.attach(L);
    let reads = 0;
    const read = (id: bigint) => (): Promise<Entry> => { reads++; return Promise.resolve(entry(id)); };
    // the fast reader reads 50 entries; the slow one none yet
    for (let id = 0n; id < 50n; id++) {
      await shared.entry(L, id, read(id));
      expect(shared.bytes).to.be.at.most(10 * KEPT);
    }
    expect(shared.bytes).to.equal(10 * KEPT);
    expect(reads).to.equal(50);
    // the slow reader: entries 40..49 are still kept, the older ones it reads itself, all in order
    for (let id = 0n; id < 50n; id++) expect((await shared.entry(L, id, read(id))).payload).to.deep.equal(entry(id).payload);
    expect(reads).to.equal(90);
    expect(shared.bytes).to.equal(0);
    fast();
    slow();
  });

  it('drops what it keeps for a ledger when its last reader closes', async () => {
    const shared = new SharedEntryReads();
    const a = shared.attach(L);
    const b = shared.attach(L);
    await shared.entry(L, 1n, () => Promise.resolve(entry(1n)));
    expect(shared.bytes).to.equal(KEPT);
    a();
    a(); // twice counts once
    expect(shared.bytes).to.equal(KEPT);
    b();
    expect(shared.bytes).to.equal(0);
  });

  it('lets a failed read fail its joiners and the next read try again', async () => {
    const shared = new SharedEntryReads();
    const detach = shared.attach(L);
    const failing = (): Promise<Entry> => Promise.reject(new Error('bookies down'));
    const results = await Promise.allSettled([shared.entry(L, 3n, failing), shared.entry(L, 3n, failing)]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect((await shared.entry(L, 3n, () => Promise.resolve(entry(3n)))).entryId).to.equal(3n);
    detach();
  });

  it('joins long polls from the same LAC and caches the entry they piggyback for the readers behind', async () => {
    const shared = new SharedEntryReads();
    const detach = Array.from({ length: 11 }, () => shared.attach(L));
    let polls = 0;
    let answer: (r: LongPollResult) => void = () => undefined;
    const poll = (): Promise<LongPollResult> => { polls++; return new Promise((resolve) => { answer = resolve; }); };
    const waiting = Array.from({ length: 10 }, () => shared.longPoll(L, 9n, 5000, poll));
    answer({ lastAddConfirmed: 10n, entry: entry(10n) });
    for (const r of await Promise.all(waiting)) expect(r.entry?.entryId).to.equal(10n);
    expect(polls).to.equal(1);
    expect([shared.pollsSent, shared.pollsShared]).to.deep.equal([1, 9]);
    // the eleventh reader was not polling: it finds entry 10 kept for it
    expect((await shared.entry(L, 10n, () => Promise.reject(new Error('not from the bookies')))).entryId).to.equal(10n);
    expect(shared.bytes).to.equal(0);
    for (const d of detach) d();
  });

  it('answers a joiner at its own deadline, and polls again for one whose deadline is later', async () => {
    // No wall-clock bounds (a loaded machine stalls timers by hundreds of ms): the polls end when
    // the test answers them or, with no progress, at their own timeout, and the joiners' deadlines
    // are far enough apart that only their order matters.
    const shared = new SharedEntryReads();
    let lac = 4n;
    const polls: number[] = [];
    const answers: ((r: LongPollResult) => void)[] = [];
    const poll = (timeoutMs: number): Promise<LongPollResult> => {
      polls.push(timeoutMs);
      return new Promise((resolve) => {
        // no progress: the poll runs its full wait, unless the test answers it first
        const timer = setTimeout(() => { resolve({ lastAddConfirmed: lac }); }, timeoutMs);
        answers.push((r) => { clearTimeout(timer); resolve(r); });
      });
    };
    let longSettled = false;
    const long = shared.longPoll(L, 4n, 30_000, poll).finally(() => { longSettled = true; });
    const short = await shared.longPoll(L, 4n, 50, poll);
    expect(short.lastAddConfirmed).to.equal(4n);
    expect(longSettled, 'the short joiner returned at its own deadline, the shared poll still running').to.equal(false);
    const late = await shared.longPoll(L, 4n, 100, poll); // joins the first poll, with a timer of its own
    expect(late.lastAddConfirmed).to.equal(4n);
    expect(longSettled).to.equal(false);
    (answers[0] as (r: LongPollResult) => void)({ lastAddConfirmed: 5n, entry: entry(5n) });
    expect((await long).lastAddConfirmed).to.equal(5n);
    expect(polls).to.have.length(1);
    // a poll that ended at its own deadline before a later joiner's: the joiner polls again for the rest
    lac = 8n;
    const first = shared.longPoll(L, 8n, 60, poll);
    await new Promise((resolve) => setImmediate(resolve));
    const second = shared.longPoll(L, 8n, 30_000, poll);
    expect((await first).lastAddConfirmed).to.equal(8n);
    await waitFor(() => polls.length === 3, 10_000, 'the later joiner to poll again');
    expect(polls[2]).to.be.above(0).and.at.most(30_000);
    (answers[2] as (r: LongPollResult) => void)({ lastAddConfirmed: 9n, entry: entry(9n) });
    expect((await second).lastAddConfirmed).to.equal(9n);
    expect(polls).to.have.length(3);
  });

  it('refuses a negative or fractional cap', () => {
    expect(thrown(() => new SharedEntryReads(-1))).to.be.instanceOf(InvalidArgumentError);
    expect(thrown(() => new SharedEntryReads(1.5))).to.be.instanceOf(InvalidArgumentError);
  });
});
