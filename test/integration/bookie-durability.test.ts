// Durability of a REAL bookie process: SIGKILL it while adds are in flight, restart it on the same
// directory and port, and every acknowledged entry must read back byte-identical. Also a torn
// journal tail (harmless), a flipped byte inside the synced journal (a loud startup failure), and
// SIGKILL after checkpoints (the data then comes from the entry logs).
import { randomInt } from 'node:crypto';
import { open, readdir, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { LedgerStorage } from '../../src/bookie/ledger-storage.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { zooKeeper } from '../support/hooks.js';
import { BookieStartError, killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import {
  addEntry, envelopeFor, expectEntry, inBatches, readEntry, removeDir, sleep, tempDir, uniqueRoot,
} from '../support/bookie-test-utils.js';

const ALIGNMENT = 4096;
const GROUP_MAGIC = 0x444c4a47; // 'DLJG' (src/bookie/journal-format.ts)
const GROUP_HEADER_SIZE = 24;

interface Ledger {
  readonly id: bigint;
  /** Entry ids sent, ascending from 0. */
  sent: number;
  readonly acked: Set<bigint>;
}

interface WriteRun {
  readonly ledgers: Ledger[];
  /** Non-EOK statuses seen while the bookie was up: each is a test failure. */
  readonly unexpected: string[];
  /** Resolves after the first acknowledgement. */
  readonly firstAck: Promise<void>;
  /** Stops sending new adds. */
  stop(): void;
  /** Resolves when every worker stopped (after stop() or after the connection died). */
  readonly done: Promise<void>;
}

/**
 * Adds 1 KiB entries to `ledgerIds`, `inFlight` outstanding per ledger, over `connections`
 * connections, until stop() or until the bookie goes away. An entry counts as acknowledged the
 * moment its EOK response arrives.
 */
function writeUntilStopped(address: string, ledgerIds: readonly bigint[], inFlight: number, connections = 2): WriteRun {
  const clients = Array.from({ length: connections }, () => new BookieClient(address, { requestTimeoutMs: 10_000 }));
  const ledgers: Ledger[] = ledgerIds.map((id) => ({ id, sent: 0, acked: new Set() }));
  const unexpected: string[] = [];
  let stopped = false;
  let onFirstAck: (() => void) | undefined;
  const firstAck = new Promise<void>((resolve) => { onFirstAck = resolve; });
  const worker = async (ledger: Ledger, client: BookieClient): Promise<void> => {
    while (!stopped) {
      const entryId = BigInt(ledger.sent++);
      let r;
      try {
        r = await addEntry(client, ledger.id, entryId);
      } catch {
        return; // the bookie is gone (killed): this add was never acknowledged
      }
      if (r.status === 'EOK') {
        ledger.acked.add(entryId);
        onFirstAck?.();
      } else {
        unexpected.push(`add ${ledger.id}:${entryId} answered ${r.status}`);
        return;
      }
    }
  };
  const workers: Promise<void>[] = [];
  ledgers.forEach((ledger, i) => {
    for (let w = 0; w < inFlight; w++) workers.push(worker(ledger, clients[(i + w) % clients.length]!));
  });
  const done = Promise.all(workers).then(() => { for (const c of clients) c.close(); });
  return { ledgers, unexpected, firstAck, stop: () => { stopped = true; }, done };
}

/** Every acknowledged entry must read back byte-identical; a sent but unacknowledged one is absent or intact. */
async function verifyLedgers(client: BookieClient, ledgers: readonly Ledger[], what: string): Promise<void> {
  const checks: (() => Promise<void>)[] = [];
  for (const ledger of ledgers) {
    for (let e = 0n; e < BigInt(ledger.sent); e++) {
      const entryId = e;
      if (ledger.acked.has(entryId)) {
        checks.push(() => expectEntry(client, ledger.id, entryId));
      } else {
        checks.push(async () => {
          const r = await readEntry(client, ledger.id, entryId);
          if (r.status === 'EOK' && r.op === 'READ_ENTRY') {
            expect(r.body?.equals(envelopeFor(ledger.id, entryId)), `${what}: unacknowledged entry ${ledger.id}:${entryId} came back damaged`).to.equal(true);
          } else {
            expect(r.status, `${what}: unacknowledged entry ${ledger.id}:${entryId}`).to.be.oneOf(['ENOENTRY', 'ENOLEDGER']);
          }
        });
      }
    }
  }
  await inBatches(checks, 256, (check) => check());
}

async function newestJournalFile(journalDir: string): Promise<string> {
  const names = (await readdir(journalDir)).filter((n) => /^[0-9a-f]{16}\.jnl$/.test(n)).sort();
  expect(names.length, `journal files in ${journalDir}`).to.be.greaterThan(0);
  return path.join(journalDir, names[names.length - 1]!);
}

/** One past the last byte of the last 4096-aligned block that holds a non-zero byte. */
function endOfWrittenData(bytes: Buffer): number {
  for (let block = Math.floor((bytes.length - 1) / ALIGNMENT); block >= 0; block--) {
    const slice = bytes.subarray(block * ALIGNMENT, Math.min(bytes.length, (block + 1) * ALIGNMENT));
    if (slice.some((b) => b !== 0)) return Math.min(bytes.length, (block + 1) * ALIGNMENT);
  }
  return 0;
}

/** The groups of a journal file: offset and body length of each (parsed here, independently of the bookie's reader). */
function groupsOf(bytes: Buffer): { offset: number; bodyLength: number }[] {
  const groups: { offset: number; bodyLength: number }[] = [];
  let pos = ALIGNMENT; // block 0 is the file header
  while (pos + GROUP_HEADER_SIZE <= bytes.length && bytes.readUInt32BE(pos) === GROUP_MAGIC) {
    const bodyLength = bytes.readUInt32BE(pos + 16);
    groups.push({ offset: pos, bodyLength });
    pos = Math.ceil((pos + GROUP_HEADER_SIZE + bodyLength) / ALIGNMENT) * ALIGNMENT;
  }
  return groups;
}

describe('bookie durability (real bookie process, SIGKILL, real ZooKeeper)', function () {
  this.timeout(240_000);
  let zk: string;
  let dir: string | undefined;
  let bookie: BookieProcess | undefined;
  let client: BookieClient | undefined;

  before(async function () {
    zk = await zooKeeper(this);
  });

  beforeEach(async () => {
    dir = await tempDir('durability');
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    bookie = undefined;
    await killAllBookieProcesses();
    await removeDir(dir);
    dir = undefined;
  });

  let root = '';
  const start = async (options: { checkpointIntervalMs?: number } = {}): Promise<BookieProcess> => {
    root = uniqueRoot();
    bookie = await startBookieProcess({ metadata: `zk://${zk}${root}`, dir: dir!, ...options });
    return bookie;
  };

  /** A fresh client for the bookie's current process. */
  const connect = (): BookieClient => {
    client?.close();
    client = new BookieClient(bookie!.address, { requestTimeoutMs: 15_000 });
    return client;
  };

  it('stops cleanly on SIGTERM and SIGINT (exit 0, deregistered) and restarts with everything', async () => {
    const b = await start();
    const observer = await ZkMetadataStore.connect(zk);
    try {
      const node = `${root}/available/${b.bookieId}`;
      expect((await observer.exists(node))?.ephemeralOwner, 'registered').to.not.equal(undefined);
      let c = connect();
      for (let e = 0n; e < 10n; e++) expect((await addEntry(c, 42n, e)).status).to.equal('EOK');
      for (const how of ['SIGTERM', 'SIGINT'] as const) {
        await b.stop(how); // throws unless the exit code is 0
        await observer.sync(node);
        expect(await observer.exists(node), `deregistered on ${how}`).to.equal(null);
        await b.restart();
        expect((await observer.exists(node))?.ephemeralOwner, `registered again after ${how}`).to.be.a('bigint').and.not.equal(0n);
        c = connect();
        for (let e = 0n; e < 10n; e++) await expectEntry(c, 42n, e);
      }
    } finally {
      await observer.close();
    }
  });

  it('keeps every acknowledged entry across 20 SIGKILLs at random moments with adds in flight', async () => {
    const b = await start();
    const all: Ledger[] = [];
    let totalAcked = 0;
    const rounds = 20;
    const timings: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const began = Date.now();
      const ledgerIds = [0, 1, 2].map((i) => BigInt(1000 + round * 10 + i));
      const run = writeUntilStopped(b.address, ledgerIds, 48);
      await Promise.race([run.firstAck, run.done]);
      expect(run.unexpected, `round ${round}`).to.deep.equal([]);
      // a random kill point: anywhere from right after the first ack to a few hundred ms of load
      await sleep(randomInt(0, 400));
      await b.kill('SIGKILL');
      run.stop();
      await run.done;
      expect(run.unexpected, `round ${round}`).to.deep.equal([]);
      const acked = run.ledgers.reduce((n, l) => n + l.acked.size, 0);
      expect(acked, `round ${round}: acknowledged adds`).to.be.greaterThan(0);
      totalAcked += acked;
      all.push(...run.ledgers);

      await b.restart();
      const c = connect();
      await verifyLedgers(c, run.ledgers, `round ${round}`);
      // and a sample of the earlier rounds, which went through more restarts and checkpoints since
      const older = all.slice(0, -run.ledgers.length);
      if (older.length > 0) {
        const sample = Array.from({ length: 50 }, () => older[randomInt(older.length)]!).filter((l) => l.acked.size > 0);
        await inBatches(sample, 16, async (l) => {
          const ids = [...l.acked];
          await expectEntry(c, l.id, ids[randomInt(ids.length)]!);
        });
      }
      timings.push(Date.now() - began);
    }
    expect(totalAcked, 'acknowledged adds over all rounds').to.be.greaterThan(500);

    // finally everything, through one more restart
    await b.restart();
    await verifyLedgers(connect(), all, 'final pass');
    process.stderr.write(`      (${rounds} rounds, ${totalAcked} acked adds, round times ${Math.min(...timings)}-${Math.max(...timings)} ms)\n`);
  });

  it('starts after a torn journal tail (truncated or garbage past the last group) and loses nothing acknowledged', async () => {
    const b = await start();
    const all: Ledger[] = [];
    for (let round = 0; round < 6; round++) {
      const ledgerIds = [BigInt(5000 + round * 10), BigInt(5001 + round * 10)];
      const run = writeUntilStopped(b.address, ledgerIds, 16, 1);
      await Promise.race([run.firstAck, run.done]);
      await sleep(randomInt(10, 150));
      run.stop();
      await run.done; // every add answered: the last acknowledged group is on disk
      expect(run.unexpected).to.deep.equal([]);
      all.push(...run.ledgers);
      await b.kill('SIGKILL');

      const file = await newestJournalFile(b.journalDir);
      const bytes = await readFile(file);
      const end = endOfWrittenData(bytes);
      expect(end, 'end of the written journal data').to.be.greaterThan(ALIGNMENT);
      const groups = groupsOf(bytes);
      expect(groups.length, 'journal groups').to.be.greaterThan(0);
      const last = groups[groups.length - 1]!;
      expect(end, 'the data ends with the last group').to.equal(Math.ceil((last.offset + GROUP_HEADER_SIZE + last.bodyLength) / ALIGNMENT) * ALIGNMENT);
      let damage: string;
      if (round % 2 === 0) {
        // a torn write that never reached the preallocated end: the file is cut anywhere past the data
        const at = randomInt(end, bytes.length + 1);
        await truncate(file, at);
        damage = `truncated at ${at} (data ends at ${end}, file was ${bytes.length})`;
      } else {
        // a torn group: garbage where the next group would have gone, or anywhere after it
        // (past the file's current end too: that is also beyond the last group)
        const at = round === 1 ? end : randomInt(end, Math.max(end + 1, bytes.length - 16));
        const garbage = Buffer.from(Array.from({ length: randomInt(1, 9000) }, () => randomInt(1, 256)));
        const handle = await open(file, 'r+');
        await handle.write(garbage, 0, garbage.length, at);
        await handle.close();
        damage = `${garbage.length} garbage bytes at ${at} (data ends at ${end})`;
      }

      try {
        await b.restart();
      } catch (err) {
        throw new Error(`round ${round}: restart failed after the journal was ${damage}: ${(err as Error).message}`, { cause: err });
      }
      // garbage is a dropped tail the operator is told about, with its size
      if (damage.includes('garbage')) expect(b.stderr, `round ${round}`).to.match(/journal: dropped a torn tail of \d+ bytes/);
      await verifyLedgers(connect(), all, `round ${round} (${damage})`);
    }
  });

  it('refuses to start when a byte flips inside a synced journal group that other groups follow', async () => {
    const b = await start();
    const c = connect();
    const ledgerId = 7000n;
    // one add at a time: each becomes a group of its own, so there are many groups
    for (let e = 0n; e < 12n; e++) expect((await addEntry(c, ledgerId, e)).status).to.equal('EOK');
    c.close();
    await b.kill('SIGKILL');

    const file = await newestJournalFile(b.journalDir);
    const bytes = await readFile(file);
    const groups = groupsOf(bytes);
    expect(groups.length, 'journal groups').to.be.at.least(12);
    const victim = groups[randomInt(1, groups.length - 2)]!; // valid groups follow it
    const at = victim.offset + randomInt(0, GROUP_HEADER_SIZE + victim.bodyLength);
    const original = bytes[at]!;
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from([original ^ (1 << randomInt(8))]), 0, 1, at);

    let failure: unknown;
    try {
      await b.restart();
    } catch (err) {
      failure = err;
    }
    expect(failure, `restart with byte ${at} of ${file} flipped`).to.be.instanceOf(BookieStartError);
    const err = failure as BookieStartError;
    expect(err.exitCode, `exit code; stderr:\n${err.stderr}`).to.equal(1);
    expect(err.stderr).to.include('JOURNAL_CORRUPT');
    expect(err.stderr).to.include(path.basename(file));
    expect(err.stderr).to.match(/corrupt at offset \d+/);
    const offset = Number(/corrupt at offset (\d+)/.exec(err.stderr)![1]);
    expect(offset, 'reported offset').to.be.within(victim.offset, victim.offset + GROUP_HEADER_SIZE + victim.bodyLength);

    // the same bytes, repaired, start again and serve everything: it was that byte, nothing else
    await handle.write(Buffer.from([original]), 0, 1, at);
    await handle.close();
    await b.restart();
    const c2 = connect();
    for (let e = 0n; e < 12n; e++) await expectEntry(c2, ledgerId, e);
  });

  it('keeps acknowledged entries across SIGKILLs after checkpoints (read from the entry logs)', async () => {
    const b = await start({ checkpointIntervalMs: 50 });
    const all: Ledger[] = [];
    for (let round = 0; round < 4; round++) {
      const ledgerIds = [BigInt(9000 + round * 10), BigInt(9001 + round * 10)];
      const run = writeUntilStopped(b.address, ledgerIds, 32);
      await Promise.race([run.firstAck, run.done]);
      await sleep(randomInt(100, 400)); // several checkpoints run while adds are in flight
      await b.kill('SIGKILL');
      run.stop();
      await run.done;
      expect(run.unexpected).to.deep.equal([]);
      all.push(...run.ledgers);
      await b.restart();
      await verifyLedgers(connect(), all, `round ${round}`);
    }

    // Quiesce: every acknowledged entry is then older than the next checkpoint's mark. Wait for a
    // checkpoint to cover them, SIGKILL, and check that the ledger storage alone (no journal) has them.
    const c = connect();
    const lastId = 9999n;
    for (let e = 0n; e < 20n; e++) expect((await addEntry(c, lastId, e)).status).to.equal('EOK');
    all.push({ id: lastId, sent: 20, acked: new Set(Array.from({ length: 20 }, (_, i) => BigInt(i))) });
    // the mark of a checkpoint that covers everything: the end of the journal's data
    const journalFile = await newestJournalFile(b.journalDir);
    const journalId = BigInt(Number.parseInt(path.basename(journalFile, '.jnl'), 16));
    const journalEnd = BigInt(endOfWrittenData(await readFile(journalFile)));
    const markFile = path.join(dir!, 'ledgers', 'lastMark');
    const deadline = Date.now() + 15_000;
    let mark = await readFile(markFile);
    while (!(mark.readBigUInt64BE(0) === journalId && mark.readBigUInt64BE(8) === journalEnd) && Date.now() < deadline) {
      await sleep(25);
      mark = await readFile(markFile);
    }
    expect([mark.readBigUInt64BE(0), mark.readBigUInt64BE(8)], 'checkpoint mark (journal file, offset)').to.deep.equal([journalId, journalEnd]);
    c.close();
    await b.kill('SIGKILL');

    const storage = await LedgerStorage.open({ dir: path.join(dir!, 'ledgers') });
    try {
      for (const ledger of all) {
        for (const entryId of ledger.acked) {
          const body = await storage.getEntry(ledger.id, entryId);
          if (!body.equals(envelopeFor(ledger.id, entryId))) expect.fail(`entry log copy of ${ledger.id}:${entryId} differs`);
        }
      }
    } finally {
      await storage.close();
    }
    await b.restart();
    await verifyLedgers(connect(), all, 'after the checkpointed kill');
  });
});
