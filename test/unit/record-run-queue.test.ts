import { expect } from 'chai';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LOG_RECORD_HEADER_SIZE } from '../../src/log/format/log-record.js';
import type { LogRecordRun, LogRecordWithDLSN } from '../../src/log/reader/log-read-ahead.js';
import { RecordRunQueue } from '../../src/log/reader/record-run-queue.js';

/** The records of entry `entryId`, txids from `firstTxid`, payloads of `size` bytes. */
function run(entryId: number, firstTxid: number, count: number, size = 10): LogRecordRun {
  return Array.from({ length: count }, (_, i): LogRecordWithDLSN => ({
    dlsn: new DLSN(1n, BigInt(entryId), BigInt(i)), txid: BigInt(firstTxid + i), payload: Buffer.alloc(size, i), position: firstTxid + i, sequenceId: BigInt(firstTxid + i - 1),
  }));
}
const txids = (records: readonly LogRecordWithDLSN[]): number[] => records.map((r) => Number(r.txid));
const bytes = (records: number, size = 10): number => records * (size + LOG_RECORD_HEADER_SIZE);

describe('RecordRunQueue', () => {
  it('takes records across runs and within a run, in order, keeping entry and byte counts', () => {
    const q = new RecordRunQueue();
    q.push(run(0, 1, 3));
    q.push(run(1, 4, 4, 100));
    q.push(run(2, 8, 2));
    expect(q.entries).to.equal(3);
    expect(q.bytes).to.equal(bytes(5) + bytes(4, 100));

    expect(txids(q.take(2))).to.deep.equal([1, 2]);
    expect(q.entries).to.equal(3); // entry 0 still has a record
    expect(q.bytes).to.equal(bytes(3) + bytes(4, 100));

    expect(txids(q.take(3))).to.deep.equal([3, 4, 5]);
    expect(q.entries).to.equal(2);
    expect(q.bytes).to.equal(bytes(2) + bytes(2, 100));

    expect(txids(q.take(100))).to.deep.equal([6, 7, 8, 9]);
    expect(q.isEmpty).to.equal(true);
    expect(q.entries).to.equal(0);
    expect(q.bytes).to.equal(0);
    expect(q.take(10)).to.deep.equal([]);
  });

  it('shares runs between queues but never lets a taker change them', () => {
    const shared = run(0, 1, 4);
    const a = new RecordRunQueue();
    const b = new RecordRunQueue();
    a.push(shared);
    b.push(shared);
    const all = a.take(10);
    all.length = 0; // the caller owns what it took
    const part = b.take(2);
    part.reverse();
    expect(txids(shared)).to.deep.equal([1, 2, 3, 4]);
    expect(txids(b.take(10))).to.deep.equal([3, 4]);
  });

  it('keeps order over many runs taken one record at a time (compaction)', () => {
    const q = new RecordRunQueue();
    const n = 3000;
    for (let e = 0; e < n; e++) q.push(run(e, e * 2 + 1, 2));
    const seen: number[] = [];
    for (let i = 0; i < n; i++) seen.push(...txids(q.take(i % 2 === 0 ? 1 : 3)));
    seen.push(...txids(q.take(2 * n)));
    expect(seen).to.deep.equal(Array.from({ length: 2 * n }, (_, i) => i + 1));
    expect(q.bytes).to.equal(0);
  });

  it('clear() drops everything', () => {
    const q = new RecordRunQueue();
    q.push(run(0, 1, 5));
    q.clear();
    expect(q.isEmpty).to.equal(true);
    expect(q.bytes).to.equal(0);
    expect(q.take(5)).to.deep.equal([]);
  });
});
