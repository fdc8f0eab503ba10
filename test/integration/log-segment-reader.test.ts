// LogSegmentReader against real (in-process) bookies and a real ZooKeeper.
import { expect } from 'chai';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import { LedgerClient } from '../../src/ledger/ledger-client.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { userRecord } from '../../src/log/format/log-record.js';
import { LogSegmentReader, type ReadRecord, type ReadResult } from '../../src/log/reader/segment-reader.js';
import { LogSegmentWriter } from '../../src/log/writer/segment-writer.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { appendRecord } from '../support/segment-append.js';

const LSSN = 7n;

describe('LogSegmentReader with real bookies', function () {
  this.timeout(60_000);
  let readerClient: LedgerClient;
  let writerClient: LedgerClient;

  let cluster: BookieCluster;
  const client = (): Promise<LedgerClient> => cluster.client();
  const payload = (i: number): Buffer => Buffer.from(`record-${i}-`.repeat(1 + (i % 5)));
  const newWriter = async (): Promise<{ ledger: LedgerHandle; writer: LogSegmentWriter }> => {
    const ledger = await writerClient.createLedger();
    return { ledger, writer: new LogSegmentWriter(ledger, LSSN, {}) };
  };
  const open = (id: bigint): Promise<LedgerHandle> => readerClient.openLedger(id, { recover: false });
  const key = (d: DLSN): string => `${d.entryId}:${d.slotId}`;

  /** Records until the segment or stream ends. */
  const drain = async (reader: LogSegmentReader, waitMs = 0): Promise<{ records: ReadRecord[]; end: ReadResult }> => {
    const records: ReadRecord[] = [];
    for (;;) {
      const r = await reader.readNext(waitMs);
      if (!Array.isArray(r)) return { records, end: r };
      records.push(...r.flat());
    }
  };

  /** A closed segment of n records (pipelined, so many records per entry); returns their DLSNs. */
  const closedSegment = async (n: number): Promise<{ id: bigint; dlsns: DLSN[] }> => {
    const { ledger, writer } = await newWriter();
    const dlsns = await Promise.all(Array.from({ length: n }, (_, i) => appendRecord(writer, userRecord(BigInt(1000 + i), payload(i)))));
    await writer.close();
    return { id: ledger.id, dlsns };
  };

  let big: { id: bigint; dlsns: DLSN[] };

  before(async function () {
    cluster = await startBookieCluster(this, 'segreader');
    writerClient = await client();
    readerClient = await client();
    big = await closedSegment(5_000);
  });

  after(async () => { await cluster.close(); });

  it('reads a closed 5k-record segment once, in order, with the writer\'s DLSNs', async () => {
    const reader = new LogSegmentReader(await open(big.id), LSSN, { startSequenceId: 100n });
    const { records, end } = await drain(reader);
    expect(end).to.equal('end-of-segment');
    expect(records).to.have.length(5_000);
    records.forEach((r, i) => {
      expect(r.dlsn.equals(big.dlsns[i] as DLSN), `record ${i}`).to.equal(true);
      expect(r.txid).to.equal(BigInt(1000 + i));
      expect(r.payload.equals(payload(i))).to.equal(true);
      expect(r.sequenceId).to.equal(100n + BigInt(i));
    });
    // multi-record entries were exercised
    expect(new Set(big.dlsns.map((d) => d.entryId)).size).to.be.lessThan(2_500);
    expect(await reader.readNext()).to.equal('end-of-segment');
  });

  it('starts exactly at a DLSN in the middle, including a slot inside an entry', async () => {
    const inner = big.dlsns.findIndex((d, i) => i > 2_000 && d.slotId > 0n);
    expect(inner).to.be.greaterThan(0);
    const firstOfEntry = big.dlsns.findIndex((d, i) => i > 3_000 && d.slotId === 0n);
    for (const start of [inner, firstOfEntry, 0, 4_999]) {
      const reader = new LogSegmentReader(await open(big.id), LSSN, { from: big.dlsns[start] as DLSN, readAheadEntries: 3 });
      const { records, end } = await drain(reader);
      expect(end).to.equal('end-of-segment');
      expect(records).to.have.length(5_000 - start);
      expect(records[0]?.txid).to.equal(BigInt(1000 + start));
      records.forEach((r, i) => expect(r.dlsn.equals(big.dlsns[start + i] as DLSN)).to.equal(true));
    }
    // a DLSN of an earlier segment reads the whole segment
    const all = await drain(new LogSegmentReader(await open(big.id), LSSN, { from: DLSN.firstOf(LSSN - 1n) }));
    expect(all.records).to.have.length(5_000);
  });

  it('sizes batches by batchBytes once the entry size is known, with batchesAhead reads in flight', async () => {
    // one record per entry
    const { ledger, writer } = await newWriter();
    const dlsns: DLSN[] = [];
    for (let i = 0; i < 200; i++) dlsns.push(await appendRecord(writer, userRecord(BigInt(i), payload(i))));
    await writer.close();
    expect(new Set(dlsns.map((d) => d.entryId)).size).to.equal(200);
    for (const [batchBytes, first, later] of [[64 * 1024, 10, 40], [1, 10, 1]] as const) {
      const handle = await open(ledger.id);
      const ranges: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const readEntries = handle.readEntries.bind(handle);
      handle.readEntries = (from, to) => {
        ranges.push(Number(to - from) + 1);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        return readEntries(from, to).finally(() => { inFlight--; });
      };
      const reader = new LogSegmentReader(handle, LSSN, { readAheadEntries: 40, batchBytes, batchesAhead: 3 });
      const { records, end } = await drain(reader);
      expect(end).to.equal('end-of-segment');
      expect(records.map((r) => key(r.dlsn))).to.deep.equal(dlsns.map(key));
      records.forEach((r, i) => expect(r.payload.equals(payload(i))).to.equal(true));
      expect(ranges[0]).to.equal(first); // a quarter of readAheadEntries before any entry was seen
      expect(ranges.slice(1, -1).every((n) => n === later), `batches ${ranges.join(',')}`).to.equal(true);
      expect(maxInFlight).to.equal(batchBytes === 1 ? 3 : Math.min(3, ranges.length - 1));
      await handle.close();
    }
  });

  it('tails an open segment: new records arrive via the long poll, never past the LAC', async () => {
    const { ledger, writer } = await newWriter();
    const acked = new Set<string>();
    const write = async (i: number): Promise<DLSN> => {
      const d = await appendRecord(writer, userRecord(BigInt(i), payload(i)));
      acked.add(key(d));
      return d;
    };
    await Promise.all(Array.from({ length: 300 }, (_, i) => write(i)));
    const reader = new LogSegmentReader(await open(ledger.id), LSSN, { readAheadEntries: 4 });

    const got: ReadRecord[] = [];
    /** Reads once and checks nothing returned was beyond what the writer had acknowledged. */
    const read = async (waitMs: number): Promise<ReadResult> => {
      const r = await reader.readNext(waitMs);
      if (Array.isArray(r)) {
        const writerLac = ledger.lastAddConfirmed;
        for (const rec of r.flat()) {
          expect(acked.has(key(rec.dlsn)), `unacked ${key(rec.dlsn)}`).to.equal(true);
          expect(rec.dlsn.entryId <= writerLac).to.equal(true);
        }
        got.push(...r.flat());
      }
      return r;
    };

    // catch up: eventually a poll times out with []
    for (;;) {
      const r = await read(200);
      expect(Array.isArray(r)).to.equal(true);
      if (Array.isArray(r) && r.length === 0) break;
    }
    expect(got).to.have.length(300);

    // a record written after catching up arrives within ~1 s
    for (let k = 0; k < 3; k++) {
      const i = 300 + k;
      const t0 = Date.now();
      const pending = read(5_000);
      await new Promise((res) => setTimeout(res, 50));
      await write(i);
      const r = await pending;
      expect(r, `record ${i}`).to.have.length(1);
      expect(Date.now() - t0).to.be.lessThan(1_050);
    }

    // concurrent writes while tailing: every record once, in order, none unacked
    const writes = (async () => {
      for (let i = 303; i < 2_303; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => write(i + j)));
      }
    })();
    while (got.length < 2_303) {
      const r = await read(2_000);
      expect(Array.isArray(r)).to.equal(true);
    }
    await writes;
    got.forEach((r, i) => expect(r.txid).to.equal(BigInt(i)));
    expect(await read(100)).to.deep.equal([]);
    await writer.close();
  });

  it('surfaces end of stream after the records before it', async () => {
    const { ledger, writer } = await newWriter();
    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => appendRecord(writer, userRecord(BigInt(i), payload(i)))));
    await writer.markEndOfStream();
    await writer.close();
    const reader = new LogSegmentReader(await open(ledger.id), LSSN);
    const { records, end } = await drain(reader);
    expect(end).to.equal('end-of-stream');
    expect(records.map((r) => key(r.dlsn))).to.deep.equal(before.map(key));
    expect(await reader.readNext()).to.equal('end-of-stream');

    // an open segment's EOS is seen too (tailing reader)
    const open2 = await newWriter();
    const tail = new LogSegmentReader(await open(open2.ledger.id), LSSN);
    expect(await tail.readNext(0)).to.deep.equal([]);
    await appendRecord(open2.writer, userRecord(1n, payload(1)));
    await open2.writer.markEndOfStream();
    await open2.writer.flush();
    const seen: ReadRecord[] = [];
    let last: ReadResult = [];
    while (Array.isArray(last)) {
      last = await tail.readNext(2_000);
      if (Array.isArray(last)) seen.push(...last.flat());
    }
    expect(last).to.equal('end-of-stream');
    expect(seen).to.have.length(1);
    await open2.writer.close();
  });
});
