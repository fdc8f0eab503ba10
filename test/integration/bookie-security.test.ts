// TLS (START_TLS), shared-token authentication and ZooKeeper ACLs against real `dlog bookie`
// processes and the real test ZooKeeper; TLS in the embedded deployment too.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { MetadataError } from '../../src/errors.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { BookieClientError } from '../../src/ledger/bookie-client-error.js';
import { LedgerClient, type LedgerClientOptions } from '../../src/ledger/ledger-client.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { DistributedLog } from '../../src/log/distributed-log.js';
import { Namespace } from '../../src/log/namespace.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { killAllBookieProcesses, startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { zooKeeper } from '../support/hooks.js';
import { rejection } from '../support/rejection.js';
import { makeTestCerts, type TestCerts } from '../support/test-certs.js';
import { forceExpire } from '../support/zk-expire.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
interface Quorums { readonly ensembleSize: number; readonly writeQuorumSize: number; readonly ackQuorumSize: number }
const E2: Quorums = { ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 2 };

/** The payloads of the log's first `count` records. */
async function readPayloads(log: DistributedLog, count: number): Promise<string[]> {
  const reader = await log.openReader();
  try {
    const payloads: string[] = [];
    while (payloads.length < count) payloads.push(...(await reader.readBulk(100, { waitMs: 5000 })).map((r) => r.payload.toString()));
    return payloads;
  } finally {
    await reader.close();
  }
}
let counter = 0;

describe('bookie security (real bookie processes, real ZooKeeper)', function () {
  this.timeout(120_000);
  let certs: TestCerts;
  let zk: string;
  let tmp: string;
  let store: ZkMetadataStore;
  const clients: LedgerClient[] = [];

  const unique = (name: string): string => `${name}-${process.pid}-${Date.now()}-${counter++}`;
  const client = async (root: string, options: Omit<LedgerClientOptions, 'store' | 'ledgersRoot'> = {}): Promise<LedgerClient> => {
    const c = await LedgerClient.open({ store, ledgersRoot: root, requestTimeoutMs: 3000, ...options });
    clients.push(c);
    return c;
  };
  const bookies = async (root: string, count: number, extraArgs: string[]): Promise<BookieProcess[]> => {
    const started: BookieProcess[] = [];
    for (let i = 0; i < count; i++) {
      started.push(await startBookieProcess({ metadata: `zk://${zk}${root}`, dir: path.join(tmp, unique('bookie')), extraArgs }));
    }
    return started;
  };
  /** Writes `n` entries on a fresh ledger with `writer`, reads them back with `reader` after close. */
  const roundTrip = async (writer: LedgerClient, reader: LedgerClient, n: number, ensemble: Quorums = E2): Promise<string[]> => {
    const ledger = await writer.createLedger({ ...ensemble, password: Buffer.from('pw') });
    await Promise.all(Array.from({ length: n }, (_, i) => ledger.addEntry(Buffer.from(`entry-${i}`))));
    await ledger.close();
    const opened = await reader.openLedger(ledger.id, { recover: false, password: Buffer.from('pw') });
    return (await opened.readEntries(0n, BigInt(n - 1))).map((e) => e.payload.toString());
  };
  const expected = (n: number): string[] => Array.from({ length: n }, (_, i) => `entry-${i}`);

  before(async function () {
    zk = await zooKeeper(this);
    certs = makeTestCerts();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'dlog-security-'));
    store = await ZkMetadataStore.connect(zk);
  });

  after(async () => {
    for (const c of clients) await c.close();
    await store.close();
    await killAllBookieProcesses();
    certs.remove();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('mutual TLS with an allowed role, TLS required', () => {
    const root = `/ledgers-${unique('tls')}`;
    let procs: BookieProcess[];
    let writerTls: { ca: Buffer; cert: Buffer; key: Buffer };

    before(async () => {
      const bookie = certs.leaf('bookie');
      const writer = certs.leaf('writer', '0:writer,admin;1:cluster-a');
      writerTls = { ca: certs.ca.cert, cert: writer.cert, key: writer.key };
      procs = await bookies(root, 2, [
        '--tls-cert', bookie.certFile, '--tls-key', bookie.keyFile, '--tls-ca', certs.ca.certFile,
        '--tls-required', '--tls-allowed-roles', 'writer',
      ]);
    });

    it('writes and reads back over TLS', async () => {
      const writer = await client(root, { tls: writerTls });
      const reader = await client(root, { tls: writerTls });
      expect(await roundTrip(writer, reader, 200)).to.deep.equal(expected(200));
    });

    it('serves a plaintext client nothing: its adds are refused and nothing is stored', async () => {
      const plain = await client(root);
      const ledger = await plain.createLedger({ ...E2, password: Buffer.from('pw') });
      const err = await rejection(ledger.addEntry(Buffer.from('plaintext')), LedgerClientError);
      expect(err.code).to.equal('UNAUTHORIZED');
      expect(err.message).to.match(/refused this client: it requires TLS or authentication/);
      const read = await rejection(new BookieClient(procs[0]!.address).send({ op: 'READ_ENTRY', ledgerId: ledger.id, entryId: 0n }).then((r) => {
        throw new Error(`plaintext read answered ${r.status}`);
      }), Error);
      expect(read.message).to.equal('plaintext read answered EUA');
      // the TLS client recovers the ledger: empty
      const recovered = await (await client(root, { tls: writerTls })).openLedger(ledger.id, { recover: true, password: Buffer.from('pw') });
      expect(recovered.metadata.lastEntryId).to.equal(-1n);
    });

    it('refuses a bookie certificate that does not chain to the client CA, naming the cause', async () => {
      const wrongCa = new BookieClient(procs[0]!.address, { tls: { ...writerTls, ca: certs.otherCa.cert } });
      try {
        const err = await rejection(wrongCa.send({ op: 'READ_LAC', ledgerId: 1n }), BookieClientError);
        expect(err.code).to.equal('BOOKIE_TLS_FAILED');
        expect(err.retriable).to.equal(false);
        expect(err.message).to.match(/^TLS handshake with bookie 127\.0\.0\.1:\d+ failed: .*(self[- ]signed|unable to (get|verify))/);
        // the next request fails fast with the same reason, not with a bare "unavailable"
        const again = await rejection(wrongCa.send({ op: 'READ_LAC', ledgerId: 1n }), BookieClientError);
        expect(again.code).to.equal('BOOKIE_TLS_FAILED');
      } finally {
        wrongCa.close();
      }
      const viaLedgers = await client(root, { tls: { ...writerTls, ca: certs.otherCa.cert } });
      const ledger = await viaLedgers.createLedger({ ...E2, password: Buffer.from('pw') });
      await rejection(ledger.addEntry(Buffer.from('x')), Error);
    });

    it('refuses a client certificate without an allowed role, and one from another CA', async () => {
      const intruder = certs.leaf('intruder', '0:reader');
      const denied = new BookieClient(procs[1]!.address, { tls: { ca: certs.ca.cert, cert: intruder.cert, key: intruder.key } });
      try {
        const err = await rejection(denied.send({ op: 'READ_LAC', ledgerId: 1n }), BookieClientError);
        expect(err.code).to.equal('BOOKIE_UNAUTHORIZED');
        expect(err.message).to.match(/refused this client: client certificate role\(s\) \[reader\] not among the allowed roles \[writer\]/);
      } finally {
        denied.close();
      }
      const stranger = new BookieClient(procs[1]!.address, { tls: { ca: certs.ca.cert, cert: certs.otherCa.cert, key: certs.otherCa.key } });
      try {
        const err = await rejection(stranger.send({ op: 'READ_LAC', ledgerId: 1n }), BookieClientError);
        expect(err.code).to.be.oneOf(['BOOKIE_UNAUTHORIZED', 'BOOKIE_TLS_FAILED']);
      } finally {
        stranger.close();
      }
    });
  });

  describe('expired certificates', () => {
    const root = `/ledgers-${unique('expired')}`;
    let proc: BookieProcess;
    let good: { cert: Buffer; key: Buffer };

    before(async () => {
      const bookie = certs.leaf('bookie-current');
      good = certs.leaf('client-current', '0:writer');
      [proc] = await bookies(root, 1, ['--tls-cert', bookie.certFile, '--tls-key', bookie.keyFile, '--tls-ca', certs.ca.certFile, '--tls-required']) as [BookieProcess];
    });

    it('a client with an expired certificate gets BOOKIE_TLS_FAILED naming the expiry; a current one is served', async () => {
      const old = certs.expiredLeaf('client-expired', '0:writer');
      const expired = new BookieClient(proc.address, { tls: { ca: certs.ca.cert, cert: old.cert, key: old.key } });
      try {
        const err = await rejection(expired.send({ op: 'READ_LAC', ledgerId: 1n }), BookieClientError);
        expect(err.code).to.equal('BOOKIE_TLS_FAILED');
        expect(err.retriable).to.equal(false);
        expect(err.message).to.equal(
          `TLS with bookie ${proc.address}: our client certificate is unusable: the certificate (CN=client-expired, OU=0:writer) expired on 2020-01-02T00:00:00.000Z`,
        );
      } finally {
        expired.close();
      }
      // the ledger client and a namespace refuse it at open, with the same reason
      const atOpen = await rejection(client(root, { tls: { ca: certs.ca.cert, cert: old.cert, key: old.key } }), BookieClientError);
      expect(atOpen.code).to.equal('BOOKIE_TLS_FAILED');
      expect(atOpen.message).to.equal('client TLS: our client certificate is unusable: the certificate (CN=client-expired, OU=0:writer) expired on 2020-01-02T00:00:00.000Z');
      const nsOpen = await rejection(Namespace.open(`zk://${zk}/ns-${unique('expired')}`, { tls: { ca: certs.ca.cert, cert: old.cert, key: old.key } }), BookieClientError);
      expect(nsOpen.code).to.equal('BOOKIE_TLS_FAILED');
      expect(nsOpen.message).to.match(/expired on 2020-01-02T00:00:00\.000Z$/);
      // the same bookie serves a client whose certificate is current
      const current = await client(root, { tls: { ca: certs.ca.cert, ...good } });
      expect(await roundTrip(current, current, 3, { ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 })).to.deep.equal(expected(3));
    });
  });

  describe('shared-token authentication', () => {
    const root = `/ledgers-${unique('token')}`;
    const one = { ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 } as const;
    let proc: BookieProcess;

    before(async () => {
      const tokenFile = path.join(tmp, 'token');
      writeFileSync(tokenFile, 's3cret\n');
      [proc] = await bookies(root, 1, ['--auth-plugin', 'token', '--auth-token-file', tokenFile]) as [BookieProcess];
    });

    it('serves a client with the token', async () => {
      const auth = { plugin: 'token', token: 's3cret' } as const;
      expect(await roundTrip(await client(root, { auth }), await client(root, { auth }), 50, one)).to.deep.equal(expected(50));
    });

    it('serves nobody without it, and says why to a wrong token', async () => {
      const ledger = await (await client(root)).createLedger({ ...one, password: Buffer.from('pw') });
      expect((await rejection(ledger.addEntry(Buffer.from('x')), LedgerClientError)).code).to.equal('UNAUTHORIZED');
      const wrong = new BookieClient(proc.address, { auth: { plugin: 'token', token: 'guess' } });
      try {
        const err = await rejection(wrong.send({ op: 'READ_LAC', ledgerId: ledger.id }), BookieClientError);
        expect(err.code).to.equal('BOOKIE_UNAUTHORIZED');
        expect(err.message).to.match(/refused this client: wrong auth token$/);
      } finally {
        wrong.close();
      }
    });

    it('rejects an unknown plugin in the API before connecting', async () => {
      const err = await rejection(LedgerClient.open({ store, ledgersRoot: root, auth: { plugin: 'kerberos' as 'token', token: 'x' } }), Error);
      expect(err.message).to.equal("unknown auth plugin 'kerberos' (known: token)");
    });
  });

  describe('dlog bookie bad options', () => {
    const run = (args: string[], dir = path.join(tmp, unique('bad'))): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'bookie', '--metadata', `zk://${zk}/ledgers-bad`, '--dir', dir, '--port', '0', ...args], { encoding: 'utf8' });
      return { status: r.status, stderr: r.stderr };
    };

    it('refuses to start with an expired certificate: one line, exit 2, no directory made', () => {
      const old = certs.expiredLeaf('bookie-expired');
      const dir = path.join(tmp, unique('expired-bookie'));
      const r = run(['--tls-cert', old.certFile, '--tls-key', old.keyFile], dir);
      expect(r.status).to.equal(2);
      expect(r.stderr.trim().split('\n')).to.deep.equal([
        'dlog bookie: bookie TLS: the certificate (CN=bookie-expired) expired on 2020-01-02T00:00:00.000Z; clients would refuse every handshake [INVALID_ARGUMENT]',
        "Run 'dlog bookie --help' for usage.",
      ]);
      expect(existsSync(dir)).to.equal(false);
    });

    it('exits 2 with one line for a missing key file, an unknown plugin and a bad certificate', () => {
      const bookie = certs.leaf('bookie-bad');
      const missing = run(['--tls-cert', bookie.certFile, '--tls-key', path.join(tmp, 'nope.key')]);
      expect(missing.status).to.equal(2);
      // one line naming the problem, then the CLI's usual pointer to --help
      expect(missing.stderr.trim().split('\n')).to.deep.equal([
        `dlog bookie: --tls-key: cannot read ${path.join(tmp, 'nope.key')}: ENOENT [INVALID_ARGUMENT]`, "Run 'dlog bookie --help' for usage.",
      ]);
      const plugin = run(['--auth-plugin', 'kerberos']);
      expect(plugin.status).to.equal(2);
      expect(plugin.stderr).to.match(/unknown --auth-plugin 'kerberos' \(known: token\)/);
      const mismatched = run(['--tls-cert', bookie.certFile, '--tls-key', path.join(certs.dir, 'ca.key')]);
      expect(mismatched.status).to.equal(2);
      expect(mismatched.stderr).to.match(/bookie TLS: unusable certificate or key/);
    });
  });

  describe('ZooKeeper digest auth and ACLs', () => {
    const tag = unique('acl');
    const ledgersRoot = `/ledgers-${tag}`;
    const nsRoot = `/ns-${tag}`;
    const zkAuth = 'alice:secret';
    let owner: ZkMetadataStore;

    before(async () => {
      await bookies(ledgersRoot, 2, ['--zk-auth', zkAuth]);
      owner = await ZkMetadataStore.connect(zk, { auth: zkAuth });
      const binding = `1\nBKDL\n${JSON.stringify({ 2: { str: ledgersRoot }, 3: { tf: 1 }, 4: { tf: 0 } })}`;
      await owner.create(nsRoot, Buffer.from(binding));
    });

    after(async () => { await owner.close(); });

    it('a session without the credentials reads but cannot change, create under or delete; ours still can after expiry', async () => {
      const ns = await Namespace.open(`zk://${zk}${nsRoot}`, { zkAuth, sessionTimeoutMs: 4000, config: E2 });
      try {
        const log = await ns.openLog('secured', { create: true });
        const writer = await log.openWriter();
        for (let i = 1; i <= 5; i++) await writer.asyncWrite({ txid: BigInt(i), payload: Buffer.from(`r${i}`) });
        const logPath = `${nsRoot}/secured`;
        const segments = await store.children(`${logPath}/<default>/ledgers`);
        expect(segments).to.have.length(1);
        // `store` has no credentials: world-read works, nothing else
        expect((await store.get(logPath)).stat.version).to.be.a('number');
        const noAuth = async (p: Promise<unknown>): Promise<void> => {
          const err = await rejection(p, MetadataError);
          expect(err.code).to.equal('NO_AUTH');
        };
        await noAuth(store.set(logPath, Buffer.from('x')));
        await noAuth(store.create(`${logPath}/intruder`));
        await noAuth(store.delete(`${logPath}/<default>/ledgers/${segments[0]!}`));
        const ledgerNodes = await store.children(`${ledgersRoot}/00/0000`);
        expect(ledgerNodes.length).to.be.greaterThan(0);
        await noAuth(store.delete(`${ledgersRoot}/00/0000/${ledgerNodes[0]!}`));
        await noAuth(store.create(`${ledgersRoot}/available/127.0.0.1:1`));

        // the namespace's own session expires; its next session logs in again and keeps writing
        const session = ns.metadataStore;
        if (!(session instanceof ZkMetadataStore)) throw new Error('a zk:// namespace runs on a ZkMetadataStore');
        await forceExpire(session, zk);
        await writer.close();
        const next = await log.openWriter();
        for (let i = 6; i <= 8; i++) await next.asyncWrite({ txid: BigInt(i), payload: Buffer.from(`r${i}`) });
        await next.close();
        expect(await readPayloads(log, 8)).to.deep.equal(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8']);
      } finally {
        await ns.close();
      }
    });

    it('without world-read, a session without the credentials cannot even read', async () => {
      const secret = await ZkMetadataStore.connect(zk, { auth: zkAuth, worldReadable: false });
      try {
        const p = `/private-${tag}`;
        await secret.create(p, Buffer.from('hidden'));
        expect((await secret.get(p)).data.toString()).to.equal('hidden');
        const err = await rejection(store.get(p), MetadataError);
        expect(err.code).to.equal('NO_AUTH');
        expect(err.message).to.match(/ACL does not grant this/);
      } finally {
        await secret.close();
      }
    });

    it('wrong credentials fail at open with AUTH_FAILED naming the user; none at all may still read', async () => {
      for (const [auth, why] of [
        ['alice:wrong', 'the password does not match the one its ACL was made with'],
        ['mallory:secret', 'its ACL allows changes by digest user(s) alice only'],
      ] as const) {
        const err = await rejection(Namespace.open(`zk://${zk}${nsRoot}`, { zkAuth: auth, config: E2 }), MetadataError);
        expect(err.code).to.equal('AUTH_FAILED');
        expect(err.message).to.equal(`ZooKeeper credentials for user '${auth.split(':')[0]!}' cannot change ${nsRoot}: ${why} (check zkAuth / --zk-auth)`);
      }
      // without credentials: a reader of the world-readable log
      const ns = await Namespace.open(`zk://${zk}${nsRoot}`, { config: E2 });
      try {
        expect(await ns.getLogs()).to.include('secured');
        expect((await readPayloads(await ns.openLog('secured'), 3)).slice(0, 3)).to.deep.equal(['r1', 'r2', 'r3']);
      } finally {
        await ns.close();
      }
    });

    it('dlog bookie --zk-auth with wrong credentials refuses to start, naming the user', () => {
      const dir = path.join(tmp, unique('wrong-auth'));
      const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'bookie', '--metadata', `zk://${zk}${ledgersRoot}`, '--dir', dir, '--port', '0', '--zk-auth', 'mallory:secret'], { encoding: 'utf8' });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim()).to.equal(
        `dlog bookie: ZooKeeper credentials for user 'mallory' cannot change ${ledgersRoot}: its ACL allows changes by digest user(s) alice only (check zkAuth / --zk-auth) [AUTH_FAILED]`,
      );
    });

    it('refuses malformed credentials with a typed error', async () => {
      const err = await rejection(ZkMetadataStore.connect(zk, { auth: 'no-colon' }), Error);
      expect(err.message).to.equal('ZooKeeper auth must be user:password');
    });
  });
});

describe('TLS in the embedded deployment', function () {
  this.timeout(120_000);

  it('writes and reads back over TLS; a plaintext connection to its bookies gets EUA', async () => {
    const certs = makeTestCerts();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-embedded-tls-'));
    try {
      const leaf = certs.leaf('embedded', '0:app');
      const ns = await Namespace.open(`local:${dir}`, { bookies: 3, tls: { ca: certs.ca.cert, cert: leaf.cert, key: leaf.key } });
      try {
        const log = await ns.openLog('tls', { create: true });
        const writer = await log.openWriter();
        for (let i = 1; i <= 20; i++) await writer.asyncWrite({ txid: BigInt(i), payload: Buffer.from(`e${i}`) });
        await writer.close();
        expect(await readPayloads(log, 20)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `e${i + 1}`));
        const [bookieId] = (await ns.metadataStore.children('/ledgers/available')).filter((c) => c !== 'readonly');
        const plain = new BookieClient(bookieId!);
        try {
          expect((await plain.send({ op: 'READ_ENTRY', ledgerId: 1n, entryId: 0n })).status).to.equal('EUA');
        } finally {
          plain.close();
        }
      } finally {
        await ns.close();
      }
      // nobody else may read the data: directories 0700, files 0600 (LMDB makes its own files
      // 0644, inside a 0700 directory)
      const modes = readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
        const file = path.join(e.parentPath, e.name);
        return { file, mode: statSync(file).mode & 0o777, dir: e.isDirectory() };
      });
      expect(statSync(dir).mode & 0o777).to.equal(0o700);
      expect(modes.filter((m) => m.dir && m.mode !== 0o700)).to.deep.equal([]);
      expect(modes.filter((m) => !m.dir && !m.file.endsWith('.mdb') && m.mode !== 0o600)).to.deep.equal([]);
      expect(modes.some((m) => m.file.endsWith('.jnl'))).to.equal(true);
    } finally {
      certs.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
