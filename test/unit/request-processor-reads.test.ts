// The bookie answers the entry reads of one socket read as a group (RequestProcessor.readAll): each
// read gets exactly the answer process() gives (the wire must not change), reads of entries in
// memory are answered together, and reads that go to disk look their locations up in one index walk
// and read entries stored back to back with one entry-log read.
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EntryLogManager } from '../../src/bookie/entry-log-manager.js';
import { Journal } from '../../src/bookie/journal.js';
import { LacTracker } from '../../src/bookie/lac-tracker.js';
import { LedgerDirsStorage } from '../../src/bookie/ledger-dirs-storage.js';
import { RequestProcessor } from '../../src/bookie/request-processor.js';
import { encodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { createDigest } from '../../src/protocol/digest.js';
import { masterKey } from '../../src/protocol/master-key.js';
import type { ReadEntryRequest, Response } from '../../src/protocol/protocol-types.js';
import { noopLogger } from '../../src/util/logger.js';

const password = Buffer.from('secret');
const digest = createDigest('CRC32C', password);
const key = masterKey(password);
const LEDGER = 7n;
const ENTRIES = 60;

function envelope(ledgerId: bigint, entryId: bigint): Buffer {
  const payload = Buffer.alloc(300 + Number(entryId), Number(entryId % 251n));
  return encodeEntry(digest, { ledgerId, entryId, lastAddConfirmed: entryId - 1n, length: BigInt(payload.length) }, payload);
}

const read = (txnId: number, ledgerId: bigint, entryId: bigint): ReadEntryRequest => ({ op: 'READ_ENTRY', txnId: BigInt(txnId), ledgerId, entryId });

describe('RequestProcessor.readAll', () => {
  let dir: string;
  let journal: Journal;
  let storage: LedgerDirsStorage;
  let processor: RequestProcessor;
  let lac: LacTracker;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, and called with apply
  const realReadRecords = EntryLogManager.prototype.readRecords;
  let fileReads: number;

  /** A processor over the bookie directory, with cold caches. */
  async function open(): Promise<void> {
    journal = await Journal.open(path.join(dir, 'journal'));
    storage = await LedgerDirsStorage.open([path.join(dir, 'ledgers')]);
    lac = new LacTracker();
    processor = new RequestProcessor({ storage, journal, lac, ledgerDir: dir, isReadOnly: () => false, onWriteFailure: () => undefined, logger: noopLogger });
  }
  async function close(): Promise<void> {
    await journal.close();
    await storage.close();
  }
  function readAll(reqs: readonly ReadEntryRequest[]): Promise<{ calls: Response[][]; byTxn: Map<bigint, Response> }> {
    const calls: Response[][] = [];
    const byTxn = new Map<bigint, Response>();
    return new Promise((resolve) => {
      processor.readAll(reqs, (responses) => {
        calls.push(responses);
        for (const r of responses) {
          expect(byTxn.has(r.txnId), `answered twice: ${r.txnId}`).to.equal(false);
          byTxn.set(r.txnId, r);
        }
        if (byTxn.size === reqs.length) resolve({ calls, byTxn });
      });
    });
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dlog-reads-'));
    await open();
    storage.setMasterKey(LEDGER, key);
    for (let e = 0n; e < BigInt(ENTRIES); e++) await storage.addEntry(LEDGER, e, envelope(LEDGER, e));
    fileReads = 0;
    EntryLogManager.prototype.readRecords = function (this: EntryLogManager, ...args: Parameters<EntryLogManager['readRecords']>) {
      fileReads++;
      return realReadRecords.apply(this, args);
    };
  });
  afterEach(async () => {
    EntryLogManager.prototype.readRecords = realReadRecords;
    await close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives every read the answer process() gives, from the write cache, from disk and for missing entries and ledgers', async () => {
    const reqs = [read(1, LEDGER, 3n), read(2, LEDGER, 0n), read(3, LEDGER, 59n), read(4, LEDGER, 60n), read(5, 99n, 0n), read(6, LEDGER, -1n), read(7, LEDGER, 4n)];
    lac.update(LEDGER, 58n);
    const fromCache = await readAll(reqs);
    for (const req of reqs) expect(fromCache.byTxn.get(req.txnId)).to.deep.equal(await processor.process(req));
    expect(fromCache.byTxn.get(1n)).to.deep.include({ status: 'EOK', maxLAC: 58n, body: envelope(LEDGER, 3n) });
    expect(fromCache.byTxn.get(4n)?.status).to.equal('ENOENTRY');
    expect(fromCache.byTxn.get(5n)?.status).to.equal('ENOLEDGER');

    // after a restart: nothing in memory, the LAC not known yet
    await close();
    await open();
    const fromDisk = await readAll(reqs);
    for (const req of reqs) expect(fromDisk.byTxn.get(req.txnId)).to.deep.equal(await processor.process(req));
    expect(fromDisk.byTxn.get(2n)).to.deep.include({ status: 'EOK', body: envelope(LEDGER, 0n) });
  });

  it('answers the reads of entries in memory in one call', async () => {
    lac.update(LEDGER, 58n);
    const reqs = Array.from({ length: 20 }, (_, i) => read(i, LEDGER, BigInt(i)));
    const { calls, byTxn } = await readAll(reqs);
    expect(calls).to.have.length(1);
    reqs.forEach((req) => expect(byTxn.get(req.txnId)).to.deep.include({ status: 'EOK', body: envelope(LEDGER, req.entryId) }));
  });

  it('reads the entries of a batch from disk with one index walk and one entry-log read, also when the batch skips ids (striped reads)', async () => {
    await close();
    await open();
    lac.update(LEDGER, 58n);
    // every third entry, as a reader spreading one batch over an ensemble of 3 asks one bookie
    const reqs = Array.from({ length: 15 }, (_, i) => read(i, LEDGER, BigInt(3 * i + 1)));
    const { byTxn } = await readAll(reqs);
    reqs.forEach((req) => expect(byTxn.get(req.txnId)).to.deep.include({ status: 'EOK', maxLAC: 58n, body: envelope(LEDGER, req.entryId) }));
    expect(fileReads).to.equal(1);
    // the entries in between came into the read cache with it: answered without another file read
    const between = await readAll([read(100, LEDGER, 2n), read(101, LEDGER, 3n)]);
    expect(between.byTxn.get(101n)).to.deep.include({ status: 'EOK', body: envelope(LEDGER, 3n) });
    expect(fileReads).to.equal(1);
  });
});
