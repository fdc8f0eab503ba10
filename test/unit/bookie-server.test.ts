// The bookie's TCP side against a scripted request processor (the real one runs in the integration
// tests): a processor or encoder that throws closes that connection and nothing else, the
// connection cap and idle timeout hold, and a flood of bad frames costs a few log lines.
import type net from 'node:net';
import { expect } from 'chai';
import { BookieServer, type BookieServerOptions } from '../../src/bookie/bookie-server.js';
import { SecurityPolicy } from '../../src/bookie/connection-security.js';
import type { RequestProcessor } from '../../src/bookie/request-processor.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { BookieClientError } from '../../src/ledger/bookie-client-error.js';
import type { Logger } from '../../src/util/logger.js';
import { frameOf, rawConnect } from '../support/bookie-test-utils.js';
import { rejection } from '../support/rejection.js';
import { makeTestCerts } from '../support/test-certs.js';

/** Answers READ_LAC with ENOLEDGER; throws on anything else. */
const processor = {
  process: (request: { op: string; txnId: bigint; ledgerId?: bigint }) => {
    if (request.op === 'READ_LAC') return Promise.resolve({ op: 'READ_LAC', txnId: request.txnId, status: 'ENOLEDGER', ledgerId: request.ledgerId });
    return Promise.reject(new Error(`scripted failure for ${request.op}`));
  },
} as unknown as RequestProcessor;

function collectingLogger(warnings: string[]): Logger {
  const off = (): void => undefined;
  return { debug: off, info: off, error: off, warn: (_obj, msg) => { warnings.push(msg ?? ''); } };
}

describe('BookieServer', () => {
  const servers: BookieServer[] = [];
  const clients: BookieClient[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await s.close();
  });
  const listen = async (overrides: Partial<BookieServerOptions> = {}, warnings: string[] = []): Promise<number> => {
    const server = await BookieServer.listen(processor, {
      host: '127.0.0.1', port: 0, maxFrameSize: 1 << 20, maxInFlightPerConnection: 100, maxInFlightReadsPerConnection: 10,
      maxQueuedResponseBytes: 1 << 20, maxConnections: 100, idleTimeoutMs: 0, logger: collectingLogger(warnings), ...overrides,
    });
    servers.push(server);
    return server.address.port;
  };
  const client = (port: number): BookieClient => {
    const c = new BookieClient(`127.0.0.1:${port}`, { requestTimeoutMs: 5000 });
    clients.push(c);
    return c;
  };

  it('a certificate that expired while the bookie ran: the client refuses the handshake, naming the expiry', async () => {
    const certs = makeTestCerts();
    try {
      // startBookie refuses an expired certificate; the server itself serves what it was given
      const old = certs.expiredLeaf('bookie-outlived');
      const port = await listen({ security: new SecurityPolicy({ cert: old.cert, key: old.key }, undefined) });
      const c = new BookieClient(`127.0.0.1:${port}`, { requestTimeoutMs: 5000, tls: { ca: certs.ca.cert } });
      clients.push(c);
      const err = await rejection(c.send({ op: 'READ_LAC', ledgerId: 1n }), BookieClientError);
      expect(err.code).to.equal('BOOKIE_TLS_FAILED');
      expect(err.message).to.equal(`TLS handshake with bookie 127.0.0.1:${port} failed: certificate has expired`);
    } finally {
      certs.remove();
    }
  });

  it('a request whose processing throws closes that connection only; the server keeps serving', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
    process.on('unhandledRejection', onUnhandled);
    try {
      const port = await listen();
      const err = await rejection(client(port).send({ op: 'WRITE_LAC', ledgerId: 1n, lac: 0n, masterKey: Buffer.alloc(20), body: Buffer.alloc(0) }), BookieClientError);
      expect(err.code).to.equal('BOOKIE_UNAVAILABLE');
      const response = await client(port).send({ op: 'READ_LAC', ledgerId: 5n });
      expect(response.status).to.equal('ENOLEDGER');
      await new Promise((r) => setImmediate(r));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('closes connections beyond maxConnections, with one warning for a burst', async () => {
    const warnings: string[] = [];
    const port = await listen({ maxConnections: 2 }, warnings);
    const kept = [await rawConnect(port), await rawConnect(port)];
    const refused = await Promise.all(Array.from({ length: 5 }, () => rawConnect(port)));
    for (const r of refused) await r.closed;
    expect(kept.every((k) => !k.socket.destroyed)).to.equal(true);
    for (const k of [...kept, ...refused]) k.destroy();
    expect(warnings.filter((w) => w.includes('too many connections'))).to.have.length(1);
  });

  it('closes an idle connection after idleTimeoutMs', async () => {
    const port = await listen({ idleTimeoutMs: 200 });
    const raw = await rawConnect(port);
    const start = Date.now();
    await raw.closed;
    expect(Date.now() - start).to.be.at.least(150);
  });

  it('logs a flood of malformed frames a few times, not once per frame', async () => {
    const warnings: string[] = [];
    const port = await listen({}, warnings);
    const conns = await Promise.all(Array.from({ length: 30 }, () => rawConnect(port)));
    for (const c of conns) c.write(frameOf(Buffer.from('not a protobuf request at all')));
    await Promise.all(conns.map((c) => c.closed));
    expect(warnings.length).to.be.within(1, 2);
  });
});
