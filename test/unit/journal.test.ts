import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

import { InvalidArgumentError } from '../../src/errors.js';
import { JournalError } from '../../src/bookie/journal-error.js';
import { rejection } from '../support/rejection.js';
import { journalFileName } from '../../src/bookie/journal-format.js';
import { encodedJournalRecordSize } from '../../src/bookie/journal-record.js';
import {
  compareJournalPositions,
  Journal,
  JOURNAL_START,
  type JournalOptions,
  type JournalPosition,
  type JournalRecord,
  type JournalSyncMode,
} from '../../src/bookie/journal.js';
import { seededRandom } from '../support/prng.js';
import { rejected } from '../support/thrown.js';

const KiB = 1024;
const SYNC_MODES: JournalSyncMode[] = ['dsync', 'fdatasync'];

/** Small files and preallocation so that rolls and extensions happen within a test. */
const SMALL: JournalOptions = { maxFileSize: 64 * KiB, preallocSize: 16 * KiB, alignment: 512 };


function entry(id: number, size = 100): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (id * 31 + i * 7) & 0xff;
  return buf;
}

function add(id: number, size = 100): JournalRecord {
  return { type: 'addEntry', ledgerId: 1n, entryId: BigInt(id), entry: entry(id, size) };
}

/**
 * Runs `journal` into a reused file, as a bookie's journal runs after its first checkpoints: fills
 * two files with 4 KB entries (ids from 9000), retires them, then rolls until a roll reuses one.
 * The new file's old bytes are then valid groups of another file. Returns where its data starts.
 */
async function intoReusedFile(journal: Journal): Promise<JournalPosition> {
  let id = 9000;
  const batch = async (): Promise<void> => { await Promise.all(Array.from({ length: 8 }, () => journal.append(add(id++, 4000)))); };
  while (journal.stats().fileId < 3) await batch();
  await journal.removeBefore(journal.markCheckpoint());
  const fileId = journal.stats().fileId;
  while (journal.stats().fileId === fileId) await batch();
  expect(journal.stats().reusedFiles).to.equal(1);
  return journal.markCheckpoint();
}

async function replayAll(journal: Journal, from: JournalPosition = JOURNAL_START): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  await journal.replay(from, (record) => {
    records.push(record);
  });
  return records;
}

function entryIds(records: JournalRecord[]): number[] {
  return records.map((r) => (r.type === 'addEntry' ? Number(r.entryId) : -1));
}

async function expectJournalError(promise: Promise<unknown>, code: string): Promise<JournalError> {
  const err = await rejection(promise, JournalError);
  expect(err.code, err.message).to.equal(code);
  return err;
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0]! ^= 0x40;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

describe('Journal', function () {
  this.timeout(60_000);
  let dir: string;
  const file = (id: number): string => path.join(dir, journalFileName(id));

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dlog-journal-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('append and replay', () => {
    for (const syncMode of SYNC_MODES) {
      it(`round-trips records across rolls and reopen (${syncMode})`, async () => {
        const journal = await Journal.open(dir, { ...SMALL, syncMode });
        const written: JournalRecord[] = [
          { type: 'masterKey', ledgerId: 1n, masterKey: Buffer.alloc(20, 9) },
          { type: 'fence', ledgerId: 2n },
          { type: 'explicitLac', ledgerId: 1n, lac: -1n, lacEnvelope: Buffer.from('lac') },
        ];
        for (const record of written) await journal.append(record);
        // A mix of one-at-a-time and concurrent appends, 300 × ~1 KiB: several 64 KiB files.
        for (let i = 0; i < 100; i++) {
          written.push(add(i, 1000 + i));
          await journal.append(written.at(-1)!);
        }
        const batch = Array.from({ length: 200 }, (_, i) => add(100 + i, 900));
        written.push(...batch);
        await Promise.all(batch.map((r) => journal.append(r)));
        expect(journal.stats().rolls >= 3, `expected rolls, got ${journal.stats().rolls}`).to.equal(true);
        expect(await replayAll(journal)).to.deep.equal(written);
        await journal.close();

        const reopened = await Journal.open(dir, { ...SMALL, syncMode });
        expect(reopened.stats().repairedBytes).to.equal(0);
        expect(await replayAll(reopened)).to.deep.equal(written);
        const more = [add(1000), add(1001)];
        await Promise.all(more.map((r) => reopened.append(r)));
        expect(await replayAll(reopened)).to.deep.equal([...written, ...more]);
        await reopened.close();
      });
    }

    it('copies the record at append, so the caller may reuse its buffer', async () => {
      const journal = await Journal.open(dir, SMALL);
      const buf = Buffer.from('original');
      const acked = journal.append({ type: 'addEntry', ledgerId: 1n, entryId: 0n, entry: buf });
      buf.fill(0);
      await acked;
      const [record] = await replayAll(journal);
      expect(record?.type === 'addEntry' && record.entry.toString()).to.equal('original');
      await journal.close();
    });

    it('rejects records it cannot encode and keeps working', async () => {
      const journal = await Journal.open(dir, SMALL);
      expect(await rejected(journal.append({ type: 'fence', ledgerId: 1n << 63n }))).to.be.instanceOf(InvalidArgumentError);
      expect(await rejected(journal.append(add(0, 64 * KiB)))).to.be.instanceOf(InvalidArgumentError);
      await journal.append(add(1));
      expect(entryIds(await replayAll(journal))).to.deep.equal([1]);
      await journal.close();
    });

    it('rejects bad options', async () => {
      expect(await rejected(Journal.open(dir, { alignment: 1000 }))).to.be.instanceOf(InvalidArgumentError);
      expect(await rejected(Journal.open(dir, { maxFileSize: 1024 }))).to.be.instanceOf(InvalidArgumentError);
      expect(await rejected(Journal.open(dir, { maxGroupRecords: 0 }))).to.be.instanceOf(InvalidArgumentError);
    });

    it('preallocates, so that group writes do not grow the file', async () => {
      const journal = await Journal.open(dir, { maxFileSize: 1024 * KiB, preallocSize: 256 * KiB });
      await journal.append(add(0));
      const size = (await fs.stat(file(1))).size;
      expect(size).to.equal(256 * KiB);
      for (let i = 1; i < 20; i++) await journal.append(add(i, 2000));
      expect((await fs.stat(file(1))).size).to.equal(size);
      await journal.close();
    });
  });

  describe('group commit', () => {
    it('acknowledges 10k concurrent appends, in order, with far fewer syncs', async () => {
      const journal = await Journal.open(dir);
      const order: number[] = [];
      await Promise.all(Array.from({ length: 10_000 }, (_, i) => journal.append(add(i)).then(() => order.push(i))));
      const stats = journal.stats();
      expect(stats.records).to.equal(10_000);
      expect(stats.pendingRecords).to.equal(0);
      expect(stats.groups < 100 && stats.syncs < 100, `groups ${stats.groups}, syncs ${stats.syncs}`).to.equal(true);
      expect(order).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i));
      expect(entryIds(await replayAll(journal))).to.deep.equal(order);
      await journal.close();
    });

    it('caps a group by records and by bytes', async () => {
      const byCount = await Journal.open(path.join(dir, 'count'), { maxGroupRecords: 100 });
      await Promise.all(Array.from({ length: 1000 }, (_, i) => byCount.append(add(i))));
      expect(byCount.stats().groups).to.equal(10);
      await byCount.close();

      const recordSize = encodedJournalRecordSize(add(0));
      const byBytes = await Journal.open(path.join(dir, 'bytes'), { maxGroupBytes: 4 * recordSize });
      await Promise.all(Array.from({ length: 100 }, (_, i) => byBytes.append(add(i))));
      expect(byBytes.stats().groups).to.equal(25);
      // A record larger than the cap still gets a group of its own.
      await byBytes.append(add(100, 10 * recordSize));
      expect(byBytes.stats().groups).to.equal(26);
      expect((await replayAll(byBytes)).length).to.equal(101);
      await byBytes.close();
    });

    it('acknowledges nothing before its sync returns, and gathers appends made meanwhile', async () => {
      let release: () => void = () => undefined;
      let syncsStarted = 0;
      const journal = await Journal.open(dir, {
        hooks: {
          beforeSync: () => {
            syncsStarted++;
            return new Promise<void>((resolve) => (release = resolve));
          },
        },
      });
      const acked: number[] = [];
      const first = journal.append(add(0)).then(() => acked.push(0));
      while (syncsStarted === 0) await nextTurn();
      const later = [1, 2, 3].map((i) => journal.append(add(i)).then(() => acked.push(i)));
      await sleep(30);
      expect(acked, 'acknowledged before the sync returned').to.deep.equal([]);
      expect(journal.markCheckpoint()).to.deep.equal({ fileId: 1, offset: 4096 });
      release();
      await first;
      expect(acked).to.deep.equal([0]);
      // The three appends made during the first sync form the second group, started at once.
      while (syncsStarted === 1) await nextTurn();
      await sleep(30);
      expect(acked).to.deep.equal([0]);
      release();
      await Promise.all(later);
      expect(acked).to.deep.equal([0, 1, 2, 3]);
      expect(journal.stats().groups).to.equal(2);
      await journal.close();
    });

    it('waits maxGroupWaitMicros for company when idle', async () => {
      const eager = await Journal.open(path.join(dir, 'eager'));
      const e0 = eager.append(add(0));
      await nextTurn();
      await Promise.all([e0, eager.append(add(1))]);
      expect(eager.stats().groups).to.equal(2);
      await eager.close();

      const patient = await Journal.open(path.join(dir, 'patient'), { maxGroupWaitMicros: 200_000 });
      const p0 = patient.append(add(0));
      await nextTurn();
      await Promise.all([p0, patient.append(add(1))]);
      expect(patient.stats().groups).to.equal(1);
      await patient.close();
    });

    it('close drains pending appends, then refuses new ones', async () => {
      const journal = await Journal.open(dir, { maxGroupRecords: 64 });
      const pending = Array.from({ length: 1000 }, (_, i) => journal.append(add(i)));
      await journal.close();
      await Promise.all(pending);
      await expectJournalError(journal.append(add(1000)), 'JOURNAL_CLOSED');
      const reopened = await Journal.open(dir);
      expect((await replayAll(reopened)).length).to.equal(1000);
      await reopened.close();
    });

    it('after a failed sync, fails every pending and later append and never retries', async () => {
      let fail = false;
      const journal = await Journal.open(dir, {
        hooks: {
          beforeSync: () => {
            if (fail) throw new Error('EIO (injected)');
          },
        },
      });
      await journal.append(add(0));
      fail = true;
      const doomed = Array.from({ length: 10 }, (_, i) => journal.append(add(i + 1)));
      for (const p of doomed) {
        const err = await expectJournalError(p, 'JOURNAL_IO');
        expect((err.cause as Error).message).to.equal('EIO (injected)');
      }
      fail = false;
      await expectJournalError(journal.append(add(99)), 'JOURNAL_IO');
      expect(journal.stats().pendingRecords).to.equal(0);
      await journal.close();
    });
  });

  describe('recovery', () => {
    it('zeroes a torn tail past the last acknowledged group, whatever its shape', async () => {
      const seed = Date.now() % 100_000;
      const random = seededRandom(seed);
      for (let round = 0; round < 40; round++) {
        const roundDir = path.join(dir, String(round));
        const syncMode = SYNC_MODES[round % 2]!;
        const options: JournalOptions = { maxFileSize: 256 * KiB, preallocSize: 32 * KiB, alignment: round % 3 === 0 ? 4096 : 512, syncMode };
        let journal = await Journal.open(roundDir, options);
        // odd rounds tear a reused file, whose bytes after the data are old groups, not zeros
        const start = round % 2 === 1 ? await intoReusedFile(journal) : JOURNAL_START;
        const context = `seed ${seed}, round ${round}${round % 2 === 1 ? ' (reused file)' : ''}`;

        const acked = Array.from({ length: 1 + Math.floor(random() * 40) }, (_, i) => add(i, 1 + Math.floor(random() * 600)));
        await Promise.all(acked.map((r) => journal.append(r)));
        const mark = journal.markCheckpoint();
        // The group a crash interrupts: one group (appended in one turn), written but treated as not acknowledged.
        const torn = Array.from({ length: 1 + Math.floor(random() * 40) }, (_, i) => add(1000 + i, 1 + Math.floor(random() * 600)));
        await Promise.all(torn.map((r) => journal.append(r)));
        expect(journal.markCheckpoint().fileId, context).to.equal(mark.fileId);
        const dataEnd = mark.offset + 24 + torn.reduce((n, r) => n + encodedJournalRecordSize(r), 0);
        await journal.close();

        const target = path.join(roundDir, journalFileName(mark.fileId));
        const size = (await fs.stat(target)).size;
        const mode = Math.floor(random() * 3);
        let damagedFrom: number;
        if (mode === 0) {
          damagedFrom = mark.offset + Math.floor(random() * (size - mark.offset));
          await fs.truncate(target, damagedFrom);
        } else if (mode === 1) {
          damagedFrom = mark.offset + Math.floor(random() * (dataEnd - mark.offset + 8192));
          const handle = await fs.open(target, 'r+');
          const original = Buffer.alloc(1 + Math.floor(random() * 3000));
          await handle.read(original, 0, original.length, damagedFrom);
          // Every byte differs from what was there, so the damage is real wherever it lands.
          const garbage = original.map((b) => b ^ (1 + Math.floor(random() * 255)));
          await handle.write(garbage, 0, garbage.length, damagedFrom);
          await handle.close();
        } else {
          damagedFrom = mark.offset + Math.floor(random() * (dataEnd - mark.offset));
          await flipByte(target, damagedFrom);
        }
        const tornGroupSurvives = damagedFrom >= dataEnd;

        journal = await Journal.open(roundDir, options);
        const expected = tornGroupSurvives ? [...acked, ...torn] : acked;
        expect(await replayAll(journal, start), `${context}: mode ${mode} at ${damagedFrom}`).to.deep.equal(expected);
        const after = [add(5000), add(5001, 3000)];
        await Promise.all(after.map((r) => journal.append(r)));
        await journal.close();

        journal = await Journal.open(roundDir, options);
        expect(journal.stats().repairedBytes, context).to.equal(0);
        expect(await replayAll(journal, start), context).to.deep.equal([...expected, ...after]);
        await journal.close();
      }
    });

    it('reports a damaged group followed by valid groups as JOURNAL_CORRUPT, with file and offset', async () => {
      const journal = await Journal.open(dir, SMALL);
      const starts: number[] = [];
      for (let i = 0; i < 3; i++) {
        starts.push(journal.markCheckpoint().offset);
        await journal.append(add(i));
      }
      await journal.close();

      // A payload byte of the first group's record: the record (right after the 24-byte group header) is named.
      await flipByte(file(1), starts[0]! + 24 + 9 + 16 + 50);
      const err = await expectJournalError(Journal.open(dir, SMALL), 'JOURNAL_CORRUPT');
      expect(err.file).to.equal(file(1));
      expect(err.offset).to.equal(starts[0]! + 24);
      expect(err.message).to.match(/checksum/);
      await flipByte(file(1), starts[0]! + 24 + 9 + 16 + 50);

      // The second group's header.
      await flipByte(file(1), starts[1]! + 10);
      const headerErr = await expectJournalError(Journal.open(dir, SMALL), 'JOURNAL_CORRUPT');
      expect(headerErr.offset).to.equal(starts[1]);
      await flipByte(file(1), starts[1]! + 10);

      // A group zeroed out (a lost sector) is not the end of the journal when valid groups follow it.
      const handle = await fs.open(file(1), 'r+');
      await handle.write(Buffer.alloc(starts[2]! - starts[1]!), 0, starts[2]! - starts[1]!, starts[1]);
      await handle.close();
      const zeroErr = await expectJournalError(Journal.open(dir, SMALL), 'JOURNAL_CORRUPT');
      expect(zeroErr.offset).to.equal(starts[1]);
    });

    it('reports damage in an older file from replay', async () => {
      const journal = await Journal.open(dir, SMALL);
      const firstGroup = journal.markCheckpoint().offset;
      for (let i = 0; i < 100; i++) await journal.append(add(i, 2000));
      await journal.close();
      expect((await fs.readdir(dir)).length > 2).to.equal(true);

      await flipByte(file(1), firstGroup + 24 + 40);
      const reopened = await Journal.open(dir, SMALL);
      const err = await expectJournalError(replayAll(reopened), 'JOURNAL_CORRUPT');
      expect(err.file).to.equal(file(1));
      expect(err.offset).to.equal(firstGroup + 24);
      await flipByte(file(1), firstGroup + 24 + 40);
      expect((await replayAll(reopened)).length).to.equal(100);

      // Damage after the end of an older file's data is corruption too: that file was complete.
      const size = (await fs.stat(file(2))).size;
      await fs.appendFile(file(2), Buffer.from('junk'));
      const tailErr = await expectJournalError(replayAll(reopened), 'JOURNAL_CORRUPT');
      expect(tailErr.file).to.equal(file(2));
      await fs.truncate(file(2), size);

      // A file that vanished from the middle.
      await fs.rename(file(2), path.join(dir, 'elsewhere'));
      const missing = await expectJournalError(replayAll(reopened), 'JOURNAL_MISSING');
      expect(missing.file).to.equal(file(2));
      await reopened.close();
    });

    it('drops a newest file whose creation was torn and continues in the previous one', async () => {
      const journal = await Journal.open(dir, SMALL);
      await journal.append(add(0));
      await journal.close();
      const partialHeader = Buffer.alloc(16 * KiB);
      partialHeader.write('DLJN\0\0', 0, 'latin1');
      await fs.writeFile(file(2), partialHeader);

      const reopened = await Journal.open(dir, SMALL);
      expect(await rejected(fs.stat(file(2)))).to.deep.include({ code: 'ENOENT' });
      await reopened.append(add(1));
      expect(entryIds(await replayAll(reopened))).to.deep.equal([0, 1]);
      expect(reopened.stats().fileId).to.equal(1);
      await reopened.close();
    });

    it('does not mistake a damaged header on a file with data for a torn creation', async () => {
      const journal = await Journal.open(dir, SMALL);
      await journal.append(add(0));
      await journal.close();
      await flipByte(file(1), 12);
      const err = await expectJournalError(Journal.open(dir, SMALL), 'JOURNAL_CORRUPT');
      expect(err.offset).to.equal(0);
    });
  });

  describe('checkpoints', () => {
    it('replays from a checkpoint only what came after it', async () => {
      const journal = await Journal.open(dir, SMALL);
      for (let i = 0; i < 30; i++) await journal.append(add(i, 3000));
      const mark = journal.markCheckpoint();
      for (let i = 30; i < 60; i++) await journal.append(add(i, 3000));
      expect(compareJournalPositions(journal.markCheckpoint(), mark) > 0).to.equal(true);
      expect(entryIds(await replayAll(journal, mark))).to.deep.equal(Array.from({ length: 30 }, (_, i) => 30 + i));
      const result = await journal.replay(journal.markCheckpoint(), () => expect.fail('nothing after the end'));
      expect(result.records).to.equal(0);
      expect(await rejected(journal.replay({ fileId: mark.fileId, offset: mark.offset + 1 }, () => undefined))).to.be.instanceOf(InvalidArgumentError);
      await journal.close();
    });

    it('removeBefore deletes only the files wholly before the mark', async () => {
      const journal = await Journal.open(dir, { ...SMALL, spareFiles: 0 });
      for (let i = 0; i < 60; i++) await journal.append(add(i, 3000));
      const mark = journal.markCheckpoint();
      expect(mark.fileId >= 3, `expected several files, got ${mark.fileId}`).to.equal(true);
      for (let i = 60; i < 70; i++) await journal.append(add(i, 3000));
      const before = await fs.readdir(dir);

      expect(await rejected(journal.removeBefore({ fileId: 99, offset: 0 }))).to.be.instanceOf(InvalidArgumentError);
      const removed = await journal.removeBefore(mark);
      expect(removed).to.deep.equal(Array.from({ length: mark.fileId - 1 }, (_, i) => i + 1));
      expect((await fs.readdir(dir)).sort()).to.deep.equal(before.filter((name) => !removed.map(journalFileName).includes(name)).sort());

      const fromMark = entryIds(await replayAll(journal, mark));
      expect(fromMark.slice(-10)).to.deep.equal(Array.from({ length: 10 }, (_, i) => 60 + i));
      const fromStart = entryIds(await replayAll(journal));
      expect(fromStart.length >= fromMark.length).to.equal(true);
      expect(fromStart.slice(-fromMark.length)).to.deep.equal(fromMark);
      await expectJournalError(replayAll(journal, { fileId: 1, offset: 0 }), 'JOURNAL_MISSING');
      expect(await journal.removeBefore(mark)).to.deep.equal([]);
      await journal.close();
    });

    it('reuses retired files for later rolls without zero-filling them; replay reads exactly the new records', async () => {
      const options = { ...SMALL, spareFiles: 2 };
      const journal = await Journal.open(dir, options);
      for (let i = 0; i < 60; i++) await journal.append(add(i, 3000));
      const mark = journal.markCheckpoint();
      const kept = entryIds(await replayAll(journal, mark));
      expect(await journal.removeBefore(mark)).to.deep.equal(Array.from({ length: mark.fileId - 1 }, (_, i) => i + 1));
      expect((await fs.readdir(dir)).filter((name) => name.endsWith('.spare'))).to.have.length(2);

      // small entries now, so that each reused file still holds old 3000-byte entries after its data
      const zerosBefore = journal.stats().bytesWritten;
      const fresh: number[] = [];
      for (let i = 100; journal.stats().reusedFiles < 2; i++) {
        await journal.append(add(i, 500));
        fresh.push(i);
      }
      const reusedId = journal.stats().fileId; // holds one new record, then the old file's entries
      const reused = await fs.readFile(file(reusedId));
      expect(reused.length).to.equal(64 * KiB); // the old file's size: nothing was preallocated
      expect(Array.from({ length: 60 }, (_, i) => reused.includes(entry(i, 3000))).some(Boolean), 'stale entries in the reused file').to.equal(true);
      // every byte written went to records, group headers, padding and file headers: no zero fill
      const recordBytes = fresh.length * encodedJournalRecordSize(add(0, 500));
      expect(journal.stats().bytesWritten - zerosBefore).to.be.below(recordBytes + fresh.length * 512 + 2 * 512);

      expect(entryIds(await replayAll(journal, mark))).to.deep.equal([...kept, ...fresh]);
      await journal.close();
      const reopened = await Journal.open(dir, options);
      expect(reopened.stats().repairedBytes).to.equal(0);
      expect(entryIds(await replayAll(reopened, mark))).to.deep.equal([...kept, ...fresh]);
      await reopened.append(add(5000));
      expect(entryIds(await replayAll(reopened, mark))).to.deep.equal([...kept, ...fresh, 5000]);
      const end = reopened.markCheckpoint();
      await reopened.close();

      // damage to a synced group of a reused file is still found: in a completed one by replay...
      const firstGroup = 512;
      const completed = end.fileId - 1;
      await flipByte(file(completed), firstGroup + 24 + 40);
      const journal2 = await Journal.open(dir, options);
      expect((await expectJournalError(replayAll(journal2, mark), 'JOURNAL_CORRUPT')).file).to.equal(file(completed));
      await journal2.close();
      await flipByte(file(completed), firstGroup + 24 + 40);
      // ...and in the newest one, where a damaged group followed by valid ones is no torn tail
      await flipByte(file(end.fileId), firstGroup + 10);
      expect((await expectJournalError(Journal.open(dir, options), 'JOURNAL_CORRUPT')).file).to.equal(file(end.fileId));
    });
  });
});
