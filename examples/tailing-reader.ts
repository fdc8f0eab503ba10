// Tails a log: prints every record from a start position on, and keeps following as new records
// are written. So that there is something to follow, the example also runs a writer in the same
// process that appends a record every few milliseconds.
//
//   node --import tsx examples/tailing-reader.ts [--uri local:./example-data] [--log example]
//        [--from-txid n] [--produce 20] [--limit n]
//
// It stops once it has printed the producer's last record, or after --limit records. With
// --produce 0 and no --limit it tails (for instance a log examples/writer.ts writes) until Ctrl-C.
import { parseArgs } from 'node:util';
import { Namespace } from 'distributedlog';

const { values } = parseArgs({
  options: {
    uri: { type: 'string', default: 'local:./example-data' },
    log: { type: 'string', default: 'example' },
    'from-txid': { type: 'string' },
    produce: { type: 'string', default: '20' },
    limit: { type: 'string' },
  },
});
const produce = Number(values.produce);
const limit = values.limit === undefined ? Infinity : Number(values.limit);
if (!Number.isSafeInteger(produce) || produce < 0) throw new Error(`--produce must be an integer >= 0, got ${values.produce}`);

const ns = await Namespace.open(values.uri);
try {
  const log = await ns.openLog(values.log, { create: true });

  // The producer: one writer, txids continuing after the log's highest one.
  const writer = await log.openWriter();
  const firstTxId = writer.lastTxId + 1n;
  const lastTxId = firstTxId + BigInt(produce) - 1n;
  const producing = (async () => {
    for (let txid = firstTxId; txid <= lastTxId; txid++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await writer.asyncWrite({ txid, payload: Buffer.from(`hello #${txid} sent at ${Date.now()}`) });
    }
  })();

  // A reader starts at a DLSN (`from`, default the log's first record) or at the first record whose
  // txid is >= `fromTxId`. Once it has caught up it waits for new records: it never ends by itself
  // unless the writer marks the end of the stream.
  const fromTxId = values['from-txid'] === undefined ? undefined : BigInt(values['from-txid']);
  const reader = await log.openReader(fromTxId === undefined ? {} : { fromTxId });
  console.log(`tailing log "${log.name}" from ${fromTxId === undefined ? 'its first record' : `txid ${fromTxId}`}; producing txids ${firstTxId}..${lastTxId}`);

  // Ctrl-C closes the reader, which ends the loop below like any other close.
  process.once('SIGINT', () => void reader.close());

  // The reader is an async iterable. Each record has its position (dlsn), its txid and its payload.
  // The loop ends normally when the reader is closed (or at end of stream); other errors throw.
  let seen = 0;
  for await (const record of reader) {
    seen++;
    const text = record.payload.toString('utf8');
    const sentAt = /sent at (\d+)$/.exec(text)?.[1];
    const latency = sentAt === undefined ? '' : ` (${Date.now() - Number(sentAt)} ms after it was written)`;
    console.log(`txid ${record.txid} @ ${record.dlsn.logSegmentSequenceNo}/${record.dlsn.entryId}/${record.dlsn.slotId}: ${text}${latency}`);
    // Done? Closing the reader makes the next iteration end the loop. (A `break` would end the
    // loop too, but leaves the reader open: close it either way.)
    if (seen >= limit || (produce > 0 && record.txid === lastTxId)) await reader.close();
  }
  console.log(`reader closed after ${seen} records`);

  await producing;
  await writer.close();
} finally {
  await ns.close();
}
