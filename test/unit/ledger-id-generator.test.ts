// LedgerIdGenerator on both metadata backends: short ids from idgen/ID-, the switch to 63-bit ids
// under idgen-long/HOB-<hi>/ID-, HOB roll-over and collection, and uniqueness under concurrency.
// Overflows are simulated by a store wrapper that reports created sequence numbers as 2^31-1.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { LedgerIdGenerator } from '../../src/ledger/ledger-id-generator.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { metadataBackends } from '../support/metadata-backends.js';
import { waitFor } from '../support/wait-for.js';

const backends = metadataBackends('ledger-idgen');

const LOW = 0xffffffffn;
const INT_MAX_SUFFIX = '2147483647';

/** `store`, except that nodes created at `prefix` are reported with the first overflowing sequence number. */
function overflowingAt(store: MetadataStore, prefix: string): MetadataStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'create') {
        return async (...args: Parameters<MetadataStore['create']>): Promise<string> => {
          const created = await target.create(...args);
          return args[0] === prefix ? `${prefix}${INT_MAX_SUFFIX}` : created;
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const until = (condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> => waitFor(condition, timeoutMs, what);

for (const backend of backends) {
  describe(`LedgerIdGenerator (${backend.name})`, function () {
    const stores: MetadataStore[] = [];
    let root = '';
    let store: MetadataStore;

    async function client(ctx: Context): Promise<MetadataStore> {
      const s = await backend.connect(ctx);
      stores.push(s);
      return s;
    }

    beforeEach(async function () {
      root = `/ledgers-${randomUUID().slice(0, 8)}`;
      store = await client(this);
    });

    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('takes short ids from the sequence of idgen/ID- and deletes the nodes', async () => {
      const generator = new LedgerIdGenerator(store, root);
      const ids: bigint[] = [];
      for (let i = 0; i < 5; i++) ids.push(await generator.generate());
      expect(ids[0]).to.equal(0n); // a fresh idgen starts its sequence at 0
      for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).to.equal(true);
      expect(ids.every((id) => id < 0x7fffffffn)).to.equal(true);
      await until(async () => (await store.children(`${root}/idgen`)).length === 0, 2000, 'the ID- nodes to be deleted');
      expect(await store.exists(`${root}/idgen-long`)).to.equal(null);
    });

    it('hands out 200 distinct ids to concurrent calls from 3 clients', async function () {
      const generators = [store, await client(this), await client(this)].map((s) => new LedgerIdGenerator(s, root));
      const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => generators[i % 3]!.generate()));
      expect(new Set(ids).size).to.equal(200);
    });

    it('uses idgen-long/HOB-<hi>/ID- once idgen-long exists: id = hi << 32 | lo', async function () {
      await store.create(`${root}/idgen-long`, undefined, { createParents: true });
      const generator = new LedgerIdGenerator(store, root);
      const first = await generator.generate();
      expect(first).to.equal(1n << 32n); // HOB starts at 1, its sequence at 0
      expect(await store.children(`${root}/idgen-long`)).to.deep.equal(['HOB-0000000001']);
      const second = await generator.generate();
      expect(second >> 32n).to.equal(1n);
      expect((second & LOW) > 0n).to.equal(true);
      await until(async () => (await store.children(`${root}/idgen-long/HOB-0000000001`)).length === 0, 2000, 'the ID- nodes to be deleted');
      expect(await store.exists(`${root}/idgen`)).to.equal(null); // the short scheme is not touched

      const generators = [generator, ...[await client(this), await client(this)].map((s) => new LedgerIdGenerator(s, root))];
      const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => generators[i % 3]!.generate()));
      expect(new Set([first, second, ...ids]).size).to.equal(202);
      expect(ids.every((id) => id >> 32n === 1n)).to.equal(true);
    });

    it('switches to long ids when a short id overflows, for itself and every later generator', async () => {
      const generator = new LedgerIdGenerator(overflowingAt(store, `${root}/idgen/ID-`), root);
      expect(await generator.generate()).to.equal(1n << 32n);
      expect(await store.exists(`${root}/idgen-long/HOB-0000000001`)).to.not.equal(null);
      const next = await generator.generate();
      expect(next >> 32n).to.equal(1n);
      const later = await new LedgerIdGenerator(store, root).generate();
      expect(later >> 32n).to.equal(1n);
      expect(new Set([1n << 32n, next, later]).size).to.equal(3);
    });

    it('rolls over to the next HOB directory when the low bits overflow', async () => {
      await store.create(`${root}/idgen-long/HOB-0000000001`, undefined, { createParents: true });
      const generator = new LedgerIdGenerator(overflowingAt(store, `${root}/idgen-long/HOB-0000000001/ID-`), root);
      expect(await generator.generate()).to.equal(2n << 32n);
      expect(await store.children(`${root}/idgen-long`)).to.deep.equal(['HOB-0000000001', 'HOB-0000000002']);
    });

    it('keeps only the 3 newest HOB directories', async () => {
      for (let hob = 1; hob <= 5; hob++) {
        await store.create(`${root}/idgen-long/HOB-${String(hob).padStart(10, '0')}`, undefined, { createParents: true });
      }
      const id = await new LedgerIdGenerator(store, root).generate();
      expect(id >> 32n).to.equal(5n);
      expect(await store.children(`${root}/idgen-long`)).to.deep.equal(['HOB-0000000003', 'HOB-0000000004', 'HOB-0000000005']);
    });

    it('does not re-create a HOB directory collected by another client', async function () {
      await store.create(`${root}/idgen-long/HOB-0000000001`, undefined, { createParents: true });
      const generator = new LedgerIdGenerator(store, root);
      expect((await generator.generate()) >> 32n).to.equal(1n); // caches [1]
      // another client moved on to HOB 3..5 and collected HOB 1
      const other = await client(this);
      for (let hob = 3; hob <= 5; hob++) await other.create(`${root}/idgen-long/HOB-000000000${hob}`);
      await until(async () => (await store.children(`${root}/idgen-long/HOB-0000000001`)).length === 0, 2000, 'the ID- node to be deleted');
      await other.delete(`${root}/idgen-long/HOB-0000000001`);
      expect((await generator.generate()) >> 32n).to.equal(5n);
      expect(await store.exists(`${root}/idgen-long/HOB-0000000001`)).to.equal(null);
    });
  });
}
