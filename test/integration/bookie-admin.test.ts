// The bookie's admin HTTP endpoint, metrics, JSON logs and `dlog bookie list/status`, on a real
// bookie process and the real test ZooKeeper.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { freePort } from '../../src/cli/zookeeper-server.js';
import { LedgerClient } from '../../src/ledger/ledger-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { zooKeeper } from '../support/hooks.js';
import { sample } from '../support/prometheus-sample.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ONE = { ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 } as const;

function dlog(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bookie admin endpoint, metrics and JSON logs (real bookie process)', function () {
  this.timeout(120_000);
  let zk: string;
  let dir: string;
  let store: ZkMetadataStore;
  let client: LedgerClient;
  let bookie: BookieProcess;
  let admin: string;
  const root = `/ledgers-admin-${process.pid}-${Date.now()}`;

  before(async function () {
    zk = await zooKeeper(this);
    dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-admin-'));
    const httpPort = await freePort();
    admin = `127.0.0.1:${httpPort}`;
    bookie = await startBookieProcess({
      metadata: `zk://${zk}${root}`, dir: path.join(dir, 'b0'),
      // no timed checkpoints: the write-cache test decides when the cache is flushed (GC checkpoints first)
      extraArgs: ['--http-port', String(httpPort), '--log-format', 'json', '--verbose', '--checkpoint-interval-ms', '0'],
    });
    store = await ZkMetadataStore.connect(zk);
    client = await LedgerClient.open({ store, ledgersRoot: root });
  });

  after(async () => {
    await client.close();
    await store.close();
    await killAllBookieProcesses();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /heartbeat, /metrics that count what was written, and /api/v1/bookie/info', async () => {
    const before = await (await fetch(`http://${admin}/metrics`)).text();
    const addsBefore = sample(before, 'dlog_bookie_requests_ok_total{op="add_entry"}');
    const ledger = await client.createLedger({ ...ONE });
    await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.addEntry(Buffer.from(`e${i}`))));
    await ledger.close();
    const reader = await client.openLedger(ledger.id, { recover: false });
    expect((await reader.readEntries(0n, 39n)).map((e) => e.payload.toString())).to.deep.equal(Array.from({ length: 40 }, (_, i) => `e${i}`));

    const heartbeat = await fetch(`http://${admin}/heartbeat`);
    expect([heartbeat.status, await heartbeat.text()]).to.deep.equal([200, 'OK\n']);
    const res = await fetch(`http://${admin}/metrics`);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const page = await res.text();
    expect(sample(page, 'dlog_bookie_requests_ok_total{op="add_entry"}') - addsBefore).to.equal(40);
    expect(sample(page, 'dlog_bookie_request_latency_seconds_count{op="add_entry"}')).to.be.at.least(40);
    expect(sample(page, 'dlog_bookie_request_latency_seconds_bucket{op="add_entry",le="+Inf"}')).to.be.at.least(40);
    expect(sample(page, 'dlog_bookie_requests_ok_total{op="read_entry"}')).to.be.at.least(40);
    expect(sample(page, 'dlog_bookie_journal_records_total')).to.be.at.least(40);
    expect(sample(page, 'dlog_bookie_journal_groups_total')).to.be.within(1, sample(page, 'dlog_bookie_journal_records_total'));
    expect(sample(page, 'dlog_bookie_connections')).to.be.at.least(1);
    expect(sample(page, 'dlog_bookie_read_only')).to.equal(0);

    const info = await (await fetch(`http://${admin}/api/v1/bookie/info`)).json() as Record<string, unknown>;
    expect(info).to.include({ bookieId: bookie.bookieId, readOnly: false, version: '0.1.0' });
    expect(info.freeSpace).to.be.a('number').above(0);
    expect(info.journalDir).to.equal(path.join(dir, 'b0', 'journal'));
  });

  it('exports journal sync latency, write-cache use, entry-log flushes and storage read latency, which move with the work done', async () => {
    const scrape = async (): Promise<string> => (await fetch(`http://${admin}/metrics`)).text();
    const { ledgerDir } = await (await fetch(`http://${admin}/api/v1/bookie/info`)).json() as { ledgerDir: string };
    const d = `{dir="${ledgerDir}"}`;
    const labelled = (name: string, le?: string): string => (le === undefined ? `${name}${d}` : `${name}{dir="${ledgerDir}",le="${le}"}`);
    const before = await scrape();
    const ledger = await client.createLedger({ ...ONE });
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1024, i));
    for (const p of payloads) await ledger.addEntry(p);
    await ledger.close();

    // one add at a time: one journal group (write + barrier) each, at least
    const written = await scrape();
    const syncs = sample(written, 'dlog_bookie_journal_sync_latency_seconds_count') - sample(before, 'dlog_bookie_journal_sync_latency_seconds_count');
    expect(syncs).to.be.at.least(50);
    expect(sample(written, 'dlog_bookie_journal_sync_latency_seconds_sum')).to.be.above(sample(before, 'dlog_bookie_journal_sync_latency_seconds_sum'));
    expect(sample(written, 'dlog_bookie_journal_sync_latency_seconds_bucket{le="+Inf"}')).to.equal(sample(written, 'dlog_bookie_journal_sync_latency_seconds_count'));
    // the entries wait in the write cache: no checkpoint ran
    expect(sample(written, labelled('dlog_bookie_write_cache_entries')) - sample(before, labelled('dlog_bookie_write_cache_entries'))).to.equal(50);
    expect(sample(written, labelled('dlog_bookie_write_cache_bytes')) - sample(before, labelled('dlog_bookie_write_cache_bytes'))).to.be.at.least(50 * 1024);
    expect(sample(written, labelled('dlog_bookie_entry_log_flushes_total'))).to.equal(sample(before, labelled('dlog_bookie_entry_log_flushes_total')));

    // GC checkpoints first: the cache goes to the entry log
    await (await fetch(`http://${admin}/api/v1/bookie/gc`, { method: 'PUT' })).json();
    const flushed = await scrape();
    expect(sample(flushed, labelled('dlog_bookie_write_cache_entries'))).to.equal(0);
    expect(sample(flushed, labelled('dlog_bookie_write_cache_bytes'))).to.equal(0);
    expect(sample(flushed, labelled('dlog_bookie_entry_log_flushes_total')) - sample(written, labelled('dlog_bookie_entry_log_flushes_total'))).to.be.at.least(1);
    expect(sample(flushed, labelled('dlog_bookie_entry_log_flushed_entries_total')) - sample(written, labelled('dlog_bookie_entry_log_flushed_entries_total'))).to.be.at.least(50);
    expect(sample(flushed, labelled('dlog_bookie_entry_log_flushed_bytes_total')) - sample(written, labelled('dlog_bookie_entry_log_flushed_bytes_total'))).to.be.at.least(50 * 1024);
    expect(sample(flushed, labelled('dlog_bookie_entry_log_flush_latency_seconds_count')) - sample(written, labelled('dlog_bookie_entry_log_flush_latency_seconds_count'))).to.be.at.least(1);
    expect(sample(flushed, labelled('dlog_bookie_entry_log_flush_latency_seconds_bucket', '+Inf'))).to.equal(sample(flushed, labelled('dlog_bookie_entry_log_flush_latency_seconds_count')));

    // reads now come from the entry log, and each is timed
    const reader = await client.openLedger(ledger.id, { recover: false });
    const entries = await reader.readEntries(0n, 49n);
    expect(entries.map((e) => Buffer.from(e.payload))).to.deep.equal(payloads);
    const read = await scrape();
    expect(sample(read, labelled('dlog_bookie_storage_read_latency_seconds_count')) - sample(flushed, labelled('dlog_bookie_storage_read_latency_seconds_count'))).to.be.at.least(50);
    expect(sample(read, labelled('dlog_bookie_storage_read_latency_seconds_sum'))).to.be.above(sample(flushed, labelled('dlog_bookie_storage_read_latency_seconds_sum')));
  });

  it('switches read-only by PUT /api/v1/bookie/state, which registration and dlog bookie list show', async () => {
    const put = (body: string): Promise<Response> => fetch(`http://${admin}/api/v1/bookie/state`, { method: 'PUT', body });
    expect(await (await put('{"readOnly":true}')).json()).to.deep.equal({ readOnly: true });
    expect(await (await fetch(`http://${admin}/api/v1/bookie/state`)).json()).to.deep.equal({ readOnly: true });
    const list = dlog(['bookie', 'list', '--metadata', `zk://${zk}${root}`]);
    expect(list.status).to.equal(0);
    expect(list.stdout.split('\n')[1]).to.match(new RegExp(`^${bookie.bookieId.replace(/\./g, '\\.')}\\s+read-only$`));
    const page = await (await fetch(`http://${admin}/metrics`)).text();
    expect(sample(page, 'dlog_bookie_read_only')).to.equal(1);

    const bad = await put('{"readOnly":"yes"}');
    expect(bad.status).to.equal(400);
    expect(await (await put('{"readOnly":false}')).json()).to.deep.equal({ readOnly: false });
    expect(dlog(['bookie', 'list', '--metadata', `zk://${zk}${root}`]).stdout).to.match(/\swritable\n/);
    // writable again: once the client's registry sees it (a watch), adds are served
    for (const deadline = Date.now() + 10_000; !client.writableBookies().has(bookie.bookieId);) {
      if (Date.now() > deadline) throw new Error('the client never saw the bookie writable again');
      await new Promise((resolve) => { setTimeout(resolve, 20); });
    }
    const ledger = await client.createLedger({ ...ONE });
    expect(await ledger.addEntry(Buffer.from('after'))).to.equal(0n);
    await ledger.close();
  });

  it('runs GC on PUT /api/v1/bookie/gc and counts it; unknown paths and methods are refused', async () => {
    const ledger = await client.createLedger({ ...ONE });
    await ledger.addEntry(Buffer.from('doomed'));
    await ledger.close();
    await client.deleteLedger(ledger.id);
    const report = await (await fetch(`http://${admin}/api/v1/bookie/gc`, { method: 'PUT' })).json() as Record<string, number>;
    expect(report.deletedLedgers).to.be.at.least(1);
    const page = await (await fetch(`http://${admin}/metrics`)).text();
    expect(sample(page, 'dlog_bookie_gc_runs_total')).to.be.at.least(1);
    expect((await fetch(`http://${admin}/api/v1/bookie/gc`)).status).to.equal(405);
    expect((await fetch(`http://${admin}/nope`)).status).to.equal(404);
  });

  it('dlog bookie status prints the info; an unreachable endpoint is one line and exit 1', async () => {
    const status = dlog(['bookie', 'status', admin]);
    expect(status.status).to.equal(0);
    expect(status.stdout).to.match(new RegExp(`bookieId\\s+${bookie.bookieId.replace(/\./g, '\\.')}\\n`));
    const closed = `127.0.0.1:${await freePort()}`;
    const refused = dlog(['bookie', 'status', closed]);
    expect(refused.status).to.equal(1);
    expect(refused.stderr.trim()).to.equal(`dlog bookie: cannot reach the admin endpoint at ${closed}: ECONNREFUSED`);
    expect(dlog(['bookie', 'status', 'nonsense']).status).to.equal(2);
  });

  it('logs one pino-compatible JSON object per line', () => {
    const lines = bookie.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).to.be.greaterThan(0);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) {
      expect(r.level).to.be.oneOf([20, 30, 40, 50]);
      expect(r.time).to.be.a('number');
      expect(r.pid).to.be.a('number');
      expect(r.hostname).to.equal(os.hostname());
      expect(r.name).to.equal('bookie');
    }
    expect(records.some((r) => r.msg === 'bookie serving' && r.level === 30 && r.bookieId === bookie.bookieId)).to.equal(true);
  });
});
