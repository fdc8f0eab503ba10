import { expect } from 'chai';
import { LogError } from '../../src/log/log-error.js';
import { LogRecordSetWriter, readLogRecordSet } from '../../src/log/format/log-record-set.js';
import { controlRecord, MAX_LOGRECORD_SIZE, MAX_LOGRECORDSET_SIZE, userRecord } from '../../src/log/format/log-record.js';
import { EntryRecordWriter, readEntryRecords } from '../../src/log/format/entry-records.js';
import { thrown } from '../support/thrown.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function logError(code: string): (err: unknown) => boolean {
  return (err) => err instanceof LogError && err.code === code;
}

// Three user records "a", "b", "c" with txids 1..3 and positions 1..3, packed back to back.
const THREE = hex(
  '0000000000010000 0000000000000001 00000001 61' +
    '0000000000020000 0000000000000002 00000001 62' +
    '0000000000030000 0000000000000003 00000001 63',
);

// A record set holding "x" and "yz", codec none: version|codec, count, two equal lengths, data.
const SET_XYZ = hex('00001000 00000002 0000000b 0000000b  00000001 78  00000002 797a');

describe('entry records', () => {
  it('packs three records into the exact concatenation and hands out slots 0, 1, 2', () => {
    const writer = new EntryRecordWriter();
    const slots = ['a', 'b', 'c'].map((p, i) => writer.append(userRecord(BigInt(i + 1), Buffer.from(p), i + 1)));
    expect(slots).to.deep.equal([0n, 1n, 2n]);
    expect(writer.toBuffer()).to.deep.equal(THREE);
    expect(writer.numBytes).to.equal(63);
    expect(writer.numRecords).to.equal(3);
    expect(writer.hasUserRecords).to.equal(true);
  });

  it('reads the three records back with their slots and sequence ids', () => {
    const read = [...readEntryRecords(THREE, { startSequenceId: 10n })];
    expect(read.map((r) => [r.slotId, r.txid, r.payload.toString(), r.position, r.sequenceId])).to.deep.equal([
        [0n, 1n, 'a', 1, 10n],
        [1n, 2n, 'b', 2, 11n],
        [2n, 3n, 'c', 3, 12n],
      ]);
    expect(read[0]!.sequenceId).to.equal(10n);
    expect([...readEntryRecords(THREE)][0]!.sequenceId).to.equal(undefined);
  });

  it('numbers slots from startSlotId and counts control records', () => {
    const writer = new EntryRecordWriter();
    writer.append(controlRecord(3n, 3));
    expect(!writer.hasUserRecords).to.equal(true);
    const read = [...readEntryRecords(writer.toBuffer(), { startSlotId: 5n })];
    expect(read.length).to.equal(1);
    expect(read[0]!.slotId).to.equal(5n);
    expect(read[0]!.payload.toString()).to.equal('control');
  });

  it('rejects a record that would overflow the cap, leaving the entry unchanged', () => {
    const writer = new EntryRecordWriter(45);
    writer.append(userRecord(1n, Buffer.from('a')));
    const big = userRecord(2n, Buffer.alloc(5));
    expect(!writer.fits(big)).to.equal(true);
    expect(thrown(() => writer.append(big))).to.satisfy(logError('RECORD_TOO_LARGE'));
    expect(writer.numBytes).to.equal(21);
    expect(writer.numRecords).to.equal(1);
    writer.append(userRecord(2n, Buffer.alloc(4)));
    expect(writer.numBytes).to.equal(45);
  });

  it('grows past its initial capacity without changing bytes already handed out', () => {
    const writer = new EntryRecordWriter();
    writer.append(userRecord(1n, Buffer.from('a'), 1));
    const first = writer.toBuffer();
    const copy = Buffer.from(first);
    writer.append(userRecord(2n, Buffer.alloc(MAX_LOGRECORD_SIZE - 20, 7), 2));
    expect(first).to.deep.equal(copy);
    expect(writer.numBytes).to.equal(21 + MAX_LOGRECORD_SIZE);
    expect(writer.numBytes <= MAX_LOGRECORDSET_SIZE).to.equal(true);
    expect([...readEntryRecords(writer.toBuffer())][1]!.payload.length).to.equal(MAX_LOGRECORD_SIZE - 20);
  });

  it('keeps its headroom in front of the records as it grows', () => {
    const writer = new EntryRecordWriter(undefined, 13);
    writer.append(userRecord(1n, Buffer.from('a'), 1));
    writer.append(userRecord(2n, Buffer.alloc(10_000, 7), 2));
    const framed = writer.withHeadroom();
    expect(framed.length).to.equal(13 + writer.numBytes);
    expect(framed.subarray(13)).to.deep.equal(writer.toBuffer());
    expect([...readEntryRecords(writer.toBuffer())].map((r) => [r.txid, r.payload.length])).to.deep.equal([[1n, 1], [2n, 10_000]]);
  });

  it('rejects a truncated entry as CORRUPT_ENTRY', () => {
    expect(thrown(() => [...readEntryRecords(THREE.subarray(0, 50))])).to.satisfy(logError('CORRUPT_ENTRY'));
  });
});

describe('record sets', () => {
  it('serializes "x" and "yz" as §4.2 lays it out', () => {
    const set = new LogRecordSetWriter();
    set.append(Buffer.from('x'));
    set.append(Buffer.from('yz'));
    expect(set.numRecords).to.equal(2);
    expect(set.numBytes).to.equal(27);
    expect(set.toPayload()).to.deep.equal(SET_XYZ);
    expect(readLogRecordSet(SET_XYZ).map((b) => b.toString())).to.deep.equal(['x', 'yz']);
  });

  it('round-trips an LZ4 record set and stores the raw block', () => {
    const set = new LogRecordSetWriter('lz4');
    for (let i = 0; i < 20; i++) set.append(Buffer.from('same payload'));
    const payload = set.toPayload();
    expect(payload.readInt32BE(0)).to.equal(0x1001);
    expect(payload.readInt32BE(8)).to.equal(20 * 16);
    expect(payload.readInt32BE(12)).to.equal(payload.length - 16);
    expect(payload.length < 16 + 20 * 16).to.equal(true);
    expect(readLogRecordSet(payload).map((b) => b.toString())).to.deep.equal(Array<string>(20).fill('same payload'));
  });

  it('gives inner records the outer txid and consecutive slots and positions', () => {
    // "a" at slot 0, the set {"x","yz"} at slots 1-2, then a control record at slot 3.
    const entry = hex(
      '0000000000010000 0000000000000001 00000001 61' +
        '0000000000020004 0000000000000005 0000001b' + SET_XYZ.toString('hex') +
        '0000000000030001 0000000000000005 00000007' + Buffer.from('control').toString('hex'),
    );
    const writer = new EntryRecordWriter();
    const set = new LogRecordSetWriter();
    set.append(Buffer.from('x'));
    set.append(Buffer.from('yz'));
    expect(writer.append(userRecord(1n, Buffer.from('a'), 1))).to.equal(0n);
    expect(writer.append(set.toLogRecord(5n, 2))).to.equal(1n);
    expect(writer.append(controlRecord(5n, 3))).to.equal(3n);
    expect(writer.toBuffer()).to.deep.equal(entry);
    expect(writer.numRecords).to.equal(4);

    const read = [...readEntryRecords(entry, { startSequenceId: 100n })];
    expect(read.map((r) => [r.slotId, r.txid, r.payload.toString(), r.flags, r.position, r.sequenceId])).to.deep.equal([
        [0n, 1n, 'a', 0, 1, 100n],
        [1n, 5n, 'x', 0, 2, 101n],
        [2n, 5n, 'yz', 0, 3, 102n],
        [3n, 5n, 'control', 1, 3, 102n],
      ]);
    const whole = [...readEntryRecords(entry, { expandRecordSets: false })];
    expect(whole.map((r) => [r.slotId, r.flags])).to.deep.equal([
        [0n, 0],
        [1n, 4],
        [3n, 1],
      ]);
  });

  it('rejects malformed sets as CORRUPT_ENTRY', () => {
    const badVersion = Buffer.from(SET_XYZ);
    badVersion.writeInt32BE(0x2000, 0);
    const unequal = Buffer.from(SET_XYZ);
    unequal.writeInt32BE(10, 8);
    const tooMany = Buffer.from(SET_XYZ);
    tooMany.writeInt32BE(3, 4);
    const tooFew = Buffer.from(SET_XYZ);
    tooFew.writeInt32BE(1, 4);
    for (const bad of [badVersion, unequal, tooMany, tooFew, SET_XYZ.subarray(0, 20)]) {
      expect(thrown(() => readLogRecordSet(bad))).to.satisfy(logError('CORRUPT_ENTRY'));
    }
  });

  it('refuses a RECORD_SET record whose payload is not a set, and oversized inner records', () => {
    const writer = new EntryRecordWriter();
    expect(thrown(() => writer.append({ txid: 1n, payload: Buffer.from('nope'), flags: 4, position: 1 }))).to.satisfy(logError('INVALID_RECORD'));
    expect(thrown(() => {
      new LogRecordSetWriter().append(Buffer.alloc(MAX_LOGRECORD_SIZE + 1));
    })).to.satisfy(logError('RECORD_TOO_LARGE'));
  });
});
