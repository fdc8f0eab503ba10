// The user-facing programs as processes: `dlog demo` on the embedded deployment, `dlog sandbox`
// used from this process through the URI it prints, and `dlog bench`'s list and bad names.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Namespace } from '../../src/log/namespace.js';
import { findZooKeeperClasspath, freePort } from '../../src/cli/zookeeper-server.js';
import { skipWithout } from '../support/skip.js';

const run = promisify(execFile);
const ZK_MISSING = 'ZooKeeper not found (set ZOOKEEPER_HOME or `apt-get install zookeeper`)';
const CLI = ['--import', 'tsx', new URL('../../src/cli/main.ts', import.meta.url).pathname];

interface Failed { code: number; stdout: string; stderr: string }

async function runFailing(args: string[]): Promise<Failed> {
  try {
    await run(process.execPath, [...CLI, ...args]);
  } catch (err) {
    return err as Failed;
  }
  return expect.fail(`dlog ${args.join(' ')} succeeded`);
}

describe('dlog demo, sandbox and bench', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-cli-demo-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  describe('demo', () => {
    it('writes, tails and verifies the records, then prints the numbers', async () => {
      const { stdout } = await run(process.execPath, [...CLI, 'demo', '--dir', path.join(dir, 'data'), '--records', '2000', '--size', '64']);
      expect(stdout).to.include('verified: 2000 records read once, in order');
      expect(stdout).to.match(/records: +2,000 x 64 B/);
      expect(stdout).to.match(/throughput: +[\d,]+ records\/s, [\d.]+ MB\/s/);
      expect(stdout).to.match(/write latency: +p50 [\d.,]+ ms, p99 [\d.,]+ ms/);
      expect(stdout).to.match(/end-to-end latency: +p50 [\d.,]+ ms, p99 [\d.,]+ ms/);
      // the log it wrote is there, with every record
      const ns = await Namespace.open(`local:${path.join(dir, 'data')}`);
      try {
        const [name] = await ns.getLogs();
        expect(stdout).to.include(`log:                 ${name} on local:`);
        expect(await (await ns.openLog(name!)).getLogRecordCount()).to.equal(2000);
      } finally {
        await ns.close();
      }
    });

    it('rejects a bad argument with one line and exit code 2', async () => {
      const e = await runFailing(['demo', '--dir', dir, '--records', 'abc']);
      expect(e.code).to.equal(2);
      expect(e.stderr.split('\n')[0]).to.equal('dlog demo: --records must be an integer >= 1, got "abc" [INVALID_ARGUMENT]');
      expect(e.stderr).to.not.include('    at ');
    });

    it('prints its help', async () => {
      const { stdout } = await run(process.execPath, [...CLI, 'demo', '--help']);
      expect(stdout).to.include('Usage: dlog demo').and.include('--records').and.include('--uri');
    });
  });

  describe('sandbox', () => {
    it('serves a namespace other processes use, and stops cleanly on SIGINT', async function () {
      if (findZooKeeperClasspath() === null) skipWithout(this, ZK_MISSING, 'the dlog sandbox tests');
      const zkPort = await freePort();
      const child = spawn(process.execPath, [...CLI, 'sandbox', '--dir', dir, '--bookies', '3', '--zk-port', String(zkPort), '--bookie-port', '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
      try {
        const uri = await new Promise<string>((resolve, reject) => {
          const check = (): void => {
            const ready = /^sandbox ready: (\S+)$/m.exec(stdout);
            if (ready) resolve(ready[1]!);
          };
          child.stdout.on('data', check);
          void exited.then((code) => { reject(new Error(`sandbox exited with ${code} before it was ready:\n${stderr}`)); });
        });
        expect(uri).to.equal(`zk://127.0.0.1:${zkPort}/messaging/distributedlog`);
        expect(stdout.match(/^bookie: 127\.0\.0\.1:\d+$/gm)).to.have.length(3);

        const ns = await Namespace.open(uri);
        try {
          const log = await ns.openLog('sandbox-test', { create: true });
          const writer = await log.openWriter();
          for (let i = 1; i <= 5; i++) await writer.asyncWrite({ txid: BigInt(i), payload: Buffer.from(`record ${i}`) });
          await writer.close();
          const reader = await log.openReader();
          const read: string[] = [];
          for (let i = 0; i < 5; i++) read.push((await reader.readNext()).payload.toString());
          await reader.close();
          expect(read).to.deep.equal([1, 2, 3, 4, 5].map((i) => `record ${i}`));
        } finally {
          await ns.close();
        }

        child.kill('SIGINT');
        expect(await exited, stderr).to.equal(0);
        expect(stderr).to.include('sandbox: stopping');
      } finally {
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    });

    it('says which port is taken when another sandbox (or anything) holds a bookie port', async function () {
      if (findZooKeeperClasspath() === null) skipWithout(this, ZK_MISSING, 'the dlog sandbox tests');
      this.timeout(120_000);
      const taken = net.createServer();
      const bookiePort = await freePort();
      await new Promise<void>((resolve) => { taken.listen(bookiePort, '127.0.0.1', resolve); });
      try {
        const e = await runFailing(['sandbox', '--dir', path.join(dir, 'second'), '--bookies', '1', '--zk-port', String(await freePort()), '--bookie-port', String(bookiePort)]);
        expect(e.code).to.equal(1);
        expect(e.stderr).to.match(new RegExp(`^dlog sandbox: port ${bookiePort} for bookie-0 is in use on 127\\.0\\.0\\.1: another sandbox running\\?`));
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    });

    it('rejects a bad port with exit code 2', async () => {
      const e = await runFailing(['sandbox', '--dir', dir, '--zk-port', 'x']);
      expect(e.code).to.equal(2);
      expect(e.stderr).to.match(/^dlog sandbox: --zk-port must be an integer/);
    });
  });

  describe('bench', () => {
    it('lists the benchmarks', async () => {
      const { stdout } = await run(process.execPath, [...CLI, 'bench']);
      for (const name of ['metadata', 'bookie', 'ledger', 'log', 'journal', 'ledger-storage']) expect(stdout).to.match(new RegExp(`^  ${name} +\\S`, 'm'));
      // helpers are not benchmarks
      expect(stdout).to.not.match(/^ {2}(stats|bookie-cluster) /m);
    });

    it('rejects an unknown benchmark with exit code 2', async () => {
      const e = await runFailing(['bench', 'nosuch']);
      expect(e.code).to.equal(2);
      expect(e.stderr).to.match(/^dlog bench: unknown benchmark "nosuch"; benchmarks: .*journal/);
    });
  });
});
