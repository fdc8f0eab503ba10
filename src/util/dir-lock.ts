// One process per data directory (metadata store, bookie): a LOCK file, created exclusively, holds
// the owner's pid. A lock whose pid is not running is stale (the owner crashed) and is taken over.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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

/** Takes the lock of `dir` (a real path) or throws the error `locked` makes. */
export function lockDir(dir: string, locked: LockedError): void {
  if (held.has(dir)) throw locked(`directory ${dir} is locked by process ${process.pid} (another copy of distributedlog in this process)`);
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      held.add(dir);
      return;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
    }
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      throw err;
    }
    const pid = Number.parseInt(content, 10);
    // Our own pid here is a leftover of an earlier process that had the same pid (containers).
    if (pid > 0 && pid !== process.pid && isRunning(pid)) {
      throw locked(`directory ${dir} is locked by process ${pid}; if that process is not distributedlog, remove ${file}`);
    }
    // Stale. Move it aside before deleting it and check that it is the file judged stale: if a
    // competing process took the stale lock over first, the moved file is its fresh lock.
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      throw err;
    }
    if (readFileSync(aside, 'utf8') !== content) {
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
