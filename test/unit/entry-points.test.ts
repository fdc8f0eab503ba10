// What each package entry point loads, checked on the built library (lib/) in a fresh plain-Node
// process: a client-only import must map no storage-node code and no lmdb.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL('../support/load-probe.mjs', import.meta.url));
const LIB = fileURLToPath(new URL('../../lib/', import.meta.url));

interface Loaded { modules: string[]; sharedObjects: string[] }

async function load(specifier: string): Promise<Loaded> {
  const { stdout } = await run(process.execPath, [PROBE, specifier], { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  const loaded = JSON.parse(stdout) as Loaded;
  return { modules: loaded.modules.map((u) => (u.startsWith('file:') ? fileURLToPath(u) : u)), sharedObjects: loaded.sharedObjects };
}

const STORAGE = [/\/lib\/bookie\//, /\/lib\/embedded\//, /\/lib\/metadata\/local\//, /node_modules\/(lmdb|@lmdb|msgpackr)/];

describe('package entry points', function () {
  this.timeout(30_000);

  it("'distributedlog' (the client) loads no bookie, embedded or local-store code and no lmdb", async () => {
    const { modules, sharedObjects } = await load('distributedlog');
    expect(modules).to.include(`${LIB}index.js`);
    expect(modules).to.include(`${LIB}log/namespace.js`);
    expect(modules.filter((m) => STORAGE.some((re) => re.test(m)))).to.deep.equal([]);
    expect(sharedObjects.filter((s) => /lmdb|msgpackr/.test(s))).to.deep.equal([]);
  });

  it("'distributedlog/bookie' loads the storage node and lmdb", async () => {
    const { modules, sharedObjects } = await load('distributedlog/bookie');
    expect(modules).to.include(`${LIB}bookie/bookie.js`);
    expect(sharedObjects.some((s) => /lmdb/.test(s))).to.equal(true);
  });

  it('every entry point exports what docs/api.md lists for it', async () => {
    const client = await import('distributedlog');
    expect([typeof client.Namespace, typeof client.DLSN, typeof client.DLogError, typeof client.LogError]).to.deep.equal(['function', 'function', 'function', 'function']);
    expect(client).to.not.have.property('startBookie');
    expect(client).to.not.have.property('LocalMetadataStore');
    const bookie = await import('distributedlog/bookie');
    expect(typeof bookie.startBookie).to.equal('function');
    const ledger = await import('distributedlog/ledger');
    expect(typeof ledger.LedgerClient).to.equal('function');
    const metadata = await import('distributedlog/metadata');
    expect([typeof metadata.ZkMetadataStore, typeof metadata.LocalMetadataStore, typeof metadata.openMetadataStore]).to.deep.equal(['function', 'function', 'function']);
  });
});
