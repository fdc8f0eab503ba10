// A start-up write that meets a full disk becomes BOOKIE_DISK_FULL naming the directory, what
// needed room and how much, never a bare ENOSPC (however deep in the error's causes it sits).
import { BookieError } from './bookie-error.js';

/** File systems allocate whole blocks: a small file (a stamp, a cookie) needs one. */
export const BLOCK_BYTES = 4096;

function isNoSpace(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return true;
  }
  return false;
}

/** Runs `write`; ENOSPC rejects with BOOKIE_DISK_FULL saying that `what` needs `bytes` in `dir`. */
export async function needingRoom<T>(dir: string, what: string, bytes: number, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isNoSpace(err)) throw err;
    throw new BookieError('BOOKIE_DISK_FULL', `${dir} has no room for ${what} (${bytes} bytes): free at least ${bytes} bytes there and start again`, { cause: err });
  }
}
