// BookieRegistry on both metadata backends: another client registers and unregisters bookies
// (ephemeral nodes under available/ and available/readonly/) and the registry follows within a
// second, also after its own session expired (watches of an expired session never fire).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieRegistry, type BookieSets } from '../../src/ledger/bookie-registry.js';
import { PlacementPolicy } from '../../src/ledger/placement-policy.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { zooKeeper } from '../support/hooks.js';
import { forceExpire } from '../support/zk-expire.js';
import { waitFor } from '../support/wait-for.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-bookie-registry-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

interface Client {
  readonly store: MetadataStore;
  /** A real session expiry; resolves once the store's new session is up. */
  readonly expire: () => Promise<void>;
}

const backends: readonly { name: string; connect: (ctx: Context) => Promise<Client> }[] = [
  {
    name: 'local',
    connect: async () => {
      const store = await LocalMetadataStore.open(dir);
      return { store, expire: () => store.expireSession() };
    },
  },
  {
    name: 'zk',
    connect: async (ctx) => {
      const connectString = await zooKeeper(ctx);
      const store = await ZkMetadataStore.connect(connectString, { sessionTimeoutMs: 4000 });
      return { store, expire: () => forceExpire(store, connectString) };
    },
  },
];

/** How soon the registry must reflect a change made by another client. */
const FOLLOW_MS = 1000;

const until = (condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> => waitFor(condition, timeoutMs, what);

function sorted(set: ReadonlySet<string>): string[] {
  return [...set].sort();
}

for (const backend of backends) {
  describe(`BookieRegistry (${backend.name})`, function () {
    const clients: Client[] = [];
    const registries: BookieRegistry[] = [];
    let root = '';
    let store: MetadataStore;
    let expireStore: () => Promise<void>;
    let other: MetadataStore;

    async function client(ctx: Context): Promise<MetadataStore> {
      const c = await backend.connect(ctx);
      clients.push(c);
      return c.store;
    }

    async function started(s: MetadataStore): Promise<BookieRegistry> {
      const registry = new BookieRegistry(s, root);
      registries.push(registry);
      await registry.start();
      return registry;
    }

    /** Waits until the registry shows exactly these sets. */
    async function shows(registry: BookieRegistry, writable: string[], readOnly: string[]): Promise<void> {
      const what = `writable [${writable.join(', ')}] and read-only [${readOnly.join(', ')}]`;
      await until(
        () => sorted(registry.writable()).join() === writable.join() && sorted(registry.readOnly()).join() === readOnly.join(),
        FOLLOW_MS,
        what,
      );
    }

    const register = (id: string, readOnly = false): Promise<string> =>
      other.create(`${root}/available/${readOnly ? 'readonly/' : ''}${id}`, undefined, { mode: 'ephemeral' });
    const unregister = (id: string, readOnly = false): Promise<void> =>
      other.delete(`${root}/available/${readOnly ? 'readonly/' : ''}${id}`);

    beforeEach(async function () {
      root = `/ledgers-${randomUUID().slice(0, 8)}`;
      const first = await backend.connect(this);
      clients.push(first);
      ({ store, expire: expireStore } = first);
      other = await client(this);
    });

    afterEach(async () => {
      await Promise.all(registries.splice(0).map((r) => r.close()));
      await Promise.all(clients.splice(0).map((c) => c.store.close()));
    });

    it('starts empty without an available directory, then follows registrations', async () => {
      const registry = await started(store);
      const changes: BookieSets[] = [];
      registry.on('change', (sets) => changes.push(sets));
      expect(registry.writable().size).to.equal(0);
      expect(registry.readOnly().size).to.equal(0);

      await other.create(`${root}/available/readonly`, undefined, { createParents: true });
      await register('b1:3181');
      await shows(registry, ['b1:3181'], []); // 'readonly' itself is no bookie
      await register('b2:3181', true);
      await shows(registry, ['b1:3181'], ['b2:3181']);
      // b1 turns read-only the way bookies do it: writable node out, read-only node in
      await unregister('b1:3181');
      await register('b1:3181', true);
      await shows(registry, [], ['b1:3181', 'b2:3181']);
      await register('b3:3181');
      await shows(registry, ['b3:3181'], ['b1:3181', 'b2:3181']);

      const last = changes.at(-1);
      expect(last && sorted(last.writable)).to.deep.equal(['b3:3181']);
      expect(last && sorted(last.readOnly)).to.deep.equal(['b1:3181', 'b2:3181']);
    });

    it('sees the registrations of a session that ends go away', async function () {
      const registry = await started(store);
      const departing = await client(this);
      await other.create(`${root}/available/readonly`, undefined, { createParents: true });
      await departing.create(`${root}/available/b1:3181`, undefined, { mode: 'ephemeral' });
      await departing.create(`${root}/available/readonly/b2:3181`, undefined, { mode: 'ephemeral' });
      await shows(registry, ['b1:3181'], ['b2:3181']);
      await departing.close();
      await shows(registry, [], []);
    });

    it('loads existing registrations on start', async () => {
      await other.create(`${root}/available/readonly`, undefined, { createParents: true });
      await register('b1:3181');
      await register('b2:3181');
      await register('b3:3181', true);
      const registry = await started(store);
      expect(sorted(registry.writable())).to.deep.equal(['b1:3181', 'b2:3181']);
      expect(sorted(registry.readOnly())).to.deep.equal(['b3:3181']);
    });

    it('keeps following after its own session expired', async function () {
      this.timeout(60_000);
      await other.create(`${root}/available/readonly`, undefined, { createParents: true });
      await register('b1:3181');
      const registry = await started(store);
      expect(sorted(registry.writable())).to.deep.equal(['b1:3181']);
      await expireStore();
      // changed after the expiry: only watches re-armed on the new session can report these
      await register('b2:3181');
      await shows(registry, ['b1:3181', 'b2:3181'], []);
      await unregister('b1:3181');
      await register('b1:3181', true);
      await shows(registry, ['b2:3181'], ['b1:3181']);
    });

    it('emits nothing after close', async () => {
      const registry = await started(store);
      let changes = 0;
      registry.on('change', () => { changes++; });
      await registry.close();
      await other.create(`${root}/available/b1:3181`, undefined, { createParents: true });
      await new Promise((r) => setTimeout(r, 200));
      expect(changes).to.equal(0);
      expect(registry.writable().size).to.equal(0);
    });

    it('feeds placement with the bookies currently writable', async () => {
      await other.create(`${root}/available/readonly`, undefined, { createParents: true });
      for (const id of ['b1:3181', 'b2:3181', 'b3:3181']) await register(id);
      await register('b4:3181', true);
      const registry = await started(store);
      const placement = new PlacementPolicy(registry);
      expect(placement.newEnsemble(3).sort()).to.deep.equal(['b1:3181', 'b2:3181', 'b3:3181']);
      await unregister('b2:3181');
      await shows(registry, ['b1:3181', 'b3:3181'], ['b4:3181']);
      expect(() => placement.newEnsemble(3)).to.throw(/need 3, 2 available/);
    });
  });
}
