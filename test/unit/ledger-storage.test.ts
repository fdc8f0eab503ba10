import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOG_HEADER_SIZE, RECORD_HEADER_SIZE } from '../../src/bookie/entry-log.js';
import { LedgerStorage, type LedgerStorageOptions } from '../../src/bookie/ledger-storage.js';
import { StorageError } from '../../src/bookie/storage-error.js';
import { rejection } from '../support/rejection.js';

function envelope(ledgerId: bigint, entryId: bigint, size = 1024): Buffer {
  const b = randomBytes(size);
  b.writeBigUInt64BE(ledgerId, 0);
  b.writeBigUInt64BE(entryId, 8);
  return b;
}

const rejectionOf = (promise: Promise<unknown>): Promise<StorageError> => rejection(promise, StorageError);

describe('LedgerStorage', function () {
  this.timeout(20_000); // real files and fsyncs on a shared machine
  let dir: string;
  const open: LedgerStorage[] = [];

  async function openStorage(options: Partial<LedgerStorageOptions> = {}, at = dir): Promise<LedgerStorage> {
    const s = await LedgerStorage.open({ dir: at, ...options });
    open.push(s);
    return s;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ledger-storage-'));
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns entries byte-identical from the cache, after a flush and after reopening', async () => {
    let s = await openStorage();
    const entries = new Map<string, Buffer>();
    for (let e = 0n; e < 50n; e++) {
      for (const l of [1n, 2n, 3n]) {
        const env = envelope(l, e, 100 + Number(e) * 37);
        entries.set(`${l}:${e}`, Buffer.from(env));
        await s.addEntry(l, e, env);
        env.fill(0); // the caller's buffer may be reused: storage must have copied it
      }
    }
    const check = async (): Promise<void> => {
      for (const [key, env] of entries) {
        const [l, e] = key.split(':').map(BigInt) as [bigint, bigint];
        expect((await s.getEntry(l, e)).equals(env), key).to.equal(true);
      }
    };
    await check();
    await s.flush();
    await check();
    await s.close();
    s = await openStorage({ readCacheBytes: 0 });
    await check();
    expect(await s.listLedgers()).to.deep.equal([1n, 2n, 3n]);
  });

  it('close() flushes what was added since the last flush', async () => {
    let s = await openStorage();
    const env = envelope(7n, 0n);
    await s.addEntry(7n, 0n, env);
    await s.close();
    s = await openStorage();
    expect((await s.getEntry(7n, 0n)).equals(env)).to.equal(true);
  });

  it('makes exactly what preceded flush() durable (a crash copy of the directory)', async () => {
    const s = await openStorage();
    const flushed = envelope(1n, 0n);
    await s.addEntry(1n, 0n, flushed);
    s.setMasterKey(1n, Buffer.alloc(20, 1));
    await s.flush();
    await s.addEntry(1n, 1n, envelope(1n, 1n));
    await s.setFenced(1n);
    const crash = mkdtempSync(path.join(os.tmpdir(), 'ledger-storage-crash-'));
    try {
      cpSync(dir, crash, { recursive: true });
      const c = await openStorage({}, crash);
      expect((await c.getEntry(1n, 0n)).equals(flushed)).to.equal(true);
      expect(c.getMasterKey(1n).equals(Buffer.alloc(20, 1))).to.equal(true);
      expect((await rejectionOf(c.getEntry(1n, 1n))).code).to.equal('NO_ENTRY');
      expect(c.isFenced(1n)).to.equal(false); // the journal replays it
      await c.close();
    } finally {
      rmSync(crash, { recursive: true, force: true });
    }
  });

  it('entry -1 is the last stored entry, from the cache, after a flush and after reopening', async () => {
    let s = await openStorage();
    for (const e of [0n, 1n, 5n, 3n]) await s.addEntry(9n, e, envelope(9n, e));
    const last = async (): Promise<bigint> => (await s.getEntry(9n, -1n)).readBigUInt64BE(8);
    expect(await last()).to.equal(5n);
    expect(s.lastEntryId(9n)).to.equal(5n);
    await s.flush();
    expect(await last()).to.equal(5n);
    await s.addEntry(9n, 4n, envelope(9n, 4n)); // below the flushed maximum
    expect(await last()).to.equal(5n);
    await s.addEntry(9n, 6n, envelope(9n, 6n));
    expect(await last()).to.equal(6n);
    await s.close();
    s = await openStorage();
    expect(await last()).to.equal(6n);
    expect(s.lastEntryId(9n)).to.equal(6n);
    s.setMasterKey(10n, Buffer.alloc(20));
    expect(s.lastEntryId(10n)).to.equal(undefined);
    expect((await rejectionOf(s.getEntry(10n, -1n))).code).to.equal('NO_ENTRY');
    expect((await rejectionOf(s.getEntry(11n, 0n))).code).to.equal('NO_LEDGER');
    expect((await rejectionOf(s.getEntry(9n, 2n))).code).to.equal('NO_ENTRY');
  });

  it('binds the first master key and rejects a different one, across reopening', async () => {
    let s = await openStorage();
    const key = Buffer.alloc(20, 7);
    expect(s.setMasterKey(1n, key)).to.equal(true);
    expect(s.setMasterKey(1n, Buffer.from(key))).to.equal(false);
    expect(() => s.setMasterKey(1n, Buffer.alloc(20, 8))).to.throw(StorageError).with.property('code', 'MASTER_KEY_MISMATCH');
    await s.close();
    s = await openStorage();
    expect(s.ledgerExists(1n)).to.equal(true);
    expect(s.getMasterKey(1n).equals(key)).to.equal(true);
    expect(() => s.setMasterKey(1n, Buffer.alloc(20, 8))).to.throw(StorageError).with.property('code', 'MASTER_KEY_MISMATCH');
    expect(() => s.getMasterKey(2n)).to.throw(StorageError).with.property('code', 'NO_LEDGER');
  });

  it('persists fencing and explicit LAC across a flush and reopening', async () => {
    let s = await openStorage();
    expect(await s.setFenced(3n)).to.equal(true); // fencing an unknown ledger creates it
    expect(await s.setFenced(3n)).to.equal(false);
    s.setExplicitLac(3n, Buffer.from('lac-1'));
    s.setExplicitLac(3n, Buffer.from('lac-2'));
    s.setMasterKey(4n, Buffer.alloc(20));
    await s.flush();
    await s.close();
    s = await openStorage();
    expect(s.isFenced(3n)).to.equal(true);
    expect(s.getExplicitLac(3n)?.toString()).to.equal('lac-2');
    expect(s.isFenced(4n)).to.equal(false);
    expect(s.getExplicitLac(4n)).to.equal(undefined);
    expect(await s.setFenced(3n)).to.equal(false);
  });

  it('makes adds wait while both write caches are full, then admits them after a flush', async () => {
    const s = await openStorage({ writeCacheBytes: 8192, maxThrottleMs: 5000 });
    // the first two entry logs cannot be created: the two flushes the adds trigger fail
    for (const name of ['1.log', '2.log']) mkdirSync(path.join(dir, name));
    for (let e = 0n; e < 8n; e++) await s.addEntry(1n, e, envelope(1n, e, 1000)); // fills active, swap, fills active
    let admitted = false;
    const blocked = s.addEntry(1n, 8n, envelope(1n, 8n, 1000)).then(() => (admitted = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(admitted).to.equal(false);
    await s.flush(); // log 3 can be created: the flush goes through and frees a cache
    await blocked;
    expect(admitted).to.equal(true);
    await s.flush();
    for (let e = 0n; e <= 8n; e++) expect((await s.getEntry(1n, e)).readBigUInt64BE(8)).to.equal(e);
  });

  it('fails a throttled add with TOO_MANY_REQUESTS after maxThrottleMs', async () => {
    const s = await openStorage({ writeCacheBytes: 8192, maxThrottleMs: 150 });
    for (let id = 1; id <= 4; id++) mkdirSync(path.join(dir, `${id.toString(16)}.log`));
    for (let e = 0n; e < 8n; e++) await s.addEntry(1n, e, envelope(1n, e, 1000));
    const started = Date.now();
    const err = await rejectionOf(s.addEntry(1n, 8n, envelope(1n, 8n, 1000)));
    expect(err.code).to.equal('TOO_MANY_REQUESTS');
    expect(err.retriable).to.equal(true);
    expect(Date.now() - started).to.be.at.least(140);
    // the cached entries are still served
    expect((await s.getEntry(1n, 7n)).readBigUInt64BE(8)).to.equal(7n);
  });

  it('reports a failed flush of a full write cache to onWriteFailure at once, not at the end of the throttle', async () => {
    const failures: unknown[] = [];
    const s = await openStorage({ writeCacheBytes: 8192, maxThrottleMs: 60_000, onWriteFailure: (err) => failures.push(err) });
    for (const name of ['1.log', '2.log']) mkdirSync(path.join(dir, name)); // the flushes the adds start fail
    for (let e = 0n; e < 8n; e++) await s.addEntry(1n, e, envelope(1n, e, 1000));
    const blocked = s.addEntry(1n, 8n, envelope(1n, 8n, 1000));
    while (failures.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect((failures[0] as StorageError).code).to.equal('STORAGE_IO');
    await s.flush(); // a later flush succeeds: the waiting add is admitted, nothing is lost
    await blocked;
    await s.flush();
    for (let e = 0n; e <= 8n; e++) expect((await s.getEntry(1n, e)).readBigUInt64BE(8)).to.equal(e);
  });

  it('keeps the entries and ledger states of a failed flush for the next one', async () => {
    let s = await openStorage();
    mkdirSync(path.join(dir, '1.log'));
    const env = envelope(5n, 0n);
    await s.addEntry(5n, 0n, env);
    await s.setFenced(5n);
    s.setExplicitLac(5n, Buffer.from('lac'));
    expect((await rejectionOf(s.flush())).code).to.equal('STORAGE_IO');
    expect((await s.getEntry(5n, 0n)).equals(env)).to.equal(true);
    await s.flush(); // onto log 2
    await s.close();
    s = await openStorage();
    expect((await s.getEntry(5n, 0n)).equals(env)).to.equal(true);
    expect(s.isFenced(5n)).to.equal(true);
    expect(s.getExplicitLac(5n)?.toString()).to.equal('lac');
  });

  it('admits many concurrent adds through a tiny cache', async () => {
    const s = await openStorage({ writeCacheBytes: 4096 });
    const envs = Array.from({ length: 200 }, (_, i) => envelope(BigInt(i % 3), BigInt(i), 500));
    await Promise.all(envs.map((env, i) => s.addEntry(BigInt(i % 3), BigInt(i), env)));
    await s.flush();
    for (const [i, env] of envs.entries()) expect((await s.getEntry(BigInt(i % 3), BigInt(i))).equals(env)).to.equal(true);
  });

  it('fails a read of a damaged record with CORRUPT_ENTRY, never with other bytes', async () => {
    let s = await openStorage();
    for (let e = 0n; e < 3n; e++) await s.addEntry(1n, e, envelope(1n, e, 200));
    await s.close();
    const [log] = readdirSync(dir).filter((n) => n.endsWith('.log'));
    const fd = openSync(path.join(dir, log!), 'r+');
    const flip = (pos: number): void => {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, pos);
      b[0] = b[0]! ^ 0x40;
      writeSync(fd, b, 0, 1, pos);
    };
    const record = RECORD_HEADER_SIZE + 200;
    flip(LOG_HEADER_SIZE + RECORD_HEADER_SIZE + 100); // entry 0: a payload byte
    flip(LOG_HEADER_SIZE + record + 16 + 7); // entry 1: the entry id in the record header
    closeSync(fd);
    s = await openStorage({ readCacheBytes: 0 });
    expect((await rejectionOf(s.getEntry(1n, 0n))).code).to.equal('CORRUPT_ENTRY');
    expect((await rejectionOf(s.getEntry(1n, 1n))).code).to.equal('CORRUPT_ENTRY');
    expect((await s.getEntry(1n, 2n)).readBigUInt64BE(8)).to.equal(2n);
  });

  it('deletes a ledger durably, cached and flushed entries alike', async () => {
    let s = await openStorage();
    for (let e = 0n; e < 5n; e++) await s.addEntry(1n, e, envelope(1n, e));
    await s.flush();
    await s.addEntry(1n, 5n, envelope(1n, 5n));
    await s.addEntry(2n, 0n, envelope(2n, 0n));
    await s.getEntry(1n, 2n); // now in the read cache
    await s.deleteLedger(1n);
    expect(s.ledgerExists(1n)).to.equal(false);
    expect((await rejectionOf(s.getEntry(1n, 2n))).code).to.equal('NO_LEDGER');
    await s.close();
    s = await openStorage();
    expect(await s.listLedgers()).to.deep.equal([2n]);
    expect(s.lastEntryId(1n)).to.equal(undefined);
  });

  it('lists a ledger\'s entry ids ascending from the index (in batches) and both caches together', async () => {
    const s = await openStorage();
    const collect = async (l: bigint): Promise<bigint[]> => {
      const out: bigint[] = [];
      for await (const id of s.entryIds(l)) out.push(id);
      return out;
    };
    // more than one index batch (8192), with holes, flushed
    const flushed = Array.from({ length: 8300 }, (_, i) => BigInt(i < 8000 ? i : i + 100));
    for (const e of flushed) await s.addEntry(1n, e, envelope(1n, e, 32));
    await s.addEntry(2n, 0n, envelope(2n, 0n, 32));
    await s.flush();
    // then cached ones, out of order, some inside the holes, one again
    const cached = [8050n, 8005n, 9000n, 8001n];
    for (const e of cached) await s.addEntry(1n, e, envelope(1n, e, 32));
    const want = [...new Set([...flushed, ...cached])].sort((a, b) => (a < b ? -1 : 1));
    expect(await collect(1n)).to.deep.equal(want);
    expect(await collect(2n), 'another ledger\'s entries stay out').to.deep.equal([0n]);
    expect((await rejectionOf(collect(3n))).code).to.equal('NO_LEDGER');
  });

  it('rejects calls after close', async () => {
    const s = await openStorage();
    await s.close();
    expect((await rejectionOf(s.addEntry(1n, 0n, envelope(1n, 0n)))).code).to.equal('STORAGE_CLOSED');
    expect((await rejectionOf(s.flush())).code).to.equal('STORAGE_CLOSED');
  });
});
