// The bookie's TCP side: accepts connections, cuts frames, decodes BookKeeper v3 requests, hands
// them to the request processor and writes the responses, coalesced per tick. Responses may go out
// in any order (they carry the request's txnId). Bad bytes never crash the bookie: a framing or
// protobuf error closes that one connection, after one log line.
import net from 'node:net';
import type { Logger } from '../util/logger.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { decodeRequest, encodeResponse } from '../protocol/protocol-codec.js';
import type { RequestProcessor } from './request-processor.js';

export interface BookieServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxFrameSize: number;
  /** Requests in progress per connection before the bookie stops reading from it. */
  readonly maxInFlightPerConnection: number;
  readonly logger: Logger;
}

export class BookieServer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #options: BookieServerOptions;
  readonly #processor: RequestProcessor;

  private constructor(server: net.Server, processor: RequestProcessor, options: BookieServerOptions) {
    this.#server = server;
    this.#processor = processor;
    this.#options = options;
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

  get address(): net.AddressInfo {
    return this.#server.address() as net.AddressInfo;
  }

  /** Stops accepting, closes every connection (pending requests are dropped; clients retry). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #serve(socket: net.Socket): void {
    const { logger, maxFrameSize, maxInFlightPerConnection } = this.#options;
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.#sockets.add(socket);
    const decoder = new FrameDecoder({ maxFrameSize });
    const writer = new FrameWriter(socket);
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
    const onFrame = (frame: Buffer): void => {
      let request;
      try {
        request = decodeRequest(frame);
      } catch (err) {
        reject(err, 'malformed request');
        return;
      }
      inFlight++;
      void this.#processor.process(request).then((response) => {
        inFlight--;
        if (socket.destroyed) return;
        writer.write(encodeResponse(response));
        if (!writer.writable) void writer.whenWritable().then(throttle, () => undefined);
        throttle();
      });
      throttle();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, onFrame);
      } catch (err) {
        reject(err, 'bad frame');
      }
    });
    socket.on('error', (err) => { logger.debug({ err, peer }, 'connection error'); });
    socket.on('close', () => { this.#sockets.delete(socket); });
  }
}
