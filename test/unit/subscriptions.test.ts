// SubscriptionsStore on both metadata backends: base64 DLSN positions under <logRoot>/subscribers
// (§1.2), forward-only advances under concurrency, deletion and id validation.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { InvalidArgumentError } from '../../src/errors.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LogError } from '../../src/log/log-error.js';
import { SubscriptionsStore } from '../../src/log/metadata/subscriptions.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { metadataBackends } from '../support/metadata-backends.js';
import { rejection } from '../support/rejection.js';

const backends = metadataBackends('subscriptions');

for (const backend of backends) {
  describe(`SubscriptionsStore (${backend.name})`, function () {
    const stores: MetadataStore[] = [];
    let path = '';
    let store: MetadataStore;
    let subs: SubscriptionsStore;

    async function client(ctx: Context): Promise<MetadataStore> {
      const s = await backend.connect(ctx);
      stores.push(s);
      return s;
    }

    beforeEach(async function () {
      path = `/subs-${randomUUID().slice(0, 8)}/log/<default>/subscribers`;
      store = await client(this);
      subs = new SubscriptionsStore(store, path);
    });

    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    it('reads a missing subscriber (and a missing subscribers node) as NonInclusiveLowerBound', async () => {
      expect((await subs.getCommitPosition('reader-1')).equals(DLSN.NonInclusiveLowerBound)).to.equal(true);
      expect(await subs.getCommitPositions()).to.deep.equal(new Map());
    });

    it('stores the base64 DLSN string, creating the parents', async () => {
      expect(await subs.advanceCommitPosition('reader-1', DLSN.InitialDLSN)).to.equal(true);
      expect((await store.get(`${path}/reader-1`)).data.toString('utf8')).to.equal('AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==');
      expect((await subs.getCommitPosition('reader-1')).equals(DLSN.InitialDLSN)).to.equal(true);
    });

    it('reads a position written by DL', async () => {
      await store.create(`${path}/java`, Buffer.from('AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA=='), { createParents: true });
      expect((await subs.getCommitPosition('java')).equals(DLSN.InitialDLSN)).to.equal(true);
    });

    it('advances forward only', async () => {
      expect(await subs.advanceCommitPosition('r', new DLSN(2n, 5n, 1n))).to.equal(true);
      expect(await subs.advanceCommitPosition('r', new DLSN(2n, 5n, 1n))).to.equal(false);
      expect(await subs.advanceCommitPosition('r', new DLSN(2n, 4n, 9n))).to.equal(false);
      expect(await subs.advanceCommitPosition('r', new DLSN(1n, 99n, 0n))).to.equal(false);
      expect((await subs.getCommitPosition('r')).equals(new DLSN(2n, 5n, 1n))).to.equal(true);
      expect(await subs.advanceCommitPosition('r', new DLSN(3n, 0n, 0n))).to.equal(true);
      expect((await subs.getCommitPosition('r')).equals(new DLSN(3n, 0n, 0n))).to.equal(true);
      // nothing is written for a position not past the lower bound
      expect(await subs.advanceCommitPosition('s', DLSN.NonInclusiveLowerBound)).to.equal(false);
      expect(await store.exists(`${path}/s`)).to.equal(null);
    });

    it('lists every subscriber position', async () => {
      await subs.advanceCommitPosition('a', new DLSN(1n, 1n, 0n));
      await subs.advanceCommitPosition('b', new DLSN(4n, 0n, 2n));
      const positions = await subs.getCommitPositions();
      expect([...positions.keys()].sort()).to.deep.equal(['a', 'b']);
      expect(positions.get('a')?.equals(new DLSN(1n, 1n, 0n))).to.equal(true);
      expect(positions.get('b')?.equals(new DLSN(4n, 0n, 2n))).to.equal(true);
    });

    it('reads an empty node (left by a subscriber read lock) as NonInclusiveLowerBound and advances it', async () => {
      await store.create(`${path}/locked/readLock`, undefined, { createParents: true });
      expect((await subs.getCommitPosition('locked')).equals(DLSN.NonInclusiveLowerBound)).to.equal(true);
      expect(await subs.advanceCommitPosition('locked', DLSN.InitialDLSN)).to.equal(true);
      expect((await subs.getCommitPosition('locked')).equals(DLSN.InitialDLSN)).to.equal(true);
    });

    it('rejects a stored position that is not a DLSN', async () => {
      await store.create(`${path}/bad`, Buffer.from('not-a-dlsn'), { createParents: true });
      expect((await rejection(subs.getCommitPosition('bad'), LogError)).code).to.equal('INVALID_LOG_METADATA');
    });

    it('never moves a position back under concurrent advances from several clients', async function () {
      const clients = [subs, new SubscriptionsStore(await client(this), path), new SubscriptionsStore(await client(this), path)];
      const targets = Array.from({ length: 60 }, (_, i) => new DLSN(1n + BigInt(i % 7), BigInt((i * 37) % 11), BigInt(i % 3)));
      const highest = targets.reduce((a, b) => (b.compare(a) > 0 ? b : a));
      const seen: DLSN[] = [];
      const watching = { done: false };
      const watch = (async () => {
        while (!watching.done) seen.push(await subs.getCommitPosition('shared'));
      })();
      const moved = await Promise.all(targets.map((d, i) => clients[i % clients.length]!.advanceCommitPosition('shared', d)));
      watching.done = true;
      await watch;
      expect((await subs.getCommitPosition('shared')).equals(highest)).to.equal(true);
      expect(moved.some(Boolean)).to.equal(true);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.compare(seen[i - 1]!)).to.be.at.least(0);
    });

    it('deletes a subscriber with its idle read lock; false when missing', async () => {
      await subs.advanceCommitPosition('gone', DLSN.InitialDLSN);
      await store.create(`${path}/gone/readLock`);
      expect(await subs.delete('gone')).to.equal(true);
      expect(await store.exists(`${path}/gone`)).to.equal(null);
      expect(await subs.delete('gone')).to.equal(false);
      expect((await subs.getCommitPosition('gone')).equals(DLSN.NonInclusiveLowerBound)).to.equal(true);
    });

    it('refuses to delete a subscriber whose read lock is held', async () => {
      await subs.advanceCommitPosition('busy', DLSN.InitialDLSN);
      await store.create(`${path}/busy/readLock/member_`, undefined, { createParents: true, mode: 'ephemeral_sequential' });
      expect((await rejection(subs.delete('busy'), LogError)).code).to.equal('LOCK_HELD');
      expect((await subs.getCommitPosition('busy')).equals(DLSN.InitialDLSN)).to.equal(true);
    });

    it('validates subscriber ids', async () => {
      for (const id of ['', 'a/b', '.', '..', 'x\u0000y', 'tab\there', '\uffff']) {
        const err = await rejection(subs.advanceCommitPosition(id, DLSN.InitialDLSN), InvalidArgumentError);
        expect(err.message).to.match(/invalid subscriber id/);
        await rejection(subs.getCommitPosition(id), InvalidArgumentError);
        await rejection(subs.delete(id), InvalidArgumentError);
      }
      expect(await subs.advanceCommitPosition('ok.id-1_@:=+,é', DLSN.InitialDLSN)).to.equal(true);
    });
  });
}
