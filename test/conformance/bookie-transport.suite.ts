// The bookie behaviour suite: what the ledger client relies on from a bookie, asserted the same way
// against the in-memory fakes (test/support/fake-bookies.ts) and against real in-process bookies,
// so the fast unit tests built on the fakes test the behaviour real bookies have.
import { expect } from 'chai';
import { DLogError } from '../../src/errors.js';
import type { BookieTransport } from '../../src/ledger/bookie-transport.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import { decodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { decodeLac, encodeLac } from '../../src/protocol/lac-envelope.js';
import type { Response, StatusCode } from '../../src/protocol/protocol-types.js';
import { DIGEST, MASTER_KEY, OTHER_MASTER_KEY, envelopeFor, payloadFor } from '../support/bookie-test-utils.js';
import { startLedgerDeployment, type LedgerDeployment } from '../support/ledger-backends.js';
import { rejection } from '../support/rejection.js';

function status(r: Response, expected: StatusCode): void {
  expect(r.status, `${r.op} status`).to.equal(expected);
}

export function bookieBehaviour(kind: LedgerDeployment['kind']): void {
  describe(`bookie behaviour: ${kind}`, function () {
    this.timeout(kind === 'fake' ? 5000 : 30_000);
    let d: LedgerDeployment;
    let bookie: BookieTransport;
    let ledgerId = 1000n;

    before(async () => {
      d = await startLedgerDeployment(kind);
      bookie = d.connections().get(d.bookieIds[0] ?? '');
    });
    after(async () => { await d.close(); });
    beforeEach(() => { ledgerId++; });

    const add = (entryId: bigint, options: { key?: Buffer; recoveryAdd?: boolean; lac?: bigint } = {}): Promise<Response> => bookie.send({
      op: 'ADD_ENTRY', ledgerId, entryId, masterKey: options.key ?? MASTER_KEY,
      body: envelopeFor(ledgerId, entryId, { size: 64, ...(options.lac === undefined ? {} : { lac: options.lac }) }),
      ...(options.recoveryAdd === true ? { recoveryAdd: true } : {}),
    });
    const read = (entryId: bigint): Promise<Response> => bookie.send({ op: 'READ_ENTRY', ledgerId, entryId });

    it('returns an added entry byte for byte, and the highest one for entry -1', async () => {
      for (let e = 0n; e < 3n; e++) status(await add(e), 'EOK');
      const r = await read(1n);
      status(r, 'EOK');
      expect(r.op === 'READ_ENTRY' && r.body).to.deep.equal(envelopeFor(ledgerId, 1n, { size: 64 }));
      const last = await read(-1n);
      expect(last.op === 'READ_ENTRY' && last.body ? decodeEntry(DIGEST, last.body, { ledgerId }).entryId : undefined).to.equal(2n);
    });

    it('answers ENOLEDGER for an unknown ledger and ENOENTRY for a missing entry', async () => {
      status(await read(0n), 'ENOLEDGER');
      status(await add(0n), 'EOK');
      status(await read(5n), 'ENOENTRY');
    });

    it('refuses another master key (EUA) and an envelope naming another entry (EBADREQ)', async () => {
      status(await add(0n), 'EOK');
      status(await add(1n, { key: OTHER_MASTER_KEY }), 'EUA');
      const wrong = await bookie.send({ op: 'ADD_ENTRY', ledgerId, entryId: 7n, masterKey: MASTER_KEY, body: envelopeFor(ledgerId, 8n, { size: 64 }) });
      status(wrong, 'EBADREQ');
      status(await read(1n), 'ENOENTRY');
    });

    it('after a fencing read refuses adds (EFENCED) but takes recovery adds', async () => {
      status(await add(0n), 'EOK');
      const fence = await bookie.send({ op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'FENCE_LEDGER', masterKey: MASTER_KEY });
      status(fence, 'EOK');
      expect(fence.op === 'READ_ENTRY' && fence.body ? decodeEntry(DIGEST, fence.body, { ledgerId }).entryId : undefined).to.equal(0n);
      status(await add(1n), 'EFENCED');
      status(await add(1n, { recoveryAdd: true }), 'EOK');
      status(await read(1n), 'EOK');
    });

    it('READ_LAC: ENOENTRY for an unknown ledger (as Java), then the last entry, then the explicit LAC too', async () => {
      status(await bookie.send({ op: 'READ_LAC', ledgerId }), 'ENOENTRY');
      status(await add(0n), 'EOK');
      status(await add(1n, { lac: 0n }), 'EOK');
      const r1 = await bookie.send({ op: 'READ_LAC', ledgerId });
      status(r1, 'EOK');
      expect(r1.op === 'READ_LAC' && r1.lastEntryBody ? decodeEntry(DIGEST, r1.lastEntryBody, { ledgerId }).lastAddConfirmed : undefined).to.equal(0n);
      expect(r1.op === 'READ_LAC' ? r1.lacBody : 'no').to.equal(undefined);
      status(await bookie.send({ op: 'WRITE_LAC', ledgerId, lac: 1n, masterKey: MASTER_KEY, body: encodeLac(DIGEST, ledgerId, 1n) }), 'EOK');
      const r2 = await bookie.send({ op: 'READ_LAC', ledgerId });
      expect(r2.op === 'READ_LAC' && r2.lacBody ? decodeLac(DIGEST, r2.lacBody, ledgerId) : undefined).to.equal(1n);
    });

    it('long poll: answers when the LAC passes the one asked about, with the next entry', async () => {
      status(await add(0n), 'EOK');
      status(await add(1n, { lac: 0n }), 'EOK');
      const poll = bookie.send({ op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC: 0n, timeOut: 10_000n }, 15_000);
      status(await add(2n, { lac: 1n }), 'EOK');
      const r = await poll;
      status(r, 'EOK');
      expect(r.op === 'READ_ENTRY' ? r.maxLAC : undefined).to.equal(1n);
      expect(r.op === 'READ_ENTRY' && r.body ? decodeEntry(DIGEST, r.body, { ledgerId }).entryId : undefined).to.equal(1n);
    });

    it('long poll: answers EOK with the unchanged LAC at its timeout', async () => {
      status(await add(0n), 'EOK');
      status(await add(1n, { lac: 0n }), 'EOK');
      const r = await bookie.send({ op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC: 0n, timeOut: 100n });
      status(r, 'EOK');
      expect(r.op === 'READ_ENTRY' ? r.maxLAC : undefined).to.equal(0n);
      expect(r.op === 'READ_ENTRY' ? r.body : 'no').to.equal(undefined);
    });

    it('a bookie failed for good (failBookie): a long poll in flight and every later request fail with its error at once', async () => {
      status(await add(0n), 'EOK');
      const own = d.connections();
      const id = d.bookieIds[0] ?? '';
      const poll = own.get(id).send({ op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC: 0n, timeOut: 10_000n }, 15_000);
      const gone = new DLogError('EMBEDDED_BOOKIE_FAILED', `bookie ${id} given up`);
      const started = Date.now();
      own.failBookie?.(id, gone);
      expect(await rejection(poll, DLogError)).to.equal(gone);
      expect(await rejection(own.get(id).send({ op: 'READ_ENTRY', ledgerId, entryId: 0n }), DLogError)).to.equal(gone);
      expect(Date.now() - started, 'no timeout waited for').to.be.lessThan(5000);
      expect(own.health.order([id, d.bookieIds[1] ?? '']), 'asked last').to.deep.equal([d.bookieIds[1], id]);
      status(await read(0n), 'EOK'); // another client's connection is not concerned
    });

    it('ledger client: entries written by one client read back by another, in order', async () => {
      const writer = await d.client();
      const handle = await writer.createLedger({ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2 });
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => handle.addEntry(payloadFor(handle.id, BigInt(i), 100))));
      expect(ids).to.deep.equal(Array.from({ length: 20 }, (_, i) => BigInt(i)));
      await handle.close();
      const reader = await d.client();
      const opened = await reader.openLedger(handle.id, { recover: false });
      const entries = await opened.readEntries(0n, 19n);
      expect(entries.map((e) => Buffer.from(e.payload))).to.deep.equal(ids.map((id) => payloadFor(handle.id, id, 100)));
    });

    it('ledger client: recovery fences the old writer and closes at its last acknowledged entry', async () => {
      const writer = await d.client();
      const handle = await writer.createLedger();
      for (let i = 0; i < 5; i++) await handle.addEntry(payloadFor(handle.id, BigInt(i), 100));
      const other = await d.client();
      const recovered = await other.openLedger(handle.id, { recover: true });
      expect(recovered.isClosed).to.equal(true);
      expect(recovered.metadata.lastEntryId).to.equal(4n);
      const err = await rejection(handle.addEntry(Buffer.from('late')), LedgerClientError);
      expect(err.code).to.equal('LEDGER_FENCED');
      const entries = await recovered.readEntries(0n, 4n);
      expect(entries.map((e) => Buffer.from(e.payload))).to.deep.equal([0n, 1n, 2n, 3n, 4n].map((id) => payloadFor(handle.id, id, 100)));
    });
  });
}
