// planTruncation (§7.2): which segments truncating at a DLSN marks TRUNCATED or PARTIALLY_TRUNCATED;
// truncateLog and LogMetadataStore.updateSegments applying it on both metadata backends.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LogError } from '../../src/log/log-error.js';
import { LogMetadataStore } from '../../src/log/metadata/log-metadata-store.js';
import { newInProgressSegment, TruncationStatus, type LogSegmentMetadata } from '../../src/log/metadata/log-segment-metadata.js';
import { planTruncation, truncateLog } from '../../src/log/metadata/truncation.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { metadataBackends } from '../support/metadata-backends.js';
import { rejection } from '../support/rejection.js';

const backends = metadataBackends('truncation');

/** A segment `lssn` whose entries 0..lastEntryId have 3 slots each (the last entry too). */
function completed(lssn: bigint, lastEntryId = 4n): LogSegmentMetadata {
  return newInProgressSegment({ logSegmentId: 100n + lssn, firstTxId: lssn * 100n, logSegmentSequenceNo: lssn }).complete({
    lastTxId: lssn * 100n + 50n,
    recordCount: 15,
    lastEntryId,
    lastSlotId: lastEntryId < 0n ? -1n : 2n,
    startSequenceId: 0n,
    completionTime: 1_000n,
  });
}

function inProgress(lssn: bigint): LogSegmentMetadata {
  return newInProgressSegment({ logSegmentId: 100n + lssn, firstTxId: lssn * 100n, logSegmentSequenceNo: lssn });
}

const summary = (segments: LogSegmentMetadata[]): Array<[bigint, TruncationStatus, string]> =>
  segments.map((s) => [s.logSegmentSequenceNo, s.truncationStatus, `${s.minActiveEntryId}:${s.minActiveSlotId}`]);

describe('planTruncation', () => {
  const log = [completed(1n), completed(2n), completed(3n), inProgress(4n)];

  it('marks segments entirely before the DLSN TRUNCATED and the one holding it PARTIALLY_TRUNCATED', () => {
    expect(summary(planTruncation(log, new DLSN(3n, 2n, 1n)))).to.deep.equal([
      [1n, TruncationStatus.TRUNCATED, '0:0'],
      [2n, TruncationStatus.TRUNCATED, '0:0'],
      [3n, TruncationStatus.PARTIALLY_TRUNCATED, '2:1'],
    ]);
  });

  it('truncates a whole segment when the DLSN is the next segment\'s first', () => {
    expect(summary(planTruncation(log, DLSN.firstOf(3n)))).to.deep.equal([
      [1n, TruncationStatus.TRUNCATED, '0:0'],
      [2n, TruncationStatus.TRUNCATED, '0:0'],
    ]);
  });

  it('keeps the record at the DLSN: its last record makes a segment partial, not truncated', () => {
    expect(summary(planTruncation(log, new DLSN(1n, 4n, 2n)))).to.deep.equal([[1n, TruncationStatus.PARTIALLY_TRUNCATED, '4:2']]);
    expect(planTruncation(log, DLSN.firstOf(1n))).to.deep.equal([]);
    expect(planTruncation(log, DLSN.NonInclusiveLowerBound)).to.deep.equal([]);
  });

  it('stops at the first in-progress segment, even with completed segments after it', () => {
    const segments = [completed(1n), inProgress(2n), completed(3n)];
    expect(summary(planTruncation(segments, new DLSN(9n, 0n, 0n)))).to.deep.equal([[1n, TruncationStatus.TRUNCATED, '0:0']]);
    expect(planTruncation([inProgress(1n)], new DLSN(1n, 5n, 0n))).to.deep.equal([]);
  });

  it('truncates every completed segment when the DLSN is past the last record', () => {
    const all = [completed(1n), completed(2n), completed(3n, -1n)];
    expect(summary(planTruncation(all, new DLSN(5n, 0n, 0n))).map(([l, s]) => [l, s])).to.deep.equal([
      [1n, TruncationStatus.TRUNCATED],
      [2n, TruncationStatus.TRUNCATED],
      [3n, TruncationStatus.TRUNCATED],
    ]);
  });

  it('moves minActiveDLSN forward only', () => {
    const partial = completed(1n).partiallyTruncated(new DLSN(1n, 3n, 0n));
    expect(planTruncation([partial], new DLSN(1n, 2n, 0n))).to.deep.equal([]);
    expect(planTruncation([partial], new DLSN(1n, 3n, 0n))).to.deep.equal([]);
    expect(summary(planTruncation([partial], new DLSN(1n, 3n, 1n)))).to.deep.equal([[1n, TruncationStatus.PARTIALLY_TRUNCATED, '3:1']]);
  });

  it('leaves TRUNCATED segments alone and never makes them partial again', () => {
    const truncated = completed(1n).withTruncationStatus(TruncationStatus.TRUNCATED);
    expect(planTruncation([truncated, completed(2n)], new DLSN(1n, 2n, 0n))).to.deep.equal([]);
    expect(summary(planTruncation([truncated, completed(2n)], new DLSN(2n, 1n, 0n)))).to.deep.equal([
      [2n, TruncationStatus.PARTIALLY_TRUNCATED, '1:0'],
    ]);
  });

  it('turns a partially truncated segment TRUNCATED, keeping its other status bits', () => {
    const partial = completed(1n).partiallyTruncated(new DLSN(1n, 3n, 0n)).with({ status: 0x10 | TruncationStatus.PARTIALLY_TRUNCATED });
    const [changed] = planTruncation([partial, completed(2n)], DLSN.firstOf(2n));
    expect(changed?.truncationStatus).to.equal(TruncationStatus.TRUNCATED);
    expect(changed?.status).to.equal(0x10 | TruncationStatus.TRUNCATED);
  });

  it('rejects InvalidDLSN and LSSNs below 1', () => {
    expect(() => planTruncation(log, DLSN.InvalidDLSN)).to.throw(InvalidArgumentError, /cannot truncate/);
    expect(() => planTruncation(log, new DLSN(0n, 5n, 0n))).to.throw(InvalidArgumentError);
    expect(() => planTruncation(log, new DLSN(-1n, 0n, 0n))).to.throw(InvalidArgumentError);
  });
});

for (const backend of backends) {
  describe(`truncateLog (${backend.name})`, function () {
    let store: MetadataStore;
    let logs: LogMetadataStore;
    const name = 'events';

    beforeEach(async function () {
      store = await backend.connect(this);
      logs = new LogMetadataStore(store, `/trunc-${randomUUID().slice(0, 8)}`);
      const { paths } = await logs.createLog(name);
      for (const s of [completed(1n), completed(2n), completed(3n), inProgress(4n)]) {
        await store.create(`${paths.ledgers}/${s.znodeName()}`, Buffer.from(s.serialize()));
      }
    });

    afterEach(async () => {
      await store.close();
    });

    it('rewrites the changed segments and returns them', async () => {
      const changed = await truncateLog(logs, name, new DLSN(2n, 1n, 0n));
      expect(summary(changed)).to.deep.equal([
        [1n, TruncationStatus.TRUNCATED, '0:0'],
        [2n, TruncationStatus.PARTIALLY_TRUNCATED, '1:0'],
      ]);
      expect(summary(await logs.listSegments(name))).to.deep.equal([
        [1n, TruncationStatus.TRUNCATED, '0:0'],
        [2n, TruncationStatus.PARTIALLY_TRUNCATED, '1:0'],
        [3n, TruncationStatus.ACTIVE, '0:0'],
        [4n, TruncationStatus.ACTIVE, '0:0'],
      ]);
      // again at the same point: nothing left to change
      expect(await truncateLog(logs, name, new DLSN(2n, 1n, 0n))).to.deep.equal([]);
    });

    it('past the last record, truncates the completed segments only', async () => {
      await truncateLog(logs, name, new DLSN(10n, 0n, 0n));
      expect((await logs.listSegments(name)).map((s) => [s.logSegmentSequenceNo, s.inProgress, s.truncationStatus])).to.deep.equal([
        [1n, false, TruncationStatus.TRUNCATED],
        [2n, false, TruncationStatus.TRUNCATED],
        [3n, false, TruncationStatus.TRUNCATED],
        [4n, true, TruncationStatus.ACTIVE],
      ]);
    });

    it('rejects an invalid DLSN before touching anything', async () => {
      await rejection(truncateLog(logs, name, DLSN.InvalidDLSN), InvalidArgumentError);
    });

    it('updateSegments applies all rewrites or none', async () => {
      const [s1] = await logs.listSegments(name);
      const missing = completed(9n).withTruncationStatus(TruncationStatus.TRUNCATED);
      const err = await rejection(logs.updateSegments(name, [s1!.withTruncationStatus(TruncationStatus.TRUNCATED), missing]), LogError);
      expect(err.code).to.equal('SEGMENT_NOT_FOUND');
      expect((await logs.listSegments(name))[0]?.truncationStatus).to.equal(TruncationStatus.ACTIVE);
    });
  });
}
