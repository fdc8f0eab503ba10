// One process per metadata directory: a LOCK file, created exclusively, holds the owner's pid.
// A lock whose pid is not running is stale (the owner crashed) and is taken over.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataError } from '../../errors.js';

export const LOCK_FILE = 'LOCK';

// Directories locked by this process, shared by every copy of this module that got loaded (a
// dependency deduplication miss), since a LOCK naming our own pid cannot tell them apart.
const heldKey = Symbol.for('distributedlog.local-metadata.locked-dirs');
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

function locked(dir: string, pid: number, detail: string): MetadataError {
  return new MetadataError('STORE_LOCKED', `metadata directory ${dir} is locked by process ${pid}${detail}`);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Takes the lock of `dir` (a real path) or throws STORE_LOCKED. */
export function lockDir(dir: string): void {
  if (held.has(dir)) throw locked(dir, process.pid, ' (another copy of distributedlog in this process)');
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
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
      throw locked(dir, pid, `; if that process is not a distributedlog store, remove ${file}`);
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
  throw new MetadataError('STORE_LOCKED', `could not take over the stale lock ${file}: other processes keep competing for it`);
}

export function unlockDir(dir: string): void {
  held.delete(dir);
  try {
    unlinkSync(join(dir, LOCK_FILE));
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}
