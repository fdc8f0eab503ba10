import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const CLI = ['--import', 'tsx', new URL('../../src/cli/main.ts', import.meta.url).pathname];

describe('dlog CLI', () => {
  it('prints its version', async () => {
    const { stdout } = await run(process.execPath, [...CLI, '--version']);
    expect(stdout.trim()).to.equal(version);
  });

  it('prints help', async () => {
    const { stdout } = await run(process.execPath, [...CLI, '--help']);
    expect(stdout).to.include('Usage: dlog').and.include('--version');
  });

  it('rejects an unknown option with one line and exit code 2', async () => {
    try {
      await run(process.execPath, [...CLI, '--bogus']);
    } catch (err) {
      const e = err as { code: number; stderr: string };
      expect(e.code).to.equal(2);
      expect(e.stderr).to.match(/^dlog: .*--bogus/);
      expect(e.stderr).to.not.include('    at ');
      return;
    }
    expect.fail('accepted --bogus');
  });
});
