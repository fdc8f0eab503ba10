// A writer process for the crash tests: opens the namespace, writes records txid <first>, +1, ...
// (first default 0) with payload `record-<txid>` (at most 64 unacknowledged), and prints
// `acked <txid> <dlsn>` for each acknowledgement, in order. The parent SIGKILLs it mid-stream.
// Usage: tsx log-writer-child.ts <namespace-uri> <log-name> [first-txid]
import { Namespace } from '../../src/log/namespace.js';

const [uri, logName, first] = process.argv.slice(2);
if (uri === undefined || logName === undefined) throw new Error('usage: log-writer-child <uri> <log>');

const ns = await Namespace.open(uri, { sessionTimeoutMs: 2000 });
const log = await ns.openLog(logName, { create: true });
const writer = await log.openWriter();
process.stdout.write('ready\n');
const WINDOW = 64;
let inFlight = 0;
let wake: (() => void) | undefined;
for (let txid = BigInt(first ?? 0); ; txid++) {
  while (inFlight >= WINDOW) await new Promise<void>((resolve) => { wake = resolve; });
  inFlight++;
  const id = txid;
  writer.asyncWrite({ txid: id, payload: Buffer.from(`record-${id}`) }).then(
    (dlsn) => {
      process.stdout.write(`acked ${id} ${dlsn.serialize()}\n`);
      inFlight--;
      wake?.();
    },
    (err: unknown) => {
      process.stderr.write(`write ${id} failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
