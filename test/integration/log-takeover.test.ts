// Writer failover (issue 5): a new writer takes over from one whose ZooKeeper session expired, and
// from a writer process killed with SIGKILL. Every record acknowledged to the old writer must be
// read back exactly once, and the old writer must get no acknowledgement after it was fenced.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { DLSN } from '../../src/log/format/dlsn.js';
import type { LogError } from '../../src/log/log-error.js';
import type { DistributedLog } from '../../src/log/distributed-log.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { LOG_BACKENDS, logDeploymentFor, startLogDeployment, type LogDeployment } from '../support/log-backends.js';
import { forceExpire } from '../support/zk-expire.js';
import { waitFor } from '../support/wait-for.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/log-writer-child.ts');

/**
 * Reads the whole log from the start up to its last record (every writer is closed by then). A
 * count would not do: a killed writer may have persisted records it never acknowledged, which
 * recovery keeps, so the log can hold more than was acked.
 */
async function readAll(log: DistributedLog): Promise<Array<{ txid: bigint; dlsn: DLSN; payload: string }>> {
  const last = await log.getLastDLSN();
  const reader = await log.openReader();
  const out: Array<{ txid: bigint; dlsn: DLSN; payload: string }> = [];
  try {
    while ((out.at(-1)?.dlsn.compare(last) ?? -1) < 0) {
      const batch = await reader.readBulk(1000, { waitMs: 1000 });
      out.push(...batch.map((r) => ({ txid: r.txid, dlsn: r.dlsn, payload: r.payload.toString() })));
    }
    return out;
  } finally {
    await reader.close();
  }
}

async function expectFailure(promise: Promise<unknown>): Promise<void> {
  let failed = false;
  await promise.catch(() => { failed = true; });
  expect(failed).to.equal(true);
}

describe('writer takeover after a ZooKeeper session expiry (zk)', function () {
  this.timeout(120_000);
  let deployment: LogDeployment;

  logDeploymentFor('zk', 'takeover', (d) => { deployment = d; });

  it('a writer whose session expired while nobody else wanted the log re-acquires the lock and keeps writing', async () => {
    const ns = await deployment.open({ sessionTimeoutMs: 4000 });
    const log = await ns.openLog('survivor', { create: true });
    const writer = await log.openWriter();
    for (let i = 0n; i < 100n; i++) await writer.asyncWrite({ txid: i, payload: Buffer.from(`r-${i}`) });
    const store = ns.metadataStore;
    if (!(store instanceof ZkMetadataStore)) throw new Error('the zk deployment runs on ZooKeeper');
    await forceExpire(store, deployment.zk as string);
    for (let i = 100n; i < 200n; i++) await writer.asyncWrite({ txid: i, payload: Buffer.from(`r-${i}`) });
    // the lock is held again under the new session: a second writer is refused
    let refused: unknown;
    await log.openWriter().then((w) => w.close(), (err: unknown) => { refused = err; });
    expect((refused as LogError | undefined)?.code).to.equal('LOCK_HELD');
    await writer.close();
    const records = await readAll(log);
    expect(records.map((r) => r.txid)).to.deep.equal(Array.from({ length: 200 }, (_, i) => BigInt(i)));
  });

  it('B fences A: A\'s later writes fail, the log holds A\'s acknowledged records and then only B\'s', async () => {
    const nsA = await deployment.open({ sessionTimeoutMs: 4000 });
    const nsB = await deployment.open();
    const logA = await nsA.openLog('contended', { create: true });
    const logB = await nsB.openLog('contended');
    const a = await logA.openWriter();
    const ackedA: Array<{ txid: bigint; dlsn: DLSN }> = [];
    const failedA: unknown[] = [];
    const state = { stop: false };
    let txid = 0n;
    const aLoop = (async () => {
      while (!state.stop) {
        const id = txid++;
        try {
          ackedA.push({ txid: id, dlsn: await a.asyncWrite({ txid: id, payload: Buffer.from(`A-${id}`) }) });
        } catch (err) {
          failedA.push(err);
          if (failedA.length > 20) return;
        }
      }
    })();
    await waitFor(() => ackedA.length >= 200, 20_000, "200 of A's writes acknowledged");
    // B queues behind A; A's session ends, its member node goes, B owns the lock and recovers A's segment
    const bOpening = logB.openWriter({ lockTimeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const storeA = nsA.metadataStore;
    if (!(storeA instanceof ZkMetadataStore)) throw new Error('the zk deployment runs on ZooKeeper');
    await forceExpire(storeA, deployment.zk as string);
    const b = await bOpening;
    // from now on everything A tries fails (an ack already in transit may still land: that record
    // was recovered, and the read below checks every acknowledged A record is in the log)
    await new Promise((resolve) => setTimeout(resolve, 500));
    state.stop = true;
    await aLoop;
    expect(failedA.length).to.be.greaterThan(0);
    const lateAcks = ackedA.length;
    await expectFailure(a.asyncWrite({ txid: txid++, payload: Buffer.from('A-late') }));
    expect(ackedA.length).to.equal(lateAcks);
    const bStart = BigInt(ackedA.length + 1000);
    const ackedB: DLSN[] = [];
    for (let i = 0n; i < 100n; i++) ackedB.push(await b.asyncWrite({ txid: bStart + i, payload: Buffer.from(`B-${i}`) }));
    await b.close();
    await a.abort();

    const records = await readAll(logB);
    const fromA = records.filter((r) => r.payload.startsWith('A-'));
    const fromB = records.filter((r) => r.payload.startsWith('B-'));
    // every acknowledged A record once, in order, at its DLSN; unacknowledged ones may or may not be there
    const byTxid = new Map(fromA.map((r) => [r.txid, r]));
    expect(byTxid.size).to.equal(fromA.length);
    for (const acked of ackedA) expect(byTxid.get(acked.txid)?.dlsn.compare(acked.dlsn)).to.equal(0);
    expect(fromB.map((r) => r.dlsn.toString())).to.deep.equal(ackedB.map((d) => d.toString()));
    expect(records.slice(-100)).to.deep.equal(fromB);
  });
});

for (const kind of LOG_BACKENDS) {
  describe(`writer process killed with SIGKILL (${kind})`, function () {
    this.timeout(180_000);
    let deployment: LogDeployment;
    let child: ChildProcess | undefined;

    before(async function (this: Context) {
      deployment = await startLogDeployment(this, kind, 'sigkill');
    });
    after(async () => {
      child?.kill('SIGKILL');
      await deployment.close();
    });

    it('a new writer recovers: every record acknowledged to the dead writer is there exactly once', async () => {
      const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, deployment.uri, 'crashy'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const acked: Array<{ txid: bigint; dlsn: DLSN }> = [];
      const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve(); }));
      await new Promise<void>((resolve, reject) => {
        readline.createInterface({ input: proc.stdout }).on('line', (line) => {
          const [word, txid, dlsn] = line.split(' ');
          if (word !== 'acked' || txid === undefined || dlsn === undefined) return;
          acked.push({ txid: BigInt(txid), dlsn: DLSN.deserialize(dlsn) });
          if (acked.length === 3000) {
            proc.kill('SIGKILL');
            resolve();
          }
        });
        proc.once('exit', (code) => { if (acked.length < 3000) reject(new Error(`writer child exited ${code}: ${stderr}`)); });
      });
      await exited;
      // the child's namespace is gone with it (local: its directory lock is stale now)
      const ns = await deployment.open();
      const log = await ns.openLog('crashy');
      // zk: the dead writer's lock lives until its 2 s session times out
      const writer = await log.openWriter({ lockTimeoutMs: 30_000 });
      const last = acked.at(-1)?.txid ?? 0n;
      const more = await writer.asyncWrite({ txid: last + 1_000_000n, payload: Buffer.from('after') });
      await writer.close();
      const records = await readAll(log);
      const seen = new Map<bigint, number>();
      for (const r of records) seen.set(r.txid, (seen.get(r.txid) ?? 0) + 1);
      for (const a of acked) expect(seen.get(a.txid)).to.equal(1, `txid ${a.txid}`);
      expect([...seen.values()].every((c) => c === 1)).to.equal(true);
      const txids = records.map((r) => r.txid);
      expect(txids).to.deep.equal([...txids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      expect(records.at(-1)?.dlsn.compare(more)).to.equal(0);
    });
  });
}

describe('a segment start while a bookie restarts (zk)', function () {
  this.timeout(120_000);
  let deployment: LogDeployment;

  logDeploymentFor('zk', 'bookie-restart', (d) => { deployment = d; });

  it('waits for enough writable bookies instead of failing the writer', async () => {
    const ns = await deployment.open();
    const log = await ns.openLog('patient', { create: true });
    const bookie = deployment.bookies[2];
    if (bookie === undefined) throw new Error('three bookies expected');
    await bookie.stop();
    const writer = await log.openWriter();
    // E3 needs three bookies: the first write's ledger creation retries until the bookie is back
    const write = writer.asyncWrite({ txid: 1n, payload: Buffer.from('one') });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await bookie.restart();
    const dlsn = await write;
    await writer.close();
    expect(dlsn.logSegmentSequenceNo).to.equal(1n);
    expect((await readAll(log)).map((r) => r.payload)).to.deep.equal(['one']);
  });
});
