// Behaviour specific to the embedded backend: persistence and recovery of its directory, the
// directory lock, group commit and compaction. The MetadataStore semantics shared with the
// ZooKeeper backend are covered by test/conformance.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, realpath, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MetadataError } from '../../src/errors.js';
import type { WatchEvent } from '../../src/metadata/metadata-store.js';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { LocalMetadataStoreOptions } from '../../src/metadata/local/local-metadata-store.js';
import { lockHolder } from '../../src/util/dir-lock.js';
import { rejected } from '../support/thrown.js';

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
    expect(before.version).to.equal(2);
    // only creates count, as in ZooKeeper: three jobs and b
    expect(before.cversion).to.equal(4);
    await s.close();

    const again = await openStore();
    expect(again.sessionId > firstSession, 'session ids grow across opens').to.equal(true);
    const { data, stat: after } = await again.get('/a');
    expect(data.toString()).to.equal('three');
    expect(after).to.deep.equal(before);
    expect(await again.children('/a')).to.deep.equal(['b', 'job-0000000000', 'job-0000000002']);
    expect((await again.get('/a/job-0000000002')).data.toString()).to.equal('job 2');
    expect((await again.get('/a/b/c')).data.toString()).to.equal('deep');
    expect(await again.create('/a/job-', undefined, { mode: 'persistent_sequential' })).to.equal('/a/job-0000000004');
    const created = await again.get('/a/job-0000000004');
    expect(created.stat.czxid > before.pzxid, 'zxids keep increasing').to.equal(true);
    expect((await again.get('/a')).stat.pzxid).to.equal(created.stat.czxid);
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
    expect(crashedSession > 0n).to.equal(true);
    expect(lockHolder(join(dir, 'LOCK')), 'the crashed process left its lock').to.not.equal(undefined);

    const s = await openStore();
    expect(s.sessionId > crashedSession).to.equal(true);
    expect(lockHolder(join(dir, 'LOCK'))).to.equal(String(process.pid));
    expect(await s.children('/app')).to.deep.equal(['keep']);
    expect((await s.get('/app/keep')).data.toString()).to.equal('kept');
    // three creates; the deletes at recovery moved only the pzxid
    const app = (await s.get('/app')).stat;
    expect(app.cversion).to.equal(3);
    expect(app.pzxid > app.mzxid).to.equal(true);
    expect(await s.create('/app/member-', undefined, { mode: 'persistent_sequential' })).to.equal('/app/member-0000000003');
    expect(await s.exists('/app/owner')).to.equal(null);
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
    expect(await again.children('/t')).to.deep.equal(['1', '2', '3']);
    expect(warnings.join('\n')).to.match(/torn last write of 11 bytes/);
    await again.create('/t/4', Buffer.from('4'));
    await again.close();

    // a whole record with a bad checksum past the synced length is a torn write too
    const record = Buffer.alloc(8 + 32, 7);
    record.writeUInt32LE(32, 0);
    await appendFile(logFile, record);
    const third = await openStore();
    expect(await third.children('/t')).to.deep.equal(['1', '2', '3', '4']);
    expect((await third.get('/t')).stat.cversion).to.equal(4);
  });

  it('refuses a log cut or replaced inside its synced part (STORE_CORRUPT), never rolling back acknowledged changes', async () => {
    const s = await openStore();
    await s.create('/r');
    for (const n of ['1', '2', '3']) await s.create(`/r/${n}`);
    await s.close();
    const size = (await stat(logFile)).size;
    await truncate(logFile, size - 3);
    const corrupt = isCode('STORE_CORRUPT', new RegExp(`damaged at offset \\d+, inside the first ${size} bytes, which were synced`));
    expect(await rejected(LocalMetadataStore.open(dir))).to.satisfy(corrupt);
    await writeFile(logFile, randomBytes(size));
    expect(await rejected(LocalMetadataStore.open(dir))).to.satisfy(corrupt);
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
    expect(await rejected(LocalMetadataStore.open(dir))).to.satisfy(corrupt);
    // the failed open let go of the lock: the same error again, not STORE_LOCKED
    expect(await rejected(LocalMetadataStore.open(dir))).to.satisfy(corrupt);
    expect(lockHolder(join(dir, 'LOCK'))).to.equal(undefined);
  });

  it('locks the directory against other processes while clients in this one share it', async () => {
    const a = await openStore();
    const b = await LocalMetadataStore.open(join(dir, '.'));
    stores.push(b);
    expect(a.sessionId).to.not.equal(b.sessionId);
    await a.create('/shared', Buffer.from('from a'));
    expect((await b.get('/shared')).data.toString()).to.equal('from a');
    await b.create('/shared/eph', undefined, { mode: 'ephemeral' });
    let onDeleted!: (event: WatchEvent) => void;
    const deleted = new Promise<WatchEvent>((resolve) => { onDeleted = resolve; });
    expect((await a.exists('/shared/eph', onDeleted))?.ephemeralOwner).to.equal(b.sessionId);

    const [code, message] = await runChild(lockProbe(dir));
    expect(code).to.equal('STORE_LOCKED');
    expect(message?.includes(dir) === true && message.includes(`process ${process.pid}`), message).to.equal(true);

    await b.close();
    expect(await deleted).to.deep.equal({ type: 'deleted', path: '/shared/eph' });
    expect((await a.get('/shared')).data.toString()).to.equal('from a');
    // the last client to close releases the lock
    await a.close();
    expect(await runChild(lockProbe(dir))).to.deep.equal(['OPENED']);
  });

  it('groups concurrent commits: 1000 creates share a few syncs and all survive reopen', async () => {
    const s = await openStore();
    await s.create('/g');
    const before = s.stats;
    const paths = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0
      ? s.create('/g/seq-', Buffer.from(String(i)), { mode: 'persistent_sequential' })
      : s.create(`/g/n${i}`, Buffer.from(String(i))))));
    const after = s.stats;
    expect(after.transactions - before.transactions).to.equal(1000);
    expect(after.syncs - before.syncs <= 5, `${after.syncs - before.syncs} syncs for 1000 commits`).to.equal(true);
    expect(new Set(paths).size).to.equal(1000);
    await s.close();

    const again = await openStore();
    const names = await again.children('/g');
    expect(names.length).to.equal(1000);
    expect(names).to.deep.equal(paths.map((path) => path.slice('/g/'.length)).sort());
    for (const i of [0, 1, 500, 998, 999]) {
      expect((await again.get(paths[i] ?? '')).data.toString()).to.equal(String(i));
    }
    expect((await again.get('/g')).stat.cversion).to.equal(1000);
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
    expect(s.stats.compactions > 10, `${s.stats.compactions} compactions`).to.equal(true);
    expect((await stat(logFile)).size < 4096 + 200_000, 'the log restarted').to.equal(true);
    await s.close();

    const again = await openStore();
    const { data, stat: kStat } = await again.get('/k');
    expect(data.toString()).to.equal('value 999'.padEnd(100, '.'));
    expect(kStat.version).to.equal(1000);
    expect((await again.children('/k')).length).to.equal(50);
    expect((await again.get('/k/seq-0000000049')).data.toString()).to.equal('980');
    expect(await again.create('/k/seq-', undefined, { mode: 'persistent_sequential' })).to.equal('/k/seq-0000000050');
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
    expect(s.state).to.equal('expired');
    expect(await rejected(s.get('/e'))).to.satisfy(isCode('SESSION_EXPIRED'));
    await expiring;
    expect(s.state).to.equal('connected');
    expect(s.sessionId).to.not.equal(oldId);
    expect(events).to.deep.equal([`expired ${oldId}`, `connected ${s.sessionId}`]);
    await new Promise(setImmediate);
    expect(seen).to.deep.equal([{ type: 'deleted', path: '/e/mine' }]);
    expect(ownWatchFired).to.equal(false);
    expect(await other.exists('/e/mine')).to.equal(null);
    expect(await s.create('/e/mine', undefined, { mode: 'ephemeral' })).to.equal('/e/mine');
    expect((await other.get('/e/mine')).stat.ephemeralOwner).to.equal(s.sessionId);
  });

  it('never lets a read observe a write before it is durable', async () => {
    const writer = await openStore();
    const reader = await openStore();
    await writer.create('/d', Buffer.from('old'));
    const durableBefore = writer.stats.transactions;
    const writing = writer.set('/d', Buffer.from('new'));
    // the write is already applied (a CAS would see it), so the read returns it, but only once synced
    const read = await reader.get('/d');
    expect(read.data.toString()).to.equal('new');
    expect(writer.stats.transactions).to.equal(durableBefore + 1);
    expect((await writing).version).to.equal(read.stat.version);
  });

  it('fires watches outside the caller, once, before the write that triggered them resolves', async () => {
    const s = await openStore();
    await s.create('/w', Buffer.from('0'));
    const fired: WatchEvent[] = [];
    await s.get('/w', (event) => { fired.push(event); });
    const setting = s.set('/w', Buffer.from('1'));
    expect(fired).to.deep.equal([]);
    await setting;
    expect(fired).to.deep.equal([{ type: 'changed', path: '/w' }]);
    await s.set('/w', Buffer.from('2'));
    await new Promise(setImmediate);
    expect(fired.length).to.equal(1);
  });
});
