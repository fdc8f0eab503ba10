// The shared segment-list follower (SegmentListRegistry) on a real ZooKeeper and in-process bookies:
// readers of one log share one follower, and sharing loses no segment change for any of them.
import { expect } from 'chai';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LogError } from '../../src/log/log-error.js';
import { LogMetadataStore } from '../../src/log/metadata/log-metadata-store.js';
import { LogReader, type LogRecordWithDLSN } from '../../src/log/reader/log-reader.js';
import { SegmentListRegistry, type SegmentListLease } from '../../src/log/reader/segment-list-registry.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { rejection } from '../support/rejection.js';
import { LogFixture } from '../support/segment-fixture.js';
import { ids } from '../support/entry-ids.js';

const noError = (): void => undefined;

describe('SegmentListRegistry: one segment-list follower per log for all its readers', function () {
  this.timeout(60_000);
  let cluster: BookieCluster;
  let ledgers: LedgerClient;
  let metadata: LogMetadataStore;
  let logCount = 0;
  const leases: SegmentListLease[] = [];
  const readers: LogReader[] = [];

  const newLog = (): Promise<LogFixture> => LogFixture.create(metadata, ledgers, `shared-${++logCount}`);

  before(async function () {
    cluster = await startBookieCluster(this, 'seglists');
    ledgers = await cluster.client();
    metadata = new LogMetadataStore(cluster.store, `/ns-seglists-${process.pid}-${Date.now()}`);
  });

  afterEach(async () => {
    await Promise.all([...leases.splice(0), ...readers.splice(0)].map((h) => h.close()));
  });

  after(async () => {
    await cluster.close();
  });

  it('every lease of a shared follower sees every change of the segment list', async () => {
    const log = await newLog();
    await log.writeSegments([5], (i) => BigInt(i), false);
    const registry = new SegmentListRegistry(metadata);
    for (let i = 0; i < 5; i++) leases.push(await registry.acquire(log.name, 60_000, noError));
    expect(registry.size).to.equal(1);
    for (let round = 0; round < 4; round++) {
      const since = leases.map((l) => l.version);
      const waits = leases.map((l, i) => l.whenChanged(since[i] as number).promise);
      // each round is a roll: a new in-progress segment, then the previous one completed
      await log.startSegment(BigInt(5 + round * 5));
      await log.write(ids(5, 5 + round * 5));
      await Promise.all(waits);
      // a listing may land between the two metadata updates: wait until every lease sees both
      for (const lease of leases) {
        while (lease.segments.length !== round + 2 || lease.segments.at(-2)?.inProgress !== false) {
          await lease.whenChanged(lease.version).promise;
        }
        expect(lease.segments.map((s) => s.logSegmentSequenceNo)).to.deep.equal(ids(round + 2, 1));
        expect(lease.segments.at(-1)?.inProgress).to.equal(true);
      }
    }
  });

  it('closing one lease wakes only its own waits; the follower stops with the last lease', async () => {
    const log = await newLog();
    await log.writeSegments([3], (i) => BigInt(i), false);
    const registry = new SegmentListRegistry(metadata);
    const a = await registry.acquire(log.name, 60_000, noError);
    const b = await registry.acquire(log.name, 60_000, noError);
    leases.push(b);
    const aWait = a.whenChanged(a.version).promise;
    const bWait = b.whenChanged(b.version).promise;
    await a.close();
    await aWait; // woken by its close
    expect(registry.size).to.equal(1);
    await log.startSegment(3n); // b still follows the log
    await bWait;
    expect(b.segments.map((s) => s.logSegmentSequenceNo)).to.include(2n);
    await b.close();
    expect(registry.size).to.equal(0);
  });

  it('a failed listing is not shared: LOG_NOT_FOUND for the acquirer, nothing left running', async () => {
    const registry = new SegmentListRegistry(metadata);
    const err = await rejection(registry.acquire('no-such-log', 60_000, noError), LogError);
    expect(err.code).to.equal('LOG_NOT_FOUND');
    expect(registry.size).to.equal(0);
  });

  it('many readers of one log on one registry each read every record across several rolls', async () => {
    const log = await newLog();
    await log.writeSegments([10], (i) => BigInt(i), false);
    const registry = new SegmentListRegistry(metadata);
    for (let i = 0; i < 8; i++) {
      readers.push(await LogReader.open({ logName: log.name, metadata, ledgers, segmentLists: registry }, {}, { longPollTimeoutMs: 200 }));
    }
    expect(registry.size).to.equal(1);
    for (let round = 1; round <= 3; round++) {
      await log.startSegment(BigInt(round * 10));
      await log.write(ids(10, round * 10));
    }
    await log.completeSegment();
    const want = log.records.map((r) => r.txid);
    const got = await Promise.all(readers.map(async (reader) => {
      const out: LogRecordWithDLSN[] = [];
      while (out.length < want.length) out.push(await reader.readNext());
      return out;
    }));
    for (const records of got) {
      expect(records.map((r) => r.txid)).to.deep.equal(want);
      records.forEach((r, i) => { expect(r.payload.equals(log.records[i]?.payload ?? Buffer.alloc(0))).to.equal(true); });
    }
    await Promise.all(readers.splice(0).map((r) => r.close()));
    expect(registry.size).to.equal(0);
  });
});
