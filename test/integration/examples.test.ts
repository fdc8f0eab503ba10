// The examples in examples/ run as a user runs them: each in its own process, on a fresh `local:`
// namespace, exiting 0 and printing its key line. They import the package by name, which resolves
// (package self-reference) to the built library: `npm run build` comes first, as in CI.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE_TIMEOUT_MS = 45_000;

interface Run { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string; readonly stderr: string }

/** Runs examples/<name>.ts with `args`; kills it after EXAMPLE_TIMEOUT_MS. */
function runExample(name: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('examples', `${name}.ts`), ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), EXAMPLE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function expectSuccess(run: Run, keyLine: RegExp): void {
  const transcript = `exit ${String(run.code)} ${String(run.signal)}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
  expect(run.code, transcript).to.equal(0);
  expect(run.stdout, transcript).to.match(keyLine);
}

describe('examples', function () {
  this.timeout(2 * EXAMPLE_TIMEOUT_MS);
  let dir: string;
  let uri: string;

  before(function () {
    if (!existsSync(path.join(REPO, 'lib', 'index.js'))) {
      throw new Error("the examples import 'distributedlog', i.e. lib/index.js: run `npm run build` first");
    }
  });

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-examples-'));
    uri = `local:${path.join(dir, 'data')}`;
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writer.ts writes records; tailing-reader.ts reads them, from a txid, and follows its own producer', async function () {
    expectSuccess(await runExample('writer', ['--uri', uri, '--count', '300']), /^wrote 300 records in \d+ ms/m);
    const second = await runExample('writer', ['--uri', uri, '--count', '5']);
    expectSuccess(second, /^writing 5 records to log "example" from txid 301$/m);
    expectSuccess(second, /^log now holds 305 records$/m);
    // no producer: txids 299..302 of the records above, then close() ends the loop
    const fromTxId = await runExample('tailing-reader', ['--uri', uri, '--produce', '0', '--from-txid', '299', '--limit', '4']);
    expectSuccess(fromTxId, /^reader closed after 4 records$/m);
    expect(fromTxId.stdout).to.match(/^txid 299 @/m);
    expect(fromTxId.stdout).to.match(/^txid 302 @/m);
    expect(fromTxId.stdout).not.to.match(/^txid (298|303) @/m);
    // from the start: the 305 records already in the log, then the 20 it writes itself while tailing
    expectSuccess(await runExample('tailing-reader', ['--uri', uri]), /^reader closed after 325 records$/m);
  });

  it('kv-state-machine.ts recovers its state from a snapshot and the log', async function () {
    expectSuccess(await runExample('kv-state-machine', ['--uri', uri]), /^recovered state equals the state before the crash$/m);
  });

  it('exactly-once-consumer.ts applies every record exactly once across a crash', async function () {
    expectSuccess(await runExample('exactly-once-consumer', ['--uri', uri]), /^every record applied exactly once/m);
  });
});
