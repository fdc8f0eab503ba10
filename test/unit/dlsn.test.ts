import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import { DLSN } from '../../src/log/format/dlsn.js';

const d = (a: number, b: number, c: number): DLSN => new DLSN(BigInt(a), BigInt(b), BigInt(c));

describe('DLSN', () => {
  it('has the reference constants', () => {
    expect(DLSN.InitialDLSN.equals(d(1, 0, 0))).to.equal(true);
    expect(DLSN.NonInclusiveLowerBound.equals(d(1, 0, -1))).to.equal(true);
    expect(DLSN.InvalidDLSN.equals(d(0, -1, -1))).to.equal(true);
  });

  it('compares lexicographically as signed longs', () => {
    const sorted = [d(0, -1, -1), d(1, 0, -1), d(1, 0, 0), d(1, 0, 1), d(1, 1, 0), d(2, 0, 0)];
    const shuffled = [sorted[3]!, sorted[5]!, sorted[0]!, sorted[2]!, sorted[4]!, sorted[1]!];
    expect(shuffled.sort((a, b) => a.compare(b)).map(String)).to.deep.equal(sorted.map(String));
    expect(d(1, 2, 3).compare(d(1, 2, 3))).to.equal(0);
    expect(d(1, 2, 3).equals(d(1, 2, 4))).to.equal(false);
  });

  it('next() moves one slot; positionOnTheNextLedger() starts the next segment', () => {
    expect(d(3, 7, 9).next().equals(d(3, 7, 10))).to.equal(true);
    expect(DLSN.NonInclusiveLowerBound.next().equals(DLSN.InitialDLSN)).to.equal(true);
    expect(d(3, 7, 9).positionOnTheNextLedger().equals(d(4, 0, 0))).to.equal(true);
    expect(DLSN.firstOf(5n).equals(d(5, 0, 0))).to.equal(true);
  });

  it('writes version 1 and three big-endian longs: 25 bytes', () => {
    expect(d(2, 3, 4).toBytes().toString('hex')).to.equal(
      '01' + '0000000000000002' + '0000000000000003' + '0000000000000004',
    );
    expect(d(1, 0, -1).toBytes().toString('hex')).to.equal('01' + '0000000000000001' + '00'.repeat(8) + 'ff'.repeat(8));
    const max = new DLSN((1n << 63n) - 1n, -(1n << 63n), 0n);
    expect(max.toBytes().toString('hex')).to.equal('01' + '7fffffffffffffff' + '8000000000000000' + '00'.repeat(8));
    expect(DLSN.fromBytes(max.toBytes()).equals(max)).to.equal(true);
  });

  it('serializes to padded base64 as the reference', () => {
    expect(DLSN.InitialDLSN.serialize()).to.equal('AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==');
    expect(DLSN.NonInclusiveLowerBound.serialize()).to.equal('AQAAAAAAAAABAAAAAAAAAAD//////////w==');
    expect(DLSN.InvalidDLSN.serialize()).to.equal('AQAAAAAAAAAA' + '/'.repeat(20) + '/w==');
    expect(DLSN.parse('AQAAAAAAAAABAAAAAAAAAAD//////////w==').equals(DLSN.NonInclusiveLowerBound)).to.equal(true);
    expect(DLSN.deserialize(d(9, 8, 7).serialize()).equals(d(9, 8, 7))).to.equal(true);
  });

  it('reads the legacy version 0 only at its 200-byte length', () => {
    const v0 = Buffer.alloc(200);
    v0.writeBigInt64BE(4n, 1);
    v0.writeBigInt64BE(5n, 9);
    v0.writeBigInt64BE(6n, 17);
    expect(DLSN.fromBytes(v0).equals(d(4, 5, 6))).to.equal(true);
    expect(() => DLSN.fromBytes(v0.subarray(0, 25))).to.throw(InvalidArgumentError, /version 0 needs 200 bytes/);
  });

  it('rejects malformed bytes and strings with typed errors', () => {
    const good = d(1, 0, 0).toBytes();
    expect(() => DLSN.fromBytes(Buffer.alloc(0))).to.throw(InvalidArgumentError, /no bytes/);
    expect(() => DLSN.fromBytes(good.subarray(0, 24))).to.throw(InvalidArgumentError, /needs 25 bytes, got 24/);
    expect(() => DLSN.fromBytes(Buffer.concat([good, Buffer.of(0)]))).to.throw(InvalidArgumentError, /got 26/);
    const v2 = Buffer.from(good);
    v2[0] = 2;
    expect(() => DLSN.fromBytes(v2)).to.throw(InvalidArgumentError, /unknown version 2/);
    for (const bad of ['', '!!!', 'AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA', 'AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==\n', 'AQID']) {
      expect(() => DLSN.parse(bad), bad).to.throw(InvalidArgumentError);
    }
    expect(() => new DLSN(1n << 63n, 0n, 0n)).to.throw(InvalidArgumentError, /logSegmentSequenceNo/);
  });

  it('prints a readable form that parse() takes back, as it takes the base64 form', () => {
    expect(d(1, 2, 3).toString()).to.equal('(1,2,3)');
    for (const dlsn of [d(1, 2, 3), DLSN.NonInclusiveLowerBound, DLSN.InvalidDLSN]) {
      expect(DLSN.parse(dlsn.toString()).equals(dlsn), dlsn.toString()).to.equal(true);
      expect(DLSN.parse(dlsn.serialize()).equals(dlsn)).to.equal(true);
    }
    expect(DLSN.parse('( 2, 0 ,5 )').equals(d(2, 0, 5))).to.equal(true);
    expect(DLSN.parse('2,0,5').equals(d(2, 0, 5))).to.equal(true);
    for (const bad of ['(1,0)', '(1,0,0,0)', '(a,0,0)', `(${1n << 63n},0,0)`]) expect(() => DLSN.parse(bad), bad).to.throw(InvalidArgumentError);
  });
});
