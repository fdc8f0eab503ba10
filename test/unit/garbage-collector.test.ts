import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOG_HEADER_SIZE, logFileName, recordSize } from '../../src/bookie/entry-log.js';
import type { LivenessCheck } from '../../src/bookie/garbage-collector.js';
import { TXN_BATCH } from '../../src/bookie/ledger-index.js';
import { LedgerStorage, type LedgerStorageOptions } from '../../src/bookie/ledger-storage.js';
import { StorageError } from '../../src/bookie/storage-error.js';

const ENTRY = 1000;
/** Ten records per entry log. */
const LIMIT = LOG_HEADER_SIZE + 10 * recordSize(ENTRY);

function liveSet(...ids: bigint[]): LivenessCheck {
  return (local) => Promise.resolve(new Set(local.filter((id) => ids.includes(id))));
}

describe('GarbageCollector', function () {
  this.timeout(20_000); // real files and fsyncs on a shared machine
  let dir: string;
  const open: LedgerStorage[] = [];
  const stored = new Map<string, Buffer>();

  async function openStorage(options: Partial<LedgerStorageOptions> = {}): Promise<LedgerStorage> {
    const s = await LedgerStorage.open({ dir, entryLogSizeLimit: LIMIT, ...options });
    open.push(s);
    return s;
  }

  async function add(s: LedgerStorage, ledgerId: bigint, entryIds: bigint[], flush = true): Promise<void> {
    for (const entryId of entryIds) {
      const env = randomBytes(ENTRY);
      stored.set(`${ledgerId}:${entryId}`, env);
      await s.addEntry(ledgerId, entryId, env);
    }
    if (flush) await s.flush();
  }

  const range = (from: number, to: number): bigint[] => Array.from({ length: to - from }, (_, i) => BigInt(from + i));
  const logFiles = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.log')).sort();
  const diskUsage = (): number => logFiles().reduce((sum, n) => sum + statSync(path.join(dir, n)).size, 0);

  async function expectStored(s: LedgerStorage, ledgerId: bigint): Promise<void> {
    for (const [key, env] of stored) {
      if (!key.startsWith(`${ledgerId}:`)) continue;
      expect((await s.getEntry(ledgerId, BigInt(key.split(':')[1]!))).equals(env), key).to.equal(true);
    }
  }

  /**
   * Logs 1, 2: ledger 1 only. Log 3: ledger 2 entries 0-3 and ledger 3 entries 0-5 (one flush,
   * sorted). Log 4: ledger 2 entries 4-13. Reopened, so no log is being written.
   */
  async function layout(): Promise<LedgerStorage> {
    const s = await openStorage();
    await add(s, 1n, range(0, 20));
    await add(s, 2n, range(0, 4), false);
    await add(s, 3n, range(0, 6));
    await add(s, 2n, range(4, 14));
    await s.close();
    expect(logFiles()).to.deep.equal([1, 2, 3, 4].map(logFileName));
    return openStorage({ readCacheBytes: 0 });
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ledger-gc-'));
    stored.clear();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes dead ledgers and logs, compacts a sparse log and keeps survivors byte-identical', async () => {
    let s = await layout();
    const before = diskUsage();
    const report = await s.collectGarbage(liveSet(2n));
    expect(report).to.deep.include({ deletedLedgers: 2, deletedLogs: 2, compactedLogs: 1, movedEntries: 4, failedLogs: [] });
    expect(logFiles()).to.deep.equal([4, 5].map(logFileName)); // log 5 holds log 3's survivors
    expect(before - diskUsage()).to.equal(report.bytesReclaimed);
    expect(report.bytesReclaimed).to.equal(3 * LIMIT - (LOG_HEADER_SIZE + 4 * recordSize(ENTRY)));
    expect(await s.listLedgers()).to.deep.equal([2n]);
    expect(await s.getEntry(1n, 0n).catch((e: unknown) => e)).to.be.instanceOf(StorageError).with.property('code', 'NO_LEDGER');
    await expectStored(s, 2n);
    await s.close();
    s = await openStorage({ readCacheBytes: 0 });
    await expectStored(s, 2n);
    expect(s.ledgerExists(3n)).to.equal(false);
    expect((await s.collectGarbage(liveSet(2n))).bytesReclaimed).to.equal(0);
  });

  it('leaves logs above the threshold alone', async () => {
    const s = await layout();
    const report = await s.collectGarbage(liveSet(1n, 2n, 3n), { compactionThreshold: 0.3 });
    expect(report).to.deep.include({ deletedLedgers: 0, deletedLogs: 0, compactedLogs: 0, bytesReclaimed: 0 });
    expect(logFiles()).to.have.length(4);
  });

  it('serves reads that race a compaction', async () => {
    const s = await openStorage({ entryLogSizeLimit: 1 << 20 });
    // ledgers interleaved in every flush: each log ends up about half dead
    for (let round = 0; round < 8; round++) {
      for (const e of range(round * 100, round * 100 + 100)) {
        await add(s, 1n, [e], false);
        await add(s, 2n, [e], false);
      }
      await s.flush();
    }
    await s.close();
    const r = await openStorage({ entryLogSizeLimit: 1 << 20, readCacheBytes: 0 });
    const before = diskUsage();
    let done = false;
    let reads = 0;
    const reader = async (): Promise<void> => {
      for (let i = 0; !done; i++) {
        const e = BigInt((i * 7919) % 800);
        expect((await r.getEntry(2n, e)).equals(stored.get(`2:${e}`)!)).to.equal(true);
        reads++;
      }
    };
    const readers = Array.from({ length: 8 }, reader);
    const report = await r.collectGarbage(liveSet(2n), { compactionThreshold: 0.6 });
    done = true;
    await Promise.all(readers);
    expect(report.compactedLogs).to.be.greaterThan(0);
    expect(report.movedEntries).to.equal(800);
    expect(reads).to.be.greaterThan(100);
    expect(diskUsage()).to.be.lessThan(before * 0.6);
    await expectStored(r, 2n);
  });

  it('spreads large flushes, deletions and compactions over several index transactions', async () => {
    const s = await openStorage({ entryLogSizeLimit: 1 << 30 });
    const n = 2 * TXN_BATCH + 100;
    for (let e = 0; e < n; e++) {
      for (const l of [1n, 2n]) await s.addEntry(l, BigInt(e), Buffer.from(`${l}:${e}`));
    }
    await s.close();
    const r = await openStorage({ entryLogSizeLimit: 1 << 30, readCacheBytes: 0 });
    expect(r.lastEntryId(1n)).to.equal(BigInt(n - 1));
    const report = await r.collectGarbage(liveSet(2n), { compactionThreshold: 0.6 }); // half of the log is live
    expect(report).to.deep.include({ deletedLedgers: 1, compactedLogs: 1, movedEntries: n });
    expect(r.lastEntryId(1n)).to.equal(undefined);
    for (let e = 0; e < n; e += 97) expect((await r.getEntry(2n, BigInt(e))).toString()).to.equal(`2:${e}`);
    expect((await r.getEntry(2n, -1n)).toString()).to.equal(`2:${n - 1}`);
  });

  it('compacts a log with a torn tail', async () => {
    let s = await layout();
    await s.close();
    appendFileSync(path.join(dir, logFileName(3)), randomBytes(10)); // an append cut short after the last record
    s = await openStorage({ readCacheBytes: 0 });
    const report = await s.collectGarbage(liveSet(2n));
    expect(report).to.deep.include({ compactedLogs: 1, movedEntries: 4, failedLogs: [] });
    expect(logFiles()).to.not.include(logFileName(3));
    await expectStored(s, 2n);
  });

  it('keeps a damaged log that the index still points into past the damage', async () => {
    let s = await layout();
    await s.close();
    const fd = openSync(path.join(dir, logFileName(3)), 'r+');
    writeSync(fd, Buffer.alloc(4, 0xff), 0, 4, LOG_HEADER_SIZE + 2 * recordSize(ENTRY)); // size field of entry 2:2
    closeSync(fd);
    s = await openStorage({ readCacheBytes: 0 });
    const report = await s.collectGarbage(liveSet(2n));
    expect(report).to.deep.include({ compactedLogs: 0, failedLogs: [3] });
    expect(logFiles()).to.include(logFileName(3));
    for (const e of [0n, 1n, 3n]) expect((await s.getEntry(2n, e)).equals(stored.get(`2:${e}`)!)).to.equal(true);
    const err = await s.getEntry(2n, 2n).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StorageError).with.property('code', 'CORRUPT_ENTRY');
  });
});
