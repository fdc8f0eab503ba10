// The log API end to end (issue 5): writer, readers, rolling, recovery, truncation, retention and
// the namespace calls, on both deployments (ZooKeeper + bookie processes, and embedded `local:`).
import { expect } from 'chai';
import type { Context } from 'mocha';
import { InvalidArgumentError } from '../../src/errors.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import { LogError } from '../../src/log/log-error.js';
import type { DistributedLog } from '../../src/log/distributed-log.js';
import type { Namespace } from '../../src/log/namespace.js';
import { LOG_BACKENDS, startLogDeployment, type LogDeployment } from '../support/log-backends.js';
import { rejection } from '../support/rejection.js';

const payloadOf = (txid: bigint): Buffer => Buffer.from(`record-${txid}`);

/** Writes txids [from, from + count) pipelined, `window` unacknowledged at most; returns their DLSNs. */
export async function writeRange(
  writer: { asyncWrite(r: { txid: bigint; payload: Uint8Array }): Promise<DLSN> },
  from: bigint,
  count: number,
  window = 1000,
): Promise<DLSN[]> {
  const dlsns: DLSN[] = [];
  for (let start = 0; start < count; start += window) {
    const n = Math.min(window, count - start);
    const batch = Array.from({ length: n }, (_, i) => {
      const txid = from + BigInt(start + i);
      return writer.asyncWrite({ txid, payload: payloadOf(txid) });
    });
    dlsns.push(...(await Promise.all(batch)));
  }
  return dlsns;
}

/** The txids of the log's first `count` records (and of any that follow within 200 ms). */
async function readTxids(log: DistributedLog, count: number): Promise<bigint[]> {
  const reader = await log.openReader();
  try {
    const txids: bigint[] = [];
    while (txids.length < count) txids.push(...(await reader.readBulk(1000, { waitMs: 5000 })).map((r) => r.txid));
    txids.push(...(await reader.readBulk(1000, { waitMs: 200 })).map((r) => r.txid));
    return txids;
  } finally {
    await reader.close();
  }
}

async function expectLogError(promise: Promise<unknown>, code: LogError['code']): Promise<LogError> {
  const err = await rejection(promise, LogError);
  expect(err.code).to.equal(code);
  return err;
}

for (const kind of LOG_BACKENDS) {
  describe(`log API on ${kind}`, function () {
    this.timeout(120_000);
    let deployment: LogDeployment;
    let ns: Namespace;
    let n = 0;
    const fresh = async (create = true): Promise<DistributedLog> => ns.openLog(`log-${n++}`, { create });

    before(async function (this: Context) {
      deployment = await startLogDeployment(this, kind, 'log-api');
      ns = await deployment.open();
    });

    after(async () => {
      await deployment.close();
    });

    it('writes 100k records through size-triggered rolls and reads each once, in order, with its DLSN', async () => {
      const log = await fresh();
      const writer = await log.openWriter({ maxSegmentBytes: 512 * 1024 });
      const dlsns = await writeRange(writer, 0n, 100_000);
      await writer.close();
      const segments = await log.getLogSegments();
      expect(segments.length).to.be.greaterThan(3);
      expect(segments.every((s) => !s.inProgress)).to.equal(true);
      expect(segments.reduce((sum, s) => sum + s.recordCount, 0)).to.equal(100_000);

      const reader = await log.openReader();
      let i = 0;
      while (i < 100_000) {
        for (const rec of await reader.readBulk(1000, { waitMs: 1000 })) {
          expect(rec.txid).to.equal(BigInt(i));
          expect(rec.dlsn.compare(dlsns[i] as DLSN)).to.equal(0, `record ${i}`);
          expect(rec.sequenceId).to.equal(BigInt(i));
          expect(rec.payload.equals(payloadOf(BigInt(i)))).to.equal(true);
          i++;
        }
      }
      expect(await reader.readBulk(10, { waitMs: 200 })).to.deep.equal([]);
      await reader.close();
      expect(await log.getLogRecordCount()).to.equal(100_000);
      expect(await log.getLastTxId()).to.equal(99_999n);
      expect((await log.getLastDLSN()).compare(dlsns[99_999] as DLSN)).to.equal(0);
      expect((await log.getFirstDLSN()).compare(DLSN.InitialDLSN)).to.equal(0);
    });

    it('a tailing reader gets each record soon after its ack; a reader opened at the end sees only new records', async () => {
      const log = await fresh();
      const writer = await log.openWriter();
      await writeRange(writer, 0n, 10);
      // an acknowledged record is visible to new readers once the LAC covers it: flush waits for that
      await writer.flush();
      const atEnd = await log.openReader({ from: (await log.getLastDLSN()).next() });
      const fromStart = await log.openReader();
      const latencies: number[] = [];
      for (let txid = 10n; txid < 60n; txid++) {
        const dlsn = await writer.asyncWrite({ txid, payload: payloadOf(txid) });
        const acked = performance.now();
        const rec = await atEnd.readNext();
        latencies.push(performance.now() - acked);
        expect(rec.txid).to.equal(txid);
        expect(rec.dlsn.compare(dlsn)).to.equal(0);
      }
      latencies.sort((a, b) => a - b);
      // promptness, not a benchmark: the LAC must advance without waiting for more writes
      expect(latencies[Math.floor(latencies.length / 2)]).to.be.lessThan(500);
      const all = await fromStart.readBulk(100, { waitMs: 500 });
      expect(all[0]?.txid).to.equal(0n);
      await writer.close();
      await atEnd.close();
      await fromStart.close();
    });

    it('positions a reader by txid at the first record with txid >= the target, across segments', async () => {
      const log = await fresh();
      const writer = await log.openWriter({ maxSegmentBytes: 4096 });
      for (let i = 0n; i < 400n; i++) await writer.asyncWrite({ txid: i * 10n, payload: payloadOf(i * 10n) });
      await writer.close();
      expect((await log.getLogSegments()).length).to.be.greaterThan(2);
      for (const [target, first] of [[0n, 0n], [15n, 20n], [2000n, 2000n], [3991n, undefined]] as const) {
        const reader = await log.openReader({ fromTxId: target });
        const got = await reader.readBulk(1, { waitMs: first === undefined ? 200 : 5000 });
        expect(got[0]?.txid).to.equal(first, `from txid ${target}`);
        await reader.close();
      }
    });

    it('rolls by time as well as by size, and reads LZ4-compressed entries back', async () => {
      const log = await fresh();
      const writer = await log.openWriter({ rollingIntervalMs: 150, compression: 'lz4' });
      await writeRange(writer, 0n, 50);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await writeRange(writer, 50n, 50);
      await writer.close();
      const segments = await log.getLogSegments();
      expect(segments.map((s) => s.recordCount)).to.deep.equal([50, 50]);
      const reader = await log.openReader();
      const records = await reader.readBulk(1000, { waitMs: 5000 });
      records.push(...(await reader.readBulk(1000, { waitMs: 1000 })));
      expect(records.map((r) => r.payload.toString())).to.deep.equal(Array.from({ length: 100 }, (_, i) => `record-${i}`));
      await reader.close();
    });

    it('a reader by txid on a log without such records yet skips lower txids written later', async () => {
      const log = await fresh();
      const reader = await log.openReader({ fromTxId: 50n });
      const writer = await log.openWriter();
      await writer.writeBulk([10n, 20n, 50n, 60n].map((txid) => ({ txid, payload: payloadOf(txid) })));
      expect((await reader.readNext()).txid).to.equal(50n);
      expect((await reader.readNext()).txid).to.equal(60n);
      expect(reader.stats().recordsRead).to.equal(2);
      await reader.close();
      await writer.close();
    });

    it('writeBulk checks every record before sending any; counters add up', async () => {
      const log = await fresh();
      const writer = await log.openWriter();
      const bad = [{ txid: 1n, payload: payloadOf(1n) }, { txid: 0n, payload: payloadOf(0n) }];
      const err = await expectLogError(writer.writeBulk(bad), 'TRANSACTION_ID_OUT_OF_ORDER');
      expect(err.message).to.match(/^record 1: /);
      await writer.asyncWrite({ txid: 0n, payload: payloadOf(0n) });
      // one bulk, one entry: slots 0, 1, 2 of the entry after the first write's
      const dlsns = await writer.writeBulk([1n, 2n, 3n].map((txid) => ({ txid, payload: payloadOf(txid) })));
      expect(dlsns.map((d) => [d.entryId, d.slotId])).to.deep.equal([[1n, 0n], [1n, 1n], [1n, 2n]]);
      expect(writer.stats()).to.include({ recordsWritten: 4, lastTxId: 3n });
      await writer.close();
      expect(await readTxids(log, 4)).to.deep.equal([0n, 1n, 2n, 3n]);
    });

    it('back-pressure: a write waiting past pendingTimeoutMs fails alone; the writer stays usable', async () => {
      const log = await fresh();
      const writer = await log.openWriter({ maxPendingBytes: 1_044_480, pendingTimeoutMs: 1 });
      const payload = Buffer.alloc(100_000, 7);
      const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => writer.asyncWrite({ txid: BigInt(i), payload })));
      const limited = results.filter((r) => r.status === 'rejected');
      // what fits under the limit is admitted at once; a timed-out write fails with every write
      // behind it, so the acknowledged writes are a prefix and the failed ones the rest
      const acked = results.findIndex((r) => r.status === 'rejected');
      expect(acked, 'writes admitted at once').to.be.at.least(Math.floor(1_044_480 / (100_000 + 20)));
      expect(limited.length).to.equal(60 - acked);
      for (const r of limited) expect((r.reason as LogError).code).to.equal('WRITE_LIMIT_EXCEEDED');
      const dlsn = await writer.asyncWrite({ txid: 100n, payload: Buffer.from('after') });
      await writer.close();
      expect((await log.getLastDLSN()).compare(dlsn)).to.equal(0);
    });

    it('end of stream ends iteration, rejects readNext and refuses later writes by any writer', async () => {
      const log = await fresh();
      const writer = await log.openWriter();
      await writeRange(writer, 1n, 5);
      const eos = await writer.markEndOfStream();
      expect(eos.logSegmentSequenceNo).to.equal(1n);
      await expectLogError(writer.asyncWrite({ txid: 6n, payload: Buffer.from('x') }), 'END_OF_STREAM');
      await writer.close();
      const reader = await log.openReader();
      const seen: bigint[] = [];
      for await (const rec of reader) seen.push(rec.txid);
      expect(seen).to.deep.equal([1n, 2n, 3n, 4n, 5n]);
      const again = await log.openReader();
      await again.readBulk(5, { waitMs: 1000 });
      await expectLogError(again.readNext(), 'END_OF_STREAM');
      await again.close();
      const next = await log.openWriter();
      await expectLogError(next.asyncWrite({ txid: 7n, payload: Buffer.from('x') }), 'END_OF_STREAM');
      await next.close();
    });

    it('rejects bad input before sending anything', async () => {
      const log = await fresh();
      const writer = await log.openWriter();
      await expectLogError(writer.asyncWrite({ txid: 1n, payload: Buffer.alloc(1_040_384) }), 'RECORD_TOO_LARGE');
      await writer.asyncWrite({ txid: 5n, payload: Buffer.from('five') });
      await expectLogError(writer.asyncWrite({ txid: 4n, payload: Buffer.from('four') }), 'TRANSACTION_ID_OUT_OF_ORDER');
      await expectLogError(writer.asyncWrite({ txid: -1n, payload: Buffer.from('x') }), 'TRANSACTION_ID_OUT_OF_ORDER');
      await rejection(writer.asyncWrite({ txid: 6, payload: Buffer.from('x') } as never), InvalidArgumentError);
      // the writer is still usable after refused records
      await writer.asyncWrite({ txid: 5n, payload: Buffer.from('five again') });
      await writer.close();
      expect(await log.getLogRecordCount()).to.equal(2);
      for (const bad of ['', 'a//b', 'a/../b', '<default>', 'with space']) {
        await rejection(ns.createLog(bad), InvalidArgumentError);
      }
      await expectLogError(ns.openLog('no-such-log'), 'LOG_NOT_FOUND');
      await rejection(log.openWriter({ maxEntryBytes: 0 }), InvalidArgumentError);
    });

    it('allows one writer: a second fails fast with LOCK_HELD, or waits and takes over after close', async () => {
      const log = await fresh();
      const first = await log.openWriter();
      await first.asyncWrite({ txid: 1n, payload: Buffer.from('a') });
      const err = await expectLogError(log.openWriter(), 'LOCK_HELD');
      expect(err.message).to.match(/held by/);
      expect(err.retriable).to.equal(true);
      await expectLogError(ns.deleteLog(log.name), 'LOCK_HELD');
      const waiting = log.openWriter({ lockTimeoutMs: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await first.close();
      const second = await waiting;
      await second.asyncWrite({ txid: 2n, payload: Buffer.from('b') });
      await second.close();
      expect(await readTxids(log, 2)).to.deep.equal([1n, 2n]);
    });

    it('recovers an aborted writer\'s in-progress segment: every acknowledged record once', async () => {
      const log = await fresh();
      const a = await log.openWriter();
      const acked = await writeRange(a, 0n, 500, 50);
      await a.abort();
      expect((await log.getLogSegments()).at(-1)?.inProgress).to.equal(true);
      const b = await log.openWriter();
      const segments = await log.getLogSegments();
      expect(segments.every((s) => !s.inProgress)).to.equal(true);
      expect(segments[0]?.recordCount).to.equal(500);
      await writeRange(b, 500n, 10);
      await b.close();
      expect(await readTxids(log, 510)).to.deep.equal(Array.from({ length: 510 }, (_, i) => BigInt(i)));
      expect(acked).to.have.length(500);
    });

    it('truncate hides records before the DLSN; retention deletes truncated segments\' ledgers; deleteLog removes the rest', async () => {
      const log = await fresh();
      const writer = await log.openWriter({ maxSegmentBytes: 2048, retentionMs: 1, explicitTruncation: true });
      const dlsns = await writeRange(writer, 0n, 300, 10);
      const before = await log.getLogSegments();
      expect(before.length).to.be.greaterThan(4);
      const cut = dlsns[150] as DLSN;
      await writer.truncate(cut);
      const reader = await log.openReader();
      const first = await reader.readNext();
      expect(first.dlsn.compare(cut)).to.equal(0);
      await reader.close();
      expect((await log.getFirstDLSN()).compare(cut)).to.equal(0);

      // the next roll purges the truncated segments (ledger first, then the znode)
      await writeRange(writer, 300n, 100, 10);
      await writer.close();
      const after = await log.getLogSegments();
      expect(after[0]?.logSegmentSequenceNo).to.equal(cut.logSegmentSequenceNo);
      const purged = before.filter((s) => s.logSegmentSequenceNo < cut.logSegmentSequenceNo);
      expect(purged.length).to.be.greaterThan(0);
      for (const s of purged) await expectNoLedger(ns.getLedgerMetadata(s.logSegmentId));
      const remaining = after.map((s) => s.logSegmentId);
      await ns.deleteLog(log.name);
      expect(await ns.logExists(log.name)).to.equal(false);
      for (const id of remaining) await expectNoLedger(ns.getLedgerMetadata(id));
    });

    it('a writer opening on a log that no longer rolls purges its truncated segments', async () => {
      const log = await fresh();
      const first = await log.openWriter({ maxSegmentBytes: 2048 });
      const dlsns = await writeRange(first, 0n, 300, 10);
      await first.truncate(dlsns[200] as DLSN);
      await first.close();
      const truncated = (await log.getLogSegments()).filter((s) => s.isTruncated);
      expect(truncated.length).to.be.greaterThan(0);
      const second = await log.openWriter({ retentionMs: 1 });
      await second.close();
      const left = await log.getLogSegments();
      expect(left.some((s) => s.isTruncated)).to.equal(false);
      for (const s of truncated) await expectNoLedger(ns.getLedgerMetadata(s.logSegmentId));
    });

    it('subscriptions keep a committed position per subscriber that only moves forward', async () => {
      const log = await fresh();
      const subs = log.subscriptions();
      expect((await subs.getCommitPosition('s1')).compare(DLSN.NonInclusiveLowerBound)).to.equal(0);
      expect(await subs.advanceCommitPosition('s1', new DLSN(2n, 5n, 0n))).to.equal(true);
      expect(await subs.advanceCommitPosition('s1', new DLSN(1n, 9n, 0n))).to.equal(false);
      expect((await subs.getCommitPosition('s1')).compare(new DLSN(2n, 5n, 0n))).to.equal(0);
      expect(await subs.delete('s1')).to.equal(true);
    });

    it('answers position and size questions on a log with an in-progress segment', async () => {
      const log = await fresh();
      await expectLogError(log.getLastDLSN(), 'LOG_EMPTY');
      const writer = await log.openWriter();
      const dlsns = await writeRange(writer, 100n, 7);
      await writer.flush();
      expect((await log.getLastDLSN()).compare(dlsns[6] as DLSN)).to.equal(0);
      expect(await log.getLastTxId()).to.equal(106n);
      expect(await log.getLogRecordCount()).to.equal(7);
      expect(await ns.getLogs()).to.include(log.name);
      await writer.close();
    });

    it('a log with 1,000 segments opens, lists and reads quickly', async function (this: Context) {
      this.timeout(180_000);
      const log = await fresh();
      // every record rolls: each write finds the segment full
      const writer = await log.openWriter({ maxSegmentBytes: 1 });
      for (let i = 0n; i < 1000n; i++) await writer.asyncWrite({ txid: i, payload: payloadOf(i) });
      await writer.close();
      let started = performance.now();
      const reopened = await ns.openLog(log.name);
      const segments = await reopened.getLogSegments();
      const listMs = performance.now() - started;
      expect(segments).to.have.length(1000);
      expect(listMs).to.be.lessThan(5000);
      started = performance.now();
      const again = await reopened.openWriter();
      await again.close();
      expect(performance.now() - started).to.be.lessThan(5000);
      expect(await readTxids(reopened, 1000)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => BigInt(i)));
    });

    it('fans out: 100 tailing readers of one log each get every record, without listener warnings', async () => {
      const log = await fresh();
      const warnings: Error[] = [];
      const onWarning = (w: Error): void => { warnings.push(w); };
      process.on('warning', onWarning);
      try {
        const readers = await Promise.all(Array.from({ length: 100 }, () => log.openReader()));
        const received = readers.map(async (r) => {
          const txids: bigint[] = [];
          while (txids.length < 500) txids.push(...(await r.readBulk(1000, { waitMs: 10_000 })).map((rec) => rec.txid));
          await r.close();
          return txids;
        });
        const writer = await log.openWriter();
        await writeRange(writer, 0n, 500, 50);
        const expected = Array.from({ length: 500 }, (_, i) => BigInt(i));
        for (const txids of await Promise.all(received)) expect(txids).to.deep.equal(expected);
        await writer.close();
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.map((w) => w.message)).to.deep.equal([]);
    });

    it('lists 1,000 logs in one namespace', async function (this: Context) {
      this.timeout(180_000);
      const names = Array.from({ length: 1000 }, (_, i) => `many/l${String(i).padStart(4, '0')}`);
      for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((name) => ns.createLog(name)));
      const started = performance.now();
      const listed = await ns.getLogs('many');
      expect(performance.now() - started).to.be.lessThan(5000);
      expect(listed.sort()).to.deep.equal(names);
    });
  });
}

async function expectNoLedger(promise: Promise<unknown>): Promise<void> {
  const err = await rejection(promise, LedgerClientError);
  expect(err.code).to.equal('NO_SUCH_LEDGER');
}
