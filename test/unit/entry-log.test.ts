import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  EntryLogScanner,
  EntryLogWriter,
  LOG_HEADER_SIZE,
  MAX_LOG_ID,
  locationLogId,
  locationOffset,
  logFileName,
  parseLogFileName,
  parseRecord,
  readLocation,
  recordSize,
  toLocation,
  writeLocation,
  writeRecord,
  type EntryLogRecord,
} from '../../src/bookie/entry-log.js';
import { EntryLogManager } from '../../src/bookie/entry-log-manager.js';
import { StorageError } from '../../src/bookie/storage-error.js';

type TestRecord = EntryLogRecord & { readonly data: Buffer };

function record(ledgerId: bigint, entryId: bigint, data: Buffer): TestRecord {
  return { ledgerId, entryId, data, bytes: writeRecord(Buffer.alloc(recordSize(data.length)), 0, ledgerId, entryId, data) };
}

function records(ledgerId: bigint, count: number, size: number): TestRecord[] {
  return Array.from({ length: count }, (_, i) => record(ledgerId, BigInt(i), randomBytes(size)));
}

describe('entry log', function () {
  this.timeout(20_000); // real files and fsyncs on a shared machine
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'entry-log-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('packs log id and offset into a location', () => {
    const loc = toLocation(MAX_LOG_ID, 0xfffffffe);
    expect(Number.isSafeInteger(loc)).to.equal(true);
    expect(locationLogId(loc)).to.equal(MAX_LOG_ID);
    expect(locationOffset(loc)).to.equal(0xfffffffe);
    const buf = Buffer.alloc(8);
    writeLocation(buf, loc);
    expect(buf.readBigUInt64BE(0)).to.equal((BigInt(MAX_LOG_ID) << 32n) | 0xfffffffen);
    expect(readLocation(buf)).to.equal(loc);
    expect(parseLogFileName(logFileName(0x1a2b))).to.equal(0x1a2b);
    expect(parseLogFileName('index')).to.equal(undefined);
  });

  it('scans back what was appended, with offsets, and stops at a torn tail', async () => {
    const writer = await EntryLogWriter.create(dir, 5);
    const written = [...records(1n, 10, 300), ...records(2n, 3, 5000)];
    await writer.append(written.slice(0, 4));
    await writer.append(written.slice(4));
    await writer.sync();
    const end = writer.offset;
    await writer.close();

    const scan = async (): Promise<{ scanner: EntryLogScanner; seen: { ledgerId: bigint; entryId: bigint; offset: number; data: Buffer }[] }> => {
      const handle = await open(path.join(dir, logFileName(5)), 'r');
      const scanner = new EntryLogScanner(handle, 4096); // smaller than some records
      const seen = [];
      for await (const batch of scanner.batches()) for (const r of batch) seen.push({ ...r, data: Buffer.from(r.data) });
      await handle.close();
      return { scanner, seen };
    };
    let { scanner, seen } = await scan();
    expect(seen.map((r) => `${r.ledgerId}:${r.entryId}`)).to.deep.equal(written.map((r) => `${r.ledgerId}:${r.entryId}`));
    seen.forEach((r, i) => expect(r.data.equals(written[i]!.data)).to.equal(true));
    expect(seen[0]!.offset).to.equal(LOG_HEADER_SIZE);
    expect(seen[1]!.offset).to.equal(LOG_HEADER_SIZE + recordSize(300));
    expect(scanner.clean).to.equal(true);
    expect(scanner.validEnd).to.equal(end);

    appendFileSync(path.join(dir, logFileName(5)), randomBytes(30)); // half a record
    ({ scanner, seen } = await scan());
    expect(seen).to.have.length(written.length);
    expect(scanner.clean).to.equal(false);
    expect(scanner.validEnd).to.equal(end);
  });

  it('detects a damaged record', async () => {
    const writer = await EntryLogWriter.create(dir, 1);
    await writer.append(records(1n, 1, 100));
    await writer.close();
    const handle = await open(path.join(dir, logFileName(1)), 'r');
    const buf = Buffer.alloc(recordSize(100));
    await handle.read(buf, 0, buf.length, LOG_HEADER_SIZE);
    await handle.close();
    expect(parseRecord(buf, 0).kind).to.equal('record');
    buf[60] = buf[60]! ^ 1;
    expect(parseRecord(buf, 0)).to.deep.include({ kind: 'corrupt' });
    expect(parseRecord(buf.subarray(0, 50), 0)).to.deep.equal({ kind: 'short', need: recordSize(100) });
  });

  it('rolls at the size limit and reads ahead within one log', async () => {
    let nextId = 1;
    const limit = LOG_HEADER_SIZE + 3 * recordSize(1000);
    const manager = await EntryLogManager.open(dir, limit, new Set(), () => Promise.resolve(nextId++));
    const appender = manager.appender();
    const written = [...records(1n, 7, 1000), record(2n, 0n, randomBytes(20_000))];
    const locations = await appender.append(written);
    await appender.close();
    expect(locations.map(locationLogId)).to.deep.equal([1, 1, 1, 2, 2, 2, 3, 4]);
    expect(appender.bytesWritten).to.equal(4 * LOG_HEADER_SIZE + written.reduce((n, r) => n + r.bytes.length, 0));
    expect(existsSync(path.join(dir, logFileName(4)))).to.equal(true);

    const { first, following } = await manager.readRecords(locations[3]!, 64 << 10);
    expect(first.entryId).to.equal(3n);
    expect(first.data.equals(written[3]!.data)).to.equal(true);
    expect(following.map((r) => r.entryId)).to.deep.equal([4n, 5n]);
    const big = await manager.readRecords(locations[7]!, 4096); // larger than one read
    expect(big.first.data.equals(written[7]!.data)).to.equal(true);
    await manager.close();
  });

  it('deletes a retired log only after the reads that leased it', async () => {
    let nextId = 1;
    const manager = await EntryLogManager.open(dir, 1 << 20, new Set(), () => Promise.resolve(nextId++));
    const appender = manager.appender();
    const [rec] = records(1n, 1, 100);
    const [location] = await appender.append([rec!]);
    await appender.close();
    const reading = manager.readRecords(location!, 4096); // leases log 1 synchronously
    const retired = manager.retire(1);
    expect((await reading).first.data.equals(rec!.data)).to.equal(true);
    await retired;
    expect(existsSync(path.join(dir, logFileName(1)))).to.equal(false);
    try {
      await manager.readRecords(location!, 4096);
      expect.fail('read of a retired log');
    } catch (err) {
      expect(err).to.be.instanceOf(StorageError).with.property('code', 'STORAGE_IO');
    }
    await manager.close();
  });

  it('deletes logs at open that no index commit refers to', async () => {
    for (const id of [1, 2, 3]) await (await EntryLogWriter.create(dir, id)).close();
    const manager = await EntryLogManager.open(dir, 1 << 20, new Set([2]), () => Promise.resolve(9));
    expect(manager.logIds()).to.deep.equal([2]);
    expect(existsSync(path.join(dir, logFileName(1)))).to.equal(false);
    expect(existsSync(path.join(dir, logFileName(2)))).to.equal(true);
    await manager.close();
  });
});
