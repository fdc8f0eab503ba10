// Tests specific to the ZooKeeper backend, against a real ZooKeeper server: stat conversion, error mapping, multi, sync,
// and the session life cycle (real server-side expiry, the local expiry timer, silent partitions, reconnects).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { expect } from 'chai';
import { MetadataError } from '../../src/errors.js';
import type { MetadataStore, NodeStat, WatchEvent } from '../../src/metadata/metadata-store.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { findZooKeeperClasspath, startZooKeeper } from '../../src/cli/zookeeper-server.js';
import { zooKeeper } from '../support/hooks.js';
import { forceExpire } from '../support/zk-expire.js';
import { rejection } from '../support/rejection.js';
import { skipWithout } from '../support/skip.js';
import { waitFor } from '../support/wait-for.js';

// The shared test ZooKeeper (test/support/hooks.ts): started on first use, or DLOG_TEST_ZK.
let ZK = '';

type Recorded = { name: 'connected' | 'expired'; id: bigint; at: number } | { name: 'suspended' | 'closed'; at: number };

function record(store: MetadataStore): Recorded[] {
  const events: Recorded[] = [];
  store.on('connected', (id) => events.push({ name: 'connected', id, at: Date.now() }));
  store.on('expired', (id) => events.push({ name: 'expired', id, at: Date.now() }));
  store.on('suspended', () => events.push({ name: 'suspended', at: Date.now() }));
  store.on('closed', () => events.push({ name: 'closed', at: Date.now() }));
  return events;
}

const until = (condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> => waitFor(condition, timeoutMs, what);

const rejectionOf = (promise: Promise<unknown>): Promise<MetadataError> => rejection(promise, MetadataError);

async function removeTree(store: MetadataStore, path: string): Promise<void> {
  for (const child of await store.children(path).catch(() => [])) await removeTree(store, `${path}/${child}`);
  await store.delete(path).catch(() => undefined);
}

/** A TCP relay in front of ZooKeeper that can go silent: bytes are dropped, no FIN or RST is sent (a network partition). */
async function silentProxy(target: string): Promise<{ connectString: string; blackhole(on: boolean): void; close(): Promise<void> }> {
  const [host = '127.0.0.1', port = '2181'] = target.split(',')[0]!.split(':');
  let dropping = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(port), host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => { sockets.delete(s); inbound.destroy(); outbound.destroy(); });
    }
    inbound.on('data', (d: Buffer) => { if (!dropping) outbound.write(d); });
    outbound.on('data', (d: Buffer) => { if (!dropping) inbound.write(d); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    connectString: `127.0.0.1:${proxyPort}`,
    blackhole: (on) => { dropping = on; },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('ZkMetadataStore (real ZooKeeper)', function () {
  this.timeout(30_000);
  const root = `/zk-unit-${randomBytes(4).toString('hex')}`;
  const opened: ZkMetadataStore[] = [];
  let admin: ZkMetadataStore;

  async function open(options: Parameters<typeof ZkMetadataStore.connect>[1] = {}, connectString = ZK): Promise<ZkMetadataStore> {
    const store = await ZkMetadataStore.connect(connectString, { sessionTimeoutMs: 4000, ...options });
    opened.push(store);
    return store;
  }

  before(async function () {
    ZK = await zooKeeper(this);
    admin = await open();
    await admin.create(root);
  });

  after(async () => {
    if (ZK === '') return;
    await removeTree(admin, root);
    await Promise.all(opened.map((s) => s.close()));
  });

  it('converts stats: bigint zxids, ephemeralOwner equal to the session id, numbers for the rest', async () => {
    const store = await open();
    const before = Date.now();
    await store.create(`${root}/eph`, Buffer.from('hello'), { mode: 'ephemeral' });
    const { data, stat } = await admin.get(`${root}/eph`);
    expect(data.toString()).to.equal('hello');
    expect(typeof stat.czxid).to.equal('bigint');
    expect(stat.czxid > 0n).to.equal(true);
    expect(stat.mzxid).to.equal(stat.czxid);
    expect(typeof stat.pzxid).to.equal('bigint');
    expect(store.sessionId).to.not.equal(0n);
    expect(stat.ephemeralOwner).to.equal(store.sessionId);
    expect(stat).to.include({ version: 0, cversion: 0, dataLength: 5, numChildren: 0 });
    expect(stat.ctime).to.be.within(before - 5000, Date.now() + 5000);
    expect(stat.mtime).to.equal(stat.ctime);

    await admin.create(`${root}/persistent`);
    for (const name of ['b', 'c', 'a']) await admin.create(`${root}/persistent/${name}`);
    const parent = await admin.exists(`${root}/persistent`);
    expect(parent?.ephemeralOwner).to.equal(0n);
    expect(parent?.numChildren).to.equal(3);
    expect(parent?.cversion).to.equal(3);
    expect(await admin.children(`${root}/persistent`)).to.deep.equal(['a', 'b', 'c']);
    const set = await admin.set(`${root}/persistent`, Buffer.from('x'), 0);
    expect(set.version).to.equal(1);
    expect(set.mzxid > set.czxid).to.equal(true);
  });

  it('maps ZooKeeper errors to MetadataError codes with zkCode and path', async () => {
    const p = `${root}/errors`;
    await admin.create(p, Buffer.from('v0'));
    await admin.create(`${p}/child`);
    const missing = await rejectionOf(admin.get(`${p}/missing`));
    expect(missing).to.include({ code: 'NO_NODE', zkCode: -101, path: `${p}/missing`, retriable: false });
    expect(await rejectionOf(admin.create(p))).to.include({ code: 'NODE_EXISTS', zkCode: -110 });
    expect(await rejectionOf(admin.set(p, Buffer.from('v1'), 7))).to.include({ code: 'BAD_VERSION', zkCode: -103 });
    expect(await rejectionOf(admin.delete(p))).to.include({ code: 'NOT_EMPTY', zkCode: -111 });
    await admin.create(`${p}/eph`, undefined, { mode: 'ephemeral' });
    expect(await rejectionOf(admin.create(`${p}/eph/child`))).to.include({ code: 'NO_CHILDREN_FOR_EPHEMERALS', zkCode: -108 });
    const bad = await rejectionOf(admin.get('no-slash'));
    expect(bad).to.include({ code: 'BAD_ARGUMENTS', zkCode: undefined });
    expect(await admin.exists(`${p}/missing`)).to.equal(null);
  });

  it('creates missing parents, sequential suffixes, and tolerates an existing parent', async () => {
    const created = await admin.create(`${root}/deep/a/b/seq-`, Buffer.from('s'), { createParents: true, mode: 'persistent_sequential' });
    expect(created).to.match(new RegExp(`^${root}/deep/a/b/seq-\\d{10}$`));
    expect((await admin.get(`${root}/deep/a`)).data.length).to.equal(0);
    const again = await admin.create(`${root}/deep/a/c`, undefined, { createParents: true });
    expect(again).to.equal(`${root}/deep/a/c`);
  });

  it('multi: applies all, maps results, and on failure reports the failing op and its code with nothing applied', async () => {
    const p = `${root}/multi`;
    const ok = await admin.multi([
      { op: 'create', path: p, data: Buffer.from('0') },
      { op: 'create', path: `${p}/s-`, mode: 'persistent_sequential' },
      { op: 'set', path: p, data: Buffer.from('1'), version: 0 },
      { op: 'check', path: p, version: 1 },
    ]);
    expect(ok[0]).to.deep.equal({ op: 'create', path: p });
    expect(ok[1]?.op === 'create' && /\/s-\d{10}$/.test(ok[1].path)).to.equal(true);
    expect(ok[2]?.op === 'set' ? ok[2].stat.version : -2).to.equal(1);
    expect(ok[3]).to.deep.equal({ op: 'check' });

    const failed = await rejectionOf(admin.multi([
      { op: 'create', path: `${p}/never` },
      { op: 'check', path: p, version: 0 }, // version 0 must stay a real CAS (the library turns 0 into -1)
      { op: 'delete', path: p },
    ]));
    expect(failed).to.include({ code: 'BAD_VERSION', zkCode: -103, failedOp: 1, path: p });
    expect(await admin.exists(`${p}/never`)).to.equal(null);

    const later = await rejectionOf(admin.multi([
      { op: 'set', path: p, data: Buffer.from('2') },
      { op: 'create', path: `${p}/x/y` },
    ]));
    expect(later).to.include({ code: 'NO_NODE', failedOp: 1 });
    expect((await admin.get(p)).data.toString()).to.equal('1');
    expect(await admin.multi([])).to.deep.equal([]);
    expect(await rejectionOf(admin.multi([{ op: 'delete', path: p }, { op: 'delete', path: 'bad' }]))).to.include({ code: 'BAD_ARGUMENTS', failedOp: 1 });
  });

  it('sync: a reader sees what a writer committed before it, and a watch set from both kinds fires once', async () => {
    const writer = await open();
    const reader = await open();
    const p = `${root}/sync`;
    await writer.create(p, Buffer.from('a'));
    await reader.sync(p);
    expect((await reader.get(p)).data.toString()).to.equal('a');
    await writer.set(p, Buffer.from('b'));
    await reader.sync();
    expect((await reader.get(p)).data.toString()).to.equal('b');

    const events: WatchEvent[] = [];
    const watcher = (e: WatchEvent): void => { events.push(e); };
    await reader.get(p, watcher);
    await reader.children(p, watcher);
    await writer.delete(p);
    await until(() => events.length > 0, 5000, 'the watch');
    await new Promise((r) => setTimeout(r, 200));
    expect(events).to.deep.equal([{ type: 'deleted', path: p }]);
  });

  it('a real server-side expiry: emits expired then connected with a new session, drops the ephemeral, keeps working', async () => {
    const store = await open();
    const events = record(store);
    const oldId = store.sessionId;
    const p = `${root}/owned`;
    await store.create(p, undefined, { mode: 'ephemeral' });
    const watched: WatchEvent[] = [];
    await store.exists(`${root}/never-created`, (e) => watched.push(e));

    await forceExpire(store, ZK);
    const expiredAt = events.findIndex((e) => e.name === 'expired');
    expect(events[expiredAt]).to.include({ name: 'expired', id: oldId });
    const after = events.slice(expiredAt + 1).find((e) => e.name === 'connected');
    expect(after?.name === 'connected' ? after.id : undefined).to.equal(store.sessionId);
    expect(store.sessionId).to.not.equal(oldId);
    expect(store.state).to.equal('connected');

    await admin.sync();
    expect(await admin.exists(p)).to.equal(null);
    await store.create(p, undefined, { mode: 'ephemeral' });
    expect((await admin.get(p)).stat.ephemeralOwner).to.equal(store.sessionId);
    // the expired session's watches never fire
    await admin.create(`${root}/never-created`);
    await new Promise((r) => setTimeout(r, 300));
    expect(watched).to.deep.equal([]);
  });

  it('close: ends the session (its ephemerals go), emits closed once, later calls reject CLOSED', async () => {
    const store = await open();
    const events = record(store);
    await store.create(`${root}/closing`, undefined, { mode: 'ephemeral' });
    await Promise.all([store.close(), store.close()]);
    await store.close();
    expect(events.map((e) => e.name)).to.deep.equal(['closed']);
    expect(store.state).to.equal('closed');
    await admin.sync();
    expect(await admin.exists(`${root}/closing`)).to.equal(null);
    expect(await rejectionOf(store.get(root))).to.include({ code: 'CLOSED' });
    expect(await rejectionOf(store.multi([]))).to.include({ code: 'CLOSED' });
  });

  it('connect rejects with CONNECTION_LOSS when no server answers in time', async () => {
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => { accepted.push(s); s.on('error', () => s.destroy()); }); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const err = await rejectionOf(ZkMetadataStore.connect(`127.0.0.1:${port}`, { connectTimeoutMs: 500 }));
      expect(err.code).to.equal('CONNECTION_LOSS');
      expect(Date.now() - started).to.be.below(3000);
    } finally {
      // close() only stops accepting: the accepted connection would keep both ends open
      for (const s of accepted) s.destroy();
      server.close();
    }
  });

  it('a silent partition (no FIN): suspended after the read timeout, expired after the session timeout, then a new session', async () => {
    const proxy = await silentProxy(ZK);
    try {
      const store = await open({ sessionTimeoutMs: 2000, connectTimeoutMs: 1000, operationTimeoutMs: 15_000 }, proxy.connectString);
      const oldId = store.sessionId;
      const events = record(store);
      await store.get(root);
      const cut = Date.now();
      proxy.blackhole(true);
      await until(() => events.some((e) => e.name === 'expired'), 2000 * 2 + 2000, "'expired'");
      const suspended = events.find((e) => e.name === 'suspended');
      const expired = events.find((e) => e.name === 'expired');
      expect(suspended?.at).to.be.below(expired?.at ?? 0);
      expect(expired?.name === 'expired' ? expired.id : undefined).to.equal(oldId);
      expect(expired!.at - cut).to.be.below(2000 * 2 + 1000);
      // calls issued without a session wait for the next one
      const pending = store.get(root);
      proxy.blackhole(false);
      expect((await pending).stat.czxid > 0n).to.equal(true);
      expect(store.sessionId).to.not.equal(oldId);
    } finally {
      await proxy.close();
    }
  });

  describe('with a dedicated ZooKeeper server', function () {
    // starts its own server so that it can be killed; needs a local install (the shared one may be remote)
    let server: Awaited<ReturnType<typeof startZooKeeper>> | undefined;
    before(async function () {
      // DLOG_TEST_ZK may name a remote server; killing one needs a local install
      if (findZooKeeperClasspath() === null) skipWithout(this, 'no local ZooKeeper install to kill and restart (set ZOOKEEPER_HOME or `apt-get install zookeeper`)', 'the dedicated-server ZooKeeper tests');
      this.timeout(90_000);
      server = await startZooKeeper({ forceSync: false });
    });
    after(async () => { await server?.stop(); });

    it('the local expiry timer fires while the server is down; calls fail or wait accordingly; a new session follows', async function () {
      this.timeout(60_000);
      const srv = server!;
      const store = await open({ sessionTimeoutMs: 2000, operationTimeoutMs: 3000 }, srv.connectString);
      const oldId = store.sessionId;
      const events = record(store);
      await store.create('/local-expiry', undefined, { mode: 'ephemeral' });

      await srv.kill();
      const killedAt = Date.now();
      await until(() => events.some((e) => e.name === 'suspended'), 2000, "'suspended'");
      const waitingOnOldSession = rejectionOf(store.get('/local-expiry')); // waits for a reconnect that never comes
      await until(() => events.some((e) => e.name === 'expired'), 2000 + 2000, "'expired'");
      const expired = events.find((e) => e.name === 'expired');
      expect(expired?.name === 'expired' ? expired.id : undefined).to.equal(oldId);
      expect(expired!.at - killedAt).to.be.within(1500, 2000 + 2000);
      expect(events.map((e) => e.name)).to.deep.equal(['suspended', 'expired']);
      expect(await waitingOnOldSession).to.include({ code: 'SESSION_EXPIRED' });
      expect(store.state).to.equal('expired');
      // no session at all now: a call waits for one, bounded by the operation timeout
      expect(await rejectionOf(store.exists('/'))).to.include({ code: 'OPERATION_TIMEOUT', retriable: true });

      await srv.restart();
      await until(() => events.some((e) => e.name === 'connected'), 20_000, "'connected'");
      expect(store.sessionId).to.not.equal(oldId);
      expect(store.state).to.equal('connected');
      await store.create('/after-restart', undefined, { mode: 'ephemeral' });
      expect((await store.exists('/after-restart'))?.ephemeralOwner).to.equal(store.sessionId);
    });

    it('a short outage within the session timeout: suspended, then connected on the same session, watches kept', async function () {
      // The outage lasts as long as the killed JVM takes to restart, which is not what is tested: at
      // load 10+ it outlasted a 45 s session. So the session is the longest the server grants, and a
      // trial whose restart alone used up the session (the outage was not short) is run again.
      this.timeout(4 * 60_000);
      const srv = server!;
      const sessionMs = 60_000; // the server's maxSessionTimeout
      const reconnectMs = 5000; // a reconnect after the server is back takes about a second
      for (let trial = 1; ; trial++) {
        const store = await open({ sessionTimeoutMs: sessionMs }, srv.connectString);
        const id = store.sessionId;
        const events = record(store);
        const path = `/kept-${trial}`;
        await store.create(path, Buffer.from('0'), { mode: 'ephemeral' });
        const watched: WatchEvent[] = [];
        await store.get(path, (e) => watched.push(e));

        await srv.kill();
        const killedAt = Date.now();
        await until(() => events.some((e) => e.name === 'suspended'), 2000, "'suspended'");
        const queued = store.set(path, Buffer.from('1')).catch((err: unknown) => err);
        await srv.restart();
        const restartMs = Date.now() - killedAt;
        const outcome = await queued;
        if (restartMs > sessionMs - reconnectMs && trial < 3) {
          // not a short outage: the local expiry timer may rightly have fired; try again
          await store.close();
          continue;
        }
        expect(outcome, `restart took ${restartMs} ms`).to.not.be.instanceOf(Error);
        expect((outcome as NodeStat).version).to.equal(1);
        expect(events.map((e) => e.name)).to.deep.equal(['suspended', 'connected']);
        expect(store.sessionId).to.equal(id);
        await until(() => watched.length > 0, 5000, 'the watch');
        expect(watched).to.deep.equal([{ type: 'changed', path }]);
        return;
      }
    });
  });
});
