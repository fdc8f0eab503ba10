// A bookie that stalls (SIGSTOP: a starved event loop or a GC pause look the same; its socket stays
// open) when exactly E bookies are writable, so no bookie can replace it. The writer waits for it
// (stalledBookieWaitMs) instead of failing: with A2 writes go on meanwhile, with A3 they complete
// once it resumes; nothing acknowledged is lost. A bookie that never answers, or whose process is
// gone, still fails the writer with NOT_ENOUGH_BOOKIES; with a spare bookie the stalled one is
// replaced as before. Real ZooKeeper and `dlog bookie` processes.
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { LedgerClient, type LedgerClientOptions } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import type { Namespace } from '../../src/log/namespace.js';
import type { Logger } from '../../src/util/logger.js';
import { startBookieProcessCluster, type BookieProcessCluster } from '../support/bookie-process-cluster.js';
import { payloadFor } from '../support/bookie-test-utils.js';
import { History } from '../support/history.js';
import { readAllBack, writeLoop } from '../support/log-history.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';
import { rejection } from '../support/rejection.js';
import { waitFor } from '../support/wait-for.js';

const PASSWORD = Buffer.from('stalled-bookie');
const STALLED = 'bookie not answering adds and no other bookie can replace it: waiting for it';
const NO_LONGER = 'no longer waiting for a stalled bookie';

/** A logger that counts each message it was given. */
function countingLogger(): Logger & { count(msg: string): number } {
  const counts = new Map<string, number>();
  const note = (objOrMsg: object | string, msg?: string): void => {
    const text = typeof objOrMsg === 'string' ? objOrMsg : msg ?? '';
    counts.set(text, (counts.get(text) ?? 0) + 1);
  };
  return { debug: note, info: note, warn: note, error: note, count: (msg) => counts.get(msg) ?? 0 };
}

describe('a stalled bookie with no spare: the ledger writer waits (zk, bookie processes)', function () {
  this.timeout(120_000);
  let cluster: BookieProcessCluster;

  /** A client once it sees every bookie writable. */
  const client = async (options: Partial<LedgerClientOptions> = {}): Promise<LedgerClient> => {
    const c = await cluster.client({ requestTimeoutMs: 500, ...options });
    await cluster.waitForWritable(c);
    return c;
  };

  /** One add; entries are numbered in call order, so its payload is payloadFor(ledger, its entry id). */
  const add = (h: LedgerHandle, next: { id: bigint }): Promise<bigint> => h.addEntry(payloadFor(h.id, next.id++));
  /** `width` lanes adding one entry at a time each until `until()`; each ack is pushed to `acked`. */
  const lanes = async (h: LedgerHandle, next: { id: bigint }, width: number, until: () => boolean, acked: bigint[]): Promise<void> => {
    await Promise.all(Array.from({ length: width }, async () => {
      while (!until()) acked.push(await add(h, next));
    }));
  };

  /** A ledger (E3 W3, PASSWORD) of a new client with 200 entries acknowledged; `next` numbers the adds that follow. */
  const withEntries = async (ackQuorumSize: number, options: Partial<LedgerClientOptions>): Promise<{ h: LedgerHandle; next: { id: bigint }; acked: bigint[] }> => {
    const c = await client(options);
    const h = await c.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize, password: PASSWORD });
    const next = { id: 0n };
    const acked: bigint[] = [];
    await lanes(h, next, 20, () => acked.length >= 200, acked);
    return { h, next, acked };
  };

  /** Every entry 0..last reads back (through a new client) with the payload written for it. */
  const expectReadBack = async (id: bigint, last: bigint, recover = false): Promise<void> => {
    const reader = await (await client()).openLedger(id, { recover, password: PASSWORD });
    expect(reader.metadata.lastEntryId >= last, `recovered to ${reader.metadata.lastEntryId}, acknowledged ${last}`).to.equal(true);
    for (let from = 0n; from <= last; from += 500n) {
      const to = from + 499n < last ? from + 499n : last;
      const entries = await reader.readEntries(from, to);
      expect(entries.map((e) => e.entryId)).to.deep.equal(Array.from({ length: Number(to - from + 1n) }, (_, i) => from + BigInt(i)));
      for (const e of entries) if (!e.payload.equals(payloadFor(id, e.entryId))) expect.fail(`entry ${e.entryId} read back different bytes`);
    }
  };

  before(async function (this: Context) {
    cluster = await startBookieProcessCluster(this, 'stalled-bookie', { bookies: 3 });
  });
  afterEach(async () => { await cluster.heal(); });
  after(async () => { await cluster.close(); });

  it('E3 W3 A2: writes go on with two while the third stalls past the request timeout; it ends up with every entry', async () => {
    const logger = countingLogger();
    const { h, next, acked } = await withEntries(2, { stalledBookieWaitMs: 30_000, logger });
    const slow = cluster.byId(h.metadata.ensembles[0]![1][2]!);
    slow.pause();
    let atStall = -1;
    await lanes(h, next, 20, () => {
      if (atStall < 0 && logger.count(STALLED) > 0) atStall = acked.length;
      return atStall >= 0 && acked.length >= atStall + 300;
    }, acked);
    slow.resume();
    await waitFor(() => logger.count(NO_LONGER) > 0, 30_000, 'the stalled bookie to answer again');
    await lanes(h, next, 20, () => acked.length >= atStall + 600, acked);
    await h.close();
    expect(acked, 'acknowledged in entry order').to.deep.equal(Array.from({ length: acked.length }, (_, i) => BigInt(i)));
    expect(h.metadata.ensembles, 'no ensemble change').to.have.length(1);
    await expectReadBack(h.id, BigInt(acked.length - 1));
    // all three copies: the stalled bookie was sent every entry again and stored it
    const direct = new BookieClient(slow.address);
    try {
      for (let e = 0n; e < BigInt(acked.length); e++) {
        const r = await direct.send({ op: 'READ_ENTRY', ledgerId: h.id, entryId: e });
        expect(r.status, `entry ${e} on the stalled bookie`).to.equal('EOK');
      }
    } finally {
      direct.close();
    }
  });

  it('E3 W3 A3: adds wait while it stalls and all complete, in order, once it resumes', async () => {
    const logger = countingLogger();
    const { h, next } = await withEntries(3, { stalledBookieWaitMs: 30_000, logger });
    const slow = cluster.byId(h.metadata.ensembles[0]![1][0]!);
    slow.pause();
    const completed: bigint[] = [];
    const failed: unknown[] = [];
    const expected = Array.from({ length: 100 }, (_, i) => next.id + BigInt(i));
    const during = expected.map(() => add(h, next).then((id) => { completed.push(id); return id; }, (err: unknown) => { failed.push(err); throw err; }));
    await waitFor(() => logger.count(STALLED) > 0 || failed.length > 0, 30_000, 'the writer to wait for the stalled bookie');
    expect(failed.map(String), 'no add failed').to.deep.equal([]);
    expect(completed, 'no add completes without the third ack').to.deep.equal([]);
    slow.resume();
    expect(await Promise.all(during)).to.deep.equal(expected);
    expect(completed, 'completed in entry order').to.deep.equal(expected);
    await h.close();
    expect(h.metadata.ensembles).to.have.length(1);
    await expectReadBack(h.id, next.id - 1n);
  });

  it('a bookie that stays stalled fails the writer with NOT_ENOUGH_BOOKIES (retriable) once the wait runs out; what was acknowledged reads back', async () => {
    const WAIT_MS = 2000;
    const REQUEST_MS = 500;
    const { h, next, acked } = await withEntries(2, { requestTimeoutMs: REQUEST_MS, stalledBookieWaitMs: WAIT_MS });
    const hung = cluster.byId(h.metadata.ensembles[0]![1][1]!);
    hung.pause();
    const start = Date.now();
    const failure = await rejection(lanes(h, next, 20, () => false, acked), LedgerClientError);
    const took = Date.now() - start;
    process.stdout.write(`      failed ${took} ms after SIGSTOP (requestTimeoutMs ${REQUEST_MS}, stalledBookieWaitMs ${WAIT_MS})\n`);
    expect(failure.code).to.equal('NOT_ENOUGH_BOOKIES');
    expect(failure.retriable).to.equal(true);
    expect(failure.message).to.include(hung.bookieId);
    // the stated bound: the wait, counted from the first timeout (a request timeout after the pause)
    expect(took, 'waited for the bookie before failing').to.be.at.least(WAIT_MS);
    expect(took, 'failed within requestTimeoutMs + stalledBookieWaitMs (+ slack for a loaded machine)').to.be.below(REQUEST_MS + WAIT_MS + 3000);
    hung.resume();
    await expectReadBack(h.id, BigInt(acked.length - 1), true);
  });

  it('a bookie whose process is gone (killed, port closed) fails the writer at once, not after the wait', async () => {
    const { h, next, acked } = await withEntries(2, { stalledBookieWaitMs: 60_000 });
    const start = Date.now();
    await cluster.byId(h.metadata.ensembles[0]![1][0]!).kill('SIGKILL');
    const failure = await rejection(lanes(h, next, 20, () => false, acked), LedgerClientError);
    expect(failure.code).to.equal('NOT_ENOUGH_BOOKIES');
    expect(failure.retriable).to.equal(true);
    const took = Date.now() - start;
    process.stdout.write(`      failed ${took} ms after SIGKILL\n`);
    expect(took, 'well before the 60 s wait').to.be.below(15_000);
    await cluster.heal();
    await expectReadBack(h.id, BigInt(acked.length - 1), true);
  });

  it('with a spare bookie, a stalled one is replaced after the request timeout (an ensemble change, no wait)', async () => {
    const added = await cluster.addBookie();
    try {
      const logger = countingLogger();
      const { h, next, acked } = await withEntries(2, { stalledBookieWaitMs: 60_000, logger });
      const first = h.metadata.ensembles[0]![1];
      const spare = cluster.bookies.find((b) => !first.includes(b.bookieId))!;
      cluster.byId(first[1]!).pause();
      await lanes(h, next, 20, () => h.metadata.ensembles.length > 1 && acked.length >= 600, acked);
      expect(h.metadata.ensembles.at(-1)![1]).to.deep.equal([first[0], spare.bookieId, first[2]]);
      expect(logger.count(STALLED), 'a replacement existed: nothing waited for').to.equal(0);
      cluster.byId(first[1]!).resume();
      await h.close();
      await expectReadBack(h.id, BigInt(acked.length - 1));
    } finally {
      await cluster.removeBookie(added);
    }
  });
});

describe('a stalled bookie with no spare under a log writer (zk, 3 bookie processes, default timeouts)', function () {
  this.timeout(180_000);
  let deployment: LogDeployment;

  before(async function (this: Context) {
    deployment = await startLogDeployment(this, 'zk', 'stalled-log', { bookies: 3 });
  });
  afterEach(() => { for (const b of deployment.bookies) b.resume(); });
  after(async () => { await deployment.close(); });

  for (const ackQuorumSize of [2, 3]) {
    it(`E3 W3 A${ackQuorumSize}: a bookie paused longer than the 5 s request timeout fails no write; every acknowledged record reads back once, in order`, async () => {
      const logger = countingLogger();
      const ns: Namespace = await deployment.open({ logger, config: { ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize } });
      const log = await ns.openLog(`stalled-a${ackQuorumSize}`, { create: true });
      const writer = await log.openWriter();
      const history = new History();
      const state = { stop: false };
      const writing = writeLoop(writer, 'w', history, { next: 1n }, () => state.stop);
      const ended: { err?: unknown } = {};
      void writing.then((err) => { ended.err = err ?? 'stopped'; });
      await waitFor(() => history.ackedCount >= 200, 30_000, '200 acks');
      const paused = deployment.bookies[ackQuorumSize - 2]!;
      const atPause = history.ackedCount;
      const pausedAt = Date.now();
      paused.pause();
      await waitFor(() => logger.count(STALLED) > 0 || ended.err !== undefined, 30_000, 'the writer to wait for the paused bookie');
      expect(String(ended.err), 'the writer failed while the bookie was paused').to.equal('undefined');
      const atStall = history.ackedCount;
      // with A2 the other two acknowledge meanwhile; with A3 the write in flight waits
      if (ackQuorumSize === 2) await waitFor(() => history.ackedCount >= atStall + 100, 30_000, '100 acks while it is paused');
      const atResume = history.ackedCount;
      const resumedAt = Date.now();
      paused.resume();
      const firstAckAfter = await waitFor(() => history.ackedCount > atResume, 30_000, 'an ack after it resumed');
      await waitFor(() => logger.count(NO_LONGER) > 0, 30_000, 'the paused bookie to answer again');
      await waitFor(() => history.ackedCount >= atResume + 200, 30_000, '200 acks after it resumed');
      process.stdout.write(`      paused ${resumedAt - pausedAt} ms: ${atResume - atPause} records acknowledged meanwhile; `
        + `first ack ${firstAckAfter} ms after SIGCONT\n`);
      state.stop = true;
      expect(await writing, 'the writer never failed').to.equal(undefined);
      await writer.close();

      const report = await readAllBack(log, history);
      expect(report.violations).to.deep.equal([]);
      expect(report.read).to.equal(history.ackedCount);
    });
  }
});
