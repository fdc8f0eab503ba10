// The directory lock (src/util/dir-lock.ts): a LOCK link naming the holder's pid, read the same way
// as an older version's LOCK file; refused while the holder runs, taken over once it is gone, and
// taken on a disk with 0 bytes free (where a LOCK file's pid write fails with ENOSPC).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { LOCK_FILE, lockDir, lockHolder, unlockDir } from '../../src/util/dir-lock.js';
import { removeDir, tempDir } from '../support/bookie-test-utils.js';
import { thrown } from '../support/thrown.js';
import { fillDisk, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';

class LockedError extends Error {}
const locked = (message: string): Error => new LockedError(message);

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

describe('directory lock', () => {
  let dir: string | undefined;
  let mountPoint: string | undefined;
  beforeEach(async () => { dir = await tempDir('dir-lock'); });
  afterEach(async () => {
    if (dir !== undefined) unlockDir(dir);
    await removeDir(dir);
    if (mountPoint !== undefined) {
      unmountTmpfs(mountPoint);
      mountPoint = undefined;
    }
  });

  it('is a link naming this process; a second take in this process is refused; unlock removes it', () => {
    lockDir(dir!, locked);
    const file = join(dir!, LOCK_FILE);
    expect(lstatSync(file).isSymbolicLink()).to.equal(true);
    expect(lockHolder(file)).to.equal(String(process.pid));
    expect(thrown(() => { lockDir(dir!, locked); })).to.be.instanceOf(LockedError).and.have.property('message').that.includes(`process ${process.pid}`);
    unlockDir(dir!);
    expect(existsSync(file)).to.equal(false);
    lockDir(dir!, locked);
    expect(lockHolder(file)).to.equal(String(process.pid));
  });

  for (const form of ['link', 'file of an older version'] as const) {
    it(`refuses a lock held by a running process (${form})`, () => {
      const file = join(dir!, LOCK_FILE);
      // pid 1 always runs
      if (form === 'link') symlinkSync('1', file);
      else writeFileSync(file, '1\n');
      const err = thrown(() => { lockDir(dir!, locked); });
      expect(err).to.be.instanceOf(LockedError);
      expect((err as Error).message).to.include(dir!).and.include('process 1;');
      expect(lockHolder(file)?.trim()).to.equal('1');
    });

    it(`takes over a stale lock (${form} naming a process that has exited)`, () => {
      const file = join(dir!, LOCK_FILE);
      const pid = String(deadPid());
      if (form === 'link') symlinkSync(pid, file);
      else writeFileSync(file, `${pid}\n`);
      lockDir(dir!, locked);
      expect(lockHolder(file)).to.equal(String(process.pid));
      expect(lstatSync(file).isSymbolicLink()).to.equal(true);
    });
  }

  it('takes over an empty LOCK file (an older version whose pid write failed on a full disk)', () => {
    const file = join(dir!, LOCK_FILE);
    writeFileSync(file, '');
    lockDir(dir!, locked);
    expect(lockHolder(file)).to.equal(String(process.pid));
  });

  it('is taken on a disk with 0 bytes free (tmpfs)', async function (this: Context) {
    mountPoint = await mountTmpfs(this, 'dir-lock-full', 1, 'the full-disk lock test is');
    const sub = join(mountPoint, 'data');
    mkdirSync(sub);
    fillDisk(join(mountPoint, 'filler'));
    expect(statfsSync(mountPoint).bfree, 'no block free').to.equal(0);
    lockDir(sub, locked);
    expect(lockHolder(join(sub, LOCK_FILE))).to.equal(String(process.pid));
    unlockDir(sub);
    expect(existsSync(join(sub, LOCK_FILE))).to.equal(false);
  });
});
