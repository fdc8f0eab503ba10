// Durable file replacement: a crash leaves either the old content or the new, never a mix.
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** fsyncs a directory, so that a rename or create in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `<dir>/<name>`: temp file, fsync, rename over, directory fsync. */
export async function writeFileAtomic(dir: string, name: string, data: Uint8Array, tmpName = `${name}.tmp`): Promise<void> {
  const tmp = join(dir, tmpName);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}
