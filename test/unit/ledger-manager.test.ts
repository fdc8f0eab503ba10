// LedgerManager on both metadata backends: znode bytes, hierarchical paths, CAS, the update loop,
// the cToken rule for retried creates, delete with directory pruning, and listing.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import { LedgerManager } from '../../src/ledger/ledger-manager.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { encodeLedgerMetadata, type LedgerMetadata } from '../../src/ledger-metadata/ledger-metadata-codec.js';
import { rejection } from '../support/rejection.js';
import { OPEN_LEDGER, OPEN_LEDGER_ZNODE } from '../support/ledger-metadata-fixture.js';
import { metadataBackends } from '../support/metadata-backends.js';

const backends = metadataBackends('ledger-manager');

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- dropped on purpose: a ledger without a creator token
const { cToken: _token, ...TOKENLESS } = OPEN_LEDGER;
const OPEN = OPEN_LEDGER;
const OPEN_ZNODE = OPEN_LEDGER_ZNODE;

const CLOSED: LedgerMetadata = {
  ...OPEN,
  state: 'CLOSED',
  lastEntryId: 9n,
  length: 1234n,
  ensembles: [[0n, ['b1:3181', 'b2:3181', 'b3:3181']], [5n, ['b1:3181', 'b4:3181', 'b3:3181']]],
  ctime: 1_700_000_000_000,
  customMetadata: new Map([['application', Buffer.from('dlog')]]),
};

const rejectionOf = (promise: Promise<unknown>): Promise<LedgerClientError> => rejection(promise, LedgerClientError);

for (const backend of backends) {
  describe(`LedgerManager (${backend.name})`, function () {
    const stores: MetadataStore[] = [];
    let root = '';
    let store: MetadataStore;
    let manager: LedgerManager;

    async function client(ctx: Context): Promise<MetadataStore> {
      const s = await backend.connect(ctx);
      stores.push(s);
      return s;
    }

    beforeEach(async function () {
      root = `/ledgers-${randomUUID().slice(0, 8)}`;
      store = await client(this);
      manager = new LedgerManager(store, root);
    });

    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('stores format v3 byte for byte at the hierarchical path, and reads it back', async () => {
      const created = await manager.create(12345n, OPEN);
      expect(created).to.deep.equal({ metadata: OPEN, version: 0 });
      const { data, stat } = await store.get(`${root}/00/0001/L2345`);
      expect(data).to.deep.equal(OPEN_ZNODE);
      expect(stat.version).to.equal(0);
      expect(await manager.read(12345n)).to.deep.equal({ metadata: OPEN, version: 0 });
    });

    it('round-trips every field through a write', async () => {
      await manager.create(7n, OPEN);
      expect(await manager.write(7n, CLOSED, 0)).to.equal(1);
      const { data } = await store.get(`${root}/00/0000/L0007`);
      expect(data).to.deep.equal(encodeLedgerMetadata(CLOSED));
      expect(await manager.read(7n)).to.deep.equal({ metadata: CLOSED, version: 1 });
    });

    it('puts short and long ids at BookKeeper hierarchical paths, and long-hierarchical on request', async () => {
      await manager.create(2147483653n, OPEN);
      await manager.create(2147483646n, OPEN);
      expect(await store.exists(`${root}/000/0000/0021/4748/L3653`)).to.not.equal(null);
      expect(await store.exists(`${root}/21/4748/L3646`)).to.not.equal(null);
      const long = new LedgerManager(store, root, { layout: 'long-hierarchical' });
      await long.create(12345n, OPEN);
      expect(long.pathOf(12345n)).to.equal(`${root}/000/0000/0000/0001/L2345`);
      expect(await store.exists(`${root}/000/0000/0000/0001/L2345`)).to.not.equal(null);
      expect(await long.read(2147483653n)).to.deep.equal({ metadata: OPEN, version: 0 });
    });

    it('reads v2 text metadata written by an older BookKeeper, and rewrites it as v3', async () => {
      const v2 = [
        'BookieMetadataFormatVersion\t2',
        'quorumSize: 2',
        'ensembleSize: 3',
        'length: 0',
        'lastEntryId: -1',
        'state: OPEN',
        'segment {',
        '  ensembleMember: "10.0.0.1:3181"',
        '  ensembleMember: "10.0.0.2:3181"',
        '  ensembleMember: "10.0.0.3:3181"',
        '  firstEntryId: 0',
        '}',
        'digestType: CRC32',
        'password: "secret"',
        'ackQuorumSize: 2',
        '',
      ].join('\n');
      await store.create(manager.pathOf(99n), Buffer.from(v2), { createParents: true });
      const { metadata, version } = await manager.read(99n);
      expect(metadata).to.deep.include({ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2, state: 'OPEN', digestType: 'CRC32' });
      expect(metadata.password).to.deep.equal(Buffer.from('secret'));
      expect(metadata.ensembles).to.deep.equal([[0n, ['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181']]]);
      expect(metadata.cToken).to.equal(undefined);
      await manager.write(99n, { ...metadata, state: 'IN_RECOVERY' }, version);
      const { data } = await store.get(manager.pathOf(99n));
      expect(data.toString('latin1', 0, 30)).to.equal('BookieMetadataFormatVersion\t3\n');
    });

    it('refuses a write at a stale version with METADATA_VERSION_CONFLICT, carrying no metadata', async function () {
      const other = new LedgerManager(await client(this), root);
      await manager.create(1n, OPEN);
      const mine = await manager.read(1n);
      const theirs = await other.read(1n);
      expect(await other.write(1n, { ...theirs.metadata, state: 'IN_RECOVERY' }, theirs.version)).to.equal(1);
      const err = await rejectionOf(manager.write(1n, { ...mine.metadata, state: 'CLOSED' }, mine.version));
      expect(err.code).to.equal('METADATA_VERSION_CONFLICT');
      expect(err.retriable).to.equal(true);
      expect(err.ledgerId).to.equal(1n);
      expect(Object.values(err)).to.not.deep.include(mine.metadata);
      expect((await manager.read(1n)).metadata.state).to.equal('IN_RECOVERY');
    });

    it('reports NO_SUCH_LEDGER for a missing ledger on read, write and delete', async () => {
      for (const op of [manager.read(5n), manager.write(5n, OPEN, 0), manager.delete(5n)]) {
        const err = await rejectionOf(op);
        expect(err.code).to.equal('NO_SUCH_LEDGER');
        expect(err.retriable).to.equal(false);
      }
    });

    describe('create on an existing znode (the cToken rule)', () => {
      it('succeeds when the stored cToken is ours: a retried create', async () => {
        await manager.create(3n, OPEN);
        await manager.write(3n, { ...OPEN, state: 'IN_RECOVERY' }, 0);
        const again = await manager.create(3n, OPEN);
        expect(again.version).to.equal(1);
        expect(again.metadata.state).to.equal('IN_RECOVERY');
      });

      it('fails with LEDGER_EXISTS for another creator\'s token, or none', async () => {
        await manager.create(3n, OPEN);
        expect((await rejectionOf(manager.create(3n, { ...OPEN, cToken: 43n }))).code).to.equal('LEDGER_EXISTS');
        expect((await rejectionOf(manager.create(3n, TOKENLESS))).code).to.equal('LEDGER_EXISTS');
        expect((await manager.read(3n)).metadata.cToken).to.equal(42n);
      });
    });

    describe('update (MetadataUpdateLoop)', () => {
      it('re-reads and retries on conflicts until every concurrent update is in', async function () {
        const other = new LedgerManager(await client(this), root);
        await manager.create(4n, OPEN);
        const addKey = (key: string) => (m: LedgerMetadata): LedgerMetadata => ({
          ...m,
          customMetadata: new Map([...m.customMetadata, [key, Buffer.from(key)]]),
        });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => {
          const key = `k${i}`;
          return (i % 2 === 0 ? manager : other).update(4n, (m) => !m.customMetadata.has(key), addKey(key));
        }));
        const final = await manager.read(4n);
        expect([...final.metadata.customMetadata.keys()].sort()).to.have.length(20);
        expect(final.version).to.equal(20);
        expect(new Set(results.map((r) => r.version)).size).to.equal(20);
      });

      it('writes nothing once the predicate no longer holds, and returns what it found', async () => {
        await manager.create(4n, OPEN);
        await manager.write(4n, CLOSED, 0);
        let transforms = 0;
        const result = await manager.update(4n, (m) => m.state === 'OPEN', (m) => { transforms++; return { ...m, state: 'IN_RECOVERY' }; }, {
          metadata: OPEN,
          version: 0,
        });
        expect(transforms).to.equal(1); // against the stale copy; its CAS failed, the re-read ended the loop
        expect(result).to.deep.equal({ metadata: CLOSED, version: 1 });
        expect((await store.get(manager.pathOf(4n))).stat.version).to.equal(1);
      });

      it('starts from a current copy without reading, and lets the predicate abort', async () => {
        const { version } = await manager.create(4n, OPEN);
        const updated = await manager.update(4n, () => true, (m) => ({ ...m, state: 'IN_RECOVERY' }), { metadata: OPEN, version });
        expect(updated.version).to.equal(1);
        const abort = new LedgerClientError('LEDGER_CLOSED', 'closed');
        const err = await rejectionOf(manager.update(4n, () => { throw abort; }, (m) => m));
        expect(err).to.equal(abort);
      });
    });

    it('deletes with a CAS version and prunes the directories left empty', async () => {
      await manager.create(12345n, OPEN);
      await manager.create(12346n, OPEN);
      await manager.create(2147483653n, OPEN);
      expect((await rejectionOf(manager.delete(12345n, 3))).code).to.equal('METADATA_VERSION_CONFLICT');
      await manager.delete(12345n, 0);
      expect(await store.exists(`${root}/00/0001/L2345`)).to.equal(null);
      expect(await store.exists(`${root}/00/0001`)).to.not.equal(null); // L2346 still there
      await manager.delete(12346n);
      await manager.delete(2147483653n);
      expect(await store.children(root)).to.deep.equal([]);
      expect((await rejectionOf(manager.read(12346n))).code).to.equal('NO_SUCH_LEDGER');
    });

    it('creates safely while another client\'s delete prunes the same directories', async function () {
      const other = new LedgerManager(await client(this), root);
      const churn = async (m: LedgerManager, id: bigint): Promise<void> => {
        for (let i = 0; i < 30; i++) {
          await m.create(id, OPEN);
          await m.delete(id);
        }
      };
      await Promise.all([churn(manager, 100n), churn(other, 101n)]);
      expect(await manager.listLedgerIds()).to.deep.equal([]);
    });

    it('fires a read watcher when the metadata changes', async () => {
      await manager.create(8n, OPEN);
      const fired = new Promise<string>((resolve) => { void manager.read(8n, (event) => { resolve(event.type); }); });
      await new Promise((r) => setTimeout(r, 50));
      await manager.write(8n, CLOSED, 0);
      expect(await fired).to.equal('changed');
    });

    it('lists the ids of both path forms, skipping BookKeeper\'s service znodes', async () => {
      expect(await manager.listLedgerIds()).to.deep.equal([]);
      const ids = [0n, 9999n, 10000n, 12345n, 2147483646n, 2147483647n, 2147483653n, (5n << 32n) | 17n, (1n << 63n) - 1n];
      for (const id of [...ids].reverse()) await manager.create(id, OPEN);
      for (const service of ['available/readonly/b1:3181', 'cookies/b1:3181', 'LAYOUT', 'INSTANCEID', 'underreplication/ledgers', 'idgen/ID-0000000001', 'idgen-long/HOB-0000000001']) {
        await store.create(`${root}/${service}`, undefined, { createParents: true });
      }
      expect(await manager.listLedgerIds()).to.deep.equal(ids);
      await manager.delete(2147483646n);
      expect(await manager.listLedgerIds()).to.deep.equal(ids.filter((id) => id !== 2147483646n));
    });
  });
}
