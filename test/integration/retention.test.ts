// Retention (§7.2) against real bookies and ZooKeeper: purgeSegments deletes old segments' ledgers
// then their znodes, oldest first, always keeping the newest completed segment and never touching
// in-progress ones; deleteLogWithLedgers removes every ledger and the log's metadata.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LogError } from '../../src/log/log-error.js';
import { LogMetadataStore, type LogVersions } from '../../src/log/metadata/log-metadata-store.js';
import { userRecord } from '../../src/log/format/log-record.js';
import { newInProgressSegment, type LogSegmentMetadata } from '../../src/log/metadata/log-segment-metadata.js';
import { LogSegmentWriter } from '../../src/log/writer/segment-writer.js';
import { deleteLogWithLedgers, purgeSegments, type RetentionContext } from '../../src/log/writer/retention.js';
import { truncateLog } from '../../src/log/metadata/truncation.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { appendRecord } from '../support/segment-append.js';
import { rejection } from '../support/rejection.js';

/** Segment i (1-based) holds txids 100i..100i+2 and completed at HOUR * i. */
const HOUR = 3_600_000;

interface TestLog {
  readonly ctx: RetentionContext;
  /** Completed segments 1..n, then one in progress. */
  readonly completed: LogSegmentMetadata[];
  readonly inProgress: LogSegmentMetadata;
}

describe('retention with real bookies', function () {
  this.timeout(60_000);
  let cluster: BookieCluster;
  let ledgers: LedgerClient;
  let metadata: LogMetadataStore;

  before(async function () {
    cluster = await startBookieCluster(this, 'retention');
    ledgers = await cluster.client();
    metadata = new LogMetadataStore(cluster.store, `/retention-${randomUUID().slice(0, 8)}`);
  });

  after(async () => {
    await cluster.close();
  });

  /** A log of `n` completed segments with real ledgers, then an in-progress one (its ledger open). */
  async function newLog(n: number): Promise<TestLog> {
    const logName = `log-${randomUUID().slice(0, 8)}`;
    let versions: LogVersions = await metadata.createLog(logName);
    const completed: LogSegmentMetadata[] = [];
    for (let i = 1; i <= n; i++) {
      const ledger = await ledgers.createLedger();
      const lssn = BigInt(i);
      const started = newInProgressSegment({ logSegmentId: ledger.id, firstTxId: 100n * lssn, logSegmentSequenceNo: lssn });
      versions = await metadata.startSegment(logName, started, versions.maxLssn, versions.maxTxId);
      const writer = new LogSegmentWriter(ledger, lssn);
      for (let t = 0n; t < 3n; t++) await appendRecord(writer, userRecord(100n * lssn + t, Buffer.from(`s${i}-${t}`)));
      const done = await writer.close();
      const segment = started.complete({ ...done, startSequenceId: 0n, completionTime: BigInt(HOUR * i) });
      versions = await metadata.completeSegment(logName, started, segment, versions.maxLssn, versions.maxTxId);
      completed.push(segment);
    }
    const ledger = await ledgers.createLedger();
    const lssn = BigInt(n + 1);
    const inProgress = newInProgressSegment({ logSegmentId: ledger.id, firstTxId: 100n * lssn, logSegmentSequenceNo: lssn });
    await metadata.startSegment(logName, inProgress, versions.maxLssn, versions.maxTxId);
    return { ctx: { metadata, ledgers, logName }, completed, inProgress };
  }

  const lssns = (segments: LogSegmentMetadata[]): bigint[] => segments.map((s) => s.logSegmentSequenceNo);
  const remaining = async (log: TestLog): Promise<bigint[]> => lssns(await metadata.listSegments(log.ctx.logName));

  /** Whether the ledger's metadata is still in the ledger store. */
  const ledgerExists = async (segment: LogSegmentMetadata): Promise<boolean> => {
    try {
      await ledgers.openLedger(segment.logSegmentId, { recover: false });
      return true;
    } catch (err) {
      if (err instanceof LedgerClientError && err.code === 'NO_SUCH_LEDGER') return false;
      throw err;
    }
  };
  const existing = async (segments: LogSegmentMetadata[]): Promise<boolean[]> => Promise.all(segments.map(ledgerExists));

  it('deletes old segments with their ledgers and keeps the newest completed one', async () => {
    const log = await newLog(4);
    const deleted = await purgeSegments(log.ctx, { olderThanMs: HOUR, now: 100 * HOUR });
    expect(lssns(deleted)).to.deep.equal([1n, 2n, 3n]);
    expect(await remaining(log)).to.deep.equal([4n, 5n]);
    expect(await existing([...log.completed, log.inProgress])).to.deep.equal([false, false, false, true, true]);
    // nothing more to do
    expect(await purgeSegments(log.ctx, { olderThanMs: 0, now: 100 * HOUR })).to.deep.equal([]);
  });

  it('stops at the first segment that is not old enough', async () => {
    const log = await newLog(4);
    // cutoff = 2.5 h: segments completed at 1 h and 2 h go
    const deleted = await purgeSegments(log.ctx, { olderThanMs: HOUR / 2, now: 3 * HOUR });
    expect(lssns(deleted)).to.deep.equal([1n, 2n]);
    expect(await remaining(log)).to.deep.equal([3n, 4n, 5n]);
    expect(await existing(log.completed)).to.deep.equal([false, false, true, true]);
  });

  it('purges by txid: lastTxId below the bound', async () => {
    const log = await newLog(4);
    // segment 2's last txid is 202, segment 3's 302
    expect(lssns(await purgeSegments(log.ctx, { beforeTxId: 302n }))).to.deep.equal([1n, 2n]);
    expect(await remaining(log)).to.deep.equal([3n, 4n, 5n]);
    expect(lssns(await purgeSegments(log.ctx, { beforeTxId: 10_000n }))).to.deep.equal([3n]);
    expect(await existing(log.completed)).to.deep.equal([false, false, false, true]);
  });

  it('with explicitTruncation, deletes only truncated segments (and only old ones)', async () => {
    const log = await newLog(4);
    const policy = { olderThanMs: HOUR, now: 100 * HOUR, explicitTruncation: true };
    expect(await purgeSegments(log.ctx, policy)).to.deep.equal([]);
    // truncated up to segment 3: 1 and 2 TRUNCATED, 3 partially truncated (so it stays)
    await truncateLog(metadata, log.ctx.logName, new DLSN(3n, 1n, 0n));
    expect(lssns(await purgeSegments(log.ctx, { ...policy, now: 2 * HOUR }))).to.deep.equal([]);
    expect(lssns(await purgeSegments(log.ctx, policy))).to.deep.equal([1n, 2n]);
    expect(await remaining(log)).to.deep.equal([3n, 4n, 5n]);
    expect(await existing(log.completed)).to.deep.equal([false, false, true, true]);
  });

  it('deletes a segment whose ledger is already gone (a crashed earlier purge)', async () => {
    const log = await newLog(3);
    await ledgers.deleteLedger(log.completed[0]!.logSegmentId);
    expect(lssns(await purgeSegments(log.ctx, { beforeTxId: 10_000n }))).to.deep.equal([1n, 2n]);
    expect(await remaining(log)).to.deep.equal([3n, 4n]);
  });

  it('never deletes the only completed segment', async () => {
    const log = await newLog(1);
    expect(await purgeSegments(log.ctx, { olderThanMs: 0, now: 100 * HOUR })).to.deep.equal([]);
    expect(await existing(log.completed)).to.deep.equal([true]);
  });

  it('needs a condition', async () => {
    const log = await newLog(2);
    await rejection(purgeSegments(log.ctx, {}), InvalidArgumentError);
    await rejection(purgeSegments(log.ctx, { explicitTruncation: true }), InvalidArgumentError);
    await rejection(purgeSegments(log.ctx, { olderThanMs: -1 }), InvalidArgumentError);
    expect(await remaining(log)).to.deep.equal([1n, 2n, 3n]);
  });

  it('deleteLogWithLedgers removes every ledger, in-progress included, and the log', async () => {
    const log = await newLog(3);
    await deleteLogWithLedgers(log.ctx);
    expect(await existing([...log.completed, log.inProgress])).to.deep.equal([false, false, false, false]);
    expect(await metadata.logExists(log.ctx.logName)).to.equal(false);
    expect(await cluster.store.exists(metadata.paths(log.ctx.logName).log)).to.equal(null);
    expect((await rejection(deleteLogWithLedgers(log.ctx), LogError)).code).to.equal('LOG_NOT_FOUND');
  });
});
