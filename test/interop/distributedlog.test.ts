// DistributedLog across implementations: logs our LogWriter writes are read by Java's
// AsyncLogReader and the reverse, with identical txids, payloads and DLSNs; the writer lock,
// recovery of a killed writer, truncation and subscriptions honoured both ways; a namespace bound by
// Java's DLMetadata opened by ours. Bookies: Java and ours mixed, so every segment ledger spans both.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { DLSN } from '../../src/log/format/dlsn.js';
import { LogError } from '../../src/log/log-error.js';
import { Namespace } from '../../src/log/namespace.js';
import type { LogRecordWithDLSN } from '../../src/log/reader/log-read-ahead.js';
import { BK_VERSIONS, JavaError } from './support/java.js';
import { hex, payload, startInteropCluster, type InteropCluster } from './support/interop-cluster.js';

const WRITER_CHILD = fileURLToPath(new URL('../support/log-writer-child.ts', import.meta.url));
const dlsnText = (d: DLSN): string => `${d.logSegmentSequenceNo}/${d.entryId}/${d.slotId}`;
const parseDlsn = (s: string): DLSN => {
  const [a, b, c] = s.split('/').map(BigInt) as [bigint, bigint, bigint];
  return new DLSN(a, b, c);
};

/** The harness's `txid:seq/entry/slot:hex,...[,eos]` answer. */
function parseRecords(answer: string): { records: string[]; eos: boolean } {
  const parts = answer === '' ? [] : answer.split(',');
  const eos = parts.at(-1) === 'eos';
  return { records: eos ? parts.slice(0, -1) : parts, eos };
}
const recordText = (txid: bigint, dlsn: DLSN, p: Uint8Array): string => `${txid}:${dlsnText(dlsn)}:${hex(p)}`;

async function readAll(ns: Namespace, logName: string, options: { from?: DLSN; fromTxId?: bigint }, count: number): Promise<LogRecordWithDLSN[]> {
  const reader = await (await ns.openLog(logName)).openReader(options);
  const out: LogRecordWithDLSN[] = [];
  try {
    while (out.length < count) out.push(await reader.readNext());
  } finally {
    await reader.close();
  }
  return out;
}

for (const { version } of BK_VERSIONS) {
  describe(`interop: DistributedLog ${version} and ours on one namespace`, function () {
    this.timeout(240_000);
    let c = undefined as unknown as InteropCluster;
    let ns = undefined as unknown as Namespace;
    let nsUri: string;

    before(async function () {
      c = await startInteropCluster(this, 'dl', { version, bookies: ['java', 'java-db', 'ours', 'ours'] });
      nsUri = `distributedlog://${c.zk}/messaging-${process.pid}-${Date.now()}/ns`;
      // bound the way `dlog admin bind` does it, by DL's own DLMetadata
      await c.java.call('dlbind', nsUri, c.zk, c.root);
      await c.java.call('dlns', nsUri, 'compressionType=lz4');
      ns = await Namespace.open(nsUri, { config: { maxSegmentBytes: 4096, rollingIntervalMs: 0, flushIntervalMs: 1 } });
    });
    after(async () => {
      await (ns as Namespace | undefined)?.close();
      await (c as InteropCluster | undefined)?.close();
    });

    for (const compression of ['none', 'lz4'] as const) {
      it(`Java's AsyncLogReader reads our log (${compression}, rolled, end of stream) with identical txids, payloads, DLSNs`, async () => {
        const name = `ours-${compression}`;
        const log = await ns.openLog(name, { create: true });
        const writer = await log.openWriter({ compression });
        const written: string[] = [];
        for (let i = 0; i < 60; i++) {
          const txid = BigInt(1000 + i * 3);
          const p = payload(name, i, 200 + (i % 7) * 30);
          written.push(recordText(txid, await writer.asyncWrite({ txid, payload: p }), p));
        }
        await writer.markEndOfStream();
        await writer.close();
        expect((await log.getLogSegments()).length).to.be.greaterThan(2);
        const all = parseRecords(await c.java.call('dlread', name, '1/0/0', 1000));
        expect(all.records).to.deep.equal(written);
        expect(all.eos).to.equal(true);
        const fromTx = parseRecords(await c.java.call('dlread', name, 'txid:1090', 1000));
        expect(fromTx.records).to.deep.equal(written.slice(30));
        const segs = (await c.java.call('dlsegments', name)).split(',');
        expect(segs.map((s) => s.split('/')[4])).to.satisfy((states: string[]) => states.every((st) => st === 'closed'));
        await log.close();
      });
    }

    it("our LogReader reads Java's AsyncLogWriter log (LZ4, rolled, end of stream) the same way", async () => {
      const name = 'java-written';
      const batch = Array.from({ length: 50 }, (_, i) => `${500 + i}:${hex(payload(name, i, 180))}`);
      // segments from reopening the writer: Java's size-based roll measures the record set being
      // built, which stays empty when every write is transmitted at once (outputBufferSize 0)
      const dlsns: string[] = [];
      const parts = [batch.slice(0, 20), batch.slice(20, 35), batch.slice(35)];
      for (const [k, part] of parts.entries()) {
        await c.java.call('dlopenwriter', name);
        dlsns.push(...(await c.java.call('dlwrite', name, part.join(','))).split(','));
        if (k < parts.length - 1) await c.java.call('dlclosewriter', name);
      }
      await c.java.call('dleos', name);
      await c.java.call('dlclosewriter', name);
      const expected = batch.map((b, i) => {
        const [txid, h] = b.split(':') as [string, string];
        return `${txid}:${dlsns[i]}:${h}`;
      });
      const log = await ns.openLog(name);
      expect((await log.getLogSegments()).length).to.be.greaterThan(2);
      const reader = await log.openReader({ from: DLSN.InitialDLSN });
      const got: string[] = [];
      for (;;) {
        const rec = await reader.readNext().catch((e: unknown) => e);
        if (rec instanceof LogError && rec.code === 'END_OF_STREAM') break;
        if (rec instanceof Error) throw rec;
        const r = rec as LogRecordWithDLSN;
        got.push(recordText(r.txid, r.dlsn, r.payload));
      }
      await reader.close();
      expect(got).to.deep.equal(expected);
      const fromTx = await readAll(ns, name, { fromTxId: 520n }, 30);
      expect(fromTx.map((r) => recordText(r.txid, r.dlsn, r.payload))).to.deep.equal(expected.slice(20));
      await log.close();
    });

    it('the writer lock holds across implementations, both ways', async () => {
      const name = 'contended';
      await c.java.call('dlopenwriter', name);
      const log = await ns.openLog(name, { create: true });
      const err = await log.openWriter({ lockTimeoutMs: 0 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LogError).with.property('code', 'LOCK_HELD');
      await c.java.call('dlwrite', name, `1:${hex(Buffer.from('java first'))}`);
      await c.java.call('dlclosewriter', name);
      const ours = await log.openWriter({ lockTimeoutMs: 0 });
      await ours.asyncWrite({ txid: 2n, payload: Buffer.from('ours second') });
      // Java's writer either fails (lock held) or is still waiting when its 3 s run out
      const javaErr = await c.java.call('dlopenwriter', name, 3000).then(() => null, (e: unknown) => e);
      expect(javaErr).to.be.instanceOf(JavaError);
      expect((javaErr as JavaError).javaClass).to.be.oneOf(['OwnershipAcquireFailedException', 'LockingException', 'TimeoutException']);
      await ours.close();
      const recs = parseRecords(await c.java.call('dlread', name, '1/0/0', 2)).records.map((r) => Buffer.from(r.split(':')[2]!, 'hex').toString());
      expect(recs).to.deep.equal(['java first', 'ours second']);
      await log.close();
    });

    it("a Java writer recovers our SIGKILLed writer's segment and continues; our tailing reader follows", async () => {
      const name = 'killed';
      const child = spawn(process.execPath, ['--import', 'tsx', WRITER_CHILD, nsUri, name], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acked: { txid: bigint; dlsn: string }[] = [];
      const lines = createInterface({ input: child.stdout });
      let ready!: () => void;
      const started = new Promise<void>((r) => { ready = r; });
      let enough!: () => void;
      const hundred = new Promise<void>((r) => { enough = r; });
      lines.on('line', (line) => {
        if (line === 'ready') ready();
        const m = /^acked (\d+) (\S+)$/.exec(line);
        if (m) acked.push({ txid: BigInt(m[1]!), dlsn: m[2]! });
        if (acked.length >= 100) enough();
      });
      await started;
      const log = await ns.openLog(name);
      const reader = await log.openReader({ from: DLSN.InitialDLSN });
      await hundred;
      child.kill('SIGKILL');
      await once(child, 'exit');
      lines.close();
      // the Java writer fences our ledger, closes the segment at its last recoverable entry, continues;
      // the dead writer's lock node goes when ZooKeeper expires its session
      const deadline = Date.now() + 60_000;
      for (;;) {
        const err = await c.java.call('dlopenwriter', name).then(() => null, (e: unknown) => e);
        if (err === null) break;
        if (!(err instanceof JavaError && err.javaClass === 'OwnershipAcquireFailedException' && Date.now() < deadline)) throw err as Error;
        await new Promise((r) => setTimeout(r, 200));
      }
      const lastAcked = acked.at(-1)!.txid;
      const javaDlsn = parseDlsn((await c.java.call('dlwrite', name, `${lastAcked + 100000n}:${hex(Buffer.from('java after'))}`)));
      await c.java.call('dlclosewriter', name);
      const got: LogRecordWithDLSN[] = [];
      for (;;) {
        const r = await reader.readNext();
        got.push(r);
        if (r.txid === lastAcked + 100000n) break;
      }
      await reader.close();
      // every acknowledged record is there, in order, each once, then the Java record in a later segment
      const ours = got.slice(0, -1);
      expect(ours.length).to.be.at.least(acked.length);
      expect(ours.map((r) => r.txid)).to.deep.equal(ours.map((_, i) => BigInt(i)));
      expect(ours.map((r) => r.payload.toString())).to.deep.equal(ours.map((_, i) => `record-${i}`));
      expect(got.at(-1)!.payload.toString()).to.equal('java after');
      expect(got.at(-1)!.dlsn.equals(javaDlsn)).to.equal(true);
      expect(javaDlsn.logSegmentSequenceNo > ours.at(-1)!.dlsn.logSegmentSequenceNo).to.equal(true);
      await log.close();
    });

    it('truncation and subscription positions written by one side are honoured by the other', async () => {
      const name = 'truncated';
      const records = Array.from({ length: 40 }, (_, i) => `${i + 1}:${hex(payload(name, i, 300))}`);
      await c.java.call('dlopenwriter', name);
      const dlsns = (await c.java.call('dlwrite', name, records.slice(0, 20).join(','))).split(',');
      await c.java.call('dlclosewriter', name);
      await c.java.call('dlopenwriter', name);
      dlsns.push(...(await c.java.call('dlwrite', name, records.slice(20).join(','))).split(','));
      // a DLSN in a later segment: Java marks the segments before it truncated
      const cut = dlsns.findIndex((d) => d.split('/')[0] !== dlsns[0]!.split('/')[0]);
      expect(cut).to.be.greaterThan(0);
      expect(await c.java.call('dltruncate', name, dlsns[cut]!)).to.equal('true');
      await c.java.call('dlclosewriter', name);
      const fromStart = await readAll(ns, name, { from: DLSN.InitialDLSN }, 1);
      const segments = await c.java.call('dlsegments', name);
      expect(dlsnText(fromStart[0]!.dlsn), `${dlsns.join(' ')} / ${segments}`).to.equal(dlsns[cut]);
      // subscriptions: Java commits, we read it back; we advance, Java reads ours
      await c.java.call('dlsubset', name, 'sub-a', dlsns[5]!);
      const log = await ns.openLog(name);
      const subs = log.subscriptions();
      expect(dlsnText(await subs.getCommitPosition('sub-a'))).to.equal(dlsns[5]);
      expect(await subs.advanceCommitPosition('sub-b', parseDlsn(dlsns[30]!))).to.equal(true);
      expect(await c.java.call('dlsubget', name, 'sub-b')).to.equal(dlsns[30]);
      // and our truncation is honoured by Java's reader
      const writer = await log.openWriter();
      const more = await writer.writeBulk(Array.from({ length: 20 }, (_, i) => ({ txid: BigInt(100 + i), payload: payload('more', i, 300) })));
      const ourCut = more.find((d) => d.logSegmentSequenceNo !== more[0]!.logSegmentSequenceNo) ?? more[0]!;
      await writer.truncate(ourCut);
      await writer.close();
      // a Java namespace opened after the truncation (Java caches segment metadata per namespace)
      await c.java.call('dlreopenns');
      const javaFirst = parseRecords(await c.java.call('dlread', name, '1/0/0', 1)).records[0]!;
      expect(javaFirst.split(':')[1]).to.equal(dlsnText(ourCut));
      await log.close();
    });

    it('a namespace bound our way (docs/getting-started.md) opens in Java', async () => {
      const uri = `distributedlog://${c.zk}/bound-by-us-${process.pid}-${Date.now()}/ns`;
      const binding = `1\nBKDL\n${JSON.stringify({ 1: { str: c.zk }, 2: { str: c.root }, 3: { tf: 1 }, 4: { tf: 0 } })}`;
      await c.store.create(new URL(uri.replace('distributedlog:', 'http:')).pathname, Buffer.from(binding), { createParents: true });
      const ours = await Namespace.open(uri);
      const log = await ours.openLog('from-node', { create: true });
      const writer = await log.openWriter();
      const written: string[] = [];
      for (let i = 0; i < 5; i++) {
        const p = payload('bound', i);
        written.push(recordText(BigInt(i + 1), await writer.asyncWrite({ txid: BigInt(i + 1), payload: p }), p));
      }
      await writer.close();
      await ours.close();
      await c.java.call('dlns', uri);
      expect(await c.java.call('dllogs')).to.equal('from-node');
      expect(parseRecords(await c.java.call('dlread', 'from-node', '1/0/0', 5)).records).to.deep.equal(written);
    });
  });
}
