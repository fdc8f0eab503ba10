// Small tmpfs mounts for full-disk tests. Mounting needs root: elsewhere the test is skipped, loudly
// (under CI=true the tests run as root).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import type { Context } from 'mocha';
import { tempDir } from './bookie-test-utils.js';
import { skipWithout } from './skip.js';

/** A fresh tmpfs of `sizeMb` MiB; skips the test (saying which) when it cannot be mounted. */
export async function mountTmpfs(ctx: Context, prefix: string, sizeMb: number, what: string): Promise<string> {
  const dir = await tempDir(prefix);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return skipWithout(ctx, 'cannot mount a tmpfs (needs root)', what, { requiredInCi: false });
  }
}

export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes `file` until the file system is full (a short write, then ENOSPC), then gives back
 * `leftBytes`: a disk over any usage threshold, with room for small files (locks, cookies) or none.
 */
export function fillDisk(file: string, leftBytes = 0): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 << 10);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  if (leftBytes > 0) truncateSync(file, Math.max(0, statSync(file).size - leftBytes));
}
