// LogWriter and LogReader behaviour on fake bookies and the local metadata store: roll failure
// cleanup, back-pressure timeouts, lock loss mid-write and reading across rolls, in seconds and
// without ZooKeeper, Java or processes.
import { expect } from 'chai';
import { DLogError } from '../../src/errors.js';
import type { DLSN } from '../../src/log/format/dlsn.js';
import { LOG_RECORD_HEADER_SIZE, MAX_LOGRECORDSET_SIZE } from '../../src/log/format/log-record.js';
import { LogError } from '../../src/log/log-error.js';
import type { LogReader, LogRecordWithDLSN } from '../../src/log/reader/log-reader.js';
import { memberPrefix } from '../../src/log/metadata/lock-member-name.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import type { FakeBookieCluster } from '../support/fake-bookies.js';
import { openFakeLog } from '../support/fake-log.js';
import { eachFakeDeployment, type LedgerDeployment } from '../support/ledger-backends.js';
import { rejection } from '../support/rejection.js';
import { waitFor } from '../support/wait-for.js';

const record = (txid: number, size = 100): { txid: bigint; payload: Buffer } => ({ txid: BigInt(txid), payload: Buffer.alloc(size, txid % 251) });

/** The next `n` records, waiting for each. */
async function readN(reader: LogReader, n: number): Promise<LogRecordWithDLSN[]> {
  const out: LogRecordWithDLSN[] = [];
  while (out.length < n) out.push(await reader.readNext());
  return out;
}

/** Records the ids of the ledgers a client creates. */
function trackCreated(ledgers: LedgerClient): bigint[] {
  const created: bigint[] = [];
  const create = ledgers.createLedger.bind(ledgers);
  ledgers.createLedger = async (options) => {
    const handle = await create(options);
    created.push(handle.id);
    return handle;
  };
  return created;
}

describe('LogWriter and LogReader on fake bookies', function () {
  this.timeout(10_000);
  let d: LedgerDeployment;
  let fakes: FakeBookieCluster;
  eachFakeDeployment(3, (deployment, cluster) => { d = deployment; fakes = cluster; });

  it('a roll whose completion fails deletes the new ledger and fails the writer cleanly', async () => {
    const { log, metadata, ledgers } = await openFakeLog(d, { maxSegmentBytes: 1000 });
    const created = trackCreated(ledgers);
    const writer = await log.openWriter();
    // 9 records of 120 bytes: the next write rolls
    for (let i = 0; i < 9; i++) await writer.asyncWrite(record(i));
    expect(created).to.have.length(1);
    // someone else moves maxtxid: the completion's versioned multi must fail
    const { maxTxId } = metadata.paths(log.name);
    await d.store.set(maxTxId, (await d.store.get(maxTxId)).data);
    const rolled = writer.asyncWrite(record(9));
    const err = await rejection(rolled, DLogError);
    expect(err.code, err.message).to.equal('METADATA_CONFLICT');
    expect(created, 'the roll created a second ledger').to.have.length(2);
    const second = created[1] as bigint;
    await waitFor(async () => (await ledgers.readLedgerMetadata(second).then(() => false, (e: unknown) => e instanceof LedgerClientError && e.code === 'NO_SUCH_LEDGER')), 2000, 'the unused ledger to be deleted');
    // sticky: the same error for later writes; nothing references the deleted ledger
    expect(await rejection(writer.asyncWrite(record(10)), DLogError)).to.equal(err);
    const segments = await log.getLogSegments();
    expect(segments.map((s) => s.logSegmentId)).to.deep.equal([created[0]]);
    await writer.abort();
  });

  it('back-pressure: exactly the writes waiting for room fail with WRITE_LIMIT_EXCEEDED; bytes in flight stay under the limit', async () => {
    const { log } = await openFakeLog(d, { maxPendingBytes: MAX_LOGRECORDSET_SIZE, pendingTimeoutMs: 100, flushIntervalMs: 0 });
    const writer = await log.openWriter();
    await writer.asyncWrite(record(0, 10)); // segment started: later writes go straight to it
    for (const b of fakes.bookies) b.script = { hold: true };
    const size = 100_000;
    const fits = Math.floor(MAX_LOGRECORDSET_SIZE / (size + LOG_RECORD_HEADER_SIZE));
    const settled: Array<{ i: number; dlsn?: DLSN; err?: unknown }> = [];
    const writes = Array.from({ length: fits + 5 }, (_, i) => writer.asyncWrite(record(i + 1, size)).then(
      (dlsn) => { settled.push({ i, dlsn }); },
      (err: unknown) => { settled.push({ i, err }); },
    ));
    await waitFor(() => settled.length === 5, 2000, 'the waiting writes to time out');
    expect(settled.map((s) => s.i), 'the writes beyond the limit, and only those').to.deep.equal([fits, fits + 1, fits + 2, fits + 3, fits + 4]);
    for (const s of settled) expect((s.err as LogError).code).to.equal('WRITE_LIMIT_EXCEEDED');
    const bookie = fakes.bookies[0];
    const inFlight = (bookie?.seen ?? []).filter((r) => r.op === 'ADD_ENTRY' && r.entryId !== 0n).reduce((n, r) => n + (r.bytes ?? 0), 0);
    // all but the newest admitted record went out (that one waits for an ack, being buffered)
    expect(inFlight, 'bytes sent but unacknowledged').to.be.within((fits - 1) * size, MAX_LOGRECORDSET_SIZE);
    for (const b of fakes.bookies) { b.script = {}; b.release(); }
    await Promise.all(writes);
    const acked = settled.filter((s) => s.dlsn !== undefined).map((s) => s.dlsn as DLSN);
    expect(acked).to.have.length(fits);
    for (let i = 1; i < acked.length; i++) expect((acked[i] as DLSN).compare(acked[i - 1] as DLSN)).to.be.greaterThan(0);
    // the writer is still usable
    await writer.asyncWrite(record(fits + 10));
    await writer.close();
    const reader = await log.openReader();
    const txids = (await readN(reader, fits + 2)).map((r) => r.txid);
    await reader.close();
    expect(txids).to.deep.equal([0n, ...Array.from({ length: fits }, (_, i) => BigInt(i + 1)), BigInt(fits + 10)]);
  });

  it('lock lost mid-write: pending and later writes fail with LOCK_LOST', async () => {
    const session = await d.session();
    const { log, metadata } = await openFakeLog(d, {}, session);
    const writer = await log.openWriter();
    await writer.asyncWrite(record(0));
    for (const b of fakes.bookies) b.script = { hold: true };
    const pending = [writer.asyncWrite(record(1)), writer.asyncWrite(record(2))];
    // another writer queues behind ours; when our session expires it is first in line
    await d.store.create(`${metadata.paths(log.name).lock}/${memberPrefix('other-writer', d.store.sessionId)}`, Buffer.from('other-writer'), { mode: 'ephemeral_sequential' });
    await session.expireSession();
    for (const p of pending) expect((await rejection(p, LogError)).code).to.equal('LOCK_LOST');
    expect((await rejection(writer.asyncWrite(record(3)), LogError)).code).to.equal('LOCK_LOST');
    for (const b of fakes.bookies) { b.script = {}; b.release(); }
    await writer.abort();
  });

  it('a reader reads across rolls, and a tailing reader follows them as they happen', async () => {
    const { log } = await openFakeLog(d, { maxSegmentBytes: 1000, relistIntervalMs: 200, longPollTimeoutMs: 200 });
    const tail = await log.openReader();
    const writer = await log.openWriter();
    const written: DLSN[] = [];
    const tailed: LogRecordWithDLSN[] = [];
    // each record read by the tailing reader before the next is written
    for (let i = 0; i < 55; i++) {
      written.push(await writer.asyncWrite(record(i)));
      tailed.push(...await readN(tail, 1));
    }
    await writer.close();
    const segments = await log.getLogSegments();
    expect(segments.length, 'segments rolled').to.be.at.least(5);
    const reader = await log.openReader();
    const all = await readN(reader, 55);
    for (const got of [all, tailed]) {
      expect(got.map((r) => r.txid)).to.deep.equal(Array.from({ length: 55 }, (_, i) => BigInt(i)));
      expect(got.map((r) => r.dlsn.toString())).to.deep.equal(written.map((x) => x.toString()));
      got.forEach((r, i) => { expect(Buffer.from(r.payload).equals(record(i).payload)).to.equal(true); });
    }
    expect(new Set(all.map((r) => r.dlsn.logSegmentSequenceNo)).size).to.equal(segments.length);
    await reader.close();
    await tail.close();
  });
});
