// LogSegmentWriter against real (in-process) bookies and a real ZooKeeper.
import { expect } from 'chai';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { CompressionCodec } from '../../src/log/format/compression.js';
import type { DLSN } from '../../src/log/format/dlsn.js';
import { decodeEnvelopedEntry } from '../../src/log/format/dl-entry-envelope.js';
import { LogError } from '../../src/log/log-error.js';
import { isControl, isEndOfStream, MAX_LOGRECORD_SIZE, MAX_TXID, userRecord } from '../../src/log/format/log-record.js';
import { LogSegmentWriter, type LogSegmentWriterOptions } from '../../src/log/writer/segment-writer.js';
import { type EntryRecord, readEntryRecords } from '../../src/log/format/entry-records.js';
import { rejection } from '../support/rejection.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { appendRecord } from '../support/segment-append.js';

interface ReadRecord extends EntryRecord { readonly entryId: bigint }

describe('LogSegmentWriter with real bookies', function () {
  this.timeout(60_000);
  let readerClient: LedgerClient | undefined;
  let writerClient: LedgerClient | undefined;

  let cluster: BookieCluster;
  const client = (): Promise<LedgerClient> => cluster.client();

  /** Every record of a closed (or readable up to its LAC) ledger, with its entry id. */
  const readAll = async (ledgerId: bigint): Promise<ReadRecord[]> => {
    readerClient ??= await client();
    const reader = await readerClient.openLedger(ledgerId, { recover: false });
    return readUpTo(reader, reader.metadata.lastEntryId);
  };
  const readUpTo = async (reader: LedgerHandle, last: bigint): Promise<ReadRecord[]> => {
    if (last < 0n) return [];
    const entries = await reader.readEntries(0n, last);
    return entries.flatMap((e) => [...readEntryRecords(decodeEnvelopedEntry(e.payload))].map((r) => ({ ...r, entryId: e.entryId })));
  };

  const newWriter = async (opts: LogSegmentWriterOptions = {}): Promise<{ ledger: LedgerHandle; writer: LogSegmentWriter }> => {
    writerClient ??= await client();
    const ledger = await writerClient.createLedger();
    return { ledger, writer: new LogSegmentWriter(ledger, 7n, opts) };
  };

  const payload = (i: number): Buffer => Buffer.from(`record-${i}-`.repeat(1 + (i % 5)));

  before(async function () {
    cluster = await startBookieCluster(this, 'segwriter');
  });

  after(async () => { await cluster.close(); });

  const checkRoundTrip = async (compression: CompressionCodec, n: number): Promise<void> => {
    const { ledger, writer } = await newWriter({ compression });
    const dlsns = await Promise.all(Array.from({ length: n }, (_, i) => appendRecord(writer, userRecord(BigInt(1000 + i), payload(i)))));
    // consecutive DLSNs in order: same entry -> slot + 1, new entry -> slot 0 of a later entry
    for (let i = 0; i < n; i++) {
      const d = dlsns[i] as DLSN;
      expect(d.logSegmentSequenceNo).to.equal(7n);
      if (i === 0) { expect([d.entryId, d.slotId]).to.deep.equal([0n, 0n]); continue; }
      const p = dlsns[i - 1] as DLSN;
      expect(d.compare(p)).to.be.greaterThan(0);
      if (d.entryId === p.entryId) expect(d.slotId).to.equal(p.slotId + 1n);
      else expect(d.slotId).to.equal(0n);
    }
    const done = await writer.close();
    expect(done.recordCount).to.equal(n);
    expect(done.lastTxId).to.equal(BigInt(1000 + n - 1));
    expect(ledger.metadata.state).to.equal('CLOSED');
    expect(done.lastEntryId).to.equal(ledger.metadata.lastEntryId);

    const records = await readAll(ledger.id);
    const user = records.filter((r) => !isControl(r));
    expect(user).to.have.length(n);
    user.forEach((r, i) => {
      const d = dlsns[i] as DLSN;
      expect(r.entryId).to.equal(d.entryId);
      expect(r.slotId).to.equal(d.slotId);
      expect(r.txid).to.equal(BigInt(1000 + i));
      expect(r.position).to.equal(i + 1);
      expect(r.payload.equals(payload(i))).to.equal(true);
    });
    // control records sit alone in their entries
    for (const c of records.filter((r) => isControl(r))) {
      expect(records.filter((r) => r.entryId === c.entryId)).to.have.length(1);
    }
    const last = records[records.length - 1] as ReadRecord;
    expect([last.entryId, last.slotId]).to.deep.equal([done.lastEntryId, done.lastSlotId]);
  };

  it('10k pipelined records get consecutive DLSNs and read back once, in order', async () => {
    await checkRoundTrip('none', 10_000);
  });

  it('round-trips LZ4 entries', async () => {
    await checkRoundTrip('lz4', 2_000);
  });

  it('sends a lone write at once; batches when many are in flight', async () => {
    const { ledger, writer } = await newWriter();
    const seq: DLSN[] = [];
    for (let i = 0; i < 20; i++) seq.push(await appendRecord(writer, userRecord(BigInt(i), payload(i))));
    expect(seq.every((d) => d.slotId === 0n)).to.equal(true);
    expect(new Set(seq.map((d) => d.entryId)).size).to.equal(20);
    const burst = await Promise.all(Array.from({ length: 2_000 }, (_, i) => appendRecord(writer, userRecord(BigInt(100 + i), payload(i)))));
    const entries = new Set(burst.map((d) => d.entryId));
    expect(entries.size).to.be.lessThan(100);
    expect(burst[0]?.slotId).to.equal(0n);
    await writer.close();
    expect((await readAll(ledger.id)).filter((r) => !isControl(r))).to.have.length(2_020);
  });

  // records are checked once, where they enter the client (log.test.ts: bad input); here the
  // largest record the API lets through goes out alone, in one entry
  it('sends the largest record alone', async () => {
    const { writer } = await newWriter();
    const d = await appendRecord(writer, userRecord(1n, Buffer.alloc(MAX_LOGRECORD_SIZE - 20, 1)));
    expect([d.entryId, d.slotId]).to.deep.equal([0n, 0n]);
    await writer.close();
  });

  it('lets a tailing reader see the last acked record promptly', async () => {
    const { ledger, writer } = await newWriter();
    const reader = await (await client()).openLedger(ledger.id, { recover: false });
    for (let i = 0; i < 3; i++) {
      const d = await appendRecord(writer, userRecord(BigInt(i), payload(i)));
      const started = Date.now();
      let lac = await reader.readLastAddConfirmed();
      while (lac < d.entryId && Date.now() - started < 2_000) {
        await new Promise((r) => setTimeout(r, 2));
        lac = await reader.readLastAddConfirmed();
      }
      expect(lac >= d.entryId, `LAC ${lac} covers entry ${d.entryId}`).to.equal(true);
      expect(Date.now() - started).to.be.lessThan(500);
      const recs = await readUpTo(reader, lac);
      expect(recs.filter((r) => !isControl(r)).map((r) => r.txid)).to.include(BigInt(i));
    }
    await writer.flush();
    expect((await reader.readLastAddConfirmed()) >= 0n).to.equal(true);
    await writer.close();
  });

  it('markEndOfStream writes EOS and refuses later writes', async () => {
    const { ledger, writer } = await newWriter();
    const a = appendRecord(writer, userRecord(5n, payload(0)));
    const eos = await writer.markEndOfStream();
    expect(eos.compare(await a)).to.be.greaterThan(0);
    expect((await rejection(appendRecord(writer, userRecord(6n, payload(1))), LogError)).code).to.equal('END_OF_STREAM');
    const done = await writer.close();
    expect(done.lastTxId).to.equal(MAX_TXID);
    expect(done.recordCount).to.equal(1);
    const recs = await readAll(ledger.id);
    const e = recs.find((r) => isEndOfStream(r));
    expect(e && [e.entryId, e.slotId]).to.deep.equal([eos.entryId, eos.slotId]);
  });

  it('fencing fails pending and later writes with LEDGER_FENCED and acks nothing after the fence', async () => {
    const { ledger, writer } = await newWriter();
    const acked: { i: number; d: DLSN }[] = [];
    const failed: unknown[] = [];
    let fenced = false;
    let ackedAfterFence = 0;
    const track = (i: number): Promise<void> => appendRecord(writer, userRecord(BigInt(i), payload(i))).then(
      (d) => { if (fenced) ackedAfterFence++; acked.push({ i, d }); },
      (err: unknown) => { failed.push(err); },
    );
    const first = Array.from({ length: 500 }, (_, i) => track(i));
    await Promise.all(first.slice(0, 1));
    const recovered = await (await client()).openLedger(ledger.id, { recover: true });
    fenced = true;
    const later = Array.from({ length: 500 }, (_, i) => track(500 + i));
    await Promise.all([...first, ...later]);
    expect(ackedAfterFence).to.equal(0);
    // every write issued once the ledger was fenced fails, and every write is accounted for
    expect(failed.length).to.be.at.least(500);
    expect(acked.length + failed.length).to.equal(1000);
    for (const err of failed) {
      expect(err).to.be.instanceOf(LedgerClientError);
      expect((err as LedgerClientError).code).to.equal('LEDGER_FENCED');
    }
    expect(acked.length + failed.length).to.equal(1000);
    // acks are a prefix, and every acked record is in the recovered ledger
    expect(acked.map((a) => a.i)).to.deep.equal(Array.from({ length: acked.length }, (_, i) => i));
    const recs = (await readAll(recovered.id)).filter((r) => !isControl(r));
    expect(recs.length).to.be.greaterThanOrEqual(acked.length);
    acked.forEach(({ i, d }) => {
      const r = recs[i] as ReadRecord;
      expect([r.entryId, r.slotId, r.txid]).to.deep.equal([d.entryId, d.slotId, BigInt(i)]);
    });
    expect((await rejection(appendRecord(writer, userRecord(2_000n, payload(0))), LedgerClientError)).code).to.equal('LEDGER_FENCED');
    expect((await rejection(writer.flush(), LedgerClientError)).code).to.equal('LEDGER_FENCED');
    expect((await rejection(writer.close(), LedgerClientError)).code).to.equal('LEDGER_FENCED');
  });

  // the bound itself (bytes in flight under maxPendingBytes) is measured on scripted bookies in
  // test/unit/log-writer-fake.test.ts; here: writes that waited for room all land, in order
  it('writes that wait for room under maxPendingBytes still complete, in order', async () => {
    const limit = 1_044_480;
    const { ledger, writer } = await newWriter({ maxPendingBytes: limit });
    const big = (i: number): Buffer => Buffer.alloc(400_000, i);
    const all = Array.from({ length: 12 }, (_, i) => appendRecord(writer, userRecord(BigInt(i), big(i))));
    expect(writer.pendingBytes, 'accepted: 12 records, most of them waiting').to.be.greaterThan(limit);
    const dlsns = await Promise.all(all);
    for (let i = 1; i < dlsns.length; i++) expect((dlsns[i] as DLSN).compare(dlsns[i - 1] as DLSN)).to.be.greaterThan(0);
    expect(writer.pendingBytes).to.equal(0);
    await writer.close();
    const user = (await readAll(ledger.id)).filter((r) => !isControl(r));
    expect(user.map((r) => r.txid)).to.deep.equal(Array.from({ length: 12 }, (_, i) => BigInt(i)));
    user.forEach((r, i) => { expect(r.payload.equals(big(i)), `record ${i}`).to.equal(true); });
  });

  it('abort fails pending writes and leaves the ledger open', async () => {
    const { ledger, writer } = await newWriter();
    const pending = Array.from({ length: 50 }, (_, i) => appendRecord(writer, userRecord(BigInt(i), payload(i))));
    writer.abort();
    const results = await Promise.allSettled(pending);
    // none was acknowledged before the abort: every one fails, with WRITER_CLOSED
    for (const r of results) {
      expect(r.status).to.equal('rejected');
      expect(r.status === 'rejected' && (r.reason as LogError).code).to.equal('WRITER_CLOSED');
    }
    expect((await rejection(appendRecord(writer, userRecord(100n, payload(0))), LogError)).code).to.equal('WRITER_CLOSED');
    expect(ledger.metadata.state).to.equal('OPEN');
  });
});
