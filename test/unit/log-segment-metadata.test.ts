import { expect } from 'chai';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LogError } from '../../src/log/log-error.js';
import {
  compareLogSegments,
  INVALID_TXID,
  newInProgressSegment,
  parseLogSegmentMetadata,
  TruncationStatus,
  type LogSegmentMetadata,
} from '../../src/log/metadata/log-segment-metadata.js';
import {
  completedName,
  inprogressName,
  legacyCompletedName,
  legacyInprogressName,
  parseLogSegmentName,
} from '../../src/log/metadata/log-segment-names.js';

const IN_PROGRESS_V5 = '5;1;0;1;0;0;-1';
const COMPLETED_V5 = '42949672965;7;1;10;1500000000000;1;2;3;0;0;0';
const TRUNCATED_V5 = '42949673477;7;1;10;1500000000000;1;2;3;0;0;0';

function completedV5(): LogSegmentMetadata {
  return newInProgressSegment({ logSegmentId: 7n, firstTxId: 1n, logSegmentSequenceNo: 1n }).complete({
    lastTxId: 10n,
    recordCount: 10,
    lastEntryId: 2n,
    lastSlotId: 3n,
    startSequenceId: 0n,
    completionTime: 1_500_000_000_000n,
  });
}

function expectLogError(fn: () => unknown, code: string, message: RegExp): void {
  expect(fn).to.throw(LogError, message).with.property('code', code);
}

describe('LogSegmentMetadata', () => {
  describe('reference vectors (V5)', () => {
    it('in progress: 5;1;0;1;0;0;-1', () => {
      const seg = newInProgressSegment({ logSegmentId: 1n, firstTxId: 0n, logSegmentSequenceNo: 1n });
      expect(seg.serialize()).to.equal(IN_PROGRESS_V5);
      const parsed = parseLogSegmentMetadata('inprogress_000000000000000001', IN_PROGRESS_V5);
      expect(parsed).to.deep.equal(seg);
      expect(parsed.inProgress).to.equal(true);
      expect(parsed.lastTxId).to.equal(INVALID_TXID);
      expect(parsed.startSequenceId).to.equal(-1n);
      expect(parsed.lastDLSN.equals(new DLSN(1n, -1n, -1n))).to.equal(true);
      expect(parsed.znodeName()).to.equal('inprogress_000000000000000001');
    });

    it('completed with 10 records', () => {
      const seg = completedV5();
      expect(seg.serialize()).to.equal(COMPLETED_V5);
      const parsed = parseLogSegmentMetadata('logrecs_000000000000000001', Buffer.from(COMPLETED_V5));
      expect(parsed).to.deep.equal(seg);
      expect(parsed.recordCount).to.equal(10);
      expect(parsed.completionTime).to.equal(1_500_000_000_000n);
      expect(parsed.lastDLSN.equals(new DLSN(1n, 2n, 3n))).to.equal(true);
      expect(parsed.znodeName()).to.equal('logrecs_000000000000000001');
    });

    it('TRUNCATED sets status 2 in bits 8-15', () => {
      const seg = completedV5().withTruncationStatus(TruncationStatus.TRUNCATED);
      expect(seg.serialize()).to.equal(TRUNCATED_V5);
      const parsed = parseLogSegmentMetadata('logrecs_000000000000000001', TRUNCATED_V5);
      expect(parsed.isTruncated).to.equal(true);
      expect(parsed.truncationStatus).to.equal(TruncationStatus.TRUNCATED);
      expect(parsed.withTruncationStatus(TruncationStatus.ACTIVE).serialize()).to.equal(COMPLETED_V5);
    });
  });

  it('partially truncated: status 1 and minActiveDLSN', () => {
    // 42949672965 + (1 << 8)
    const seg = completedV5().partiallyTruncated(new DLSN(1n, 1n, 5n));
    expect(seg.serialize()).to.equal('42949673221;7;1;10;1500000000000;1;2;3;1;5;0');
    expect(seg.isPartiallyTruncated).to.equal(true);
    expect(seg.minActiveDLSN.equals(new DLSN(1n, 1n, 5n))).to.equal(true);
    expect(() => seg.partiallyTruncated(new DLSN(2n, 0n, 0n))).to.throw(/not in segment 1/);
  });

  it('packs the region id in bits 28-31', () => {
    // 5 | 3 << 28
    const seg = newInProgressSegment({ logSegmentId: 1n, firstTxId: 0n, logSegmentSequenceNo: 1n, regionId: 3 });
    expect(seg.serialize()).to.equal('805306373;1;0;1;0;0;-1');
    expect(parseLogSegmentMetadata('x', '805306373;1;0;1;0;0;-1').regionId).to.equal(3);
  });

  describe('older versions', () => {
    // completed forms carry recordCount 6 (6 << 32 = 25769803776), lssn 3, last entry 4, slot 0
    const vectors: [number, string, string][] = [
      [2, '2;7;100;3', '25769803778;7;100;105;1500000000000;3;4;0'],
      [3, '3;7;100;3;0;0', '25769803779;7;100;105;1500000000000;3;4;0;0;0'],
      [4, '4;7;100;3;0;0', '25769803780;7;100;105;1500000000000;3;4;0;0;0'],
    ];
    for (const [version, inProgress, completed] of vectors) {
      it(`V${version} round-trips both forms`, () => {
        const ip = newInProgressSegment({
          logSegmentId: 7n,
          firstTxId: 100n,
          logSegmentSequenceNo: 3n,
          version: version as 2 | 3 | 4,
        });
        expect(ip.serialize()).to.equal(inProgress);
        expect(parseLogSegmentMetadata('x', inProgress)).to.deep.equal(ip);
        const done = ip.complete({
          lastTxId: 105n,
          recordCount: 6,
          lastEntryId: 4n,
          lastSlotId: 0n,
          startSequenceId: -1n,
          completionTime: 1_500_000_000_000n,
        });
        expect(done.serialize()).to.equal(completed);
        expect(parseLogSegmentMetadata('x', completed)).to.deep.equal(done);
        expect(done.envelopedEntries).to.equal(version >= 4);
        // no stored start sequence id: Long.MIN_VALUE + (3 << 32)
        expect(done.effectiveStartSequenceId).to.equal(-9223372023969873920n);
      });
    }

    it('V1 needs skipMinVersionCheck and has no LSSN', () => {
      expectLogError(() => parseLogSegmentMetadata('x', '1;7;100'), 'UNSUPPORTED_METADATA_VERSION', /version 1/);
      const ip = parseLogSegmentMetadata('x', '1;7;100', { skipMinVersionCheck: true });
      expect(ip.inProgress).to.equal(true);
      expect(ip.logSegmentSequenceNo).to.equal(0n);
      expect(ip.serialize()).to.equal('1;7;100');
      // 1 | 3 << 32
      const done = parseLogSegmentMetadata('x', '12884901889;7;100;105;1500000000000', { skipMinVersionCheck: true });
      expect(done.inProgress).to.equal(false);
      expect(done.recordCount).to.equal(3);
      expect(done.lastTxId).to.equal(105n);
      expect(done.lastEntryId).to.equal(-1n);
      expect(done.serialize()).to.equal('12884901889;7;100;105;1500000000000');
    });
  });

  it('keeps Java int semantics for recordCount and long bounds', () => {
    const seg = completedV5().with({ recordCount: 0x7fffffff, firstTxId: -(1n << 63n) });
    expect(parseLogSegmentMetadata('x', seg.serialize())).to.deep.equal(seg);
    // Java writes (long) -1 << 32 as a negative long
    const neg = completedV5().with({ recordCount: -1 });
    expect(neg.serialize().split(';')[0]).to.equal('-4294967291');
    expect(parseLogSegmentMetadata('x', neg.serialize()).recordCount).to.equal(-1);
  });

  it('rejects unsupported versions and malformed data', () => {
    expectLogError(() => parseLogSegmentMetadata('s', '6;1;0;1;0;0;-1'), 'UNSUPPORTED_METADATA_VERSION', /version 6/);
    expectLogError(() => parseLogSegmentMetadata('s', '0;1;0'), 'UNSUPPORTED_METADATA_VERSION', /version 0/);
    const malformed: [string, RegExp][] = [
      ['', /field 0/],
      ['5;1;0;1;0;0', /needs 7 \(in progress\) or 11 \(completed\) fields, got 6/],
      ['5;1;0;1;0;0;-1;', /field 7 ""/],
      ['5;1;x;1;0;0;-1', /field 2 "x"/],
      ['5;1;0;1;0;0;1.5', /field 6/],
      ['5;9223372036854775808;0;1;0;0;-1', /field 1/],
      ['773;1;0;1;0;0;-1', /truncation status 3/],
    ];
    for (const [data, why] of malformed) {
      expectLogError(() => parseLogSegmentMetadata('s', data), 'MALFORMED_SEGMENT_METADATA', why);
    }
    expectLogError(() => parseLogSegmentMetadata('s', Buffer.of(0x35, 0xff)), 'MALFORMED_SEGMENT_METADATA', /UTF-8/);
  });

  it('validates fields and refuses to complete twice', () => {
    expect(() => completedV5().complete({ lastTxId: 1n, recordCount: 0, lastEntryId: 0n, lastSlotId: 0n, startSequenceId: 0n }))
      .to.throw(/already completed/);
    expect(() => completedV5().with({ regionId: 16 })).to.throw(/regionId/);
    expect(() => completedV5().with({ lastEntryId: 1n << 63n })).to.throw(/lastEntryId/);
  });

  it('orders by LSSN, in progress before completed, and by firstTxId when an LSSN is 0', () => {
    const seg = (lssn: bigint, firstTxId: bigint, inProgress: boolean): LogSegmentMetadata =>
      newInProgressSegment({ logSegmentId: 1n, firstTxId, logSegmentSequenceNo: lssn }).with({ inProgress });
    const c1 = seg(1n, 0n, false);
    const ip2 = seg(2n, 10n, true);
    const c2 = seg(2n, 10n, false);
    const ip3 = seg(3n, 20n, true);
    expect([c2, ip3, c1, ip2].sort(compareLogSegments)).to.deep.equal([c1, ip2, c2, ip3]);
    expect(compareLogSegments(seg(0n, 5n, false), seg(9n, 6n, false))).to.equal(-1);
    expect(compareLogSegments(seg(9n, 7n, false), seg(0n, 6n, true))).to.equal(1);
    expect(compareLogSegments(seg(0n, 6n, false), seg(0n, 6n, true))).to.equal(0);
  });
});

describe('log segment names', () => {
  it('formats name version 1 as %018d of the LSSN', () => {
    expect(inprogressName(1n)).to.equal('inprogress_000000000000000001');
    expect(completedName(123456789n)).to.equal('logrecs_000000000123456789');
  });

  it('formats the legacy names', () => {
    expect(legacyInprogressName(255n)).to.equal('inprogress_ff');
    expect(legacyCompletedName(1n, 10n)).to.equal('logrecs_000000000000000001_000000000000000010');
    expect(legacyCompletedName(-1n, 5n)).to.equal('logrecs_-00000000000000001_000000000000000005');
  });

  it('parses every form and ignores other children', () => {
    expect(parseLogSegmentName('inprogress_000000000000000001')).to.deep.equal({ kind: 'inprogress', lssn: 1n });
    expect(parseLogSegmentName('logrecs_000000000000000042')).to.deep.equal({ kind: 'completed', lssn: 42n });
    expect(parseLogSegmentName('inprogress_ff')).to.deep.equal({ kind: 'legacy-inprogress', firstTxId: 255n });
    expect(parseLogSegmentName('inprogress_7fffffffffffffff')).to.deep.equal({
      kind: 'legacy-inprogress',
      firstTxId: (1n << 63n) - 1n,
    });
    expect(parseLogSegmentName(legacyCompletedName(-1n, 5n))).to.deep.equal({
      kind: 'legacy-completed',
      firstTxId: -1n,
      lastTxId: 5n,
    });
    expect(parseLogSegmentName('logrecs_1_10_2_77_3')).to.deep.equal({
      kind: 'legacy-completed-full',
      firstTxId: 1n,
      lastTxId: 10n,
      lssn: 2n,
      ledgerId: 77n,
      regionId: 3n,
    });
    for (const other of ['lock', 'inprogress', 'inprogress_', 'inprogress_xyz', 'inprogress_00000000000000000000001x',
      'logrecs_a', 'logrecs_1_2_3', 'logrecs_1_2_3_4_5_6', 'logrecs_99999999999999999999']) {
      expect(parseLogSegmentName(other), other).to.equal(undefined);
    }
  });
});
