// The bookie's TCP side: accepts connections, cuts frames, decodes BookKeeper v3 requests, hands
// them to the request processor and writes the responses, coalesced per tick. Responses may go out
// in any order (they carry the request's txnId). Bad bytes never crash the bookie: a framing or
// protobuf error closes that one connection, after one log line. START_TLS and AUTH are answered
// here, per connection (connection-security.ts); other requests reach the processor only on a
// connection allowed to make them.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../util/logger.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { decodeRequest, encodeResponse } from '../protocol/protocol-codec.js';
import type { DecodedRequest, Response } from '../protocol/protocol-types.js';
import type { BookieMetrics } from './bookie-metrics.js';
import type { SecurityPolicy } from './connection-security.js';
import type { RequestProcessor } from './request-processor.js';

export interface BookieServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxFrameSize: number;
  /** Requests in progress per connection before the bookie stops reading from it. */
  readonly maxInFlightPerConnection: number;
  readonly logger: Logger;
  readonly security: SecurityPolicy;
  readonly metrics: BookieMetrics;
}

export class BookieServer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #options: BookieServerOptions;
  readonly #processor: RequestProcessor;
  /** Never listens: START_TLS hands it the connection's socket, and it runs the handshake and the client-certificate check. */
  readonly #tls: tls.Server | undefined;
  /** Connections handed to #tls, by peer address, waiting for their TLS socket. */
  readonly #handshakes = new Map<string, (secured: tls.TLSSocket) => void>();

  private constructor(server: net.Server, processor: RequestProcessor, options: BookieServerOptions) {
    this.#server = server;
    this.#processor = processor;
    this.#options = options;
    const tlsOptions = options.security.serverOptions;
    if (tlsOptions !== undefined) {
      this.#tls = tls.createServer(tlsOptions);
      this.#tls.on('secureConnection', (secured) => {
        const key = `${secured.remoteAddress ?? ''}:${secured.remotePort ?? ''}`;
        const done = this.#handshakes.get(key);
        this.#handshakes.delete(key);
        if (done) done(secured);
        else secured.destroy();
      });
      this.#tls.on('tlsClientError', (err, secured) => {
        options.logger.warn({ err, peer: `${secured.remoteAddress ?? '?'}:${secured.remotePort ?? '?'}` }, `TLS handshake failed: ${err.message}`);
      });
    }
  }

  static async listen(processor: RequestProcessor, options: BookieServerOptions): Promise<BookieServer> {
    const server = net.createServer({ noDelay: true, keepAlive: true });
    const bookie = new BookieServer(server, processor, options);
    server.on('connection', (socket) => { bookie.#serve(socket); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return bookie;
  }

  /** Open client connections. */
  get connections(): number {
    let n = 0;
    for (const socket of this.#sockets) if (!(socket instanceof tls.TLSSocket)) n++;
    return n;
  }

  get address(): net.AddressInfo {
    return this.#server.address() as net.AddressInfo;
  }

  /** Stops accepting, closes every connection (pending requests are dropped; clients retry). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #serve(raw: net.Socket): void {
    const { logger, maxFrameSize, maxInFlightPerConnection, security, metrics } = this.#options;
    const peer = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
    this.#sockets.add(raw);
    const session = security.session();
    const decoder = new FrameDecoder({ maxFrameSize });
    // replaced by the TLS socket after START_TLS
    let socket: net.Socket = raw;
    let writer = new FrameWriter(socket);
    let inFlight = 0;
    let paused = false;
    const throttle = (): void => {
      const over = inFlight >= maxInFlightPerConnection || !writer.writable;
      if (over && !paused) {
        paused = true;
        socket.pause();
      } else if (!over && paused) {
        paused = false;
        socket.resume();
      }
    };
    const reject = (err: unknown, what: string): void => {
      logger.warn({ err, peer }, `closing connection: ${what}`);
      socket.destroy();
    };
    const respond = (response: Response): void => {
      if (socket.destroyed) return;
      writer.write(encodeResponse(response));
      if (!writer.writable) void writer.whenWritable().then(throttle, () => undefined);
      throttle();
    };
    const startTls = (txnId: bigint): void => {
      const server = this.#tls;
      if (server === undefined || session.secure || inFlight > 0 || !writer.writable) {
        respond({ op: 'START_TLS', txnId, status: 'EBADREQ' });
        return;
      }
      // the answer goes out in plaintext, then the client starts the handshake on this socket
      writer.write(encodeResponse({ op: 'START_TLS', txnId, status: 'EOK' }));
      writer.flush();
      raw.off('data', onData);
      const key = `${raw.remoteAddress ?? ''}:${raw.remotePort ?? ''}`;
      this.#handshakes.set(key, (secured) => {
        socket = secured;
        this.#sockets.add(secured);
        secured.on('close', () => { this.#sockets.delete(secured); });
        writer = new FrameWriter(secured);
        session.secured(secured);
        if (!session.authorized) logger.warn({ peer }, `TLS client refused: ${session.refusal ?? ''}`);
        secured.on('data', onData);
        secured.on('error', (err: Error) => { logger.debug({ err, peer }, 'TLS connection error'); });
      });
      raw.once('close', () => { this.#handshakes.delete(key); });
      server.emit('connection', raw);
    };
    const dispatch = (request: DecodedRequest): void => {
      if (request.op === 'START_TLS') {
        startTls(request.txnId);
        return;
      }
      if (request.op === 'AUTH') {
        respond(session.auth(request));
        return;
      }
      if (!session.authorized) {
        metrics.unauthorized();
        const operation = request.op === 'UNSUPPORTED' ? request.operation : request.op;
        respond({ op: 'STATUS_ONLY', operation, txnId: request.txnId, status: 'EUA' });
        return;
      }
      inFlight++;
      const startedAt = performance.now();
      void this.#processor.process(request).then((response) => {
        inFlight--;
        metrics.request(response, startedAt);
        respond(response);
      });
      throttle();
    };
    const onFrame = (frame: Buffer): void => {
      let request;
      try {
        request = decodeRequest(frame);
      } catch (err) {
        reject(err, 'malformed request');
        return;
      }
      dispatch(request);
    };
    const onData = (chunk: Buffer): void => {
      try {
        decoder.push(chunk, onFrame);
      } catch (err) {
        reject(err, 'bad frame');
      }
    };
    raw.on('data', onData);
    raw.on('error', (err) => { logger.debug({ err, peer }, 'connection error'); });
    raw.on('close', () => { this.#sockets.delete(raw); });
  }
}
