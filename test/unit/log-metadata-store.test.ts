// LogMetadataStore against both MetadataStore backends: the exact znode tree and bytes DL writes
// for a log (reference §1.2), segment start and completion multis (§2.4), conflicts and listings.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { LogError } from '../../src/log/log-error.js';
import { LogMetadataStore, type OpenedLog } from '../../src/log/metadata/log-metadata-store.js';
import {
  newInProgressSegment,
  TruncationStatus,
  type LogSegmentMetadata,
} from '../../src/log/metadata/log-segment-metadata.js';
import { completedName, inprogressName } from '../../src/log/metadata/log-segment-names.js';
import { SegmentListCache } from '../../src/log/metadata/segment-list-cache.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { MetadataStore, WatchEvent } from '../../src/metadata/metadata-store.js';
import { joinPath } from '../../src/metadata/path.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { zooKeeper } from '../support/hooks.js';

interface Backend {
  store: MetadataStore;
  close(): Promise<void>;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(LogError);
    expect((err as LogError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

/** path → hex data of every node under (and including) `path`. */
async function dump(store: MetadataStore, path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (p: string): Promise<void> => {
    out[p] = (await store.get(p)).data.toString('hex');
    for (const c of await store.children(p)) await walk(joinPath(p, c));
  };
  await walk(path);
  return out;
}

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/** Creates segment znodes directly, 100 at a time. */
async function putSegments(store: MetadataStore, log: OpenedLog, segments: LogSegmentMetadata[]): Promise<void> {
  for (let i = 0; i < segments.length; i += 100) {
    await Promise.all(
      segments
        .slice(i, i + 100)
        .map((s) => store.create(`${log.paths.ledgers}/${s.znodeName()}`, Buffer.from(s.serialize()))),
    );
  }
}

function completedSegment(lssn: bigint): LogSegmentMetadata {
  return newInProgressSegment({ logSegmentId: lssn + 100n, firstTxId: lssn * 10n, logSegmentSequenceNo: lssn }).complete({
    lastTxId: lssn * 10n + 9n,
    recordCount: 10,
    lastEntryId: 0n,
    lastSlotId: 9n,
    startSequenceId: (lssn - 1n) * 10n,
    completionTime: 1n,
  });
}

function suite(name: string, open: (ctx: Context) => Promise<Backend>): void {
  describe(`LogMetadataStore (${name})`, function () {
    this.timeout(60_000);
    let backend: Backend;
    let store: MetadataStore;
    let ns: string;
    let logs: LogMetadataStore;
    let n = 0;

    before(async function () {
      backend = await open(this);
      store = backend.store;
    });
    after(async () => {
      await backend.close();
    });
    beforeEach(() => {
      ns = `/lms-${process.pid}-${Date.now()}-${n++}`;
      logs = new LogMetadataStore(store, ns);
    });

    it('createLog writes the exact tree and bytes of a new log', async () => {
      const log = await logs.createLog('/stream');
      expect(log.name).to.equal('stream');
      expect(log.maxTxId).to.deep.equal({ value: 0n, version: 0 });
      expect(log.maxLssn).to.deep.equal({ value: 0n, version: 0 });
      const root = `${ns}/stream/<default>`;
      expect(log.paths.root).to.equal(root);
      expect(await dump(store, ns)).to.deep.equal({
        [ns]: '',
        [`${ns}/stream`]: '',
        [root]: '',
        [`${root}/allocation`]: '',
        [`${root}/ledgers`]: hex('0'),
        [`${root}/lock`]: '',
        [`${root}/maxtxid`]: hex('0'),
        [`${root}/readLock`]: '',
        [`${root}/version`]: 'ffffffff',
      });
      expect(await logs.logExists('stream')).to.equal(true);
      expect(await logs.logExists('other')).to.equal(false);
    });

    it('create twice is LOG_EXISTS; open of a missing log is LOG_NOT_FOUND unless create', async () => {
      await logs.createLog('a');
      await rejectsWith(logs.createLog('a'), 'LOG_EXISTS');
      await rejectsWith(logs.openLog('b'), 'LOG_NOT_FOUND');
      expect(await store.exists(`${ns}/b`)).to.equal(null);
      const b = await logs.openLog('b', { create: true });
      expect(b.maxLssn).to.deep.equal({ value: 0n, version: 0 });
      expect((await logs.openLog('b', { create: true })).maxTxId).to.deep.equal({ value: 0n, version: 0 });
      // a partial tree is not a log, and create completes it
      await store.delete(b.paths.allocation);
      await rejectsWith(logs.openLog('b'), 'LOG_NOT_FOUND');
      await logs.openLog('b', { create: true });
      expect(await store.exists(b.paths.allocation)).to.not.equal(null);
      // concurrent create-or-open of one log: one multi wins, the others open it
      const opened = await Promise.all(Array.from({ length: 5 }, () => logs.openLog('c/d', { create: true })));
      expect(opened.map((o) => o.maxLssn)).to.deep.equal(Array(5).fill({ value: 0n, version: 0 }));
    });

    it('creates the ancestors of a hierarchical name; getLogs walks one level', async () => {
      await logs.createLog('x/y/z');
      expect(await logs.logExists('x/y/z')).to.equal(true);
      expect(await logs.getLogs()).to.deep.equal(['x']);
      expect(await logs.getLogs('x/y')).to.deep.equal(['x/y/z']);
      expect(await logs.getLogs('x/y/z')).to.deep.equal([]);
      expect(await logs.getLogs('nothing')).to.deep.equal([]);
    });

    it('rejects a bad layout version or max LSSN with INVALID_LOG_METADATA', async () => {
      const log = await logs.createLog('v');
      await store.set(log.paths.version, Buffer.from([0, 0, 0, 1]));
      await rejectsWith(logs.openLog('v'), 'INVALID_LOG_METADATA');
      await store.set(log.paths.version, Buffer.from([0xff, 0xff, 0xff, 0xff]));
      await store.set(log.paths.ledgers, Buffer.from('x1'));
      await rejectsWith(logs.openLog('v'), 'INVALID_LOG_METADATA');
    });

    it('start and complete change exactly the nodes DL changes, byte for byte', async () => {
      const log = await logs.createLog('s');
      const before = await dump(store, ns);
      const inprogress = newInProgressSegment({ logSegmentId: 7n, firstTxId: 1n, logSegmentSequenceNo: 1n });
      const started = await logs.startSegment('s', inprogress, log.maxLssn, log.maxTxId);
      // maxtxid is only checked at start, written at completion (§11: an empty segment deleted by
      // recovery must not leave it above the last txid)
      expect(started).to.deep.equal({ maxLssn: { value: 1n, version: 1 }, maxTxId: { value: 0n, version: 0 } });
      const inprogressPath = `${log.paths.ledgers}/inprogress_000000000000000001`;
      expect(await dump(store, ns)).to.deep.equal({
        ...before,
        [inprogressPath]: hex('5;7;1;1;0;0;-1'),
        [log.paths.ledgers]: hex('1'),
      });
      expect((await logs.listSegments('s')).map((s) => s.serialize())).to.deep.equal(['5;7;1;1;0;0;-1']);

      const completed = inprogress.complete({
        lastTxId: 10n,
        recordCount: 10,
        lastEntryId: 2n,
        lastSlotId: 3n,
        startSequenceId: 0n,
        completionTime: 1_500_000_000_000n,
      });
      const done = await logs.completeSegment('s', inprogress, completed, started.maxLssn, started.maxTxId);
      expect(done).to.deep.equal({ maxLssn: { value: 1n, version: 2 }, maxTxId: { value: 10n, version: 1 } });
      const after = { ...before };
      after[`${log.paths.ledgers}/logrecs_000000000000000001`] = hex('42949672965;7;1;10;1500000000000;1;2;3;0;0;0');
      after[log.paths.ledgers] = hex('1');
      after[log.paths.maxTxId] = hex('10');
      expect(await dump(store, ns)).to.deep.equal(after);
      const opened = await logs.openLog('s');
      expect(opened.maxLssn).to.deep.equal(done.maxLssn);
      expect(opened.maxTxId).to.deep.equal(done.maxTxId);
    });

    it('a stale writer fails with METADATA_CONFLICT and changes nothing', async () => {
      const a = await logs.createLog('w');
      const b = await logs.openLog('w');
      const seg1 = newInProgressSegment({ logSegmentId: 1n, firstTxId: 0n, logSegmentSequenceNo: 1n });
      const aVersions = await logs.startSegment('w', seg1, a.maxLssn, a.maxTxId);
      const snapshot = await dump(store, ns);
      // same LSSN: the create collides; next LSSN: /ledgers has moved on
      await rejectsWith(logs.startSegment('w', seg1, b.maxLssn, b.maxTxId), 'METADATA_CONFLICT');
      const seg2 = newInProgressSegment({ logSegmentId: 2n, firstTxId: 0n, logSegmentSequenceNo: 2n });
      await rejectsWith(logs.startSegment('w', seg2, b.maxLssn, b.maxTxId), 'METADATA_CONFLICT');
      await rejectsWith(
        logs.startSegment('w', seg2, aVersions.maxLssn, { ...aVersions.maxTxId, version: aVersions.maxTxId.version + 1 }),
        'METADATA_CONFLICT',
      );
      const completed = seg1.complete({ lastTxId: 5n, recordCount: 5, lastEntryId: 0n, lastSlotId: 4n, startSequenceId: 0n });
      await rejectsWith(logs.completeSegment('w', seg1, completed, b.maxLssn, b.maxTxId), 'UNEXPECTED_LSSN');
      await rejectsWith(
        logs.completeSegment('w', seg1, completed, aVersions.maxLssn, { ...aVersions.maxTxId, version: aVersions.maxTxId.version + 1 }),
        'METADATA_CONFLICT',
      );
      expect(await dump(store, ns)).to.deep.equal(snapshot);
      // an LSSN that does not follow the max
      const seg3 = newInProgressSegment({ logSegmentId: 3n, firstTxId: 0n, logSegmentSequenceNo: 3n });
      await rejectsWith(logs.startSegment('w', seg3, aVersions.maxLssn, aVersions.maxTxId), 'UNEXPECTED_LSSN');
      // the segment completed by someone else
      await logs.deleteSegment('w', seg1);
      await rejectsWith(
        logs.completeSegment('w', seg1, completed, aVersions.maxLssn, aVersions.maxTxId),
        'SEGMENT_NOT_FOUND',
      );
    });

    it('lists 1,000 segments quickly and in order', async () => {
      const log = await logs.createLog('many');
      const segments = Array.from({ length: 999 }, (_, i) => completedSegment(BigInt(i + 1)));
      segments.push(newInProgressSegment({ logSegmentId: 5000n, firstTxId: 9990n, logSegmentSequenceNo: 1000n }));
      // shuffled creation order; a non-segment child is ignored
      await putSegments(store, log, [...segments].reverse());
      await store.create(`${log.paths.ledgers}/not-a-segment`);
      const start = performance.now();
      const listed = await logs.listSegments('many');
      const ms = performance.now() - start;
      expect(listed.map((s) => s.serialize())).to.deep.equal(segments.map((s) => s.serialize()));
      expect(listed.at(-1)?.inProgress).to.equal(true);
      expect(ms).to.be.below(5_000);
    });

    it('detects an LSSN gap', async () => {
      const log = await logs.createLog('gap');
      await putSegments(store, log, [completedSegment(1n), completedSegment(2n), completedSegment(4n)]);
      await rejectsWith(logs.listSegments('gap'), 'LSSN_GAP');
      await rejectsWith(logs.listSegments('missing'), 'LOG_NOT_FOUND');
    });

    it('updateSegment re-creates the znode with the new status and fires the list watcher', async () => {
      const log = await logs.createLog('t');
      const seg = completedSegment(1n);
      await putSegments(store, log, [seg]);
      const events: WatchEvent[] = [];
      await logs.listSegments('t', (e) => events.push(e));
      await logs.updateSegment('t', seg.withTruncationStatus(TruncationStatus.TRUNCATED));
      const [listed] = await logs.listSegments('t');
      expect(listed?.isTruncated).to.equal(true);
      const node = await store.get(`${log.paths.ledgers}/${completedName(1n)}`);
      expect(node.stat.version).to.equal(0);
      expect(node.data.toString()).to.match(/^42949673477;/);
      expect(events.map((e) => e.type)).to.deep.equal(['children']);
      await logs.deleteSegment('t', seg);
      expect(await logs.listSegments('t')).to.deep.equal([]);
      await rejectsWith(logs.deleteSegment('t', seg), 'SEGMENT_NOT_FOUND');
      await rejectsWith(logs.updateSegment('t', seg), 'SEGMENT_NOT_FOUND');
    });

    it('a cached listing reads only new or changed segment znodes and still sees every change', async () => {
      const log = await logs.createLog('c');
      await putSegments(store, log, Array.from({ length: 20 }, (_, i) => completedSegment(BigInt(i + 1))));
      const cache = new SegmentListCache();
      const list = async (verify = false): Promise<{ serialized: string[]; changed: boolean }> => {
        const { segments, changed } = await logs.listSegmentsCached('c', cache, { verify });
        const plain = await logs.listSegments('c');
        expect(segments.map((x) => x.serialize()), 'the same as a full listing').to.deep.equal(plain.map((x) => x.serialize()));
        return { serialized: segments.map((x) => x.serialize()), changed };
      };
      expect((await list()).serialized).to.have.length(20);
      expect([cache.reads, cache.stats]).to.deep.equal([20, 0]);
      // nothing changed: no segment znode is read nor stat'ed
      expect((await list()).changed).to.equal(false);
      expect([cache.reads, cache.stats]).to.deep.equal([20, 0]);
      // a new segment: only it is read
      await putSegments(store, log, [completedSegment(21n)]);
      const added = await list();
      expect([added.changed, added.serialized.length]).to.deep.equal([true, 21]);
      expect([cache.reads, cache.stats]).to.deep.equal([21, 0]);
      // a rewrite under the same name (delete + create, as DL marks truncation): found by the stats
      await logs.updateSegment('c', completedSegment(3n).withTruncationStatus(TruncationStatus.TRUNCATED));
      const rewritten = await list();
      expect(rewritten.changed).to.equal(true);
      expect(rewritten.serialized[2]).to.equal(completedSegment(3n).withTruncationStatus(TruncationStatus.TRUNCATED).serialize());
      expect([cache.reads, cache.stats]).to.deep.equal([22, 21]);
      // a rewrite in place (setData, as Java DL's updater does) moves no child: the verify listing finds it
      const path = `${log.paths.ledgers}/${completedName(5n)}`;
      const partial = completedSegment(5n).withTruncationStatus(TruncationStatus.PARTIALLY_TRUNCATED);
      await store.set(path, Buffer.from(partial.serialize()));
      expect((await logs.listSegmentsCached('c', cache)).changed, 'not seen without verify').to.equal(false);
      const verified = await list(true);
      expect(verified.changed).to.equal(true);
      expect(verified.serialized[4]).to.equal(partial.serialize());
      expect(cache.reads).to.equal(23);
      // a deleted segment
      await logs.deleteSegment('c', completedSegment(1n));
      const deleted = await list();
      expect([deleted.changed, deleted.serialized.length]).to.deep.equal([true, 20]);
      expect(cache.reads).to.equal(23);
      await rejectsWith(logs.listSegmentsCached('missing', new SegmentListCache()), 'LOG_NOT_FOUND');
    });

    it('getLogs hides reserved names', async () => {
      await logs.createLog('b');
      await logs.createLog('a');
      await store.create(`${ns}/.allocation_pool/pool/A0000000001`, undefined, { createParents: true });
      await store.create(`${ns}/.subnamespaces/NS_1`, undefined, { createParents: true });
      await store.create(`${ns}/<reserved>`);
      expect(await logs.getLogs()).to.deep.equal(['a', 'b']);
    });

    it('deleteLog removes the whole subtree and nothing else', async () => {
      const log = await logs.createLog('d');
      await logs.createLog('keep');
      const seg = newInProgressSegment({ logSegmentId: 1n, firstTxId: 0n, logSegmentSequenceNo: 1n });
      await logs.startSegment('d', seg, log.maxLssn, log.maxTxId);
      await store.create(`${log.paths.lock}/member_`, undefined, { mode: 'ephemeral_sequential' });
      await store.create(`${log.paths.subscribers}/sub/readLock`, undefined, { createParents: true });
      expect((await logs.listSegments('d')).map((s) => s.znodeName())).to.deep.equal([inprogressName(1n)]);
      await logs.deleteLog('d');
      expect(await store.exists(log.paths.log)).to.equal(null);
      expect(await logs.logExists('d')).to.equal(false);
      expect(await logs.getLogs()).to.deep.equal(['keep']);
      expect(await logs.logExists('keep')).to.equal(true);
      await rejectsWith(logs.deleteLog('d'), 'LOG_NOT_FOUND');
    });

    // the first batch also races on creating the namespace root
    it('lists 1,000 logs in one namespace', async () => {
      const names = Array.from({ length: 1000 }, (_, i) => `log-${String(i).padStart(4, '0')}`);
      for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((l) => logs.createLog(l)));
      expect(await logs.getLogs()).to.deep.equal(names);
    });
  });
}

suite('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dlog-lms-'));
  const store = await LocalMetadataStore.open(dir);
  return {
    store,
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

suite('zookeeper', async (ctx) => {
  const store = await ZkMetadataStore.connect(await zooKeeper(ctx));
  return { store, close: () => store.close() };
});
