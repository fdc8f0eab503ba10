// The MetadataStore conformance suite, run against every backend (abstract-level style): a backend
// test file calls `metadataStoreConformance` with a factory for its clients.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { MetadataError } from '../../src/errors.js';
import type { MetadataStore, WatchEvent } from '../../src/metadata/metadata-store.js';
import { rejection } from '../support/rejection.js';

export interface ConformanceBackend<S extends MetadataStore> {
  /** A new client (its own session) on the same backing store. */
  open(ctx: Context): Promise<S>;
  /** Expires the client's session the way the backend really would (not a close). */
  forceExpire(store: S): Promise<void>;
  /** Backends with persistence: close every client and open the backing store again. */
  reopen?: () => Promise<void>;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<MetadataError> {
  const err = await rejection(promise, MetadataError);
  expect(err.code).to.equal(code);
  return err;
}

function nextEvent(): { watcher: (e: WatchEvent) => void; events: WatchEvent[]; first: Promise<WatchEvent> } {
  const events: WatchEvent[] = [];
  let resolve!: (e: WatchEvent) => void;
  const first = new Promise<WatchEvent>((r) => { resolve = r; });
  return { events, first, watcher: (e) => { events.push(e); resolve(e); } };
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with the expired session id and the id of the next session opened after it. */
function nextSessionAfterExpiry(store: MetadataStore, timeoutMs = 20_000): Promise<{ expired: bigint; connected: bigint }> {
  return new Promise((resolve, reject) => {
    let expired: bigint | undefined;
    const onExpired = (id: bigint): void => { expired = id; };
    const onConnected = (id: bigint): void => {
      // a reconnect on the old session before the expiry is not what we wait for
      if (expired === undefined) return;
      done();
      resolve({ expired, connected: id });
    };
    const done = (): void => {
      clearTimeout(timer);
      store.off('expired', onExpired);
      store.off('connected', onConnected);
    };
    const timer = setTimeout(() => { done(); reject(new Error(`no expiry and new session within ${timeoutMs} ms`)); }, timeoutMs);
    store.on('expired', onExpired);
    store.on('connected', onConnected);
  });
}

export function metadataStoreConformance<S extends MetadataStore>(name: string, backend: ConformanceBackend<S>): void {
  describe(`MetadataStore conformance: ${name}`, function () {
    this.timeout(60_000);
    const clients: S[] = [];
    let root = '';
    let ctx: Context;

    const client = async (): Promise<S> => {
      const c = await backend.open(ctx);
      clients.push(c);
      return c;
    };

    beforeEach(async function () {
      // the backend needs the running test's context to skip it when no ZooKeeper exists
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      ctx = this;
      root = `/conformance-${randomBytes(6).toString('hex')}`;
      const c = await client();
      await c.create(root);
    });

    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it('creates, reads, updates with CAS and deletes', async () => {
      const s = await client();
      const p = `${root}/a`;
      expect(await s.create(p, Buffer.from('one'))).to.equal(p);
      const got = await s.get(p);
      expect(got.data.toString()).to.equal('one');
      expect(got.stat.version).to.equal(0);
      expect(typeof got.stat.czxid).to.equal('bigint');
      expect(got.stat.ephemeralOwner).to.equal(0n);
      const stat = await s.set(p, Buffer.from('two'), 0);
      expect(stat.version).to.equal(1);
      await rejectsWith(s.set(p, Buffer.from('stale'), 0), 'BAD_VERSION');
      expect((await s.get(p)).data.toString()).to.equal('two');
      await rejectsWith(s.delete(p, 0), 'BAD_VERSION');
      await s.delete(p, 1);
      expect(await s.exists(p)).to.equal(null);
      await rejectsWith(s.get(p), 'NO_NODE');
    });

    it('rejects a create of an existing node, a missing parent and a non-empty delete', async () => {
      const s = await client();
      await s.create(`${root}/x`, Buffer.from('keep'));
      const err = await rejectsWith(s.create(`${root}/x`, Buffer.from('lost')), 'NODE_EXISTS');
      expect(err.retriable).to.equal(false);
      expect((await s.get(`${root}/x`)).data.toString()).to.equal('keep');
      await rejectsWith(s.create(`${root}/missing/child`), 'NO_NODE');
      await s.create(`${root}/x/child`);
      await rejectsWith(s.delete(`${root}/x`), 'NOT_EMPTY');
      expect(await s.children(`${root}/x`)).to.deep.equal(['child']);
      await rejectsWith(s.children(`${root}/nope`), 'NO_NODE');
    });

    it('creates missing parents on request', async () => {
      const s = await client();
      await s.create(`${root}/p/q/r`, Buffer.from('leaf'), { createParents: true });
      expect((await s.get(`${root}/p/q/r`)).data.toString()).to.equal('leaf');
      expect(await s.children(`${root}/p`)).to.deep.equal(['q']);
      // an existing parent is fine
      await s.create(`${root}/p/q/s`, undefined, { createParents: true });
      expect(await s.children(`${root}/p/q`)).to.deep.equal(['r', 's']);
    });

    it('rejects invalid paths with BAD_ARGUMENTS', async () => {
      const s = await client();
      for (const bad of ['', 'relative', `${root}/`, `${root}//x`, `${root}/./x`]) {
        await rejectsWith(s.create(bad), 'BAD_ARGUMENTS');
      }
    });

    it('numbers sequential nodes with a 10-digit suffix from the parent counter', async () => {
      const s = await client();
      const a = await s.create(`${root}/seq-`, undefined, { mode: 'persistent_sequential' });
      const b = await s.create(`${root}/seq-`, undefined, { mode: 'ephemeral_sequential' });
      await s.create(`${root}/plain`);
      await s.delete(`${root}/plain`);
      const c = await s.create(`${root}/seq-`, undefined, { mode: 'persistent_sequential' });
      expect(a).to.equal(`${root}/seq-0000000000`);
      expect(b).to.equal(`${root}/seq-0000000001`);
      // the counter is the parent's cversion: every child create moves it on (whether a delete
      // does is racy on a real ZooKeeper 3.8, so only the order is asserted)
      expect(c).to.match(/\/seq-\d{10}$/);
      expect(Number(c.slice(-10))).to.be.greaterThanOrEqual(3);
      const stat = await s.exists(b);
      expect(stat?.ephemeralOwner).to.equal(s.sessionId);
    });

    it('refuses children of an ephemeral node', async () => {
      const s = await client();
      await s.create(`${root}/eph`, undefined, { mode: 'ephemeral' });
      await rejectsWith(s.create(`${root}/eph/child`), 'NO_CHILDREN_FOR_EPHEMERALS');
    });

    it('removes ephemerals when their session closes', async () => {
      const owner = await client();
      const observer = await client();
      await owner.create(`${root}/owned`, Buffer.from('x'), { mode: 'ephemeral' });
      expect((await observer.get(`${root}/owned`)).stat.ephemeralOwner).to.equal(owner.sessionId);
      const gone = nextEvent();
      expect(await observer.exists(`${root}/owned`, gone.watcher)).to.not.equal(null);
      await owner.close();
      expect(await gone.first).to.deep.equal({ type: 'deleted', path: `${root}/owned` });
      expect(await observer.exists(`${root}/owned`)).to.equal(null);
      await rejectsWith(owner.get(`${root}/owned`), 'CLOSED');
    });

    it('removes ephemerals when their session expires, then opens a new session', async () => {
      const owner = await client();
      const observer = await client();
      await owner.create(`${root}/owned`, undefined, { mode: 'ephemeral' });
      const oldId = owner.sessionId;
      const sessions = nextSessionAfterExpiry(owner);
      await backend.forceExpire(owner);
      const { expired, connected: newId } = await sessions;
      expect(expired).to.equal(oldId);
      expect(newId).to.not.equal(oldId);
      expect(owner.sessionId).to.equal(newId);
      await observer.sync(root);
      expect(await observer.exists(`${root}/owned`)).to.equal(null);
      // the store works on its new session
      await owner.create(`${root}/owned`, undefined, { mode: 'ephemeral' });
      expect((await observer.get(`${root}/owned`)).stat.ephemeralOwner).to.equal(newId);
    });

    it('fires a data watch once per registration, for a change and for a delete', async () => {
      const writer = await client();
      const watcher = await client();
      const p = `${root}/w`;
      await writer.create(p, Buffer.from('0'));
      const changed = nextEvent();
      await watcher.get(p, changed.watcher);
      await writer.set(p, Buffer.from('1'));
      await writer.set(p, Buffer.from('2'));
      expect(await changed.first).to.deep.equal({ type: 'changed', path: p });
      await settle();
      expect(changed.events).to.have.length(1);

      const deleted = nextEvent();
      expect((await watcher.get(p, deleted.watcher)).data.toString()).to.equal('2');
      await writer.delete(p);
      expect(await deleted.first).to.deep.equal({ type: 'deleted', path: p });

      const created = nextEvent();
      expect(await watcher.exists(p, created.watcher)).to.equal(null);
      await writer.create(p);
      expect(await created.first).to.deep.equal({ type: 'created', path: p });
      await settle();
      expect(deleted.events).to.have.length(1);
      expect(created.events).to.have.length(1);
    });

    it('fires a children watch once, and on the parent delete', async () => {
      const writer = await client();
      const watcher = await client();
      const p = `${root}/parent`;
      await writer.create(p);
      const kids = nextEvent();
      expect(await watcher.children(p, kids.watcher)).to.deep.equal([]);
      await writer.create(`${p}/a`);
      await writer.create(`${p}/b`);
      expect(await kids.first).to.deep.equal({ type: 'children', path: p });
      await settle();
      expect(kids.events).to.have.length(1);
      expect(await watcher.children(p)).to.deep.equal(['a', 'b']);

      await writer.multi([{ op: 'delete', path: `${p}/a` }, { op: 'delete', path: `${p}/b` }]);
      const parentGone = nextEvent();
      expect(await watcher.children(p, parentGone.watcher)).to.deep.equal([]);
      await writer.delete(p);
      expect(await parentGone.first).to.deep.equal({ type: 'deleted', path: p });
      await settle();
      expect(parentGone.events).to.have.length(1);
    });

    it('applies a multi all-or-nothing and names the failing op', async () => {
      const s = await client();
      await s.create(`${root}/m`, Buffer.from('v0'));
      const err = await rejectsWith(s.multi([
        { op: 'create', path: `${root}/m1` },
        { op: 'set', path: `${root}/m`, data: Buffer.from('v1'), version: 7 },
        { op: 'create', path: `${root}/m2` },
      ]), 'BAD_VERSION');
      expect(err.failedOp).to.equal(1);
      expect(await s.exists(`${root}/m1`)).to.equal(null);
      expect(await s.exists(`${root}/m2`)).to.equal(null);
      expect((await s.get(`${root}/m`)).data.toString()).to.equal('v0');

      const err2 = await rejectsWith(s.multi([
        { op: 'check', path: `${root}/m`, version: 0 },
        { op: 'create', path: `${root}/m` },
      ]), 'NODE_EXISTS');
      expect(err2.failedOp).to.equal(1);

      const results = await s.multi([
        { op: 'check', path: `${root}/m`, version: 0 },
        { op: 'create', path: `${root}/m/seq-`, data: Buffer.from('s'), mode: 'persistent_sequential' },
        { op: 'set', path: `${root}/m`, data: Buffer.from('v1'), version: 0 },
        { op: 'create', path: `${root}/gone` },
        { op: 'delete', path: `${root}/gone` },
      ]);
      expect(results.map((r) => r.op)).to.deep.equal(['check', 'create', 'set', 'create', 'delete']);
      expect(results[1]).to.deep.equal({ op: 'create', path: `${root}/m/seq-0000000000` });
      const set = results[2];
      expect(set?.op === 'set' ? set.stat.version : -1).to.equal(1);
      expect((await s.get(`${root}/m`)).data.toString()).to.equal('v1');
      expect(await s.children(`${root}/m`)).to.deep.equal(['seq-0000000000']);
      expect(await s.exists(`${root}/gone`)).to.equal(null);
      expect(await s.multi([])).to.deep.equal([]);
    });

    it('loses no update when 20 clients CAS-increment one counter', async () => {
      const p = `${root}/counter`;
      const first = await client();
      await first.create(p, Buffer.from('0'));
      const workers = await Promise.all(Array.from({ length: 20 }, () => client()));
      const perClient = 10;
      let conflicts = 0;
      await Promise.all(workers.map(async (w) => {
        for (let done = 0; done < perClient;) {
          const { data, stat } = await w.get(p);
          try {
            await w.set(p, Buffer.from(String(Number(data.toString()) + 1)), stat.version);
            done++;
          } catch (err) {
            if (!(err instanceof MetadataError) || err.code !== 'BAD_VERSION') throw err;
            conflicts++;
          }
        }
      }));
      const { data, stat } = await first.get(p);
      expect(Number(data.toString())).to.equal(20 * perClient);
      expect(stat.version).to.equal(20 * perClient);
      expect(conflicts).to.be.greaterThan(0);
    });

    it('makes another client see committed writes after sync', async () => {
      const writer = await client();
      const reader = await client();
      await writer.create(`${root}/synced`, Buffer.from('v'));
      await reader.sync(root);
      expect((await reader.get(`${root}/synced`)).data.toString()).to.equal('v');
    });

    it('rejects operations after close with CLOSED', async () => {
      const s = await client();
      const closed = new Promise<void>((r) => s.once('closed', () => { r(); }));
      await s.close();
      await closed;
      expect(s.state).to.equal('closed');
      await rejectsWith(s.create(`${root}/late`), 'CLOSED');
      await s.close();
    });

    if (backend.reopen) {
      const reopen = backend.reopen;
      it('keeps data, versions and sequence counters across close and reopen', async () => {
        const s = await client();
        await s.create(`${root}/durable`, Buffer.from('a'));
        await s.set(`${root}/durable`, Buffer.from('b'), 0);
        const before = await s.create(`${root}/seq-`, undefined, { mode: 'persistent_sequential' });
        await s.create(`${root}/eph`, undefined, { mode: 'ephemeral' });
        await Promise.all(clients.splice(0).map((c) => c.close()));
        await reopen();
        const again = await client();
        const { data, stat } = await again.get(`${root}/durable`);
        expect(data.toString()).to.equal('b');
        expect(stat.version).to.equal(1);
        expect(await again.exists(`${root}/eph`)).to.equal(null);
        const after = await again.create(`${root}/seq-`, undefined, { mode: 'persistent_sequential' });
        expect(Number(after.slice(-10))).to.be.greaterThan(Number(before.slice(-10)));
      });
    }
  });
}
