// The bookie answers the adds of one socket read as a group (RequestProcessor.addAll): every add
// is answered exactly once, the adds one journal group made durable in one call, after that
// group's sync and never before; refusals at once (after a microtask), apart from the group.
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal } from '../../src/bookie/journal.js';
import { LacTracker } from '../../src/bookie/lac-tracker.js';
import { LedgerDirsStorage } from '../../src/bookie/ledger-dirs-storage.js';
import { RequestProcessor } from '../../src/bookie/request-processor.js';
import { encodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { createDigest } from '../../src/protocol/digest.js';
import { masterKey } from '../../src/protocol/master-key.js';
import type { AddEntryRequest, Response } from '../../src/protocol/protocol-types.js';
import { noopLogger } from '../../src/util/logger.js';

const password = Buffer.from('secret');
const digest = createDigest('CRC32C', password);
const key = masterKey(password);

function add(txnId: number, ledgerId: bigint, entryId: bigint): AddEntryRequest {
  const payload = Buffer.from(`entry ${ledgerId}:${entryId}`);
  const body = encodeEntry(digest, { ledgerId, entryId, lastAddConfirmed: entryId - 1n, length: BigInt(payload.length) }, payload);
  return { op: 'ADD_ENTRY', txnId: BigInt(txnId), ledgerId, entryId, masterKey: key, body };
}

describe('RequestProcessor.addAll', () => {
  let dir: string;
  let journal: Journal;
  let storage: LedgerDirsStorage;
  let processor: RequestProcessor;
  /** Held syncs: while `holding`, the journal's barrier waits until resolved (or fails when rejected). */
  let held: { resolve: () => void; reject: (err: Error) => void }[];
  let holding: boolean;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dlog-adds-'));
    held = [];
    holding = false;
    journal = await Journal.open(path.join(dir, 'journal'), {
      hooks: { beforeSync: () => (holding ? new Promise<void>((resolve, reject) => { held.push({ resolve, reject }); }) : undefined) },
    });
    storage = await LedgerDirsStorage.open([path.join(dir, 'ledgers')]);
    processor = new RequestProcessor({
      storage, journal, lac: new LacTracker(), ledgerDir: dir, isReadOnly: () => false, onWriteFailure: () => undefined, logger: noopLogger,
    });
  });
  afterEach(async () => {
    holding = false;
    for (const h of held.splice(0)) h.resolve();
    await journal.close();
    await storage.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers each add once: a journal group\'s adds in one call after its sync, refusals apart', async () => {
    // the first add of a ledger binds its key; do it first so that the batch is all plain adds
    const calls: Response[][] = [];
    await new Promise<void>((resolve) => { processor.addAll([add(0, 1n, 0n)], () => { resolve(); }); });

    holding = true;
    const batch = [add(1, 1n, 1n), add(2, 1n, 2n), add(3, 99n, -5n), add(4, 1n, 3n)];
    let answered = 0;
    const all = new Promise<void>((resolve) => {
      processor.addAll(batch, (responses) => {
        calls.push(responses);
        answered += responses.length;
        if (answered === batch.length) resolve();
      });
    });
    // the refusal (a negative entry id) goes out before the group is synced
    while (held.length === 0 || calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(calls).to.have.length(1);
    expect(calls[0]?.map((r) => [r.txnId, r.status])).to.deep.equal([[3n, 'EBADREQ']]);
    holding = false;
    for (const h of held.splice(0)) h.resolve();
    await all;
    expect(calls).to.have.length(2);
    expect(calls[1]?.map((r) => [r.txnId, r.status])).to.deep.equal([[1n, 'EOK'], [2n, 'EOK'], [4n, 'EOK']]);
    // and what they acknowledged is stored
    for (const entryId of [1n, 2n, 3n]) expect((await storage.getEntry(1n, entryId)).equals(batch.find((r) => r.entryId === entryId)?.body ?? Buffer.alloc(0))).to.equal(true);
  });

  it('a failed journal sync answers the whole group EIO, once per add', async () => {
    await new Promise<void>((resolve) => { processor.addAll([add(0, 2n, 0n)], () => { resolve(); }); });
    holding = true;
    const responses: Response[] = [];
    const done = new Promise<void>((resolve) => {
      processor.addAll([add(1, 2n, 1n), add(2, 2n, 2n)], (batch) => {
        responses.push(...batch);
        if (responses.length === 2) resolve();
      });
    });
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // the held barrier fails: the journal fails every pending append
    holding = false;
    for (const h of held.splice(0)) h.reject(new Error('disk gone'));
    await done;
    expect(responses.map((r) => [r.txnId, r.status])).to.deep.equal([[1n, 'EIO'], [2n, 'EIO']]);
  });
});
