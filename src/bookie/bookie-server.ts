// The bookie's TCP side: accepts connections, cuts frames, decodes BookKeeper v3 requests, hands
// them to the request processor and writes the responses, coalesced per tick. Responses may go out
// in any order (they carry the request's txnId). Bad bytes never crash the bookie: a framing or
// protobuf error closes that one connection, with a rate-limited log line; so does a request whose
// processing or response encoding throws.
//
// Resource limits per connection, so that a client cannot run the bookie out of memory: a request
// is started only while the responses queued for the peer stay under maxQueuedResponseBytes, fewer
// than maxInFlightReadsPerConnection entry reads (long polls aside: they hold no data while they
// wait) and maxInFlightPerConnection requests are in progress; otherwise decoded frames wait and
// the socket is paused, so a client that does not read its responses stops being read. Plus a cap
// on connections and an idle timeout.
//
// START_TLS and AUTH are answered here, per connection (connection-security.ts); other requests
// reach the processor only on a connection allowed to make them.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../util/logger.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { decodeRequest, encodeResponse } from '../protocol/protocol-codec.js';
import type { AddEntryRequest, DecodedRequest, ReadEntryRequest, Response } from '../protocol/protocol-types.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { BookieMetrics } from './bookie-metrics.js';
import { SecurityPolicy } from './connection-security.js';
import type { RequestProcessor } from './request-processor.js';

export interface BookieServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxFrameSize: number;
  /** Requests in progress per connection before the bookie stops reading from it. */
  readonly maxInFlightPerConnection: number;
  /** Entry reads (not long polls) in progress per connection before it stops reading. */
  readonly maxInFlightReadsPerConnection: number;
  /** Response bytes queued for one peer before the bookie stops starting its requests. */
  readonly maxQueuedResponseBytes: number;
  /** Connections beyond this are closed at once. */
  readonly maxConnections: number;
  /** A connection with nothing in progress and no traffic for this long is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  /** Default: no TLS, no authentication. */
  readonly security?: SecurityPolicy;
  /** Default: metrics nobody reads. */
  readonly metrics?: BookieMetrics;
}

/** An entry read that returns data now (a long poll waits first and carries at most one entry). */
function isDataRead(request: DecodedRequest): boolean {
  return request.op === 'READ_ENTRY' && request.previousLAC === undefined;
}

export class BookieServer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #options: BookieServerOptions & { readonly security: SecurityPolicy; readonly metrics: BookieMetrics };
  readonly #processor: RequestProcessor;
  readonly #warn: RateLimitedLog;
  /** Never listens: START_TLS hands it the connection's socket, and it runs the handshake and the client-certificate check. */
  readonly #tls: tls.Server | undefined;
  /** Connections handed to #tls, by peer address, waiting for their TLS socket. */
  readonly #handshakes = new Map<string, (secured: tls.TLSSocket) => void>();

  private constructor(server: net.Server, processor: RequestProcessor, options: BookieServerOptions) {
    this.#server = server;
    this.#processor = processor;
    this.#options = { ...options, security: options.security ?? new SecurityPolicy(undefined, undefined), metrics: options.metrics ?? new BookieMetrics() };
    this.#warn = new RateLimitedLog(options.logger);
    const tlsOptions = this.#options.security.serverOptions;
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
    server.maxConnections = options.maxConnections;
    server.on('connection', (socket) => { bookie.#serve(socket); });
    server.on('drop', (data) => {
      bookie.#warn.warn('drop', { peer: `${data?.remoteAddress ?? '?'}:${data?.remotePort ?? '?'}`, maxConnections: options.maxConnections }, 'connection refused: too many connections');
    });
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
    const { maxFrameSize, maxInFlightPerConnection, maxInFlightReadsPerConnection, maxQueuedResponseBytes, idleTimeoutMs, security, metrics } = this.#options;
    const peer = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
    this.#sockets.add(raw);
    const session = security.session();
    const decoder = new FrameDecoder({ maxFrameSize });
    // replaced by the TLS socket after START_TLS
    let socket: net.Socket = raw;
    let writer = new FrameWriter(socket);
    /** Decoded requests not started yet: at most one socket read's worth, as reading pauses. */
    const backlog: DecodedRequest[] = [];
    let inFlight = 0;
    let readsInFlight = 0;
    let paused = false;
    const congested = (): boolean => inFlight >= maxInFlightPerConnection || readsInFlight >= maxInFlightReadsPerConnection
      || writer.queuedBytes + socket.writableLength >= maxQueuedResponseBytes || !writer.writable;
    const close = (err: unknown, what: string): void => {
      this.#warn.warn(what, { err, peer }, `closing connection: ${what}`);
      socket.destroy();
    };
    const pump = (): void => {
      while (backlog.length > 0 && !congested() && !socket.destroyed) {
        const head = backlog[0] as DecodedRequest;
        if (session.authorized && (head.op === 'ADD_ENTRY' || isDataRead(head))) startGroup(head.op !== 'ADD_ENTRY');
        else start(backlog.shift() as DecodedRequest);
      }
      const stop = backlog.length > 0 || congested();
      if (stop && !paused) {
        paused = true;
        socket.pause();
        if (!writer.writable) void writer.whenWritable().then(pump, () => undefined);
      } else if (!stop && paused) {
        paused = false;
        socket.resume();
      }
    };
    const respond = (response: Response): void => {
      if (!socket.destroyed) writer.write(encodeResponse(response));
    };
    const startTls = (txnId: bigint): void => {
      const server = this.#tls;
      if (server === undefined || session.secure || inFlight > 0 || backlog.length > 0 || !writer.writable) {
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
        if (!session.authorized) this.#warn.warn('tls-refused', { peer }, `TLS client refused: ${session.refusal ?? ''}`);
        secured.on('data', onData);
        secured.on('error', (err: Error) => { this.#options.logger.debug({ err, peer }, 'TLS connection error'); });
      });
      raw.once('close', () => { this.#handshakes.delete(key); });
      server.emit('connection', raw);
    };
    const start = (request: DecodedRequest): void => {
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
        respond({ op: 'STATUS_ONLY', operation: request.op === 'UNSUPPORTED' ? request.operation : request.op, txnId: request.txnId, status: 'EUA' });
        return;
      }
      const read = isDataRead(request);
      const startedAt = performance.now();
      inFlight++;
      if (read) readsInFlight++;
      void this.#processor.process(request)
        .then((response) => {
          metrics.request(response, startedAt);
          respond(response);
        })
        .catch((err: unknown) => { close(err, `failed to answer ${request.op}`); })
        .finally(() => {
          inFlight--;
          if (read) readsInFlight--;
          pump();
        });
    };
    // The run of adds (or of entry reads) at the head of the backlog, one socket read's worth up to
    // the in-flight caps, starts as one group: one callback per journal group (per batch of reads
    // served from memory) instead of a promise chain per request.
    const startGroup = (reads: boolean): void => {
      const member = reads ? isDataRead : (r: DecodedRequest): boolean => r.op === 'ADD_ENTRY';
      const room = reads ? Math.min(maxInFlightPerConnection - inFlight, maxInFlightReadsPerConnection - readsInFlight) : maxInFlightPerConnection - inFlight;
      let n = 1;
      while (n < backlog.length && n < room && member(backlog[n] as DecodedRequest)) n++;
      const group = backlog.splice(0, n);
      const startedAt = performance.now();
      inFlight += n;
      if (reads) readsInFlight += n;
      const answer = (responses: Response[]): void => {
        inFlight -= responses.length;
        if (reads) readsInFlight -= responses.length;
        metrics.requests(responses, startedAt);
        try {
          for (const response of responses) respond(response);
        } catch (err) {
          close(err, `failed to answer ${reads ? 'READ_ENTRY' : 'ADD_ENTRY'}`);
        }
        pump();
      };
      if (reads) this.#processor.readAll(group as ReadEntryRequest[], answer);
      else this.#processor.addAll(group as AddEntryRequest[], answer);
    };
    const onFrame = (frame: Buffer): void => {
      let request;
      try {
        request = decodeRequest(frame);
      } catch (err) {
        close(err, 'malformed request');
        return;
      }
      backlog.push(request);
    };
    const onData = (chunk: Buffer): void => {
      try {
        decoder.push(chunk, onFrame);
      } catch (err) {
        close(err, 'bad frame');
      }
      pump();
    };
    raw.on('data', onData);
    if (idleTimeoutMs > 0) {
      raw.setTimeout(idleTimeoutMs, () => {
        // a long poll in progress is activity: the client waits on it
        if (inFlight === 0 && backlog.length === 0) raw.destroy();
      });
    }
    raw.on('error', (err) => { this.#options.logger.debug({ err, peer }, 'connection error'); });
    raw.on('close', () => {
      backlog.length = 0;
      this.#sockets.delete(raw);
    });
  }
}
