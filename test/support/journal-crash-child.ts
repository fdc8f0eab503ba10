// Child process for journal-crash.test.ts: opens the journal in argv[2] and appends records with
// entry ids from argv[3] on, 64 in flight, printing each id once its append resolved, until the
// parent SIGKILLs it. stdout is a pipe, which Node writes synchronously on Linux, so a printed id
// was acknowledged before the kill.
import { pathToFileURL } from 'node:url';

import { Journal, type JournalOptions } from '../../src/bookie/journal.js';

/** Small files so that a run rolls several times and a kill can land anywhere, a roll included. */
export const CRASH_JOURNAL_OPTIONS: JournalOptions = { maxFileSize: 512 * 1024, preallocSize: 64 * 1024, alignment: 512 };

/** The entry bytes for an id: varying sizes, content derived from the id. */
export function crashPayload(id: bigint): Buffer {
  const n = Number(id % 100_000n);
  const buf = Buffer.alloc(100 + ((n * 7919) % 3000));
  for (let i = 0; i < buf.length; i++) buf[i] = (n * 131 + i) & 0xff;
  return buf;
}

async function main(dir: string, first: bigint): Promise<void> {
  const journal = await Journal.open(dir, CRASH_JOURNAL_OPTIONS);
  let next = first;
  const worker = async (): Promise<never> => {
    for (;;) {
      const id = next++;
      await journal.append({ type: 'addEntry', ledgerId: 1n, entryId: id, entry: crashPayload(id) });
      process.stdout.write(`${id}\n`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

// Run only as a script: the test imports this module for the helpers above.
const [, script, dir, first] = process.argv;
if (script !== undefined && import.meta.url === pathToFileURL(script).href && dir !== undefined && first !== undefined) {
  await main(dir, BigInt(first));
}
