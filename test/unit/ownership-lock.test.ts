import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import {
  formatSessionId, javaUrlEncode, memberPrefix, parseMemberName, sortMembers,
} from '../../src/log/metadata/lock-member-name.js';
import { LogError } from '../../src/log/log-error.js';
import { LockHeldError, OwnershipLock } from '../../src/log/metadata/ownership-lock.js';
import { zooKeeper } from '../support/hooks.js';
import { forceExpire } from '../support/zk-expire.js';
import { rejection } from '../support/rejection.js';
import { waitFor } from '../support/wait-for.js';

describe('lock member names', () => {
  it('formats the session like Java %10d: space-padded to 10, longer numbers in full, signed', () => {
    expect(formatSessionId(3n)).to.equal('         3');
    expect(formatSessionId(72057594037927936n)).to.equal('72057594037927936');
    expect(formatSessionId(0xffffffffffffffffn)).to.equal('-1'.padStart(10, ' '));
  });

  it('URL-encodes the client id like java.net.URLEncoder', () => {
    expect(javaUrlEncode('a b/c_d.e-f*g~é')).to.equal('a+b%2Fc_d.e-f*g%7E%C3%A9');
    expect(memberPrefix('w 1', 42n)).to.equal('member_w+1_s        42_');
  });

  it('parses the lock id back and sorts by the sequence suffix', () => {
    expect(parseMemberName('member_w+1%2F_s        42_0000000007')).to.deep.equal({ clientId: 'w 1/', sessionId: 42n });
    expect(parseMemberName('member_a_b_s1_0000000001')).to.equal(undefined);
    expect(sortMembers(['member_b_s1_0000000010', 'member_x_bad', 'member_a_s2_0000000002']))
      .to.deep.equal(['member_a_s2_0000000002', 'member_b_s1_0000000010', 'member_x_bad']);
  });
});

interface Backend<S extends MetadataStore> {
  name: string;
  open(ctx: Context): Promise<S>;
  expire(store: S): Promise<void>;
}


const until = (condition: () => boolean, timeoutMs = 20_000): Promise<number> => waitFor(condition, timeoutMs);

function ownershipLockSuite<S extends MetadataStore>(backend: Backend<S>): void {
  describe(`OwnershipLock (${backend.name})`, function () {
    this.timeout(60_000);
    const stores: S[] = [];
    const locks: OwnershipLock[] = [];
    let ctx: Context;
    let lockPath = '';

    const client = async (): Promise<S> => {
      const store = await backend.open(ctx);
      stores.push(store);
      return store;
    };
    const lock = (store: S, clientId: string): OwnershipLock => {
      const l = new OwnershipLock(store, lockPath, clientId);
      locks.push(l);
      return l;
    };
    const members = async (store: S): Promise<string[]> => sortMembers(await store.children(lockPath));

    beforeEach(async function () {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      ctx = this;
      lockPath = `/ownership-${randomBytes(6).toString('hex')}/log/<default>/lock`;
      const store = await client();
      await store.create(lockPath, undefined, { createParents: true });
    });

    afterEach(async () => {
      await Promise.all(locks.splice(0).map((l) => l.release().catch(() => undefined)));
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('names the member node member_<client>_s<session %10d>_<seq> with the client id as data', async () => {
      const store = await client();
      const l = lock(store, 'writer one/α');
      await l.acquire(0);
      expect(l.owned).to.equal(true);
      const [name, ...rest] = await members(store);
      expect(rest).to.deep.equal([]);
      expect(name).to.match(/^member_writer\+one%2F%CE%B1_s[ -]*\d{1,}_\d{10}$/);
      expect(name?.startsWith(memberPrefix('writer one/α', store.sessionId))).to.equal(true);
      expect(parseMemberName(name!)).to.deep.equal({ clientId: 'writer one/α', sessionId: BigInt.asIntN(64, store.sessionId) });
      const { data, stat } = await store.get(`${lockPath}/${name!}`);
      expect(data.toString('utf8')).to.equal('writer one/α');
      expect(stat.ephemeralOwner).to.equal(store.sessionId);
      expect(l.memberPath).to.equal(`${lockPath}/${name!}`);
    });

    it('has one owner at a time: acquire(0) fails fast naming the owner and leaves no member', async () => {
      const a = lock(await client(), 'writer-a');
      const storeB = await client();
      const b = lock(storeB, 'writer-b');
      await a.acquire(0);
      const started = Date.now();
      const err = await rejection(b.acquire(0), LockHeldError);
      expect(Date.now() - started).to.be.below(2000);
      expect(err).to.be.instanceOf(LogError);
      expect(err.code).to.equal('LOCK_HELD');
      expect(err.owner).to.equal('writer-a');
      expect(err.message).to.contain('writer-a');
      expect(b.owned).to.equal(false);
      expect(a.owned).to.equal(true);
      const names = await members(storeB);
      expect(names).to.have.length(1);
      expect(parseMemberName(names[0]!)?.clientId).to.equal('writer-a');
    });

    it('an abort that lands while the wait is being set up still ends the wait and removes the member', async () => {
      const storeA = await client();
      const a = lock(storeA, 'writer-a');
      await a.acquire(0);
      const storeB = await client();
      const controller = new AbortController();
      const reason = new Error('gave up');
      // the abort fires while the waiter asks for its watch, before it listens for the abort
      const racing = new Proxy(storeB, {
        get(target, key) {
          if (key === 'exists') {
            return async (...args: Parameters<MetadataStore['exists']>) => {
              const stat = await target.exists(...args);
              controller.abort(reason);
              return stat;
            };
          }
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const b = lock(racing, 'writer-b');
      const outcome = await Promise.race([
        b.acquire(-1, controller.signal).then(() => 'acquired', (err: unknown) => err),
        new Promise((resolve) => { setTimeout(() => { resolve('still waiting'); }, 5000).unref(); }),
      ]);
      expect(outcome).to.equal(reason);
      expect((await members(storeA)).map((n) => parseMemberName(n)?.clientId)).to.deep.equal(['writer-a']);
    });

    it('gives the lock to a waiter promptly when the owner releases', async () => {
      const storeA = await client();
      const a = lock(storeA, 'writer-a');
      const b = lock(await client(), 'writer-b');
      await a.acquire(0);
      const waiting = b.acquire(-1);
      await waitFor(async () => (await members(storeA)).length === 2, 10_000, "b's member node");
      expect(b.owned).to.equal(false);
      const released = Date.now();
      await a.release();
      await waiting;
      expect(Date.now() - released).to.be.below(2000);
      expect(b.owned).to.equal(true);
      expect(a.owned).to.equal(false);
      const names = await members(storeA);
      expect(names.map((n) => parseMemberName(n)?.clientId)).to.deep.equal(['writer-b']);
      await a.release(); // idempotent
    });

    it('gives the lock to a waiter promptly when the owner session closes', async () => {
      const storeA = await client();
      const a = lock(storeA, 'writer-a');
      const storeB = await client();
      const b = lock(storeB, 'writer-b');
      await a.acquire(0);
      const waiting = b.acquire(30_000);
      await waitFor(async () => (await members(storeA)).length === 2, 10_000, "b's member node");
      const closed = Date.now();
      await storeA.close();
      await waiting;
      expect(Date.now() - closed).to.be.below(2000);
      expect(b.owned).to.equal(true);
      expect((await members(storeB)).map((n) => parseMemberName(n)?.clientId)).to.deep.equal(['writer-b']);
    });

    it('fails an acquire with a timeout after about the timeout, naming the owner', async () => {
      const storeA = await client();
      const a = lock(storeA, 'writer-a');
      const b = lock(await client(), 'writer-b');
      await a.acquire(0);
      const started = Date.now();
      const err = await rejection(b.acquire(600), LockHeldError);
      const took = Date.now() - started;
      expect(took).to.be.at.least(550);
      expect(took).to.be.below(3000);
      expect(err.code).to.equal('LOCK_HELD');
      expect(err.owner).to.equal('writer-a');
      expect(b.owned).to.equal(false);
      expect(b.memberPath).to.equal(undefined);
      expect((await members(storeA)).map((n) => parseMemberName(n)?.clientId)).to.deep.equal(['writer-a']);
    });

    it('re-acquires after a session expiry when nobody else waits', async () => {
      const storeA = await client();
      const a = lock(storeA, 'writer-a');
      const lost: LogError[] = [];
      a.on('lost', (e) => lost.push(e));
      await a.acquire(0);
      const oldSession = storeA.sessionId;
      const oldMember = a.memberPath;
      await backend.expire(storeA);
      await until(() => a.owned);
      expect(storeA.sessionId).to.not.equal(oldSession);
      const names = await members(storeA);
      expect(names).to.have.length(1);
      expect(a.memberPath).to.not.equal(oldMember);
      expect(parseMemberName(names[0]!)).to.deep.equal({ clientId: 'writer-a', sessionId: BigInt.asIntN(64, storeA.sessionId) });
      expect((await storeA.exists(`${lockPath}/${names[0]!}`))?.ephemeralOwner).to.equal(storeA.sessionId);
      expect(() => { a.checkOwnership(); }).to.not.throw();
      expect(lost).to.deep.equal([]);
    });

    it('emits lost and fails checkOwnership when a waiter took the lock during the expiry', async () => {
      const storeA = await client();
      const a = lock(storeA, 'writer-a');
      const storeB = await client();
      const b = lock(storeB, 'writer-b');
      await a.acquire(0);
      const gotLost = new Promise<LogError>((resolve) => { a.once('lost', resolve); });
      const waiting = b.acquire(-1);
      await waitFor(async () => (await members(storeA)).length === 2, 10_000, "b's member node");
      await backend.expire(storeA);
      await waiting;
      expect(b.owned).to.equal(true);
      const err = await gotLost;
      expect(err.code).to.equal('LOCK_LOST');
      expect(a.owned).to.equal(false);
      expect(() => { a.checkOwnership(); }).to.throw(LogError).with.property('code', 'LOCK_LOST');
      expect(() => { b.checkOwnership(); }).to.not.throw();
      // A left no member behind: only B's
      expect((await members(storeB)).map((n) => parseMemberName(n)?.clientId)).to.deep.equal(['writer-b']);
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-ownership-lock-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

ownershipLockSuite<LocalMetadataStore>({
  name: 'local',
  open: () => LocalMetadataStore.open(dir),
  expire: (store) => store.expireSession(),
});

let connectString = '';
ownershipLockSuite<ZkMetadataStore>({
  name: 'zk',
  open: async (ctx) => {
    connectString = await zooKeeper(ctx);
    return ZkMetadataStore.connect(connectString, { sessionTimeoutMs: 4000 });
  },
  expire: (store) => forceExpire(store, connectString),
});
