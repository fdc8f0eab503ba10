// The same v3 requests sent to Java bookies (both storages) and to our bookie: every status,
// and the bytes that come back, must be the ones the Java bookie gives (Java is the spec).
import { expect } from 'chai';
import { BookieClient, type OutgoingRequest } from '../../src/ledger/bookie-client.js';
import { encodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { createDigest } from '../../src/protocol/digest.js';
import { encodeEntriesAvailability } from '../../src/protocol/entries-availability.js';
import { encodeLac } from '../../src/protocol/lac-envelope.js';
import { masterKey } from '../../src/protocol/master-key.js';
import type { Response } from '../../src/protocol/protocol-types.js';
import { BK_VERSIONS } from './support/java.js';
import { hex, startInteropCluster, type InteropCluster } from './support/interop-cluster.js';

const digest = createDigest('CRC32C', Buffer.from('pw'));
const KEY = masterKey(Buffer.from('pw'));
const WRONG = masterKey(Buffer.from('other'));
const L = 987_654_321n;

const entry = (entryId: bigint, lac: bigint, text: string): Buffer =>
  encodeEntry(digest, { ledgerId: L, entryId, lastAddConfirmed: lac, length: BigInt(text.length) }, Buffer.from(text));

/** One step: a request and what of its response the bookies must agree on. */
const STEPS: readonly [string, OutgoingRequest][] = [
  ['read, unknown ledger', { op: 'READ_ENTRY', ledgerId: L, entryId: 0n }],
  ['read LAC, unknown ledger', { op: 'READ_LAC', ledgerId: L }],
  ['add 0', { op: 'ADD_ENTRY', ledgerId: L, entryId: 0n, masterKey: KEY, body: entry(0n, -1n, 'zero') }],
  ['add 0 again', { op: 'ADD_ENTRY', ledgerId: L, entryId: 0n, masterKey: KEY, body: entry(0n, -1n, 'zero') }],
  ['add 1, wrong master key', { op: 'ADD_ENTRY', ledgerId: L, entryId: 1n, masterKey: WRONG, body: entry(1n, 0n, 'one') }],
  ['add 1', { op: 'ADD_ENTRY', ledgerId: L, entryId: 1n, masterKey: KEY, body: entry(1n, 0n, 'one') }],
  ['read 0', { op: 'READ_ENTRY', ledgerId: L, entryId: 0n }],
  ['read 5 (missing)', { op: 'READ_ENTRY', ledgerId: L, entryId: 5n }],
  ['read LAC before WRITE_LAC', { op: 'READ_LAC', ledgerId: L }],
  ['write LAC 1', { op: 'WRITE_LAC', ledgerId: L, lac: 1n, masterKey: KEY, body: encodeLac(digest, L, 1n) }],
  ['read LAC', { op: 'READ_LAC', ledgerId: L }],
  ['long poll for entry 2, 200 ms', { op: 'READ_ENTRY', ledgerId: L, entryId: 2n, previousLAC: 1n, timeOut: 200n }],
  ['long poll for entry 1, 200 ms', { op: 'READ_ENTRY', ledgerId: L, entryId: 1n, previousLAC: 1n, timeOut: 200n }],
  ['piggyback long poll, 200 ms', { op: 'READ_ENTRY', ledgerId: L, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC: 1n, timeOut: 200n }],
  ['piggyback long poll, LAC above', { op: 'READ_ENTRY', ledgerId: L, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC: 0n, timeOut: 200n }],
  ['force ledger', { op: 'FORCE_LEDGER', ledgerId: L }],
  ['fence, wrong master key', { op: 'READ_ENTRY', ledgerId: L, entryId: 1n, flag: 'FENCE_LEDGER', masterKey: WRONG }],
  ['fence', { op: 'READ_ENTRY', ledgerId: L, entryId: 1n, flag: 'FENCE_LEDGER', masterKey: KEY }],
  ['add 2 after fence', { op: 'ADD_ENTRY', ledgerId: L, entryId: 2n, masterKey: KEY, body: entry(2n, 1n, 'two') }],
  ['recovery add 2 after fence', { op: 'ADD_ENTRY', ledgerId: L, entryId: 2n, masterKey: KEY, body: entry(2n, 1n, 'two'), recoveryAdd: true }],
  ['read 2', { op: 'READ_ENTRY', ledgerId: L, entryId: 2n }],
  ['entries of ledger', { op: 'GET_LIST_OF_ENTRIES_OF_LEDGER', ledgerId: L }],
];

/** What must match: the status, and the bytes of a successful read. */
function summary(r: Response): string {
  const parts: string[] = [r.status];
  if (r.op === 'READ_ENTRY' && r.status === 'EOK') parts.push(r.body?.toString('hex') ?? '', `maxLAC=${r.maxLAC ?? '-'}`);
  if (r.op === 'READ_LAC' && r.status === 'EOK') parts.push(r.lacBody?.toString('hex') ?? '');
  if (r.op === 'GET_LIST_OF_ENTRIES_OF_LEDGER' && r.status === 'EOK') parts.push(r.availabilityOfEntriesOfLedger?.toString('hex') ?? '');
  return parts.join(' ');
}

async function runSteps(address: string): Promise<string[]> {
  const client = new BookieClient(address, { requestTimeoutMs: 5000 });
  try {
    const out: string[] = [];
    for (const [name, request] of STEPS) {
      const answer = await client.send(request).then(summary, (err: unknown) => `no answer (${(err as Error).message.replace(/ to bookie \S+/, '')})`);
      out.push(`${name}: ${answer}`);
    }
    return out;
  } finally {
    client.close();
  }
}

for (const { version } of BK_VERSIONS) {
  describe(`interop: v3 statuses of our bookie and Java ${version} bookies`, function () {
    this.timeout(180_000);
    let c = undefined as unknown as InteropCluster;

    before(async function () {
      c = await startInteropCluster(this, 'status', { version, bookies: ['java', 'java-db', 'ours'] });
    });
    after(async () => { await (c as InteropCluster | undefined)?.close(); });

    it('the same requests get the same statuses and bytes', async () => {
      const [java, javaDb, ours] = await Promise.all(c.bookies.map((b) => runSteps(b.bookieId))) as [string[], string[], string[]];
      // DbLedgerStorage leaves GET_LIST_OF_ENTRIES_OF_LEDGER (the last step) unanswered
      expect(javaDb.slice(0, -1), 'Java DbLedgerStorage vs the default storage').to.deep.equal(java.slice(0, -1));
      expect(java.at(-1), 'the default storage lists entries 0-2').to.equal(`entries of ledger: EOK ${encodeEntriesAvailability([0n, 1n, 2n]).toString('hex')}`);
      expect(ours, 'our bookie vs Java').to.deep.equal(java);
    });

    it('GET_LIST_OF_ENTRIES_OF_LEDGER through Java\'s BookieClient: a striped ledger (E3 W2) as Java serializes it', async () => {
      const pw = Buffer.from('stripes');
      const id = BigInt(await c.java.call('create', 3, 2, 2, 'CRC32C', hex(pw)));
      await c.java.call('appendmany', id, 20, '%d');
      const ensemble = (await c.client.readLedgerMetadata(id)).ensembles[0]![1];
      for (const [i, bookie] of ensemble.entries()) {
        // round robin: entry e goes to ensemble positions e mod 3 and e+1 mod 3
        const held = Array.from({ length: 20 }, (_, e) => e).filter((e) => [e % 3, (e + 1) % 3].includes(i));
        const javaBytes = await c.java.call('availability', held.join(','));
        expect(encodeEntriesAvailability(held.map(BigInt)).toString('hex'), 'our codec vs Java\'s').to.equal(javaBytes);
        if (bookie === c.bookies[1]!.bookieId) continue; // DbLedgerStorage does not answer it
        expect(await c.java.call('entriesof', bookie, id), `bookie ${bookie}`).to.equal(`${held.length} ${javaBytes}`);
      }
      expect(ensemble, 'the ledger has a stripe on our bookie').to.include(c.bookies[2]!.bookieId);
      const missing = await c.java.call('entriesof', c.bookies[2]!.bookieId, id + 1000n).catch((err: unknown) => String(err));
      expect(missing).to.match(/NoSuchLedgerExists/);
      await c.java.call('close', id);
    });
  });
}
