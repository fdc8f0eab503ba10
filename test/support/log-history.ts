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

export interface DrainAckedOptions {
  /** Stop reading at this time (epoch ms) even if acknowledged records are still unread. */
  readonly deadline?: number;
  /** Empty reads in a row, once every ack was read, before stopping. Default 1. */
  readonly idleReads?: number;
  /** Each read's wait for records, ms. Default 500. */
  readonly waitMs?: number;
}

export interface DrainResult {
  /** The last record read, if any. */
  readonly last: DLSN | undefined;
  /** Acknowledged records not read when the drain stopped (only at the deadline), with their DLSNs. */
  readonly unread: ReadonlyMap<string, DLSN>;
}

/**
 * Reads as `name` until every acknowledged record was read and then `idleReads` reads came back
 * empty (so what failed writers wrote without an ack after them is read and checked too), or until
 * the deadline. Not a count of reads: records written but never acknowledged (a writer that failed)
 * are read as well, so a count can reach the acks while acknowledged records are still ahead.
 */
export async function drainAcked(reader: LogReader, history: History, name: string, options: DrainAckedOptions = {}): Promise<DrainResult> {
  const { deadline = Infinity, idleReads = 1, waitMs = 500 } = options;
  const unread = new Map(history.acks().map((a) => [a.key, a.dlsn]));
  let last: DLSN | undefined;
  for (let idle = 0; Date.now() < deadline && (unread.size > 0 || idle < idleReads);) {
    const batch = await reader.readBulk(1000, { waitMs });
    for (const r of batch) {
      const key = r.payload.toString();
      history.read(name, key, r.txid, r.dlsn);
      unread.delete(key);
      last = r.dlsn;
    }
    idle = batch.length === 0 ? idle + 1 : 0;
  }
  return { last, unread };
}

/** A new reader of `log`, as `name`, reads until it has read every acknowledged record; the checker's report with it complete. */
export async function readAllBack(log: DistributedLog, history: History, name = 'r'): Promise<HistoryReport> {
  const reader = await log.openReader();
  try {
    await drainAcked(reader, history, name);
  } finally {
    await reader.close();
  }
  return history.check([name]);
}
