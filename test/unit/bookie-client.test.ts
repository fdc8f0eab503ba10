import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { BookieClientError } from '../../src/ledger/bookie-client-error.js';
import { freePort } from '../../src/cli/zookeeper-server.js';
import { rejection } from '../support/rejection.js';
import { startBookieProcess, type BookieProcess } from '../support/bookie-process.js';
import { zooKeeper } from '../support/hooks.js';

const read = { op: 'READ_LAC', ledgerId: 1n } as const;

describe('BookieClient connections', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  const clients: BookieClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** A server that accepts and never answers: a request to it can only time out. */
  const silentServer = async (port: number): Promise<number[]> => {
    const accepted: number[] = [];
    const server = net.createServer((socket) => {
      accepted.push(Date.now());
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    return accepted;
  };

  it('backs off after a failed connect, then dials again', async () => {
    const port = await freePort();
    const client = new BookieClient(`127.0.0.1:${port}`, { reconnectBackoffMs: 300, requestTimeoutMs: 200 });
    clients.push(client);
    const first = await rejection(client.send(read), BookieClientError);
    expect(first.code).to.equal('BOOKIE_UNAVAILABLE');
    expect(first.message).to.include('cannot connect');
    // within the backoff: refused at once, without dialling
    const accepted = await silentServer(port);
    const fast = await rejection(client.send(read), BookieClientError);
    expect(fast.message).to.match(/next attempt in \d+ ms/);
    await new Promise((r) => setTimeout(r, 350));
    expect(accepted).to.have.length(0);
    // after it: a new connection, and the silent server makes the request time out
    const late = await rejection(client.send(read), BookieClientError);
    expect(late.code).to.equal('BOOKIE_TIMEOUT');
    expect(accepted).to.have.length(1);
  });

  it('resolves a host name once and connects to it', async () => {
    const port = await freePort();
    const accepted = await silentServer(port);
    const client = new BookieClient(`localhost:${port}`, { requestTimeoutMs: 100 });
    clients.push(client);
    expect((await rejection(client.send(read), BookieClientError)).code).to.equal('BOOKIE_TIMEOUT');
    expect((await rejection(client.send(read), BookieClientError)).code).to.equal('BOOKIE_TIMEOUT');
    expect(accepted).to.have.length(1);
  });
});

describe('BookieClient and a stalled event loop', function () {
  this.timeout(60_000);
  let bookie: BookieProcess;
  let dir: string;

  before(async function (this: Context) {
    const zk = await zooKeeper(this);
    dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-stall-'));
    bookie = await startBookieProcess({ metadata: `zk://${zk}/stall-${process.pid}-${Date.now()}`, dir: path.join(dir, 'bookie') });
  });
  after(async () => {
    await bookie.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Blocks this thread, as a burst of synchronous work does. */
  const block = (ms: number): void => {
    const until = Date.now() + ms;
    while (Date.now() < until) { /* busy */ }
  };

  it('does not time out a request whose answer arrived while the loop was blocked', async () => {
    const client = new BookieClient(bookie.address, { requestTimeoutMs: 200 });
    try {
      await client.send(read); // connected
      const answered = client.send(read);
      // let the frame go out, then stall past the deadline: the answer waits unread in the socket
      await new Promise((resolve) => setImmediate(resolve));
      block(600);
      const response = await answered;
      expect(response.op).to.equal('READ_LAC');
    } finally {
      client.close();
    }
  });

  it('counts a request queued behind a blocked loop from when it is sent', async () => {
    const client = new BookieClient(bookie.address, { requestTimeoutMs: 200 });
    try {
      await client.send(read);
      // queued now, sent only once this synchronous stretch ends
      const answered = client.send(read);
      block(600);
      expect((await answered).op).to.equal('READ_LAC');
    } finally {
      client.close();
    }
  });
});
