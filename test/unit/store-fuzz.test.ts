// Property tests of the decoders of stored bytes: the local metadata store's log and snapshot, the
// bookie journal's records and files, and entry-log records. Valid files written by the real code,
// then mutated (mutator.ts, seeded): decoding gives a result or a typed DLogError, never another
// exception; a file damaged where its bytes were synced and acknowledged is refused at open with
// a typed error naming the file and offset; what opens is a prefix of what was written (a torn
// tail dropped, nothing invented).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { EntryLogScanner, LOG_HEADER_SIZE, parseRecord, writeRecord, recordSize } from '../../src/bookie/entry-log.js';
import { Journal, JOURNAL_START } from '../../src/bookie/journal.js';
import { JournalError } from '../../src/bookie/journal-error.js';
import { checkJournalRecord, decodeJournalRecord, encodeJournalRecord, encodedJournalRecordSize, type JournalRecord } from '../../src/bookie/journal-record.js';
import { DLogError, MetadataError } from '../../src/errors.js';
import { LOG_FILE, SNAPSHOT_FILE, SYNC_MARK_FILE, readSnapshot, readSyncMark, scanLog } from '../../src/metadata/local/metadata-log.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import { mutator } from '../support/mutator.js';
import { seededRandom } from '../support/prng.js';

const SEED = 15;

function typedOnly(what: string, i: number, input: Buffer, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof DLogError)) expect.fail(`${what}: case ${i} (seed ${SEED}) threw ${String(err)} for ${input.subarray(0, 64).toString('hex')}...`);
  }
}

describe('stored-bytes decoders under mutated input (property tests)', function () {
  this.timeout(120_000);
  let root: string;
  before(() => { root = mkdtempSync(path.join(os.tmpdir(), 'dlog-store-fuzz-')); });
  after(() => { rmSync(root, { recursive: true, force: true }); });

  describe('local metadata store', () => {
    let source: string;
    let logBytes: Buffer;
    let syncedLength: number;
    let snapshotZxid: bigint;
    let paths: string[];

    before(async () => {
      source = path.join(root, 'store');
      // a first session leaves a snapshot behind, the second one a log of synced records
      for (const session of [0, 1]) {
        const store = await LocalMetadataStore.open(source);
        for (let i = 0; i < 40; i++) await store.create(`/s${session}-${i}`, Buffer.from(`data-${session}-${i}`));
        if (session === 1) {
          // copied while open: the log holds every record above, synced (the sync mark says how far)
          copyFileSync(path.join(source, LOG_FILE), path.join(root, 'log.copy'));
          copyFileSync(path.join(source, SYNC_MARK_FILE), path.join(root, 'mark.copy'));
          copyFileSync(path.join(source, SNAPSHOT_FILE), path.join(root, 'snapshot.copy'));
        }
        await store.close();
      }
      logBytes = readFileSync(path.join(root, 'log.copy'));
      const copyDir = path.join(root, 'mark-dir');
      copyDirWith(copyDir, SYNC_MARK_FILE, readFileSync(path.join(root, 'mark.copy')));
      copyFileSync(path.join(root, 'snapshot.copy'), path.join(copyDir, SNAPSHOT_FILE));
      syncedLength = readSyncMark(copyDir)?.logLength ?? 0;
      snapshotZxid = readSnapshot(copyDir).zxid;
      paths = [...scanLog(logBytes, snapshotZxid, 'log').txns.flatMap((t) => t.ops.map((op) => op.path))];
      expect(syncedLength, 'the copied log was synced').to.equal(logBytes.length);
      expect(paths).to.have.length(40);
    });

    it('metadata log: 20k mutations scan to a result or STORE_CORRUPT', () => {
      const mutate = mutator(SEED);
      for (let i = 0; i < 20_000; i++) {
        const input = mutate(logBytes);
        typedOnly('scanLog', i, input, () => scanLog(input, snapshotZxid, 'metadata.log'));
      }
    });

    it('snapshot: 2k mutations read to a result or STORE_CORRUPT naming the file', () => {
      const snapshot = readFileSync(path.join(root, 'snapshot.copy'));
      const dir = path.join(root, 'snap');
      const mutate = mutator(SEED);
      for (let i = 0; i < 2000; i++) {
        const input = mutate(snapshot);
        copyDirWith(dir, SNAPSHOT_FILE, input);
        try {
          readSnapshot(dir);
        } catch (err) {
          if (!(err instanceof MetadataError)) expect.fail(`snapshot case ${i} threw ${String(err)}`);
          expect(err.code).to.equal('STORE_CORRUPT');
          expect(err.message).to.contain(path.join(dir, SNAPSHOT_FILE));
        }
      }
    });

    it('a byte damaged anywhere in the synced log is refused at open with the file and offset (200 cases)', async () => {
      const random = seededRandom(SEED);
      const dir = path.join(root, 'open');
      for (let i = 0; i < 200; i++) {
        const damaged = Buffer.from(logBytes);
        const at = Math.floor(random() * syncedLength);
        damaged[at] = (damaged[at] ?? 0) ^ (1 + Math.floor(random() * 255));
        copyDirWith(dir, LOG_FILE, damaged);
        copyFileSync(path.join(root, 'mark.copy'), path.join(dir, SYNC_MARK_FILE));
        copyFileSync(path.join(root, 'snapshot.copy'), path.join(dir, SNAPSHOT_FILE));
        let thrown: unknown;
        await LocalMetadataStore.open(dir).then((s) => s.close(), (err: unknown) => { thrown = err; });
        expect(thrown, `byte ${at} damaged (case ${i}) was not refused`).to.be.instanceOf(MetadataError);
        expect((thrown as MetadataError).code).to.equal('STORE_CORRUPT');
        expect((thrown as MetadataError).message).to.contain(path.join(dir, LOG_FILE)).and.match(/offset \d+/);
      }
    });

    it('unsynced bytes after the log (a torn last write) are dropped, every synced record kept', async () => {
      const dir = path.join(root, 'torn');
      const mutate = mutator(SEED);
      for (let i = 0; i < 50; i++) {
        const garbage = mutate(Buffer.from('a torn write of a record that never synced'));
        copyDirWith(dir, LOG_FILE, Buffer.concat([logBytes, garbage]));
        copyFileSync(path.join(root, 'mark.copy'), path.join(dir, SYNC_MARK_FILE));
        copyFileSync(path.join(root, 'snapshot.copy'), path.join(dir, SNAPSHOT_FILE));
        const store = await LocalMetadataStore.open(dir);
        try {
          for (const p of paths) expect(await store.exists(p), p).to.not.equal(null);
        } finally {
          await store.close();
        }
      }
    });
  });

  describe('bookie journal', () => {
    const samples: JournalRecord[] = [
      { type: 'addEntry', ledgerId: 7n, entryId: 3n, entry: Buffer.alloc(100, 1) },
      { type: 'fence', ledgerId: 7n },
      { type: 'masterKey', ledgerId: 7n, masterKey: Buffer.alloc(20, 2) },
      { type: 'explicitLac', ledgerId: 7n, lac: 2n, lacEnvelope: Buffer.alloc(40, 3) },
    ];
    const encoded = samples.map((r) => {
      const size = encodedJournalRecordSize(r);
      const buf = Buffer.alloc(size);
      encodeJournalRecord(r, buf, 0, size);
      return buf;
    });

    it('journal records: 50k mutations are refused by the check or decode without throwing', () => {
      const mutate = mutator(SEED);
      for (let i = 0; i < 50_000; i++) {
        const input = mutate(encoded[i % encoded.length] as Buffer);
        typedOnly('journal record', i, input, () => {
          if (input.length === 0) return;
          const checked = checkJournalRecord(input, 0, input.length);
          if (typeof checked === 'number') decodeJournalRecord(input, 0);
        });
      }
    });

    it('journal files: 150 damaged copies replay a prefix of what was written or fail with JOURNAL_CORRUPT naming file and offset', async () => {
      const dir = path.join(root, 'journal');
      const journal = await Journal.open(dir, { preallocSize: 64 << 10, alignment: 512 });
      const written: string[] = [];
      for (let i = 0; i < 300; i++) {
        const record: JournalRecord = { type: 'addEntry', ledgerId: 1n, entryId: BigInt(i), entry: Buffer.alloc(50 + (i % 300), i % 256) };
        written.push(`1:${i}`);
        // a few at a time: several groups
        if (i % 7 === 6) await journal.append(record);
        else void journal.append(record);
      }
      await journal.append({ type: 'fence', ledgerId: 1n });
      await journal.close();
      const file = readdirSync(dir).find((n) => n.endsWith('.jnl'));
      if (file === undefined) throw new Error(`no journal file in ${readdirSync(dir).join(',')}`);
      const original = readFileSync(path.join(dir, file));
      const dataEnd = original.length - [...original].reverse().findIndex((b) => b !== 0);
      const random = seededRandom(SEED);
      const copy = path.join(root, 'journal-copy');
      const outcome = { refused: 0, torn: 0, intact: 0 };
      for (let i = 0; i < 150; i++) {
        const damaged = Buffer.from(original);
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
          const at = Math.floor(random() * dataEnd);
          damaged[at] = (damaged[at] ?? 0) ^ (1 + Math.floor(random() * 255));
        }
        copyDirWith(copy, file, damaged);
        const replayed: string[] = [];
        try {
          const j = await Journal.open(copy, { preallocSize: 64 << 10, alignment: 512 });
          try {
            await j.replay(JOURNAL_START, (r) => { if (r.type === 'addEntry') replayed.push(`${r.ledgerId}:${r.entryId}`); });
            expect(replayed, `case ${i}: replayed records are a prefix of those written`).to.deep.equal(written.slice(0, replayed.length));
            if (replayed.length < written.length) {
              expect(j.stats().repairedBytes, `case ${i}: a dropped tail is reported`).to.be.greaterThan(0);
              outcome.torn++;
            } else {
              outcome.intact++;
            }
          } finally {
            await j.close();
          }
        } catch (err) {
          if (!(err instanceof JournalError)) expect.fail(`case ${i}: ${String(err)}`);
          expect(err.code).to.equal('JOURNAL_CORRUPT');
          expect(err.message).to.contain(file).and.match(/offset \d+/);
          outcome.refused++;
        }
      }
      process.stdout.write(`        150 damaged journals: ${outcome.refused} refused, ${outcome.torn} torn tail dropped, ${outcome.intact} intact\n`);
      expect(outcome.refused).to.be.greaterThan(0);
    });
  });

  describe('entry logs', () => {
    it('200 damaged logs: the scanner yields a prefix of the records written, each verified, and reports the damage', async () => {
      const records = Array.from({ length: 100 }, (_, i) => ({ ledgerId: 3n, entryId: BigInt(i), envelope: Buffer.alloc(20 + i * 3, i) }));
      const header = Buffer.alloc(LOG_HEADER_SIZE);
      const body = Buffer.alloc(records.reduce((n, r) => n + recordSize(r.envelope.length), 0));
      let pos = 0;
      for (const r of records) pos += writeRecord(body, pos, r.ledgerId, r.entryId, r.envelope).length;
      const original = Buffer.concat([header, body]);
      const random = seededRandom(SEED);
      const file = path.join(root, 'fuzz.log');
      for (let i = 0; i < 200; i++) {
        const damaged = Buffer.from(original);
        const at = LOG_HEADER_SIZE + Math.floor(random() * body.length);
        damaged[at] = (damaged[at] ?? 0) ^ (1 + Math.floor(random() * 255));
        writeFileSync(file, damaged);
        const handle = await openFile(file, 'r');
        const seen: bigint[] = [];
        const scanner = new EntryLogScanner(handle, 4096);
        try {
          for await (const batch of scanner.batches()) for (const r of batch) seen.push(r.entryId);
        } finally {
          await handle.close();
        }
        expect(seen, `case ${i}`).to.deep.equal(records.slice(0, seen.length).map((r) => r.entryId));
        expect(seen.length, `case ${i}: the damaged record is not returned`).to.be.lessThan(records.length);
        expect(scanner.clean, `case ${i}: damage is reported`).to.equal(false);
        expect(scanner.validEnd, `case ${i}`).to.be.at.most(at);
        expect(parseRecord(damaged, scanner.validEnd).kind).to.not.equal('record');
      }
    });
  });
});

/** A fresh `dir` holding one file. */
function copyDirWith(dir: string, name: string, bytes: Buffer): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), bytes);
}
