import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Journal, JOURNAL_START } from '../../src/bookie/journal.js';
import { CRASH_JOURNAL_OPTIONS, crashPayload } from '../support/journal-crash-child.js';

const CHILD = fileURLToPath(new URL('../support/journal-crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the child from entry id `first`, SIGKILLs it `killAfterMs` after its first ack, returns the acked ids. */
async function runUntilKilled(dir: string, first: bigint, killAfterMs: number): Promise<bigint[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(first)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  expect(signal, `child exited with code ${code} before the kill: ${err}`).to.equal('SIGKILL');
  // Only complete lines: a torn last line was not (fully) reported.
  return out.split('\n').slice(0, -1).map((line) => BigInt(line));
}

describe('Journal crash safety', function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dlog-journal-crash-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('replays every acknowledged record after SIGKILL at a random moment, round after round', async () => {
    const acked = new Set<bigint>();
    for (let round = 0; round < 5; round++) {
      const killAfterMs = 20 + Math.floor(Math.random() * 400);
      const ids = await runUntilKilled(dir, BigInt(round) * 10_000_000n, killAfterMs);
      expect(ids.length > 0, `round ${round}: no acks`).to.equal(true);
      for (const id of ids) acked.add(id);

      // The next child reopens a journal this process has repaired; repair must leave it appendable.
      const journal = await Journal.open(dir, CRASH_JOURNAL_OPTIONS);
      const replayed = new Set<bigint>();
      await journal.replay(JOURNAL_START, (record) => {
        if (record.type !== 'addEntry') return expect.fail(`replayed a ${record.type} record, only adds were written`);
        expect(!replayed.has(record.entryId), `entry ${record.entryId} replayed twice`).to.equal(true);
        // Unacknowledged records may be present too, but never damaged: groups replay whole.
        expect(crashPayload(record.entryId).equals(record.entry), `entry ${record.entryId} has wrong bytes`).to.equal(true);
        replayed.add(record.entryId);
      });
      const lost = [...acked].filter((id) => !replayed.has(id));
      expect(lost, `round ${round} (killed ${killAfterMs} ms after the first ack): acknowledged records lost`).to.deep.equal([]);
      await journal.close();
    }
    expect(acked.size > 100, `only ${acked.size} records acknowledged in 5 rounds`).to.equal(true);
  });
});
