// Writes a batch of records to a log and prints where they landed.
//
//   node --import tsx examples/writer.ts [--uri local:./example-data] [--log example] [--count 1000]
//
// `local:<dir>` runs the embedded deployment: a local metadata store and three bookies in worker
// threads, all kept under <dir>, so nothing else has to be running. `zk://host:port/path` talks to
// a real ZooKeeper and bookies instead; the code below is the same for both.
import { parseArgs } from 'node:util';
import { Namespace, type DLSN } from 'distributedlog';

const { values } = parseArgs({
  options: {
    uri: { type: 'string', default: 'local:./example-data' },
    log: { type: 'string', default: 'example' },
    count: { type: 'string', default: '1000' },
  },
});
const count = Number(values.count);
if (!Number.isSafeInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${values.count}`);

// A namespace is the entry point: it holds the connections (or, for local:, the embedded bookies).
const ns = await Namespace.open(values.uri);
try {
  // A handle on one log; `create: true` makes it on first use (otherwise LOG_NOT_FOUND).
  const log = await ns.openLog(values.log, { create: true });

  // Becoming the writer takes the log's ownership lock: a log has one writer at a time, and a new
  // writer fences the previous one and completes whatever it left half written.
  const writer = await log.openWriter();

  // Every record carries an application-chosen transaction id (txid) that must never decrease.
  // Continue after the highest txid already in the log, so running this example again appends.
  const firstTxId = writer.lastTxId + 1n;
  console.log(`writing ${count} records to log "${log.name}" from txid ${firstTxId}`);

  // asyncWrite resolves once a quorum of bookies has the record on disk, with the record's DLSN
  // (its position: segment, entry, slot). Issuing the writes without awaiting each one in turn
  // pipelines them: the writer batches records into entries and acknowledges them in write order.
  const started = performance.now();
  const pending: Promise<DLSN>[] = [];
  for (let i = 0; i < count; i++) {
    const txid = firstTxId + BigInt(i);
    const payload = Buffer.from(JSON.stringify({ n: i, at: new Date().toISOString() }));
    pending.push(writer.asyncWrite({ txid, payload }));
  }
  const dlsns = await Promise.all(pending);
  const ms = performance.now() - started;

  const first = dlsns[0];
  const last = dlsns.at(-1);
  if (first === undefined || last === undefined) throw new Error('no DLSNs came back');
  console.log(`first record: ${first.toString()}`);
  console.log(`last record:  ${last.toString()}`);
  console.log(`wrote ${count} records in ${ms.toFixed(0)} ms (${Math.round((count / ms) * 1000)} records/s)`);

  // A DLSN's string form is what you store to come back to a position later (DLSN.deserialize).
  console.log(`last DLSN serialized: ${last.serialize()}`);

  // close() drains what is still in flight, completes the segment and releases the lock.
  await writer.close();
  console.log(`log now holds ${await log.getLogRecordCount()} records`);
} finally {
  // Closing the namespace closes any writer or reader still open, then the connections.
  await ns.close();
}
