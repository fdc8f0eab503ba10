// Client metrics and diagnostics_channel events: on the embedded deployment (writes, reads, rolls,
// locks) and on real bookie processes (an ensemble change after a SIGKILL, a recovery's fencing).
import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  ENSEMBLE_CHANGE_CHANNEL, FENCED_CHANNEL, LOCK_LOST_CHANNEL, MetricsRegistry, Namespace, SEGMENT_ROLL_CHANNEL,
} from '../../src/index.js';
import { LedgerClient } from '../../src/ledger/ledger-client.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { zooKeeper } from '../support/hooks.js';
import { sample } from '../support/prometheus-sample.js';
import { waitFor } from '../support/wait-for.js';

/** Collects what `channel` publishes until the returned stop() is called. */
function listen(channel: string): { events: unknown[]; stop: () => void } {
  const events: unknown[] = [];
  const onMessage = (message: unknown): void => { events.push(message); };
  diagnosticsChannel.subscribe(channel, onMessage);
  return { events, stop: () => { diagnosticsChannel.unsubscribe(channel, onMessage); } };
}

describe('client metrics and diagnostics_channel events', function () {
  this.timeout(120_000);

  it('counts writes, reads, rolls and locks on the embedded deployment, and publishes rolls', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-client-metrics-'));
    const rolls = listen(SEGMENT_ROLL_CHANNEL);
    const lost = listen(LOCK_LOST_CHANNEL);
    try {
      const ns = await Namespace.open(`local:${dir}`, { bookies: 1, config: { ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 } });
      try {
        const log = await ns.openLog('measured', { create: true });
        const writer = await log.openWriter();
        await Promise.all(Array.from({ length: 30 }, (_, i) => writer.asyncWrite({ txid: BigInt(i + 1), payload: Buffer.alloc(100, i) })));
        const mid = ns.metrics.prometheusText();
        expect(sample(mid, 'dlog_client_pending_bytes')).to.equal(0);
        await writer.close();
        const reader = await log.openReader();
        const got: number[] = [];
        while (got.length < 30) got.push(...(await reader.readBulk(100, { waitMs: 5000 })).map((r) => r.payload[0] ?? -1));
        await reader.close();
        expect(got).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));

        const page = ns.metrics.prometheusText();
        expect(sample(page, 'dlog_client_records_written_total')).to.equal(30);
        expect(sample(page, 'dlog_client_bytes_written_total')).to.equal(3000);
        expect(sample(page, 'dlog_client_write_latency_seconds_count')).to.equal(30);
        expect(sample(page, 'dlog_client_write_latency_seconds_sum')).to.be.above(0);
        expect(sample(page, 'dlog_client_records_read_total')).to.equal(30);
        expect(sample(page, 'dlog_client_bytes_read_total')).to.equal(3000);
        expect(sample(page, 'dlog_client_segment_rolls_total')).to.equal(1);
        expect(sample(page, 'dlog_client_lock_acquired_total')).to.equal(1);
        expect(sample(page, 'dlog_client_lock_lost_total')).to.equal(0);
        expect(rolls.events).to.deep.equal([{ logName: 'measured', segment: 1n, records: 30 }]);
        expect(lost.events).to.deep.equal([]);
      } finally {
        await ns.close();
      }
    } finally {
      rolls.stop();
      lost.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows read-ahead fill of open readers and times entry reads', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-client-metrics-ra-'));
    try {
      const ns = await Namespace.open(`local:${dir}`, { bookies: 1, config: { ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 } });
      try {
        const log = await ns.openLog('read-ahead', { create: true });
        const writer = await log.openWriter();
        // one write at a time: one record per entry, so entries and records count alike
        for (let i = 0; i < 40; i++) await writer.asyncWrite({ txid: BigInt(i + 1), payload: Buffer.alloc(200, i) });
        await writer.close();
        const idle = ns.metrics.prometheusText();
        expect(sample(idle, 'dlog_client_read_ahead_entries')).to.equal(0);
        expect(sample(idle, 'dlog_client_read_ahead_bytes')).to.equal(0);

        const reader = await log.openReader({ readAheadEntries: 16 });
        // the read-ahead fills its buffer without anyone reading
        await waitFor(() => reader.stats().bufferedEntries >= 16, 10_000, 'the read-ahead to fill');
        const full = ns.metrics.prometheusText();
        expect(sample(full, 'dlog_client_read_ahead_entries')).to.equal(reader.stats().bufferedEntries);
        expect(sample(full, 'dlog_client_read_ahead_bytes')).to.equal(reader.stats().bufferedBytes).and.above(16 * 200);
        expect(sample(full, 'dlog_client_entry_read_latency_seconds_count')).to.be.at.least(16);
        expect(sample(full, 'dlog_client_entry_read_latency_seconds_sum')).to.be.above(0);

        const got: number[] = [];
        while (got.length < 40) got.push(...(await reader.readBulk(100, { waitMs: 5000 })).map((r) => r.payload[0] ?? -1));
        expect(got).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
        // the 40 record entries, and the writer's closing control-record entry once the read-ahead
        // (up to three reads ahead of the consumer) got to it: each entry read timed once
        expect(sample(ns.metrics.prometheusText(), 'dlog_client_entry_read_latency_seconds_count')).to.be.within(40, 41);
        await reader.close();
        const closed = ns.metrics.prometheusText();
        expect(sample(closed, 'dlog_client_read_ahead_entries')).to.equal(0);
        expect(sample(closed, 'dlog_client_read_ahead_bytes')).to.equal(0);
      } finally {
        await ns.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on real bookie processes', () => {
    let dir: string;
    let store: ZkMetadataStore;
    let procs: BookieProcess[];
    const root = `/ledgers-cmetrics-${process.pid}-${Date.now()}`;

    before(async function () {
      const zk = await zooKeeper(this);
      dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-client-metrics-zk-'));
      procs = [];
      for (let i = 0; i < 3; i++) procs.push(await startBookieProcess({ metadata: `zk://${zk}${root}`, dir: path.join(dir, `b${i}`) }));
      store = await ZkMetadataStore.connect(zk);
    });

    after(async () => {
      await store.close();
      await killAllBookieProcesses();
      rmSync(dir, { recursive: true, force: true });
    });

    it('counts and publishes an ensemble change after a bookie is killed, and the fencing of a recovery', async () => {
      const changes = listen(ENSEMBLE_CHANGE_CHANNEL);
      const fenced = listen(FENCED_CHANNEL);
      const metrics = new MetricsRegistry('dlog_client_');
      const client = await LedgerClient.open({ store, ledgersRoot: root, metrics, requestTimeoutMs: 2000 });
      const other = await LedgerClient.open({ store, ledgersRoot: root });
      try {
        const ledger = await client.createLedger({ ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 2 });
        for (let i = 0; i < 5; i++) await ledger.addEntry(Buffer.from(`before-${i}`));
        const victim = ledger.metadata.ensembles[0]?.[1][0];
        const proc = procs.find((p) => p.bookieId === victim);
        if (proc === undefined) throw new Error(`no process for ${String(victim)}`);
        await proc.kill('SIGKILL');
        for (let i = 0; i < 5; i++) await ledger.addEntry(Buffer.from(`after-${i}`));
        expect(sample(metrics.prometheusText(), 'dlog_client_ensemble_changes_total')).to.equal(1);
        expect(changes.events).to.have.length(1);
        expect(changes.events[0]).to.deep.include({ ledgerId: ledger.id, firstEntryId: 5n });
        expect((changes.events[0] as { from: string[] }).from).to.include(victim);
        expect((changes.events[0] as { to: string[] }).to).to.not.include(victim);

        // a recovery by the metered client fences the ledger the other one writes
        const theirs = await other.createLedger({ ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 2 });
        await theirs.addEntry(Buffer.from('x'));
        const recovered = await client.openLedger(theirs.id, { recover: true });
        expect(recovered.metadata.lastEntryId).to.equal(0n);
        expect(fenced.events).to.deep.equal([{ ledgerId: theirs.id, lastEntryId: 0n }]);
        expect(sample(metrics.prometheusText(), 'dlog_client_ledger_recoveries_total')).to.equal(1);
        const reader = await client.openLedger(ledger.id, { recover: true });
        expect((await reader.readEntries(0n, 9n)).map((e) => e.payload.toString())).to.deep.equal([
          ...Array.from({ length: 5 }, (_, i) => `before-${i}`), ...Array.from({ length: 5 }, (_, i) => `after-${i}`),
        ]);
      } finally {
        changes.stop();
        fenced.stop();
        await client.close();
        await other.close();
      }
    });
  });
});
