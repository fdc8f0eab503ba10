// Writer and reader loops that note what they do in a History (history.ts), for fault tests.
import type { DistributedLog } from '../../src/log/distributed-log.js';
import type { DLSN } from '../../src/log/format/dlsn.js';
import type { LogReader } from '../../src/log/reader/log-reader.js';
import type { LogWriter } from '../../src/log/writer/log-writer.js';
import { recordKey, type History, type HistoryReport } from './history.js';

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

/** A new reader of `log`, as `name`, reads until it has as many records as were acknowledged; the checker's report with it complete. */
export async function readAllBack(log: DistributedLog, history: History, name = 'r'): Promise<HistoryReport> {
  const reader = await log.openReader();
  try {
    await drain(reader, history, name, () => history.readCount(name) >= history.ackedCount);
  } finally {
    await reader.close();
  }
  return history.check([name]);
}
