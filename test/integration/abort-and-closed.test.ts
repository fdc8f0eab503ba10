// Every wait a user can start can be abandoned with an AbortSignal (openWriter's lock wait,
// readNext, readBulk), and `writer.closed` / `reader.closed` say when the handle stopped (issue 14).
import { expect } from 'chai';
import type { Context } from 'mocha';
import { DLSN } from '../../src/log/format/dlsn.js';
import type { Namespace } from '../../src/log/namespace.js';
import { LogError } from '../../src/log/log-error.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';

describe('AbortSignal and closed promises (local:)', function () {
  this.timeout(60_000);
  let deployment: LogDeployment;
  let ns: Namespace;

  before(async function (this: Context) {
    deployment = await startLogDeployment(this, 'local', 'abort');
    ns = await deployment.open();
  });
  after(async () => { await deployment.close(); });

  it('aborts a writer waiting for the lock, and leaves no lock member behind', async () => {
    const log = await ns.openLog('lock-wait', { create: true });
    const owner = await log.openWriter();
    const controller = new AbortController();
    const waiting = log.openWriter({ lockTimeoutMs: -1, signal: controller.signal });
    const reason = new Error('user gave up');
    // aborted once its member node is queued behind the owner's
    const lockPath = `/logs/lock-wait/<default>/lock`;
    while ((await ns.metadataStore.children(lockPath)).length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(reason);
    let caught: unknown;
    await waiting.catch((err: unknown) => { caught = err; });
    expect(caught).to.equal(reason);
    await owner.close();
    // had the aborted wait left its node, it would now own the lock and this would be LOCK_HELD
    const next = await log.openWriter({ lockTimeoutMs: 0 });
    await next.asyncWrite({ txid: 1n, payload: Buffer.from('mine') });
    await next.close();
    await expectResolved(next.closed);
  });

  it('aborts readNext and readBulk without losing the record that arrives later', async () => {
    const log = await ns.openLog('read-wait', { create: true });
    const reader = await log.openReader();
    const first = new AbortController();
    const next = reader.readNext({ signal: first.signal });
    first.abort();
    expect(((await next.catch((err: unknown) => err)) as Error).name).to.equal('AbortError');
    const second = new AbortController();
    const bulk = reader.readBulk(10, { waitMs: 60_000, signal: second.signal });
    second.abort(new Error('enough'));
    expect(((await bulk.catch((err: unknown) => err)) as Error).message).to.equal('enough');
    // an already aborted signal fails at once
    expect(await reader.readNext({ signal: AbortSignal.abort() }).then(() => 'read', () => 'aborted')).to.equal('aborted');

    const writer = await log.openWriter();
    await writer.asyncWrite({ txid: 7n, payload: Buffer.from('kept') });
    const record = await reader.readNext();
    expect([record.txid, record.payload.toString()]).to.deep.equal([7n, 'kept']);
    await writer.close();
    await reader.close();
    await expectResolved(reader.closed);
    await expectResolved(writer.closed);
    expect(reader.isClosed && writer.isClosed).to.equal(true);
  });

  it('a reader past the end waits there; getLastDLSN tells it is past the end', async () => {
    const log = await ns.openLog('short', { create: true });
    const writer = await log.openWriter();
    await writer.asyncWrite({ txid: 1n, payload: Buffer.from('one') });
    await writer.flush(); // visible to getLastDLSN
    const from = new DLSN(50n, 0n, 0n);
    const reader = await log.openReader({ from });
    try {
      expect(from.compare(await log.getLastDLSN())).to.be.greaterThan(0);
      // later records of the current segment sit before the position: the reader skips them
      await writer.asyncWrite({ txid: 2n, payload: Buffer.from('two') });
      expect(await reader.readBulk(10, { waitMs: 300 })).to.deep.equal([]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('reader.closed rejects with the reader\'s sticky error as soon as it fails', async () => {
    const log = await ns.openLog('sealed', { create: true });
    const writer = await log.openWriter();
    await writer.asyncWrite({ txid: 1n, payload: Buffer.from('x') });
    await writer.close();
    const reader = await log.openReader();
    await ns.deleteLog('sealed');
    // no read issued: the promise alone reports the failure
    const err = await reader.closed.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(LogError);
    await reader.close();
  });
});

async function expectResolved(promise: Promise<void>): Promise<void> {
  expect(await promise.then(() => 'resolved', (err: unknown) => err)).to.equal('resolved');
}
