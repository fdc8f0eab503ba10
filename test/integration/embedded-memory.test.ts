// The embedded deployment's memory under sustained load (issue 12): writers that keep far more
// records outstanding than maxPendingBytes admits push a fixed amount of data (not a duration)
// through `local:` (client and three bookies in one process). The client's buffers are bounded by
// maxPendingBytes per writer and the bookies' by their capped caches, so the process's memory
// must level off, whatever the amount written. The bounds asserted are the ones documented in
// docs/operations.md (Embedded memory) with a margin; they are not timings. With --expose-gc the
// samples follow a full GC, otherwise they include garbage, which the margin covers.
import { expect } from 'chai';
import type { DLSN } from '../../src/log/format/dlsn.js';
import type { LogWriter } from '../../src/log/writer/log-writer.js';
import { logDeploymentFor, type LogDeployment } from '../support/log-backends.js';

const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;
const LOGS = 2;
const RECORDS_PER_LOG = 100_000;
const SIZE = 1024;
/** Outstanding writes per log: 48 MiB of records, six times the 8 MiB maxPendingBytes default. */
const WINDOW = 48 * 1024;
const MAX_PENDING_BYTES = 8 * MiB;
/**
 * Documented (operations.md): the client thread's live buffers stay under 4 x maxPendingBytes per
 * writer (entry buffers, their BookKeeper envelopes, frames waiting for the socket) plus 32 MiB
 * for the rest (measured 63 MiB for two writers; 131 MiB with maxPendingBytes ignored). Without
 * --expose-gc the samples include garbage: twice that.
 */
const ARRAY_BUFFERS_BOUND = (LOGS * 4 * MAX_PENDING_BYTES + 32 * MiB) * (gc === undefined ? 2 : 1);
/**
 * Documented: the whole process (three embedded bookies' capped caches and journal groups, their
 * V8 heaps, the client) grows by at most 700 MiB over its size before the load (measured 370-480
 * MiB; about 1,000 MiB with maxPendingBytes ignored).
 */
const RSS_GROWTH_BOUND = 700 * MiB;

interface Sample { readonly rss: number; readonly arrayBuffers: number }

function sample(): Sample {
  gc?.();
  const { rss, arrayBuffers } = process.memoryUsage();
  return { rss, arrayBuffers };
}

/** Writes txids 1..count keeping up to WINDOW outstanding (acks come in order: wait for the oldest). */
async function pushRecords(writer: LogWriter, payload: Buffer, count: number): Promise<void> {
  const window: Promise<DLSN>[] = new Array<Promise<DLSN>>(WINDOW);
  for (let i = 0; i < count; i++) {
    const slot = i % WINDOW;
    if (i >= WINDOW) await window[slot];
    window[slot] = writer.asyncWrite({ txid: BigInt(i + 1), payload });
  }
  await Promise.all(window);
}

describe('embedded (local:) memory under sustained writes', function () {
  this.timeout(300_000);
  let deployment: LogDeployment;

  logDeploymentFor('local', 'embedded-memory', (d) => { deployment = d; });

  it(`stays bounded while ${LOGS} writers push ${LOGS * RECORDS_PER_LOG / 1000}k records of 1 KiB, and every record reads back`, async () => {
    const ns = await deployment.open({ config: { maxPendingBytes: MAX_PENDING_BYTES } });
    const logs = await Promise.all(Array.from({ length: LOGS }, (_, i) => ns.openLog(`mem-${i}`, { create: true })));
    const writers = await Promise.all(logs.map((log) => log.openWriter()));
    // warm up the path (connections, first segments, bookie caches) before taking the baseline
    await Promise.all(writers.map((w) => w.asyncWrite({ txid: 0n, payload: Buffer.alloc(SIZE) })));
    const before = sample();
    const samples: Sample[] = [];
    const timer = setInterval(() => { samples.push(sample()); }, gc === undefined ? 100 : 500);
    const payload = Buffer.alloc(SIZE, 0x61);
    try {
      await Promise.all(writers.map((w) => pushRecords(w, payload, RECORDS_PER_LOG)));
    } finally {
      clearInterval(timer);
    }
    samples.push(sample());
    await Promise.all(writers.map((w) => w.close()));

    const peak = (key: keyof Sample): number => Math.max(...samples.map((s) => s[key]));
    const mb = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;
    const summary = `${samples.length} samples${gc === undefined ? '' : ' after gc'}: rss ${mb(before.rss)} -> peak ${mb(peak('rss'))}, arrayBuffers ${mb(before.arrayBuffers)} -> peak ${mb(peak('arrayBuffers'))}`;
    if (process.env.DLOG_TEST_VERBOSE !== undefined) console.log(summary);
    expect(samples.length, 'sampled during the load').to.be.greaterThan(5);
    expect(peak('arrayBuffers'), summary).to.be.at.most(ARRAY_BUFFERS_BOUND);
    expect(peak('rss') - before.rss, summary).to.be.at.most(RSS_GROWTH_BOUND);

    // every record is there, in order, with its bytes
    for (const log of logs) {
      const reader = await log.openReader();
      try {
        let next = 0n;
        while (next <= BigInt(RECORDS_PER_LOG)) {
          for (const r of await reader.readBulk(10_000, { waitMs: 5000 })) {
            if (r.txid !== next || r.payload.length !== SIZE) {
              expect.fail(`log ${log.name}: record ${next}: txid ${r.txid}, ${r.payload.length} bytes`);
            }
            next += 1n;
          }
        }
        expect(next).to.equal(BigInt(RECORDS_PER_LOG) + 1n);
      } finally {
        await reader.close();
      }
    }
  });
});
