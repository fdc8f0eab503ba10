// `dlog bench <name> --report out.html` as a process, and the page it writes opened in a real
// headless browser (Debian's chromium): the page's own script counts the bars and points the
// browser drew and measures their boxes; --dump-dom prints that next to what the page meant to draw.
// Without chromium the browser test is skipped loudly (a failure under CI=true, as .ci/run installs it).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { skipWithout } from '../support/skip.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', new URL('../../src/cli/main.ts', import.meta.url).pathname];

interface Drawn { id: string; kind: 'histogram' | 'throughput'; expected: number; drawn: number; width: number; height: number }

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // not on PATH: try the next name
    }
  }
  return undefined;
}

/** The DOM after the page's scripts ran, from a headless chromium. */
async function dumpDom(chromium: string, file: string, profile: string): Promise<string> {
  const { stdout } = await run(chromium, [
    '--headless', '--disable-gpu', '--no-sandbox', `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`,
  ], { maxBuffer: 16 << 20, timeout: 60_000 });
  return stdout;
}

describe('dlog bench --report', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-bench-report-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('writes a self-contained page whose plots a real browser draws', async function () {
    const chromium = findChromium();
    if (chromium === undefined) {
      skipWithout(this, 'chromium not found (apt-get install chromium)', 'the bench report browser test');
    }
    const report = path.join(dir, 'out.html');
    const args = ['bench', 'log', '--report', report, '--', '--seconds', '2', '--rate', '1000', '--uri', `local:${path.join(dir, 'ns')}`];
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], { maxBuffer: 16 << 20 });
    expect(stderr).to.include(`report: ${report}`);
    const html = readFileSync(report, 'utf8');
    // self-contained: nothing fetched from anywhere
    expect(html).to.not.match(/\b(src|href)\s*=/i);
    expect(html).to.not.match(/https?:\/\//);
    expect(html).to.not.include('<link');
    // the command line, the machine and the benchmark's own table are on the page
    expect(html).to.include(`dlog ${args.join(' ')}`);
    expect(html).to.include(`${os.cpus().length} × `);
    expect(html).to.include('1 KiB x 1 in flight');
    expect(stdout).to.include('1 KiB x 1 in flight');

    const dom = await dumpDom(chromium, report, path.join(dir, 'profile'));
    const check = /<pre id="check"[^>]*>([^<]*)<\/pre>/.exec(dom)?.[1];
    expect(check, 'the page script wrote its check').to.be.a('string').and.not.equal('');
    const drawn = JSON.parse(check as string) as Drawn[];
    // three write rows and the tail row have both plots, ack -> read a histogram, catch-up a line
    expect(drawn.filter((d) => d.kind === 'histogram')).to.have.length(5);
    expect(drawn.filter((d) => d.kind === 'throughput')).to.have.length(5);
    for (const d of drawn) {
      expect(d.expected, `${d.id} has data`).to.be.greaterThan(0);
      expect(d.drawn, `${d.id}: drawn as planned`).to.equal(d.expected);
      expect(d.width, `${d.id} width`).to.be.greaterThan(0);
      if (d.expected > 1) expect(d.height, `${d.id} height`).to.be.greaterThan(0);
    }
    // a 2-second write row has at least two throughput points, so a line, not a dot
    const writeLines = drawn.filter((d) => d.kind === 'throughput').slice(0, 3);
    for (const d of writeLines) expect(d.drawn, d.id).to.be.at.least(2);
  });

  it('refuses an unwritable report path with one line and exit 2, before running anything', async () => {
    const report = path.join(dir, 'no-such-dir', 'out.html');
    const failed = await run(process.execPath, [...CLI, 'bench', 'log', '--report', report]).then(
      () => expect.fail('accepted an unwritable path'),
      (err: unknown) => err as { code: number; stdout: string; stderr: string },
    );
    expect(failed.code).to.equal(2);
    expect(failed.stdout, 'the benchmark did not start').to.equal('');
    expect(failed.stderr).to.equal(`dlog bench: cannot write the report to ${report}: no directory ${path.dirname(report)}\n`);
    expect(existsSync(report)).to.equal(false);
    // a directory as the report file
    const asDir = await run(process.execPath, [...CLI, 'bench', 'log', '--report', dir]).then(
      () => expect.fail('accepted a directory'),
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(asDir.code).to.equal(2);
    expect(asDir.stderr).to.equal(`dlog bench: cannot write the report to ${dir}: it is a directory\n`);
  });

  it('names the benchmarks that can report when one cannot', async () => {
    const failed = await run(process.execPath, [...CLI, 'bench', 'journal', '--report', path.join(dir, 'x.html')]).then(
      () => expect.fail('accepted --report for a benchmark without a recorder'),
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(failed.code).to.equal(2);
    expect(failed.stderr).to.match(/^dlog bench: benchmark journal records no report; --report works with: ledger, log, scale/);
    const { stdout } = await run(process.execPath, [...CLI, 'bench']);
    expect(stdout).to.match(/ log +\[report\] /);
    expect(stdout).to.match(/ journal +(?!\[report\])/);
  });
});
