// "Stopped cleanly", per ledger directory: written by a storage close after its final flush and the
// index's close, removed (durably) at open before anything is written there. Found at start, it
// says the LMDB index was left by a clean close, so the full walk of the index (index-check.ts,
// about a minute at 10M entries) is skipped; a crash, a kill or a failed close leaves none, and
// the next start walks. The cheap meta-page check runs at every start either way.
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../util/atomic-file.js';

export const CLEAN_SHUTDOWN_FILE = 'cleanShutdown';

/** Removes the mark; true if it was there (the last stop was clean). */
export async function takeCleanShutdownMark(dir: string): Promise<boolean> {
  try {
    await unlink(path.join(dir, CLEAN_SHUTDOWN_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  // gone for good before the index is opened for writing: a crash from here on must walk it
  await fsyncDir(dir);
  return true;
}

export async function writeCleanShutdownMark(dir: string): Promise<void> {
  await writeFileAtomic(dir, CLEAN_SHUTDOWN_FILE, new Uint8Array(0));
}
