// The published package as a new user gets it (issue 14): `npm pack`, install the tarball into an
// empty app, run the README's program against it. The tarball must carry the docs the README links
// to and the examples, and no sources or source maps.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

/** The README's "API in 16 lines" program, as the README shows it. */
function readmeProgram(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The API in'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match?.[1] === undefined) throw new Error('README.md has no program under "The API in ..."');
  return match[1];
}

describe('the packed package, installed into a new app', function () {
  this.timeout(600_000);
  let dir: string;

  before(function () {
    // packed with --ignore-scripts: the tests run on the lib/ the build made (prepack rebuilds it)
    if (!existsSync(path.join(ROOT, 'lib/index.js'))) throw new Error('lib/ is missing: run `npm run build` first');
    dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-pack-'));
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('ships lib, docs and examples without src or maps, installs, and runs the README program', async () => {
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (packed === undefined) throw new Error('npm pack printed nothing');
    const files = packed.files.map((f) => f.path);
    expect(files).to.include.members(['lib/index.js', 'lib/index.d.ts', 'lib/cli/main.js', 'docs/api.md', 'docs/errors.md', 'examples/writer.ts', 'README.md']);
    expect(files.filter((f) => f.startsWith('src/') || f.endsWith('.map'))).to.deep.equal([]);
    // every docs/ link of the README resolves inside the tarball
    const links = [...readFileSync(path.join(ROOT, 'README.md'), 'utf8').matchAll(/\]\(((?:docs|examples)\/[^)#]+)/g)].map((m) => m[1] as string);
    expect(links.length).to.be.greaterThan(0);
    for (const link of links) expect(files, link).to.include(link);

    const app = path.join(dir, 'app');
    writeFileSync(path.join(dir, 'package.json'), '{}');
    await run('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'new-app', private: true, type: 'module' }));
    // dependencies come from the npm cache when they are there, else from the registry
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, packed.filename)], { cwd: app });
    writeFileSync(path.join(app, 'main.mjs'), readmeProgram());
    const program = await run(process.execPath, ['main.mjs'], { cwd: app });
    // the program prints the three records it reads back: hello, a, b
    expect(program.stdout.trim().split('\n').map((l) => l.split(' ').slice(-1)[0])).to.deep.equal(['hello', 'a', 'b']);
    const cli = await run(path.join(app, 'node_modules/.bin/dlog'), ['log', 'list', '--uri', 'local:./data'], { cwd: app });
    expect(cli.stdout).to.equal('orders\n');
  });
});
