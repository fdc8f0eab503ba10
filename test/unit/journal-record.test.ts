import { expect } from 'chai';

import { checkJournalRecord, decodeJournalRecord, encodedJournalRecordSize, encodeJournalRecord, type JournalRecord } from '../../src/bookie/journal-record.js';

const samples: JournalRecord[] = [
  { type: 'addEntry', ledgerId: 7n, entryId: 0n, entry: Buffer.from('hello entry') },
  { type: 'addEntry', ledgerId: (1n << 63n) - 1n, entryId: 123456789012345n, entry: Buffer.alloc(0) },
  { type: 'fence', ledgerId: 42n },
  { type: 'masterKey', ledgerId: 42n, masterKey: Buffer.alloc(20, 0xab) },
  { type: 'explicitLac', ledgerId: 42n, lac: -1n, lacEnvelope: Buffer.from([1, 2, 3, 4]) },
];

function encode(record: JournalRecord): Buffer {
  const size = encodedJournalRecordSize(record);
  const buf = Buffer.alloc(size + 3);
  encodeJournalRecord(record, buf, 3, size);
  return buf;
}

describe('journal records', () => {
  it('round-trips every record type', () => {
    for (const record of samples) {
      const buf = encode(record);
      expect(checkJournalRecord(buf, 3, buf.length)).to.equal(buf.length - 3);
      expect(decodeJournalRecord(buf, 3)).to.deep.equal(record);
    }
  });

  it('rejects a flipped bit anywhere in the record', () => {
    const buf = encode(samples[0]!);
    for (let i = 3; i < buf.length; i++) {
      const damaged = Buffer.from(buf);
      damaged[i]! ^= 0x10;
      expect(typeof checkJournalRecord(damaged, 3, damaged.length), `flip at byte ${i} went unnoticed`).to.equal('string');
    }
  });

  it('rejects a record that runs past the end of its group', () => {
    const buf = encode(samples[2]!);
    expect(String(checkJournalRecord(buf, 3, buf.length - 1))).to.match(/runs past/);
    expect(String(checkJournalRecord(buf, 3, 10))).to.match(/runs past/);
  });

  it('refuses ids outside the int64 range', () => {
    const record: JournalRecord = { type: 'fence', ledgerId: 1n << 63n };
    expect(() => encode(record)).to.throw(RangeError);
  });
});
