// LogReader and the txid search against real (in-process) bookies and a real ZooKeeper: logs are
// written segment by segment with LogSegmentWriter and the segment metadata store, as a DL writer does.
import { expect } from 'chai';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import type { Watcher } from '../../src/metadata/metadata-store.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LogError } from '../../src/log/log-error.js';
import { LogMetadataStore } from '../../src/log/metadata/log-metadata-store.js';
import { segmentPath } from '../../src/log/metadata/log-paths.js';
import type { SegmentListCache } from '../../src/log/metadata/segment-list-cache.js';
import { newInProgressSegment, TruncationStatus, type LogSegmentMetadata } from '../../src/log/metadata/log-segment-metadata.js';
import { DEFAULT_RELIST_INTERVAL_MS, LogReader, type LogReaderOptions, type LogRecordWithDLSN, type ReadStart } from '../../src/log/reader/log-reader.js';
import { SegmentListRegistry } from '../../src/log/reader/segment-list-registry.js';
import { dlsnNotLessThanTxId } from '../../src/log/reader/txid-search.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { rejection } from '../support/rejection.js';
import { LogFixture, type WrittenRecord } from '../support/segment-fixture.js';
import { ids } from '../support/entry-ids.js';

/** A metadata store whose children watches never fire: only the periodic re-list can see changes. */
class DeafMetadataStore extends LogMetadataStore {
  override listSegments(name: string, _watcher?: Watcher): Promise<LogSegmentMetadata[]> {
    return super.listSegments(name);
  }

  override listSegmentsCached(name: string, cache: SegmentListCache, options: { watcher?: Watcher; verify?: boolean } = {}): ReturnType<LogMetadataStore['listSegmentsCached']> {
    return super.listSegmentsCached(name, cache, { ...(options.verify === undefined ? {} : { verify: options.verify }) });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('LogReader with real bookies', function () {
  this.timeout(60_000);
  let cluster: BookieCluster;
  let ledgers: LedgerClient;
  let metadata: LogMetadataStore;
  let nsRoot: string;
  const readers: LogReader[] = [];
  let logCount = 0;

  const newLog = (opts: Parameters<typeof LogFixture.create>[3] = {}): Promise<LogFixture> =>
    LogFixture.create(metadata, ledgers, `log-${++logCount}`, opts);
  const open = async (log: LogFixture, start: ReadStart = {}, options: LogReaderOptions = {}, store = metadata): Promise<LogReader> => {
    const reader = await LogReader.open({ logName: log.name, metadata: store, ledgers }, start, { longPollTimeoutMs: 200, ...options });
    readers.push(reader);
    return reader;
  };
  const readN = async (reader: LogReader, n: number): Promise<LogRecordWithDLSN[]> => {
    const out: LogRecordWithDLSN[] = [];
    while (out.length < n) out.push(await reader.readNext());
    return out;
  };
  const expectRecords = (got: readonly LogRecordWithDLSN[], want: readonly WrittenRecord[]): void => {
    expect(got).to.have.length(want.length);
    got.forEach((r, i) => {
      const w = want[i] as WrittenRecord;
      expect(r.dlsn.equals(w.dlsn), `record ${i}: ${r.dlsn.toString()} != ${w.dlsn.toString()}`).to.equal(true);
      expect(r.txid, `txid of record ${i}`).to.equal(w.txid);
      expect(r.sequenceId, `sequenceId of record ${i}`).to.equal(w.sequenceId);
      expect(r.payload.equals(w.payload), `payload of record ${i}`).to.equal(true);
    });
  };

  before(async function () {
    cluster = await startBookieCluster(this, 'logreader');
    ledgers = await cluster.client();
    nsRoot = `/ns-logreader-${process.pid}-${Date.now()}`;
    metadata = new LogMetadataStore(cluster.store, nsRoot);
  });

  afterEach(async () => {
    await Promise.all(readers.splice(0).map((r) => r.close()));
  });

  after(async () => {
    await cluster.close();
  });

  it('reads a 3-segment log from the start: every record once, in order, with DLSN, txid and sequenceId', async () => {
    const log = await newLog();
    await log.writeSegments([300, 1, 500], (i) => BigInt(1000 + i));
    const reader = await open(log);
    expectRecords(await readN(reader, 801), log.records);
    expect(await reader.readBulk(10)).to.deep.equal([]);
    expect(new Set(log.records.map((r) => r.dlsn.logSegmentSequenceNo))).to.deep.equal(new Set([1n, 2n, 3n]));
  });

  it('starts at a DLSN in the middle of a segment, inside an entry', async () => {
    const log = await newLog();
    await log.writeSegments([200, 200, 200], (i) => BigInt(i));
    const k = log.records.findIndex((r, i) => i > 250 && r.dlsn.slotId > 0n);
    expect(k).to.be.greaterThan(250);
    const reader = await open(log, { from: log.records[k]!.dlsn });
    expectRecords(await readN(reader, 600 - k), log.records.slice(k));
    // a position past a segment's last record continues with the next segment
    const lastOfFirst = log.records[199]!.dlsn;
    const next = await open(log, { from: lastOfFirst.next() });
    expectRecords(await readN(next, 10), log.records.slice(200, 210));
  });

  describe('positioning by txid', () => {
    let log: LogFixture;
    // runs of 4 equal txids (0,0,0,0,10,10,...); the segment sizes cut runs across boundaries
    const txidOf = (i: number): bigint => BigInt(10 * Math.floor(i / 4));
    const firstIndexAtLeast = (t: bigint): number => log.records.findIndex((r) => r.txid >= t);

    before(async () => {
      log = await newLog();
      await log.writeSegments([202, 101, 3, 300], txidOf, false);
    });

    it('finds the first record with txid >= target, across segments and equal-txid runs', async () => {
      const segments = await metadata.listSegments(log.name);
      const maxTxId = log.records.at(-1)!.txid;
      const targets = [-5n, 0n, 1n, 500n, 505n, 750n, 760n, 770n];
      for (let t = 0n; t <= maxTxId + 5n; t += 7n) targets.push(t);
      for (const fanout of [2, 8]) {
        for (const t of targets) {
          const got = await dlsnNotLessThanTxId(segments, t, { ledgers, fanout });
          const k = firstIndexAtLeast(t);
          if (k >= 0) {
            expect(got.equals(log.records[k]!.dlsn), `target ${t} fanout ${fanout}: ${got.toString()}`).to.equal(true);
          } else {
            expect(got.compare(log.records.at(-1)!.dlsn), `target ${t}`).to.be.greaterThan(0);
          }
        }
      }
      // a run split by the 202-record boundary: its first record is in segment 1
      const split = log.records[200]!;
      expect(split.txid).to.equal(log.records[203]!.txid);
      expect((await dlsnNotLessThanTxId(segments, split.txid, { ledgers })).equals(split.dlsn)).to.equal(true);
      expect((await dlsnNotLessThanTxId([], 5n, { ledgers })).equals(DLSN.InitialDLSN)).to.equal(true);
    });

    it('opens a reader at fromTxId; before everything means the first record', async () => {
      for (const t of [-1n, 505n, 1000n]) {
        const reader = await open(log, { fromTxId: t });
        const k = Math.max(0, firstIndexAtLeast(t));
        expectRecords(await readN(reader, 20), log.records.slice(k, k + 20));
      }
    });

    it('a target beyond the end waits for records written later', async () => {
      const reader = await open(log, { fromTxId: 1_000_000n });
      expect(await reader.readBulk(5, { waitMs: 300 })).to.deep.equal([]);
      const [late] = await log.write([1_000_001n]);
      expectRecords([await reader.readNext()], [late!]);
    });
  });

  it('tails: records written later arrive, including across a roll to a new segment', async () => {
    const log = await newLog();
    await log.writeSegments([50], (i) => BigInt(i), false);
    const reader = await open(log);
    const got = await readN(reader, 50);
    let t0 = Date.now();
    const pending = reader.readNext();
    await sleep(50);
    await log.write([50n]);
    got.push(await pending);
    expect(Date.now() - t0).to.be.lessThan(1_000);

    // roll while the reader tails: new segment started, old one completed, writes go on
    const reading = readN(reader, 250);
    await log.write(ids(50, 51));
    await log.startSegment(101n);
    await log.write(ids(100, 101));
    await log.startSegment(201n);
    await log.write(ids(100, 201));
    got.push(...(await reading));
    expectRecords(got, log.records);

    t0 = Date.now();
    const afterRoll = reader.readNext();
    await log.write([301n]);
    got.push(await afterRoll);
    expect(Date.now() - t0).to.be.lessThan(1_000);
    expectRecords(got, log.records);
  });

  it('skips truncated segments and records below a partially truncated segment\'s min active DLSN', async () => {
    const log = await newLog();
    await log.writeSegments([100, 100, 100], (i) => BigInt(i));
    const [s1, s2] = log.completed as [LogSegmentMetadata, LogSegmentMetadata];
    const minActive = log.records[150]!.dlsn;
    await metadata.updateSegment(log.name, s1.withTruncationStatus(TruncationStatus.TRUNCATED));
    await metadata.updateSegment(log.name, s2.partiallyTruncated(minActive));
    for (const start of [{}, { from: DLSN.InitialDLSN }, { from: log.records[20]!.dlsn }, { fromTxId: 0n }]) {
      const reader = await open(log, start);
      expectRecords(await readN(reader, 150), log.records.slice(150));
    }
    // a start past min active is honoured
    const later = await open(log, { from: log.records[170]!.dlsn });
    expectRecords(await readN(later, 130), log.records.slice(170));
  });

  it('ends at end of stream: for-await finishes, readNext rejects END_OF_STREAM (sticky)', async () => {
    const log = await newLog();
    await log.writeSegments([40, 40], (i) => BigInt(i), false);
    const reader = await open(log);
    const tail = await open(log);
    await readN(tail, 80);
    const tailEnd = rejection(tail.readNext(), LogError);
    await log.markEndOfStream();
    await log.completeSegment();
    const got: LogRecordWithDLSN[] = [];
    for await (const r of reader) got.push(r);
    expectRecords(got, log.records);
    expect((await rejection(reader.readNext(), LogError)).code).to.equal('END_OF_STREAM');
    expect((await rejection(reader.readBulk(3, { waitMs: 100 }), LogError)).code).to.equal('END_OF_STREAM');
    expect((await tailEnd).code).to.equal('END_OF_STREAM');
  });

  it('close() ends a pending for-await promptly and later reads reject READER_CLOSED', async () => {
    const log = await newLog();
    await log.writeSegments([10], (i) => BigInt(i), false);
    const reader = await open(log, {}, { longPollTimeoutMs: 1_000 });
    const seen: LogRecordWithDLSN[] = [];
    const loop = (async () => {
      for await (const r of reader) seen.push(r);
    })();
    await sleep(300);
    const t0 = Date.now();
    const closing = reader.close();
    await loop;
    expect(Date.now() - t0).to.be.lessThan(100);
    expect(seen).to.have.length(10);
    await closing;
    expect((await rejection(reader.readNext(), LogError)).code).to.equal('READER_CLOSED');
  });

  it('readBulk returns 1..max buffered records, [] without waiting, or the first to arrive within waitMs', async () => {
    const log = await newLog();
    await log.writeSegments([30], (i) => BigInt(i), false);
    const reader = await open(log);
    const first = await reader.readNext();
    await sleep(200); // let the read-ahead buffer the rest
    const bulk = await reader.readBulk(10);
    expect(bulk.length).to.be.within(1, 10);
    const rest = [first, ...bulk];
    while (rest.length < 30) rest.push(...(await reader.readBulk(7, { waitMs: 1_000 })));
    expectRecords(rest, log.records);
    expect(await reader.readBulk(5)).to.deep.equal([]);
    const t0 = Date.now();
    setTimeout(() => void log.write([30n, 31n]), 100);
    const arrived = await reader.readBulk(5, { waitMs: 2_000 });
    expect(arrived.length).to.be.within(1, 2);
    expect(Date.now() - t0).to.be.lessThan(1_500);
    expect((await rejection(reader.readBulk(0), Error)).message).to.match(/max must be a positive integer/);
  });

  it('bounds read-ahead: a slow consumer of a 10k-record log buffers no more than the bound', async () => {
    const log = await newLog({ maxEntryBytes: 4096 });
    await log.writeSegments([5_000, 5_000], (i) => BigInt(i));
    const readAheadBytes = 64 * 1024;
    const readAheadEntries = 32;
    const batch = readAheadEntries / 4;
    const reader = await open(log, {}, { readAheadBytes, readAheadEntries });
    const got = [await reader.readNext()];
    let maxBytes = 0;
    let maxEntries = 0;
    const sample = (): void => {
      maxBytes = Math.max(maxBytes, reader.bufferedBytes);
      maxEntries = Math.max(maxEntries, reader.bufferedEntries);
    };
    await sleep(300);
    sample();
    // the consumer paused: read-ahead filled up to the bound, then stopped fetching
    const paused = reader.bufferedBytes;
    expect(paused >= readAheadBytes || reader.bufferedEntries >= readAheadEntries).to.equal(true);
    await sleep(300);
    expect(reader.bufferedBytes).to.equal(paused);
    while (got.length < 10_000) {
      got.push(...(await reader.readBulk(97, { waitMs: 1_000 })));
      sample();
    }
    expectRecords(got, log.records);
    // one more batch of at most 4 KiB entries may land on top of the bound
    expect(maxBytes).to.be.at.most(readAheadBytes + batch * 4096);
    expect(maxEntries).to.be.at.most(readAheadEntries + batch);
    expect(log.records.length * 40).to.be.greaterThan(4 * readAheadBytes); // the log is much bigger than the bound
  });

  it('the periodic re-list finds new segments and completions when the watch never fires', async () => {
    const log = await newLog();
    await log.writeSegments([20], (i) => BigInt(i));
    const deaf = new DeafMetadataStore(cluster.store, nsRoot);
    const reader = await open(log, {}, { relistIntervalMs: 300 }, deaf);
    const got = await readN(reader, 20);
    await log.startSegment(20n);
    await log.write(ids(10, 20));
    got.push(...(await readN(reader, 10)));
    await log.startSegment(30n); // completes segment 2: the reader must reopen it, then move on
    await log.write(ids(10, 30));
    got.push(...(await readN(reader, 10)));
    expectRecords(got, log.records);
  });

  it('a log deleted mid-read fails the reader with a sticky LOG_NOT_FOUND', async () => {
    const log = await newLog();
    await log.writeSegments([10], (i) => BigInt(i), false);
    const reader = await open(log);
    await readN(reader, 10);
    const pending = rejection(reader.readNext(), LogError);
    await metadata.deleteLog(log.name);
    const err = await pending;
    expect(err.code).to.equal('LOG_NOT_FOUND');
    expect(await rejection(reader.readNext(), LogError)).to.equal(err);
    await rejection(LogReader.open({ logName: log.name, metadata, ledgers }), LogError);
  });

  describe('segment changes no writer makes fail the reader with a sticky error', () => {
    /** A 3-segment log and a reader held inside segment 1 by a small read-ahead. */
    const heldInFirstSegment = async (segmentLists: SegmentListRegistry): Promise<{ log: LogFixture; reader: LogReader }> => {
      const log = await newLog({ maxEntryBytes: 1024 });
      await log.writeSegments([2_000, 10, 10], (i) => BigInt(i));
      const reader = await LogReader.open(
        { logName: log.name, metadata, ledgers, segmentLists },
        {},
        { longPollTimeoutMs: 200, readAheadEntries: 4, readAheadBytes: 4096 },
      );
      readers.push(reader);
      await readN(reader, 10);
      return { log, reader };
    };

    it('a segment deleted before the reader reached it: LSSN_GAP, never a silent skip', async () => {
      // the reader's listing is shared with a lease the test holds, so the test knows when the reader
      // sees the deletion: before that, a fast reader may read segment 2 from the old listing (its
      // ledger is still there), which is no skip, and then waits for a segment 4 forever
      const lists = new SegmentListRegistry(metadata);
      const { log, reader } = await heldInFirstSegment(lists);
      const seen = await lists.acquire(log.name, DEFAULT_RELIST_INTERVAL_MS, () => undefined);
      const [s1, s2] = log.completed as [LogSegmentMetadata, LogSegmentMetadata];
      try {
        // segment 1's ledger stays readable; only the znodes go, so the listing itself has no gap
        await metadata.deleteSegment(log.name, s2);
        await metadata.deleteSegment(log.name, s1);
        while (seen.segments.some((s) => s.logSegmentSequenceNo < 3n)) await seen.whenChanged(seen.version).promise;
      } finally {
        await seen.close();
      }
      let err: unknown;
      try {
        for (;;) await reader.readNext();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(LogError);
      expect((err as LogError).code).to.equal('LSSN_GAP');
      expect(await rejection(reader.readNext(), LogError)).to.equal(err);
    });

    it('a completed segment back in progress: INCONSISTENT_LOG_METADATA', async () => {
      // as above, the test waits until the reader's shared listing shows the change (a reader that
      // read on before it would finish segment 1 and never fail); the paused read-ahead applies the
      // new listing as soon as the test reads again
      const lists = new SegmentListRegistry(metadata);
      const { log, reader } = await heldInFirstSegment(lists);
      const seen = await lists.acquire(log.name, DEFAULT_RELIST_INTERVAL_MS, () => undefined);
      const s1 = log.completed[0]!;
      const reverted = newInProgressSegment({ logSegmentId: s1.logSegmentId, firstTxId: s1.firstTxId, logSegmentSequenceNo: 1n });
      const paths = metadata.paths(log.name);
      try {
        await cluster.store.multi([
          { op: 'delete', path: segmentPath(paths, s1.znodeName()) },
          { op: 'create', path: segmentPath(paths, reverted.znodeName()), data: Buffer.from(reverted.serialize()) },
        ]);
        while (seen.segments[0]?.inProgress !== true) await seen.whenChanged(seen.version).promise;
      } finally {
        await seen.close();
      }
      const err = await rejection((async () => { for (;;) await reader.readNext(); })(), LogError);
      expect(err.code).to.equal('INCONSISTENT_LOG_METADATA');
      expect(err.message).to.match(/segment 1 went from completed back to in progress/);
    });
  });
});
