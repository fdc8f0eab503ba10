// One process per data directory (metadata store, bookie): LOCK, a symbolic link created
// exclusively whose target is the owner's pid. A short link's target lives in its inode (tmpfs,
// ext4, xfs), so taking the lock needs no free data block: a bookie can start, read-only, on a disk
// with 0 bytes free (a LOCK file holding the pid failed there with ENOSPC). A lock whose pid is not
// running is stale (the owner crashed) and is taken over. Versions before the link wrote LOCK as a
// regular file holding the pid; such a file is read the same way.
import { linkSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';

// Directories locked by this process, shared by every copy of this module that got loaded (a
// dependency deduplication miss), since a LOCK naming our own pid cannot tell them apart.
const heldKey = Symbol.for('distributedlog.locked-dirs');
const globals = globalThis as unknown as Record<symbol, Set<string> | undefined>;
const held = (globals[heldKey] ??= new Set<string>());

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds the caller's typed error from a message naming the directory and the holder. */
export type LockedError = (message: string) => Error;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** What a lock names as its holder: the link's target, or an old-format file's content; undefined once it is gone. */
export function lockHolder(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    // EINVAL: not a link, a LOCK file of an older version
    if (errno(err) !== 'EINVAL') throw err;
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Takes the lock of `dir` (a real path) or throws the error `locked` makes. */
export function lockDir(dir: string, locked: LockedError): void {
  if (held.has(dir)) throw locked(`directory ${dir} is locked by process ${process.pid} (another copy of distributedlog in this process)`);
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      symlinkSync(String(process.pid), file);
      held.add(dir);
      return;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
    }
    const holder = lockHolder(file);
    if (holder === undefined) continue;
    const pid = Number.parseInt(holder, 10);
    // Our own pid here is a leftover of an earlier process that had the same pid (containers).
    if (pid > 0 && pid !== process.pid && isRunning(pid)) {
      throw locked(`directory ${dir} is locked by process ${pid}; if that process is not distributedlog, remove ${file}`);
    }
    // Stale (an empty file too: an older version's pid write that failed). Move it aside before
    // deleting it and check that it is the lock judged stale: if a competing process took the
    // stale lock over first, the moved one is its fresh lock, and goes back (link(2) does not
    // follow a symbolic link: the link itself goes back).
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      throw err;
    }
    if (lockHolder(aside) !== holder) {
      try {
        linkSync(aside, file);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
      }
    }
    unlinkSync(aside);
  }
  throw locked(`could not take over the stale lock ${file}: other processes keep competing for it`);
}

export function unlockDir(dir: string): void {
  held.delete(dir);
  try {
    unlinkSync(join(dir, LOCK_FILE));
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}
