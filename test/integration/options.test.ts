// Options are checked where the docs say (issue 14): an unknown key (a typo, or an option of
// another call) is INVALID_ARGUMENT on Namespace.open, openLog, openWriter, openReader and config.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { InvalidArgumentError, MetadataError } from '../../src/errors.js';
import { Namespace } from '../../src/log/namespace.js';
import { zooKeeper } from '../support/hooks.js';
import { rejection } from '../support/rejection.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';

const invalid = (promise: Promise<unknown>): Promise<InvalidArgumentError> => rejection(promise, InvalidArgumentError);

describe('Namespace.open options', () => {
  it('refuses unknown keys and bad timeouts before opening anything', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-options-'));
    try {
      const data = path.join(dir, 'data');
      const err = await invalid(Namespace.open(`local:${data}`, { bogus: 1 } as never));
      expect(err.message).to.contain('"bogus"');
      await invalid(Namespace.open(`local:${data}`, { config: { maxEntrybytes: 5 } } as never));
      await invalid(Namespace.open('zk://127.0.0.1:1/ns', { connectTimeoutMs: 0 }));
      await invalid(Namespace.open('zk://127.0.0.1:1/ns', { sessionTimeoutMs: -5 }));
      expect(existsSync(data)).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connectTimeoutMs bounds the wait for a ZooKeeper session', async function (this: Context) {
    // a port nobody listens on: the client retries until connectTimeoutMs
    const zk = await zooKeeper(this);
    const port = Number(zk.split(':').at(-1)) + 1;
    const started = Date.now();
    const err = await rejection(Namespace.open(`zk://127.0.0.1:${port}/ns`, { connectTimeoutMs: 300 }), MetadataError);
    expect(err.code).to.equal('CONNECTION_LOSS');
    expect(err.message).to.contain('300 ms');
    expect(Date.now() - started).to.be.below(15_000); // far below the 15 s default
  });
});

describe('openLog / openWriter / openReader options', () => {
  let deployment: LogDeployment;
  let ns: Namespace;

  before(async function (this: Context) {
    deployment = await startLogDeployment(this, 'local', 'options');
    ns = await deployment.open();
  });
  after(async () => { await deployment.close(); });

  it('refuse keys that belong to no option or to another call', async () => {
    await invalid(ns.openLog('opts', { create: true, crate: true } as never));
    const log = await ns.openLog('opts', { create: true });
    await invalid(log.openWriter({ readAheadEntries: 4 } as never));
    expect((await invalid(log.openReader({ maxEntryBytes: 5 } as never))).message).to.contain('"maxEntryBytes"');
    await invalid(log.openReader({ fromTxid: 1n } as never));
    // the valid spellings still work and the data reads back
    const writer = await log.openWriter({ maxEntryBytes: 1024 });
    await writer.asyncWrite({ txid: 1n, payload: Buffer.from('ok') });
    await writer.close();
    const reader = await log.openReader({ fromTxId: 1n, readAheadEntries: 2 });
    try {
      expect((await reader.readNext()).payload.toString()).to.equal('ok');
    } finally {
      await reader.close();
    }
  });
});
