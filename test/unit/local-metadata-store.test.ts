// Behaviour specific to the embedded backend: persistence and recovery of its directory, the
// directory lock, group commit and compaction. The MetadataStore semantics shared with the
// ZooKeeper backend are covered by test/conformance.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, realpath, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MetadataError } from '../../src/errors.js';
import type { WatchEvent } from '../../src/metadata/metadata-store.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { LocalMetadataStoreOptions } from '../../src/metadata/local/local-metadata-store.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const storeModule = pathToFileURL(join(repoRoot, 'src/metadata/local/local-metadata-store.ts')).href;

/** Runs `body` in a child `node --import tsx` with `LocalMetadataStore` and `print(line)` in scope. */
function runChild(body: string): Promise<string[]> {
  const source = `
    import { writeSync } from 'node:fs';
    const { LocalMetadataStore } = await import(${JSON.stringify(storeModule)});
    const print = (line) => writeSync(1, line + '\\n');
    ${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve(stdout.split('\n').filter((line) => line.length > 0));
    });
  });
}

const lockProbe = (dir: string): string => `
  try {
    const store = await LocalMetadataStore.open(${JSON.stringify(dir)});
    print('OPENED');
    await store.close();
  } catch (err) {
    print(err.code);
    print(err.message);
  }`;

function isCode(code: string, message?: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof MetadataError && err.code === code && (message === undefined || message.test(err.message));
}

describe('LocalMetadataStore (backend specific)', function () {
  this.timeout(60_000);
  let dir = '';
  let logFile = '';
  const stores: LocalMetadataStore[] = [];

  const openStore = async (options?: LocalMetadataStoreOptions): Promise<LocalMetadataStore> => {
    const store = await LocalMetadataStore.open(dir, options);
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'dlog-local-metadata-')));
    logFile = join(dir, 'metadata.log');
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps data, stats and sequence counters across close and reopen, with new session ids', async () => {
    const s = await openStore();
    const firstSession = s.sessionId;
    await s.create('/a', Buffer.from('one'));
    await s.set('/a', Buffer.from('two'), 0);
    await s.set('/a', Buffer.from('three'), 1);
    for (let i = 0; i < 3; i++) await s.create('/a/job-', Buffer.from(`job ${i}`), { mode: 'persistent_sequential' });
    await s.delete('/a/job-0000000001');
    await s.create('/a/b/c', Buffer.from('deep'), { createParents: true });
    const before = (await s.get('/a')).stat;
    assert.equal(before.version, 2);
    // only creates count, as in ZooKeeper: three jobs and b
    assert.equal(before.cversion, 4);
    await s.close();

    const again = await openStore();
    assert.ok(again.sessionId > firstSession, 'session ids grow across opens');
    const { data, stat: after } = await again.get('/a');
    assert.equal(data.toString(), 'three');
    assert.deepEqual(after, before);
    assert.deepEqual(await again.children('/a'), ['b', 'job-0000000000', 'job-0000000002']);
    assert.equal((await again.get('/a/job-0000000002')).data.toString(), 'job 2');
    assert.equal((await again.get('/a/b/c')).data.toString(), 'deep');
    assert.equal(await again.create('/a/job-', undefined, { mode: 'persistent_sequential' }), '/a/job-0000000004');
    const created = await again.get('/a/job-0000000004');
    assert.ok(created.stat.czxid > before.pzxid, 'zxids keep increasing');
    assert.equal((await again.get('/a')).stat.pzxid, created.stat.czxid);
  });

  it('deletes the ephemeral nodes of a crashed process and takes over its stale lock', async () => {
    const lines = await runChild(`
      const store = await LocalMetadataStore.open(${JSON.stringify(dir)});
      await store.create('/app');
      await store.create('/app/keep', Buffer.from('kept'));
      await store.create('/app/owner', undefined, { mode: 'ephemeral' });
      await store.create('/app/member-', undefined, { mode: 'ephemeral_sequential' });
      print(String(store.sessionId));
      process.kill(process.pid, 'SIGKILL');`);
    const crashedSession = BigInt(lines[0] ?? '0');
    assert.ok(crashedSession > 0n);
    assert.ok(existsSync(join(dir, 'LOCK')), 'the crashed process left its lock');

    const s = await openStore();
    assert.ok(s.sessionId > crashedSession);
    assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid));
    assert.deepEqual(await s.children('/app'), ['keep']);
    assert.equal((await s.get('/app/keep')).data.toString(), 'kept');
    // three creates; the deletes at recovery moved only the pzxid
    const app = (await s.get('/app')).stat;
    assert.equal(app.cversion, 3);
    assert.ok(app.pzxid > app.mzxid);
    assert.equal(await s.create('/app/member-', undefined, { mode: 'persistent_sequential' }), '/app/member-0000000003');
    assert.equal(await s.exists('/app/owner'), null);
  });

  it('recovers from a torn last write (bytes past the synced length), losing only the torn record', async () => {
    const s = await openStore();
    await s.create('/t');
    for (const n of ['1', '2', '3']) await s.create(`/t/${n}`, Buffer.from(n));
    await s.close();
    // a write the crash cut short: a record header whose 64-byte payload never made it
    await appendFile(logFile, Buffer.from([64, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]));

    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (message: string) => { warnings.push(message); } };
    const again = await openStore({ logger });
    assert.deepEqual(await again.children('/t'), ['1', '2', '3']);
    assert.match(warnings.join('\n'), /torn last write of 11 bytes/);
    await again.create('/t/4', Buffer.from('4'));
    await again.close();

    // a whole record with a bad checksum past the synced length is a torn write too
    const record = Buffer.alloc(8 + 32, 7);
    record.writeUInt32LE(32, 0);
    await appendFile(logFile, record);
    const third = await openStore();
    assert.deepEqual(await third.children('/t'), ['1', '2', '3', '4']);
    assert.equal((await third.get('/t')).stat.cversion, 4);
  });

  it('refuses a log cut or replaced inside its synced part (STORE_CORRUPT), never rolling back acknowledged changes', async () => {
    const s = await openStore();
    await s.create('/r');
    for (const n of ['1', '2', '3']) await s.create(`/r/${n}`);
    await s.close();
    const size = (await stat(logFile)).size;
    await truncate(logFile, size - 3);
    const corrupt = isCode('STORE_CORRUPT', new RegExp(`damaged at offset \\d+, inside the first ${size} bytes, which were synced`));
    await assert.rejects(LocalMetadataStore.open(dir), corrupt);
    await writeFile(logFile, randomBytes(size));
    await assert.rejects(LocalMetadataStore.open(dir), corrupt);
  });

  it('refuses to open a log damaged before acknowledged records (STORE_CORRUPT)', async () => {
    const s = await openStore();
    await s.create('/c', Buffer.from('first'));
    await s.create('/c/1');
    await s.create('/c/2');
    await s.close();
    const bytes = await readFile(logFile);
    // inside the first record's payload (its time field), so the checksum fails
    bytes[20] = (bytes[20] ?? 0) ^ 0x01;
    await writeFile(logFile, bytes);

    const corrupt = isCode('STORE_CORRUPT', /offset 0.*acknowledged records follow/);
    await assert.rejects(LocalMetadataStore.open(dir), corrupt);
    // the failed open let go of the lock: the same error again, not STORE_LOCKED
    await assert.rejects(LocalMetadataStore.open(dir), corrupt);
    assert.ok(!existsSync(join(dir, 'LOCK')));
  });

  it('locks the directory against other processes while clients in this one share it', async () => {
    const a = await openStore();
    const b = await LocalMetadataStore.open(join(dir, '.'));
    stores.push(b);
    assert.notEqual(a.sessionId, b.sessionId);
    await a.create('/shared', Buffer.from('from a'));
    assert.equal((await b.get('/shared')).data.toString(), 'from a');
    await b.create('/shared/eph', undefined, { mode: 'ephemeral' });
    let onDeleted!: (event: WatchEvent) => void;
    const deleted = new Promise<WatchEvent>((resolve) => { onDeleted = resolve; });
    assert.equal((await a.exists('/shared/eph', onDeleted))?.ephemeralOwner, b.sessionId);

    const [code, message] = await runChild(lockProbe(dir));
    assert.equal(code, 'STORE_LOCKED');
    assert.ok(message?.includes(dir) === true && message.includes(`process ${process.pid}`), message);

    await b.close();
    assert.deepEqual(await deleted, { type: 'deleted', path: '/shared/eph' });
    assert.equal((await a.get('/shared')).data.toString(), 'from a');
    // the last client to close releases the lock
    await a.close();
    assert.deepEqual(await runChild(lockProbe(dir)), ['OPENED']);
  });

  it('groups concurrent commits: 1000 creates share a few syncs and all survive reopen', async () => {
    const s = await openStore();
    await s.create('/g');
    const before = s.stats;
    const paths = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0
      ? s.create('/g/seq-', Buffer.from(String(i)), { mode: 'persistent_sequential' })
      : s.create(`/g/n${i}`, Buffer.from(String(i))))));
    const after = s.stats;
    assert.equal(after.transactions - before.transactions, 1000);
    assert.ok(after.syncs - before.syncs <= 5, `${after.syncs - before.syncs} syncs for 1000 commits`);
    assert.equal(new Set(paths).size, 1000);
    await s.close();

    const again = await openStore();
    const names = await again.children('/g');
    assert.equal(names.length, 1000);
    assert.deepEqual(names, paths.map((path) => path.slice('/g/'.length)).sort());
    for (const i of [0, 1, 500, 998, 999]) {
      assert.equal((await again.get(paths[i] ?? '')).data.toString(), String(i));
    }
    assert.equal((await again.get('/g')).stat.cversion, 1000);
  });

  it('compacts the log into a snapshot past the threshold and reopens from it', async () => {
    const s = await openStore({ compactionThreshold: 4096 });
    await s.create('/k');
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      pending.push(s.set('/k', Buffer.from(`value ${i}`.padEnd(100, '.'))));
      if (i % 20 === 0) pending.push(s.create('/k/seq-', Buffer.from(String(i)), { mode: 'persistent_sequential' }));
      // a steady stream, so that commits are queued while syncs and snapshots are in progress,
      // paused now and then so that there are many batches even when syncs are slow
      await (i % 25 === 24 ? pending.at(-1) : new Promise(setImmediate));
    }
    await Promise.all(pending);
    assert.ok(s.stats.compactions > 10, `${s.stats.compactions} compactions`);
    assert.ok((await stat(logFile)).size < 4096 + 200_000, 'the log restarted');
    await s.close();

    const again = await openStore();
    const { data, stat: kStat } = await again.get('/k');
    assert.equal(data.toString(), 'value 999'.padEnd(100, '.'));
    assert.equal(kStat.version, 1000);
    assert.equal((await again.children('/k')).length, 50);
    assert.equal((await again.get('/k/seq-0000000049')).data.toString(), '980');
    assert.equal(await again.create('/k/seq-', undefined, { mode: 'persistent_sequential' }), '/k/seq-0000000050');
  });

  it('expires a session on request: ephemerals go, its watches never fire, a new session follows', async () => {
    const s = await openStore();
    const other = await openStore();
    await s.create('/e');
    await s.create('/e/mine', undefined, { mode: 'ephemeral' });
    const oldId = s.sessionId;
    let ownWatchFired = false;
    await s.get('/e/mine', () => { ownWatchFired = true; });
    const seen: WatchEvent[] = [];
    await other.exists('/e/mine', (event) => { seen.push(event); });
    const events: string[] = [];
    s.on('expired', (id) => { events.push(`expired ${id}`); });
    s.on('connected', (id) => { events.push(`connected ${id}`); });

    const expiring = s.expireSession();
    assert.equal(s.state, 'expired');
    await assert.rejects(s.get('/e'), isCode('SESSION_EXPIRED'));
    await expiring;
    assert.equal(s.state, 'connected');
    assert.notEqual(s.sessionId, oldId);
    assert.deepEqual(events, [`expired ${oldId}`, `connected ${s.sessionId}`]);
    await new Promise(setImmediate);
    assert.deepEqual(seen, [{ type: 'deleted', path: '/e/mine' }]);
    assert.equal(ownWatchFired, false);
    assert.equal(await other.exists('/e/mine'), null);
    assert.equal(await s.create('/e/mine', undefined, { mode: 'ephemeral' }), '/e/mine');
    assert.equal((await other.get('/e/mine')).stat.ephemeralOwner, s.sessionId);
  });

  it('never lets a read observe a write before it is durable', async () => {
    const writer = await openStore();
    const reader = await openStore();
    await writer.create('/d', Buffer.from('old'));
    const durableBefore = writer.stats.transactions;
    const writing = writer.set('/d', Buffer.from('new'));
    // the write is already applied (a CAS would see it), so the read returns it, but only once synced
    const read = await reader.get('/d');
    assert.equal(read.data.toString(), 'new');
    assert.equal(writer.stats.transactions, durableBefore + 1);
    assert.equal((await writing).version, read.stat.version);
  });

  it('fires watches outside the caller, once, before the write that triggered them resolves', async () => {
    const s = await openStore();
    await s.create('/w', Buffer.from('0'));
    const fired: WatchEvent[] = [];
    await s.get('/w', (event) => { fired.push(event); });
    const setting = s.set('/w', Buffer.from('1'));
    assert.deepEqual(fired, []);
    await setting;
    assert.deepEqual(fired, [{ type: 'changed', path: '/w' }]);
    await s.set('/w', Buffer.from('2'));
    await new Promise(setImmediate);
    assert.equal(fired.length, 1);
  });
});
