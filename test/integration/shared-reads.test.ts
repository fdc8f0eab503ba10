// Many readers of one log in one client share their bookie reads and long polls (SharedEntryReads):
// against real in-process bookies and ZooKeeper, with the bookie requests counted on the way out.
import { expect } from 'chai';
import { BookiePool } from '../../src/ledger/bookie-pool.js';
import type { BookieConnections } from '../../src/ledger/bookie-transport.js';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LogMetadataStore } from '../../src/log/metadata/log-metadata-store.js';
import { LogReader, type LogRecordWithDLSN } from '../../src/log/reader/log-reader.js';
import { SegmentListRegistry } from '../../src/log/reader/segment-list-registry.js';
import { MetricsRegistry } from '../../src/util/metrics.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { LogFixture } from '../support/segment-fixture.js';
import { ids } from '../support/entry-ids.js';

/** A real pool that counts the reads and long polls sent through it. */
function countingPool(): { pool: BookieConnections; reads: () => number; polls: () => number } {
  const real = new BookiePool();
  let reads = 0;
  let polls = 0;
  const pool: BookieConnections = {
    health: real.health,
    close: () => { real.close(); },
    failBookie: (bookieId, err) => { real.failBookie(bookieId, err); },
    get: (bookieId) => {
      const client = real.get(bookieId);
      return {
        send: (request, timeoutMs) => {
          if (request.op === 'READ_ENTRY') {
            if (request.previousLAC === undefined) reads++;
            else polls++;
          }
          return client.send(request, timeoutMs);
        },
      };
    },
  };
  return { pool, reads: () => reads, polls: () => polls };
}


describe('Shared reads: many readers of one log in one client', function () {
  this.timeout(60_000);
  let cluster: BookieCluster;
  let writerLedgers: LedgerClient;
  let metadata: LogMetadataStore;
  const readers: LogReader[] = [];
  let logCount = 0;

  before(async function () {
    cluster = await startBookieCluster(this, 'sharedreads');
    writerLedgers = await cluster.client();
    metadata = new LogMetadataStore(cluster.store, `/ns-sharedreads-${process.pid}-${Date.now()}`);
  });

  afterEach(async () => {
    await Promise.all(readers.splice(0).map((r) => r.close()));
  });

  after(async () => {
    await cluster.close();
  });

  const readAll = async (reader: LogReader, n: number): Promise<LogRecordWithDLSN[]> => {
    const out: LogRecordWithDLSN[] = [];
    while (out.length < n) out.push(...await reader.readBulk(n - out.length, { waitMs: 1000 }));
    return out;
  };

  it('40 tailing readers each get every record once, in order, across rolls, with about one bookie request per entry between them', async () => {
    const counted = countingPool();
    const metrics = new MetricsRegistry('dlog_client_');
    const ledgers = await cluster.client({ connections: counted.pool, metrics });
    const log = await LogFixture.create(metadata, writerLedgers, `log-${++logCount}`);
    await log.startSegment(0n);
    await log.write(ids(1, 0));
    const registry = new SegmentListRegistry(metadata);
    for (let i = 0; i < 40; i++) readers.push(await LogReader.open({ logName: log.name, metadata, ledgers, segmentLists: registry }, {}, { longPollTimeoutMs: 500 }));
    const reading = readers.map((reader) => readAll(reader, 1 + 3 * 100));
    // three segments of 100 records, written 10 at a time while the readers tail
    for (let round = 0; round < 3; round++) {
      if (round > 0) await log.startSegment(BigInt(1 + round * 100));
      for (let k = 0; k < 10; k++) await log.write(ids(10, 1 + round * 100 + k * 10));
    }
    await log.completeSegment();
    const want = log.records;
    for (const got of await Promise.all(reading)) {
      expect(got.map((r) => r.txid)).to.deep.equal(want.map((r) => r.txid));
      got.forEach((r, i) => { expect(r.payload.equals(want[i]?.payload ?? Buffer.alloc(0)), `payload ${i}`).to.equal(true); });
    }
    // entries written: data entries plus a few control entries per segment
    const entries = new Set(want.map((r) => `${r.dlsn.logSegmentSequenceNo}:${r.dlsn.entryId}`)).size;
    const requests = counted.reads() + counted.polls();
    // each reader alone would send at least one request per entry it reads: 40 x entries in all
    expect(requests, `${counted.reads()} reads + ${counted.polls()} polls for ${entries} entries and 40 readers`).to.be.below(entries * 40 / 4);
    const text = metrics.prometheusText();
    expect(Number(/dlog_client_entry_reads_shared_total (\d+)/.exec(text)?.[1]) + Number(/dlog_client_long_polls_shared_total (\d+)/.exec(text)?.[1])).to.be.above(0);
    await Promise.all(readers.splice(0).map((r) => r.close()));
    expect(/dlog_client_shared_read_cache_bytes (\d+)/.exec(metrics.prometheusText())?.[1], 'nothing kept once the readers closed').to.equal('0');
  });

  it('readers opening one ledger at once read its metadata once', async () => {
    const ledgers = await cluster.client();
    const handle = await writerLedgers.createLedger();
    await handle.addEntry(Buffer.from('x'));
    const before = cluster.store.requestCount;
    const opened = await Promise.all(Array.from({ length: 20 }, () => ledgers.openLedger(handle.id, { recover: false })));
    expect(cluster.store.requestCount - before, 'ZooKeeper requests for 20 opens').to.be.at.most(2);
    for (const h of opened) expect(h.metadata.ensembles).to.deep.equal(handle.metadata.ensembles);
    await Promise.all([...opened, handle].map((h) => h.close()));
  });

  it('a reader that stops reading holds back no one and no more than the cache cap; it later reads everything itself', async () => {
    const counted = countingPool();
    const metrics = new MetricsRegistry('dlog_client_');
    const cap = 4096;
    const ledgers = await cluster.client({ connections: counted.pool, metrics, sharedReadCacheBytes: cap });
    const log = await LogFixture.create(metadata, writerLedgers, `log-${++logCount}`);
    await log.writeSegments([400], (i) => BigInt(i), false);
    const registry = new SegmentListRegistry(metadata);
    const open = async (): Promise<LogReader> => {
      const reader = await LogReader.open({ logName: log.name, metadata, ledgers, segmentLists: registry }, {}, { longPollTimeoutMs: 500 });
      readers.push(reader);
      return reader;
    };
    const slow = await open();
    const first = await slow.readNext(); // then it stops reading for a while
    const fast = await Promise.all(Array.from({ length: 5 }, open));
    await log.write(ids(400, 400));
    const cacheBytes = (): number => Number(/dlog_client_shared_read_cache_bytes (\d+)/.exec(metrics.prometheusText())?.[1]);
    let maxBytes = 0;
    const sampler = setInterval(() => { maxBytes = Math.max(maxBytes, cacheBytes()); }, 5);
    try {
      for (const got of await Promise.all(fast.map((r) => readAll(r, 800)))) expect(got.map((r) => r.txid)).to.deep.equal(log.records.map((r) => r.txid));
    } finally {
      clearInterval(sampler);
    }
    expect(maxBytes, 'the cache cap').to.be.at.most(cap);
    const rest = await readAll(slow, 799);
    expect([first, ...rest].map((r) => r.txid)).to.deep.equal(log.records.map((r) => r.txid));
  });
});
