import assert from 'node:assert/strict';

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
      assert.equal(checkJournalRecord(buf, 3, buf.length), buf.length - 3);
      assert.deepEqual(decodeJournalRecord(buf, 3), record);
    }
  });

  it('rejects a flipped bit anywhere in the record', () => {
    const buf = encode(samples[0]!);
    for (let i = 3; i < buf.length; i++) {
      const damaged = Buffer.from(buf);
      damaged[i]! ^= 0x10;
      assert.equal(typeof checkJournalRecord(damaged, 3, damaged.length), 'string', `flip at byte ${i} went unnoticed`);
    }
  });

  it('rejects a record that runs past the end of its group', () => {
    const buf = encode(samples[2]!);
    assert.match(String(checkJournalRecord(buf, 3, buf.length - 1)), /runs past/);
    assert.match(String(checkJournalRecord(buf, 3, 10)), /runs past/);
  });

  it('refuses ids outside the int64 range', () => {
    const record: JournalRecord = { type: 'fence', ledgerId: 1n << 63n };
    assert.throws(() => encode(record), RangeError);
  });
});
