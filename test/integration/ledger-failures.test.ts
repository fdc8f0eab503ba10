// The ledger client against REAL bookie processes and a real ZooKeeper, under failures: a bookie
// SIGKILLed mid-write (ensemble change), recovery with a bookie of the last ensemble down, a
// corrupted replica on disk (digest mismatch falls over to another replica), reads beyond the LAC
// and the long-poll LAC timing out. Every test asserts on the data read back.
import { crc32c } from '@node-rs/crc32';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { LOG_HEADER_SIZE, parseRecord, type ParsedRecord } from '../../src/bookie/entry-log.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import type { LedgerClient, LedgerClientOptions } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import { createDigest } from '../../src/protocol/digest.js';
import { decodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { MetricsRegistry } from '../../src/util/metrics.js';
import { startBookieProcessCluster, type BookieProcessCluster } from '../support/bookie-process-cluster.js';
import { payloadFor } from '../support/bookie-test-utils.js';
import { sample } from '../support/prometheus-sample.js';

const PASSWORD = Buffer.from('ledger-failures');
const SESSION_TIMEOUT_MS = 2000;

function codeOf(err: unknown): string | undefined {
  return err instanceof LedgerClientError ? err.code : undefined;
}

/** Reads first..last in batches and asserts each payload is payloadFor(ledgerId, id, size). */
async function expectPayloads(handle: LedgerHandle, first: bigint, last: bigint, size: number, batch = 500n): Promise<void> {
  for (let from = first; from <= last; from += batch) {
    const to = from + batch - 1n < last ? from + batch - 1n : last;
    const entries = await handle.readEntries(from, to);
    expect(entries).to.have.length(Number(to - from + 1n));
    entries.forEach((e, i) => {
      const id = from + BigInt(i);
      expect(e.entryId, 'entry id').to.equal(id);
      if (!e.payload.equals(payloadFor(handle.id, id, size))) expect.fail(`entry ${id} of ledger ${handle.id} read back different bytes`);
    });
  }
}

/** Every regular file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await filesUnder(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

describe('LedgerClient with real bookie processes under failures (E3 W3 A2 unless named)', function () {
  this.timeout(90_000);
  let cluster: BookieProcessCluster;

  const client = (options: Omit<LedgerClientOptions, 'store' | 'ledgersRoot'> = {}): Promise<LedgerClient> =>
    cluster.client({ requestTimeoutMs: 1000, ...options });
  const waitForWritable = (c: LedgerClient, count: number): Promise<void> => cluster.waitForWritable(c, count, 15_000);

  before(async function () {
    cluster = await startBookieProcessCluster(this, 'ledger-failures', { bookies: 4, sessionTimeoutMs: SESSION_TIMEOUT_MS });
  });
  // bring killed or stopped bookies back for the next test
  afterEach(async () => { await cluster.heal(); });
  after(async () => { await cluster.close(); });

  it('writes 10k entries through a SIGKILL of an ensemble bookie: ensemble change, everything acknowledged reads back', async () => {
    const c = await client({ requestTimeoutMs: 1000 });
    await waitForWritable(c, 4);
    const writer = await c.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: PASSWORD });
    const first = writer.metadata.ensembles[0]![1];
    const spare = cluster.bookies.find((b) => !first.includes(b.bookieId))!.bookieId;
    const victimIndex = 1;
    const victim = cluster.byId(first[victimIndex]!);

    const TOTAL = 10_000;
    const acked: bigint[] = [];
    let ackedAtKill = -1;
    let killed: Promise<void> | undefined;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < TOTAL) {
        const i = next++;
        const id = await writer.addEntry(payloadFor(writer.id, BigInt(i)));
        expect(id).to.equal(BigInt(i));
        acked.push(id);
        if (acked.length === TOTAL / 2 && killed === undefined) {
          ackedAtKill = acked.length;
          killed = victim.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 100 }, lane));
    await killed;
    expect(acked).to.have.length(TOTAL);
    // callbacks strictly in entry order
    expect(acked.every((id, i) => id === BigInt(i))).to.equal(true);
    await writer.close();

    const { ensembles } = writer.metadata;
    expect(writer.metadata.state).to.equal('CLOSED');
    expect(writer.metadata.lastEntryId).to.equal(BigInt(TOTAL - 1));
    expect(writer.metadata.length).to.equal(BigInt(TOTAL * 1024));
    expect(ensembles, 'two ensembles').to.have.length(2);
    const [firstKey, firstBookies] = ensembles[0]!;
    const [secondKey, secondBookies] = ensembles[1]!;
    expect(firstKey).to.equal(0n);
    expect(firstBookies).to.deep.equal(first);
    // the change starts at LAC+1 of its moment, which is after the kill
    expect(Number(secondKey)).to.be.at.least(ackedAtKill).and.below(TOTAL);
    expect(secondBookies).to.not.include(victim.bookieId);
    expect(secondBookies).to.deep.equal(first.map((b, i) => (i === victimIndex ? spare : b)));

    const reader = await (await client()).openLedger(writer.id, { recover: false, password: PASSWORD });
    expect(reader.metadata.ensembles).to.deep.equal(ensembles);
    await expectPayloads(reader, 0n, BigInt(TOTAL - 1), 1024);
  });

  it('recovers with one bookie of the last ensemble down; the old writer can add nothing more', async () => {
    const a = await client();
    await waitForWritable(a, 4);
    const writer = await a.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: PASSWORD });
    const ensemble = writer.metadata.ensembles[0]![1];
    const acked: bigint[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < 1000) {
        const i = next++;
        acked.push(await writer.addEntry(payloadFor(writer.id, BigInt(i))));
      }
    }));
    expect(acked).to.have.length(1000);
    const lastAcked = acked.reduce((m, x) => (x > m ? x : m), -1n);
    await cluster.byId(ensemble[2]!).kill('SIGKILL');

    const b = await client();
    const start = Date.now();
    const recovered = await b.openLedger(writer.id, { recover: true, password: PASSWORD });
    const took = Date.now() - start;
    expect(recovered.metadata.state).to.equal('CLOSED');
    const last = recovered.metadata.lastEntryId;
    expect(last >= lastAcked, `recovered up to ${last}, acknowledged ${lastAcked}`).to.equal(true);
    // nothing was ever pushed past entry 999
    expect(last).to.equal(999n);
    expect(recovered.metadata.length).to.equal(1000n * 1024n);
    expect(took, 'recovery time (ms)').to.be.below(15_000);

    let added: bigint | undefined;
    try {
      added = await writer.addEntry(Buffer.from('after fencing'));
    } catch (err) {
      expect(codeOf(err), String(err)).to.be.oneOf(['LEDGER_FENCED', 'LEDGER_CLOSED']);
    }
    expect(added, 'the fenced writer got an acknowledgement').to.equal(undefined);

    await expectPayloads(recovered, 0n, last, 1024);
    // a second reader from the stored metadata sees the same ledger
    const reader = await (await client()).openLedger(writer.id, { recover: false, password: PASSWORD });
    expect(reader.metadata.lastEntryId).to.equal(last);
    await expectPayloads(reader, 900n, last, 1024, 100n);
  });

  it('E3 W2: skips a replica whose stored entry was corrupted on disk (digest mismatch) and never returns its bytes', async () => {
    const c = await client();
    await waitForWritable(c, 4);
    // E3 W2 A2: no sticky reads (E > W), so a fresh reader asks an entry's write set in order, and
    // every add is acknowledged (so synced) by both of its replicas before the writer closes:
    // nothing of this ledger is replayed from the journal over the damage at the restart below
    const writer = await c.createLedger({ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2, password: PASSWORD });
    const N = 300;
    await Promise.all(Array.from({ length: N }, (_, i) => writer.addEntry(payloadFor(writer.id, BigInt(i)))));
    await writer.close();
    const ensemble = writer.metadata.ensembles[0]![1];
    const damaged = cluster.byId(ensemble[0]!);
    const intact = cluster.byId(ensemble[1]!);
    // SIGTERM checkpoints: every entry is in the entry logs
    await damaged.stop('SIGTERM');

    // entries whose write set is [damaged, intact] (id % 3 == 0). One payload byte of every copy is
    // flipped, so the envelope no longer matches its digest. The entry log's own record CRC is
    // recomputed for some (the bookie serves the damaged envelope and only the client's digest
    // catches it) and left stale for the others (the bookie answers EIO).
    const victims = new Map<bigint, boolean>([[0n, true], [3n, false], [150n, true], [297n, false]]);
    const digest = createDigest('CRC32', PASSWORD);
    const copies = new Map<bigint, number>();
    const files = (await filesUnder(path.join(damaged.dir, 'ledgers'))).filter((f) => f.endsWith('.log'));
    for (const file of files) {
      const bytes = await readFile(file);
      // walk the records (a byte search for the ids is fooled by ledger 0: its ids are the zeros of a log header)
      const found: ParsedRecord[] = [];
      for (let pos = LOG_HEADER_SIZE, r = parseRecord(bytes, pos); r.kind === 'record'; pos += r.record.bytes.length, r = parseRecord(bytes, pos)) {
        if (r.record.ledgerId === writer.id && victims.has(r.record.entryId)) found.push(r.record);
      }
      for (const { entryId, bytes: record, data: envelope } of found) {
        const payload = payloadFor(writer.id, entryId);
        const payloadAt = envelope.length - payload.length;
        expect(envelope.subarray(payloadAt).equals(payload), `entry ${entryId}: the envelope ends with its payload`).to.equal(true);
        envelope[payloadAt + 100] = envelope[payloadAt + 100]! ^ 0xff;
        expect(() => decodeEntry(digest, envelope, { ledgerId: writer.id, entryId }), `entry ${entryId} fails its digest`).to.throw();
        if (victims.get(entryId) === true) record.writeUInt32BE(crc32c(record.subarray(8)), 4);
        copies.set(entryId, (copies.get(entryId) ?? 0) + 1);
      }
      if (found.length > 0) await writeFile(file, bytes);
    }
    for (const id of victims.keys()) expect(copies.get(id) ?? 0, `copies of entry ${id} found in the entry logs`).to.be.at.least(1);
    await damaged.restart();

    /** Asserts the damaged bookie serves every victim damaged (fails its digest) or answers EIO, and `intact` serves it intact. */
    const expectOnlyDamagedThere = async (): Promise<void> => {
      const direct = new BookieClient(damaged.address);
      const other = new BookieClient(intact.address);
      try {
        for (const [id, fixCrc] of victims) {
          const r = await direct.send({ op: 'READ_ENTRY', ledgerId: writer.id, entryId: id });
          if (r.op !== 'READ_ENTRY') return expect.fail(`unexpected ${r.op}`);
          if (fixCrc) {
            expect(r.status, `entry ${id}`).to.equal('EOK');
            expect(() => decodeEntry(digest, r.body!, { ledgerId: writer.id, entryId: id }), `entry ${id} damaged on disk`).to.throw();
          } else {
            expect(r.status, `entry ${id}`).to.equal('EIO');
          }
          const good = await other.send({ op: 'READ_ENTRY', ledgerId: writer.id, entryId: id });
          if (good.op !== 'READ_ENTRY' || good.body === undefined) return expect.fail(`entry ${id} not served by ${intact.bookieId}`);
          expect(decodeEntry(digest, good.body, { ledgerId: writer.id, entryId: id }).payload.equals(payloadFor(writer.id, id)), `entry ${id} on ${intact.bookieId}`).to.equal(true);
        }
        // an undamaged neighbour is served intact
        const ok = await direct.send({ op: 'READ_ENTRY', ledgerId: writer.id, entryId: 6n });
        if (ok.op !== 'READ_ENTRY' || ok.body === undefined) return expect.fail('entry 6 not served');
        expect(decodeEntry(digest, ok.body, { ledgerId: writer.id, entryId: 6n }).payload.equals(payloadFor(writer.id, 6n))).to.equal(true);
      } finally {
        direct.close();
        other.close();
      }
    };
    await expectOnlyDamagedThere();

    // every entry, with a short speculative timeout
    const reader = await (await client({ speculativeReadTimeoutMs: 50 })).openLedger(writer.id, { recover: false, password: PASSWORD });
    await expectPayloads(reader, 0n, BigInt(N - 1), 1024, 100n);
    // each victim through a new client (no health marks: the damaged bookie is asked first) that
    // never speculates: its second request went out because the damaged bookie's answer failed
    for (const id of victims.keys()) {
      const metrics = new MetricsRegistry();
      const fresh = await (await client({ speculativeReadTimeoutMs: 60_000, metrics })).openLedger(writer.id, { recover: false, password: PASSWORD });
      const [entry] = await fresh.readEntries(id, id);
      expect(entry!.payload.equals(payloadFor(writer.id, id)), `entry ${id}`).to.equal(true);
      expect(sample(metrics.prometheusText(), 'speculative_reads_total'), `entry ${id}: speculative reads`).to.equal(0);
    }
    // and the damaged bookie still cannot serve any victim intact: what the readers got came from the other replica
    await expectOnlyDamagedThere();
  });

  it('refuses reads beyond the LAC of an open ledger; the LAC long poll times out, then returns promptly on a new add', async () => {
    const c = await client();
    await waitForWritable(c, 4);
    const writer = await c.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: PASSWORD });
    for (let i = 0; i < 10; i++) await writer.addEntry(payloadFor(writer.id, BigInt(i)));
    const reader = await (await client()).openLedger(writer.id, { recover: false, password: PASSWORD });
    const lac = await reader.readLastAddConfirmed();
    // the last entry carries the LAC before it (no explicit LAC writes): 8 or 9
    expect(lac >= 8n && lac <= 9n, `LAC ${lac}`).to.equal(true);
    await expectPayloads(reader, 0n, lac, 1024);
    for (const [first, last] of [[0n, lac + 1n], [lac + 1n, lac + 1n], [lac + 5n, lac + 10n]] as const) {
      try {
        await reader.readEntries(first, last);
        expect.fail(`read ${first}..${last} past the LAC ${lac}`);
      } catch (err) {
        expect(codeOf(err), String(err)).to.equal('READ_BEYOND_LAC');
      }
    }

    // nothing new: the poll waits out its timeout and reports the same LAC, no entry
    let start = Date.now();
    const idle = await reader.readLastAddConfirmedAndEntry(lac, 1000);
    const idleMs = Date.now() - start;
    expect(idle.lastAddConfirmed).to.equal(lac);
    expect(idle.entry).to.equal(undefined);
    expect(idleMs, 'idle poll duration').to.be.within(800, 4000);

    // a new add moves the LAC: the poll returns promptly, with the next entry
    start = Date.now();
    const polled = reader.readLastAddConfirmedAndEntry(lac, 20_000);
    setTimeout(() => { void writer.addEntry(payloadFor(writer.id, 10n)); }, 200);
    const moved = await polled;
    expect(Date.now() - start, 'poll duration').to.be.below(3000);
    expect(moved.lastAddConfirmed > lac).to.equal(true);
    if (moved.entry) {
      expect(moved.entry.entryId).to.equal(lac + 1n);
      expect(moved.entry.payload.equals(payloadFor(writer.id, lac + 1n))).to.equal(true);
    }
    await expectPayloads(reader, 0n, moved.lastAddConfirmed, 1024);
    await writer.close();
  });
});
