// Client CPU per record of the log write path alone: LogWriter -> segment writer -> ledger writer,
// E3 W3 A2 on null bookies: a BookieConnections that acknowledges every add on the next turn of
// the event loop (setImmediate, as a socket read would), stores nothing and sends nothing; the
// metadata is the local store of the tests' fake deployment. What is left out (socket writes, the
// bookie client, the bookies' latency and CPU) is what makes the end-to-end rows noisy on a
// shared box; what is measured is the client's own work per record, e.g. for an A/B of the write
// path. Runs from the sources (tsx), so the same file measures any checkout.
//   node --import tsx bench/client-write.ts [--records 200000] [--sizes 100,1024] [--inflight 1,1000] [--runs 5]
import type { OutgoingRequest } from '../src/ledger/bookie-client.js';
import { BookieHealth } from '../src/ledger/bookie-health.js';
import type { BookieConnections } from '../src/ledger/bookie-transport.js';
import { LedgerClient } from '../src/ledger/ledger-client.js';
import { DistributedLog } from '../src/log/distributed-log.js';
import type { DLSN } from '../src/log/format/dlsn.js';
import { resolveLogConfig } from '../src/log/log-config.js';
import { LogMetadataStore } from '../src/log/metadata/log-metadata-store.js';
import type { LogWriter } from '../src/log/writer/log-writer.js';
import type { Response } from '../src/protocol/protocol-types.js';
import { noopLogger } from '../src/util/logger.js';
import { LEDGERS_ROOT, startLedgerDeployment } from '../test/support/ledger-backends.js';
import { benchArgs } from './bench-args.js';
import { fmt, percentile } from './stats.js';

const args = benchArgs({ records: 200_000, sizes: [100, 1024], inflight: [1, 1000], runs: 5 });
const RECORDS = args.records;
const RUNS = args.runs;

/** Writes txids 1..count keeping `window` outstanding; returns CPU µs and wall µs per record. */
async function run(writer: LogWriter, payload: Buffer, count: number, window: number, firstTxId: number): Promise<{ cpu: number; wall: number }> {
  const slots: Promise<DLSN>[] = new Array<Promise<DLSN>>(window);
  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const slot = i % window;
    if (i >= window) await slots[slot];
    slots[slot] = writer.asyncWrite({ txid: BigInt(firstTxId + i), payload });
  }
  await Promise.all(slots);
  const cpu = process.cpuUsage(cpuAtStart);
  return { cpu: (cpu.user + cpu.system) / count, wall: ((performance.now() - start) * 1000) / count };
}

/** Acks every ADD_ENTRY on the next turn of the event loop, all of a turn's acks at once. */
function nullBookies(): BookieConnections {
  let due: Array<() => void> = [];
  const deliver = (): void => {
    const now = due;
    due = [];
    for (const answer of now) answer();
  };
  const send = (request: OutgoingRequest): Promise<Response> => {
    if (request.op !== 'ADD_ENTRY') return Promise.reject(new Error(`null bookie: ${request.op} is not served`));
    const { ledgerId, entryId } = request;
    return new Promise((resolve) => {
      if (due.length === 0) setImmediate(deliver);
      due.push(() => { resolve({ op: 'ADD_ENTRY', txnId: 0n, ledgerId, entryId, status: 'EOK' }); });
    });
  };
  return { health: new BookieHealth(), get: () => ({ send }), close: () => undefined };
}

// the fake deployment registers three bookie ids in its local metadata store; nothing else of it is used
const d = await startLedgerDeployment('fake', 3);
const ledgers = await LedgerClient.open({ store: d.store, ledgersRoot: LEDGERS_ROOT, connections: nullBookies() });
const metadata = new LogMetadataStore(d.store, '/logs');
let logs = 0;
try {
  console.log(`client write path on null bookies: E3 W3 A2, ${fmt(RECORDS)} records per run, median of ${RUNS} runs (after one warm-up), node ${process.version}`);
  console.log('\nsize, in flight | client CPU µs/rec (min-max)   | records/s (wall)');
  for (const size of args.sizes) {
    for (const window of args.inflight) {
      const name = `log-${++logs}`;
      await metadata.createLog(name);
      const log = new DistributedLog(name, { store: d.store, metadata, ledgers, config: resolveLogConfig({}), clientId: 'bench', logger: noopLogger });
      const writer = await log.openWriter();
      const payload = Buffer.alloc(size, 0x61);
      let txid = 1;
      await run(writer, payload, Math.min(RECORDS, 20_000), window, txid);
      txid += 20_000;
      const cpu: number[] = [];
      const wall: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const m = await run(writer, payload, RECORDS, window, txid);
        txid += RECORDS;
        cpu.push(m.cpu);
        wall.push(m.wall);
      }
      await writer.close();
      cpu.sort((a, b) => a - b);
      wall.sort((a, b) => a - b);
      const label = `${size} B x ${window}`.padEnd(15);
      const range = `(${fmt(cpu[0] ?? NaN, 2)}-${fmt(cpu.at(-1) ?? NaN, 2)})`;
      console.log(`${label} | ${fmt(percentile(cpu, 50), 2).padStart(6)} ${range.padEnd(21)} | ${fmt(1e6 / percentile(wall, 50)).padStart(9)}`);
    }
  }
} finally {
  await ledgers.close();
  await d.close();
}
