// A bookie's registration in a real ZooKeeper: the ephemeral `<root>/available/<id>` node, the
// cluster nodes, re-registration after a REAL session expiry, deregistration on close, and the
// read-only switch (`available/readonly/<id>`, EREADONLY for adds, reads still served).
import { expect } from 'chai';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import type { NodeStat, WatchEvent } from '../../src/metadata/metadata-store.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { freePort } from '../../src/cli/zookeeper-server.js';
import { encodeLac } from '../../src/protocol/lac-envelope.js';
import { zooKeeper } from '../support/hooks.js';
import { forceExpire } from '../support/zk-expire.js';
import {
  addEntry, DIGEST, expectEntry, MASTER_KEY, removeDir, tempDir, uniqueRoot,
} from '../support/bookie-test-utils.js';
import { waitFor } from '../support/wait-for.js';

/** Polls until `check` returns true (re-reading through `observer`), or fails with `what`. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await waitFor(check, timeoutMs, what);
}

describe('bookie registration (real ZooKeeper)', function () {
  this.timeout(90_000);
  let zk: string;
  let dir: string | undefined;
  let store: ZkMetadataStore | undefined;
  let observer: ZkMetadataStore | undefined;
  const bookies: Bookie[] = [];
  const clients: BookieClient[] = [];

  before(async function () {
    zk = await zooKeeper(this);
  });

  beforeEach(async () => {
    dir = await tempDir('registration');
    store = await ZkMetadataStore.connect(zk, { sessionTimeoutMs: 6000 });
    observer = await ZkMetadataStore.connect(zk);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const b of bookies.splice(0)) await b.close();
    await store?.close();
    await observer?.close();
    await removeDir(dir);
  });

  const start = async (root: string, options: { port?: number; readOnly?: boolean } = {}): Promise<Bookie> => {
    const bookie = await startBookie({
      metadata: store!,
      ledgersRoot: root,
      dir: dir!,
      port: options.port ?? 0,
      gcIntervalMs: 0,
      ...(options.readOnly === true ? { diskUsageThreshold: 0.000001, diskUsageWarnThreshold: 0 } : {}),
    });
    bookies.push(bookie);
    return bookie;
  };

  const connect = (bookie: Bookie): BookieClient => {
    const c = new BookieClient(bookie.address);
    clients.push(c);
    return c;
  };

  /** The node's stat as another ZooKeeper client sees it, after catching up with the leader. */
  const seen = async (path: string): Promise<NodeStat | null> => {
    await observer!.sync(path);
    return observer!.exists(path);
  };

  it('registers an ephemeral available/<id> owned by its session, formats LAYOUT and INSTANCEID, deregisters on close', async () => {
    const root = uniqueRoot();
    const bookie = await start(root);
    const node = `${root}/available/${bookie.bookieId}`;
    expect(bookie.bookieId).to.equal(`127.0.0.1:${bookie.address.port}`);
    const stat = await seen(node);
    expect(stat, node).to.not.equal(null);
    expect(stat!.ephemeralOwner, 'ephemeral owner').to.not.equal(0n);
    expect(stat!.ephemeralOwner, 'owned by the bookie\'s session').to.equal(store!.sessionId);
    expect(await seen(`${root}/available/readonly/${bookie.bookieId}`), 'not read-only').to.equal(null);
    expect((await seen(`${root}/available/readonly`))?.ephemeralOwner, 'available/readonly is persistent').to.equal(0n);

    const layout = (await observer!.get(`${root}/LAYOUT`)).data.toString();
    expect(layout).to.match(/^2\norg\.apache\.bookkeeper\.meta\.HierarchicalLedgerManagerFactory:1\n?$/);
    const instanceId = (await observer!.get(`${root}/INSTANCEID`)).data.toString();
    expect(instanceId).to.match(/^[0-9a-f-]{36}$/);

    // a second start on the same root keeps the cluster's INSTANCEID
    await bookie.close();
    bookies.length = 0;
    expect(await seen(node), 'deregistered on close').to.equal(null);
    const again = await start(root);
    expect((await observer!.get(`${root}/INSTANCEID`)).data.toString()).to.equal(instanceId);
    expect((await seen(`${root}/available/${again.bookieId}`))?.ephemeralOwner).to.equal(store!.sessionId);
  });

  it('re-registers with the new session after a forced ZooKeeper session expiry and keeps serving', async () => {
    const root = uniqueRoot();
    const bookie = await start(root);
    const node = `${root}/available/${bookie.bookieId}`;
    const c = connect(bookie);
    for (let e = 0n; e < 5n; e++) expect((await addEntry(c, 1n, e)).status).to.equal('EOK');

    for (let expiry = 1; expiry <= 2; expiry++) {
      const oldSession = store!.sessionId;
      expect((await seen(node))?.ephemeralOwner).to.equal(oldSession);
      await forceExpire(store!, zk);
      const newSession = store!.sessionId;
      expect(newSession, 'a new session').to.not.equal(oldSession);
      await eventually(`${node} is owned by the new session`, async () => (await seen(node))?.ephemeralOwner === newSession);
      // it kept serving: old data, new adds
      for (let e = 0n; e < 5n; e++) await expectEntry(c, 1n, e);
      expect((await addEntry(c, 2n, BigInt(expiry))).status, `add after expiry ${expiry}`).to.equal('EOK');
      await expectEntry(connect(bookie), 2n, BigInt(expiry));
    }
    await bookie.close();
    bookies.length = 0;
    expect(await seen(node), 'deregistered on close').to.equal(null);
  });

  it('turns read-only over the disk threshold: available/readonly/<id> only, EREADONLY for adds, reads served', async () => {
    const root = uniqueRoot();
    // the data, written by a normal bookie with the id the restart keeps (cookies pin it)
    const port = await freePort();
    const writer = await start(root, { port });
    const w = connect(writer);
    for (let e = 0n; e < 4n; e++) expect((await addEntry(w, 3n, e)).status).to.equal('EOK');
    const lac = encodeLac(DIGEST, 3n, 2n);
    expect((await w.send({ op: 'WRITE_LAC', ledgerId: 3n, lac: 2n, masterKey: MASTER_KEY, body: lac })).status).to.equal('EOK');
    await writer.close();
    bookies.length = 0;

    // the same directory, now "full": watch the id's writable node to see whether it ever appears
    const id = `127.0.0.1:${port}`;
    const writable = `${root}/available/${id}`;
    const readOnly = `${root}/available/readonly/${id}`;
    const events: WatchEvent[] = [];
    expect(await observer!.exists(writable, (e) => { events.push(e); })).to.equal(null);
    const bookie = await start(root, { port, readOnly: true });
    expect(bookie.bookieId).to.equal(id);
    expect(bookie.readOnly).to.equal(true);
    expect((await seen(readOnly))?.ephemeralOwner, 'registered read-only').to.equal(store!.sessionId);
    expect(await seen(writable), 'not registered writable').to.equal(null);
    expect(events, 'the writable node never appeared').to.deep.equal([]);

    const c = connect(bookie);
    expect((await addEntry(c, 3n, 4n)).status).to.equal('EREADONLY');
    expect((await addEntry(c, 3n, 4n, { recovery: true })).status, 'recovery add').to.equal('EREADONLY');
    expect((await addEntry(c, 9n, 0n)).status, 'new ledger').to.equal('EREADONLY');
    expect((await c.send({ op: 'WRITE_LAC', ledgerId: 3n, lac: 3n, masterKey: MASTER_KEY, body: encodeLac(DIGEST, 3n, 3n) })).status).to.equal('EREADONLY');
    for (let e = 0n; e < 4n; e++) await expectEntry(c, 3n, e);
    expect((await c.send({ op: 'READ_ENTRY', ledgerId: 3n, entryId: 4n })).status, 'the refused add stored nothing').to.equal('ENOENTRY');
    const r = await c.send({ op: 'READ_LAC', ledgerId: 3n });
    expect(r.status).to.equal('EOK');
    expect(r.op === 'READ_LAC' && r.lacBody?.equals(lac), 'explicit LAC').to.equal(true);

    // an expiry while read-only re-registers read-only
    const oldSession = store!.sessionId;
    await forceExpire(store!, zk);
    await eventually(`${readOnly} is owned by the new session`, async () => (await seen(readOnly))?.ephemeralOwner === store!.sessionId);
    expect(store!.sessionId).to.not.equal(oldSession);
    expect(await seen(writable), 'still not writable after the expiry').to.equal(null);
    expect(events, 'the writable node never appeared').to.deep.equal([]);

    await bookie.close();
    bookies.length = 0;
    expect(await seen(readOnly), 'deregistered on close').to.equal(null);
  });
});
