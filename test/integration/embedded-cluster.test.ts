// The embedded `local:` deployment: the local store plus bookies in worker threads, for real (TCP on
// loopback, fsynced journals), and the metadata port the workers reach the store through.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { expect } from 'chai';
import { DLogError, InvalidArgumentError, MetadataError } from '../../src/errors.js';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../src/embedded/embedded-cluster.js';
import { serveMetadataStore } from '../../src/embedded/metadata-port-server.js';
import { PortMetadataStore } from '../../src/embedded/port-metadata-store.js';
import { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { WatchEvent } from '../../src/metadata/metadata-store.js';
import { metadataStoreConformance } from '../conformance/metadata-store.suite.js';
import { rejection } from '../support/rejection.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'dlog-embedded-'));
after(() => { rmSync(root, { recursive: true, force: true }); });
let dirs = 0;
const freshDir = (): string => path.join(root, `c${dirs++}`);

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { resolve(server); });
  });
}

describe('embedded cluster (local store + bookies in worker threads)', function () {
  this.timeout(60_000);
  const open: EmbeddedCluster[] = [];
  const start = async (dir: string, bookies?: number): Promise<EmbeddedCluster> => {
    const cluster = await startEmbeddedCluster(bookies === undefined ? { dir } : { dir, bookies });
    open.push(cluster);
    return cluster;
  };
  afterEach(async () => { await Promise.all(open.splice(0).map((c) => c.close())); });

  it('writes an E3 W3 A2 ledger, and after a restart has the same bookies and reads it back byte-identical', async () => {
    const dir = freshDir();
    const first = await start(dir);
    expect(first.bookieIds).to.have.length(3);
    expect(first.ledgersRoot).to.equal('/ledgers');
    for (const id of first.bookieIds) expect(id).to.match(/^127\.0\.0\.1:\d+$/);
    // every bookie registered through its worker's port store, each in its own session
    const available = await first.store.children('/ledgers/available');
    expect(available.filter((n) => n !== 'readonly').sort()).to.deep.equal([...first.bookieIds].sort());
    const owners = await Promise.all(first.bookieIds.map(async (id) => (await first.store.exists(`/ledgers/available/${id}`))?.ephemeralOwner));
    expect(new Set(owners).size).to.equal(3);
    expect(owners).to.not.include(first.store.sessionId);

    const payloads = Array.from({ length: 300 }, (_, i) => randomBytes(1 + ((i * 37) % 2000)));
    let client = await LedgerClient.open({ store: first.store, ledgersRoot: first.ledgersRoot });
    const ledger = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: Buffer.from('pw') });
    expect([...(ledger.metadata.ensembles[0]?.[1] ?? [])].sort()).to.deep.equal([...first.bookieIds].sort());
    const ids = await Promise.all(payloads.map((p) => ledger.addEntry(p)));
    expect(ids).to.deep.equal(payloads.map((_, i) => BigInt(i)));
    await ledger.close();
    await client.close();
    await first.close();
    await first.close(); // idempotent
    const file = JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as { bookiePorts: number[] };
    expect(file.bookiePorts.map((p) => `127.0.0.1:${p}`)).to.deep.equal(first.bookieIds);

    const second = await start(dir);
    expect(second.bookieIds).to.deep.equal(first.bookieIds);
    client = await LedgerClient.open({ store: second.store, ledgersRoot: second.ledgersRoot });
    try {
      const reader = await client.openLedger(ledger.id, { recover: false, password: Buffer.from('pw') });
      expect(reader.metadata.state).to.equal('CLOSED');
      expect(reader.metadata.lastEntryId).to.equal(BigInt(payloads.length - 1));
      const entries = await reader.readEntries(0n, BigInt(payloads.length - 1));
      expect(entries).to.have.length(payloads.length);
      entries.forEach((e, i) => { expect(Buffer.compare(e.payload, payloads[i]!)).to.equal(0, `entry ${i}`); });
    } finally {
      await client.close();
    }
  });

  it('refuses a directory another process runs a cluster in, before starting any bookie', async () => {
    const dir = freshDir();
    const module = new URL('../../src/embedded/embedded-cluster.ts', import.meta.url).href;
    const script = path.join(root, 'holder.mjs');
    writeFileSync(script, [
      `import { startEmbeddedCluster } from ${JSON.stringify(module)};`,
      `const cluster = await startEmbeddedCluster({ dir: ${JSON.stringify(dir)}, bookies: 1 });`,
      `process.stdout.write(JSON.stringify(cluster.bookieIds) + '\\n');`,
      `process.stdin.on('data', () => {}).on('end', () => { cluster.close().then(() => process.exit(0)); });`,
    ].join('\n'));
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const held = await new Promise<string[]>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(JSON.parse(out) as string[]);
        });
        child.once('exit', (code) => { reject(new Error(`holder exited with ${code}`)); });
      });
      const err = await rejection(startEmbeddedCluster({ dir }), MetadataError);
      expect(err.code).to.equal('STORE_LOCKED');
      expect(err.message).to.include('in use by another process').and.include(`process ${child.pid}`);
      // the holder's bookie still listens: nothing was started against its port
      const port = Number(held[0]?.split(':')[1]);
      await rejection(listen(port), Error);
    } finally {
      child.stdin?.end();
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // once the holder is gone, the directory opens
    const after = await start(dir);
    expect(after.bookieIds).to.have.length(1);
  });

  it('refuses a second cluster on the same directory in this process', async () => {
    const dir = freshDir();
    const cluster = await start(dir, 1);
    const err = await rejection(startEmbeddedCluster({ dir }), MetadataError);
    expect(err.code).to.equal('STORE_LOCKED');
    expect(err.message).to.include('already open in this process');
    // the first cluster is unharmed
    expect(await cluster.store.children('/ledgers/available')).to.include(cluster.bookieIds[0]);
  });

  it('names the port and cluster.json when a recorded bookie port is taken, and starts once it is free', async () => {
    const dir = freshDir();
    const first = await start(dir, 2);
    await first.close();
    const port = Number(first.bookieIds[1]?.split(':')[1]);
    const squatter = await listen(port);
    try {
      const err = await rejection(startEmbeddedCluster({ dir }), InvalidArgumentError);
      expect(err.code).to.equal('INVALID_ARGUMENT');
      expect(err.message).to.include(`port ${port}`).and.include(path.join(dir, 'cluster.json'));
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    const again = await start(dir);
    expect(again.bookieIds).to.deep.equal(first.bookieIds);
  });

  it('adds bookies when asked for more, and refuses fewer than the directory has', async () => {
    const dir = freshDir();
    const first = await start(dir, 1);
    await first.close();
    const grown = await start(dir, 2);
    expect(grown.bookieIds).to.have.length(2);
    expect(grown.bookieIds[0]).to.equal(first.bookieIds[0]);
    await grown.close();
    const err = await rejection(startEmbeddedCluster({ dir, bookies: 1 }), InvalidArgumentError);
    expect(err.message).to.include('has 2 bookies');
    await rejection(startEmbeddedCluster({ dir, bookies: 10 }), InvalidArgumentError);
  });

  it('fails the start with the failing bookie named, and leaves nothing running', async () => {
    const dir = freshDir();
    const first = await start(dir, 3);
    await first.close();
    // bookie-1's data directory cannot be created: a file is in the way (the data moved aside:
    // its cookie would refuse an empty directory under the same id)
    renameSync(path.join(dir, 'bookie-1'), path.join(dir, 'bookie-1.aside'));
    writeFileSync(path.join(dir, 'bookie-1'), 'not a directory');
    const err = await rejection(startEmbeddedCluster({ dir }), Error);
    expect(err.message).to.include(`embedded bookie ${first.bookieIds[1]}`).and.include('bookie-1');
    // the other bookies were stopped and the store closed: every port is free and the directory opens
    for (const id of first.bookieIds) {
      const server = await listen(Number(id.split(':')[1]));
      await new Promise((resolve) => server.close(resolve));
    }
    rmSync(path.join(dir, 'bookie-1'));
    renameSync(path.join(dir, 'bookie-1.aside'), path.join(dir, 'bookie-1'));
    const again = await start(dir);
    expect(again.bookieIds).to.deep.equal(first.bookieIds);
  });
});

describe('metadata port (a MetadataStore served over a MessagePort)', () => {
  const dir = path.join(root, 'port-store');
  const served = new WeakMap<PortMetadataStore, LocalMetadataStore>();
  const openPortStore = async (): Promise<PortMetadataStore> => {
    const local = await LocalMetadataStore.open(dir);
    const { port1, port2 } = new MessageChannel();
    serveMetadataStore(local, port1);
    const store = await PortMetadataStore.connect(port2);
    served.set(store, local);
    return store;
  };

  metadataStoreConformance<PortMetadataStore>('port store over the local store', {
    open: openPortStore,
    forceExpire: (store) => served.get(store)!.expireSession(),
    reopen: () => Promise.resolve(),
  });

  describe('forwarding', () => {
    let store: PortMetadataStore;
    let local: LocalMetadataStore;
    const base = `/forwarding-${randomBytes(4).toString('hex')}`;
    beforeEach(async () => {
      store = await openPortStore();
      local = served.get(store)!;
    });
    afterEach(async () => { await store.close(); });

    it('mirrors the served session and gives data back as a Buffer', async () => {
      expect(store.sessionId).to.equal(local.sessionId);
      expect(store.state).to.equal('connected');
      await store.create(base, Buffer.from('root'), { createParents: true }).catch(() => undefined);
      // a view into a larger buffer crosses as its own bytes only
      const big = Buffer.from('xxhello-worldxx');
      await store.create(`${base}/data`, big.subarray(2, 13));
      const got = await store.get(`${base}/data`);
      expect(Buffer.isBuffer(got.data)).to.equal(true);
      expect(got.data.toString()).to.equal('hello-world');
      expect(typeof got.stat.czxid).to.equal('bigint');
      const ephemeral = await store.create(`${base}/eph`, undefined, { mode: 'ephemeral' });
      expect((await local.exists(ephemeral))?.ephemeralOwner).to.equal(store.sessionId);
    });

    it('re-creates MetadataErrors with their code and fields', async () => {
      await store.create(`${base}-e`);
      const exists = await rejection(store.create(`${base}-e`), MetadataError);
      expect(exists.code).to.equal('NODE_EXISTS');
      expect(exists.retriable).to.equal(false);
      expect(exists).to.be.instanceOf(DLogError);
      const stat = await store.set(`${base}-e`, Buffer.from('v1'));
      const bad = await rejection(store.set(`${base}-e`, Buffer.from('v2'), stat.version + 5), MetadataError);
      expect(bad.code).to.equal('BAD_VERSION');
      const multi = await rejection(store.multi([
        { op: 'check', path: `${base}-e`, version: stat.version },
        { op: 'create', path: `${base}-e/missing/child` },
      ]), MetadataError);
      expect(multi.code).to.equal('NO_NODE');
      expect(multi.failedOp).to.equal(1);
      const noNode = await rejection(store.get(`${base}-nothing`), MetadataError);
      expect(noNode.code).to.equal('NO_NODE');
      await store.delete(`${base}-e`);
    });

    it('fires a children watcher set through the port once', async () => {
      const parent = `${base}-w`;
      await store.create(parent);
      const events: WatchEvent[] = [];
      let fire!: () => void;
      const fired = new Promise<void>((resolve) => { fire = resolve; });
      expect(await store.children(parent, (e) => { events.push(e); fire(); })).to.deep.equal([]);
      // another session makes the change
      await local.create(`${parent}/a`);
      await fired;
      await local.create(`${parent}/b`);
      await new Promise((r) => setTimeout(r, 100));
      expect(events).to.deep.equal([{ type: 'children', path: parent }]);
      await local.delete(`${parent}/a`);
      await local.delete(`${parent}/b`);
      await local.delete(parent);
    });

    it('forwards session expiry and the new session', async () => {
      const seen: string[] = [];
      store.on('expired', (id) => { seen.push(`expired:${id}`); });
      const old = store.sessionId;
      // the served store's own first 'connected' (for the old session) may still be on its way
      const connected = new Promise<bigint>((resolve) => {
        store.on('connected', (id) => { if (id !== old) resolve(id); });
      });
      await local.expireSession();
      const next = await connected;
      expect(seen).to.deep.equal([`expired:${old}`]);
      expect(next).to.not.equal(old);
      expect(store.sessionId).to.equal(next);
      expect(store.state).to.equal('connected');
    });

    it('closing ends the served session; a served store closed on the main side fails calls with CLOSED', async () => {
      const ephemeral = await store.create(`${base}-gone`, undefined, { mode: 'ephemeral' });
      const watcher = await LocalMetadataStore.open(dir);
      try {
        await store.close();
        expect(store.state).to.equal('closed');
        expect(local.state).to.equal('closed');
        expect(await watcher.exists(ephemeral)).to.equal(null);
        expect((await rejection(store.get('/'), MetadataError)).code).to.equal('CLOSED');

        const other = await openPortStore();
        const closed = new Promise<void>((resolve) => { other.once('closed', resolve); });
        await served.get(other)!.close();
        await closed;
        expect((await rejection(other.exists('/'), MetadataError)).code).to.equal('CLOSED');
        await other.close();
      } finally {
        await watcher.close();
      }
    });
  });
});
