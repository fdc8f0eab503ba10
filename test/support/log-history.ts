// Writer and reader loops that note what they do in a History (history.ts), for fault tests.
import type { DLSN } from '../../src/log/format/dlsn.js';
import type { LogReader } from '../../src/log/reader/log-reader.js';
import type { LogWriter } from '../../src/log/writer/log-writer.js';
import { recordKey, type History } from './history.js';

/** Writes `w:<seq>` records one at a time until `stop()`; failures end the loop. */
export async function writeLoop(writer: LogWriter, name: string, history: History, txid: { next: bigint }, stop: () => boolean): Promise<unknown> {
  for (let seq = 0; !stop(); seq++) {
    const key = recordKey(name, seq);
    const id = txid.next++;
    history.attempted(key, id);
    let dlsn: DLSN;
    try {
      dlsn = await writer.asyncWrite({ txid: id, payload: Buffer.from(key) });
    } catch (err) {
      return err;
    }
    history.acked(key, dlsn);
  }
  return undefined;
}

export async function drain(reader: LogReader, history: History, name: string, until: () => boolean): Promise<void> {
  while (!until()) {
    for (const r of await reader.readBulk(1000, { waitMs: 200 })) history.read(name, r.payload.toString(), r.txid, r.dlsn);
  }
}
