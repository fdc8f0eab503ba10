// A consumer whose effects happen exactly once across crashes and restarts.
//
//   node --import tsx examples/exactly-once-consumer.ts [--uri local:./example-data] [--state-dir dir]
//
// The pattern: a consumer's effects and its read position must commit TOGETHER. Here the effect is
// an output file (the list of records processed), and the file also records the DLSN of the last
// record applied; it is replaced atomically (write a temp file, rename), so after any crash the
// file holds the effects of exactly the records up to its DLSN. On restart the consumer resumes
// just after that DLSN. The log's subscriptions store (log.subscriptions()) is advanced after each
// commit too: it is where tools see the consumer's progress (lag, what is safe to truncate) and a
// fast path for consumers whose effects are idempotent. It cannot be the truth here: it is a
// second, separate write, and a crash between the two leaves it behind the output.
// The script produces 100 records, consumes half, crashes in exactly that gap, restarts, consumes
// the rest, and checks every record's effect is in the output exactly once.
import { readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DLSN, Namespace, parseMetadataUri, type DistributedLog } from 'distributedlog';

const { values } = parseArgs({ options: { uri: { type: 'string', default: 'local:./example-data' }, 'state-dir': { type: 'string' } } });
const parsed = parseMetadataUri(values.uri);
const stateDir = values['state-dir'] ?? (parsed.kind === 'local' ? path.join(parsed.dir, 'app') : './example-state');
const outputFile = path.join(stateDir, 'consumer-output.json');
const LOG = 'events';
const SUBSCRIBER = 'example-consumer';
const RECORDS = 100;
const BATCH = 10;

/** The consumer's output: its effects and the position they cover, always written as one file. */
interface Output { position: string | null; processed: number[] }
const short = (d: DLSN): string => `${d.logSegmentSequenceNo}/${d.entryId}/${d.slotId}`;

async function loadOutput(): Promise<Output> {
  // Only a missing file means "nothing applied yet"; treating any other error so would apply it all twice.
  return readFile(outputFile, 'utf8').then((t) => JSON.parse(t) as Output, (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { position: null, processed: [] };
    throw err;
  });
}

async function commitOutput(output: Output): Promise<void> {
  await writeFile(`${outputFile}.tmp`, JSON.stringify(output));
  await rename(`${outputFile}.tmp`, outputFile); // atomic: the old file or the new one, never half
}

class Crash extends Error {}

/** Consumes from where the output file left off up to `end`; `crashAt` stops it dead mid-commit. */
async function consume(log: DistributedLog, end: DLSN, crashAt?: number): Promise<void> {
  const output = await loadOutput();
  const subscriptions = log.subscriptions();
  const subscribed = await subscriptions.getCommitPosition(SUBSCRIBER); // NonInclusiveLowerBound if none
  // The output file is the truth. No output yet: NonInclusiveLowerBound, whose next() is the first record.
  const committed = output.position === null ? DLSN.NonInclusiveLowerBound : DLSN.deserialize(output.position);
  console.log(`  output file covers ${output.processed.length} records (up to ${short(committed)}); subscription at ${short(subscribed)}`);
  if (subscribed.compare(committed) < 0) {
    console.log('  the subscription is behind the output: resuming from it would apply those records twice; resuming after the output and repairing it');
    await subscriptions.advanceCommitPosition(SUBSCRIBER, committed);
  }

  const reader = await log.openReader({ from: committed.next() });
  try {
    for await (const record of reader) {
      // The effect, kept in memory until the commit makes it (and the position) durable.
      const { n } = JSON.parse(record.payload.toString('utf8')) as { n: number };
      output.processed.push(n);
      const done = record.dlsn.compare(end) >= 0;
      if (output.processed.length % BATCH !== 0 && !done) continue;
      output.position = record.dlsn.serialize();
      await commitOutput(output);
      if (output.processed.length === crashAt) throw new Crash(`crash after committing the output at record ${n}, before advancing the subscription`);
      await subscriptions.advanceCommitPosition(SUBSCRIBER, record.dlsn);
      console.log(`  committed through record ${n} at ${short(record.dlsn)}`);
      if (done) break;
    }
  } finally {
    // A real crash would not get here; in one process the reader must still be let go of.
    await reader.close();
  }
}

await rm(outputFile, { force: true });
await mkdir(stateDir, { recursive: true });
const ns = await Namespace.open(values.uri);
try {
  if (await ns.logExists(LOG)) await ns.deleteLog(LOG); // a fresh log (and subscriptions) each run
  const log = await ns.openLog(LOG, { create: true });

  const writer = await log.openWriter();
  await Promise.all(Array.from({ length: RECORDS }, (_, i) =>
    writer.asyncWrite({ txid: BigInt(i + 1), payload: Buffer.from(JSON.stringify({ n: i + 1 })) })));
  await writer.close();
  const end = await log.getLastDLSN();
  console.log(`produced ${RECORDS} records, the last at ${short(end)}`);

  console.log('consumer run 1');
  try {
    await consume(log, end, RECORDS / 2);
  } catch (err) {
    if (!(err instanceof Crash)) throw err;
    console.log(`  ${err.message}`);
  }

  console.log('consumer run 2 (restarted)');
  await consume(log, end);

  const { processed } = await loadOutput();
  const once = processed.length === RECORDS && processed.every((n, i) => n === i + 1);
  console.log(`output holds ${processed.length} effects for ${new Set(processed).size} distinct records`);
  if (!once) {
    console.error('FAILED: some record was applied twice or not at all');
    process.exitCode = 1;
  } else {
    console.log(`every record applied exactly once; subscription at ${short(await log.subscriptions().getCommitPosition(SUBSCRIBER))}`);
  }
} finally {
  await ns.close();
}
