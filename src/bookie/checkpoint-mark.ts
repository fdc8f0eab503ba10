// The journal position up to which the ledger storage is known to be flushed ("lastMark" in
// BookKeeper). Restart replays the journal from it. Written atomically (temp file, fsync, rename,
// directory fsync) and checksummed, so a crash leaves either the old mark or the new one.
import { crc32c } from '@node-rs/crc32';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { JOURNAL_START, type JournalPosition } from './journal.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { BookieError } from './bookie-error.js';

const FILE = 'lastMark';
const SIZE = 20;

export async function readCheckpointMark(dir: string): Promise<JournalPosition> {
  let buf: Buffer;
  try {
    buf = await readFile(path.join(dir, FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return JOURNAL_START;
    throw err;
  }
  if (buf.length !== SIZE || crc32c(buf.subarray(0, 16)) !== buf.readUInt32BE(16)) {
    throw new BookieError('BOOKIE_CORRUPT', `checkpoint mark ${path.join(dir, FILE)} is damaged; without it the journal cannot be replayed safely`);
  }
  return { fileId: Number(buf.readBigUInt64BE(0)), offset: Number(buf.readBigUInt64BE(8)) };
}

export async function writeCheckpointMark(dir: string, mark: JournalPosition): Promise<void> {
  const buf = Buffer.alloc(SIZE);
  buf.writeBigUInt64BE(BigInt(mark.fileId), 0);
  buf.writeBigUInt64BE(BigInt(mark.offset), 8);
  buf.writeUInt32BE(crc32c(buf.subarray(0, 16)), 16);
  await writeFileAtomic(dir, FILE, buf);
}
