// Ten SIGKILLs in a row of a process writing to a `local:` namespace (its embedded bookies, store
// and writer all die with it), each after a random number of acknowledgements, each run re-opening
// the directory (store lock taken over, journals replayed, the open segment recovered). Then the
// whole log is read: every acknowledged record exactly once, in txid and DLSN order, nothing that
// no run wrote (history checker).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { DLSN } from '../../src/log/format/dlsn.js';
import { Namespace } from '../../src/log/namespace.js';
import { History } from '../support/history.js';
import { seededRandom } from '../support/prng.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/log-writer-child.ts');
const RUNS = 10;
/** Each run's txids start this far above the previous run's first: more than one run ever writes. */
const RUN_SPAN = 1_000_000n;

/** Runs the writer child until `kills` acks arrived, SIGKILLs it; every ack in order. */
async function writeUntilKilled(uri: string, firstTxid: bigint, kills: number): Promise<Array<{ txid: bigint; dlsn: DLSN }>> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, uri, 'killed', String(firstTxid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const acked: Array<{ txid: bigint; dlsn: DLSN }> = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve(); }));
  const lines = readline.createInterface({ input: proc.stdout });
  try {
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        const [word, txid, dlsn] = line.split(' ');
        if (word !== 'acked' || txid === undefined || dlsn === undefined) return;
        acked.push({ txid: BigInt(txid), dlsn: DLSN.deserialize(dlsn) });
        if (acked.length === kills) {
          proc.kill('SIGKILL');
          resolve();
        }
      });
      proc.once('exit', (code, signal) => { if (acked.length < kills) reject(new Error(`writer child exited (${code ?? signal}) after ${acked.length} acks: ${stderr}`)); });
    });
  } finally {
    proc.kill('SIGKILL');
    await exited;
    lines.close();
  }
  return acked;
}

describe('ten SIGKILLs in a row of a local: writer process', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-sigkill10-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('every acknowledged record is read back exactly once, in order', async () => {
    const uri = `local:${dir}`;
    const random = seededRandom(15);
    const history = new History();
    for (let run = 0; run < RUNS; run++) {
      const first = BigInt(run + 1) * RUN_SPAN;
      const kills = 50 + Math.floor(random() * 1500);
      const acked = await writeUntilKilled(uri, first, kills);
      for (const { txid, dlsn } of acked) {
        const key = `run${run}:${txid}`;
        history.attempted(key, txid);
        history.acked(key, dlsn);
      }
    }
    const ns = await Namespace.open(uri);
    try {
      const log = await ns.openLog('killed');
      // the last run's segment ends at its LAC for readers until a writer recovers it, as after
      // every earlier kill (the acknowledged records past the LAC are then readable)
      await (await log.openWriter()).close();
      const reader = await log.openReader();
      try {
        for (;;) {
          const batch = await reader.readBulk(1000, { waitMs: 2000 });
          if (batch.length === 0) break;
          for (const r of batch) {
            expect(r.payload.toString(), 'payload names its txid').to.equal(`record-${r.txid}`);
            const run = Number(r.txid / RUN_SPAN) - 1;
            const key = `run${run}:${r.txid}`;
            // written but never acknowledged before the kill: allowed, once, in order
            history.attempted(key, r.txid);
            history.read('r', key, r.txid, r.dlsn);
          }
        }
      } finally {
        await reader.close();
      }
    } finally {
      await ns.close();
    }
    const report = history.check(['r']);
    process.stdout.write(`      ${RUNS} kills: ${report.acked} acked, ${report.read} read back\n`);
    expect(report.violations).to.deep.equal([]);
    expect(report.acked).to.be.greaterThan(RUNS * 50 - 1);
  });
});
