// What a client does on a fresh bookie connection before its first request, as BookKeeper's
// client does: START_TLS then the TLS handshake on the same socket (when TLS is configured), then
// AUTH (when TLS or an auth plugin is configured), whose refusal carries the bookie's reason.
import type net from 'node:net';
import tls from 'node:tls';
import { AUTH_DISABLED_PLUGIN, TOKEN_AUTH_PLUGIN, type TokenAuthOptions } from '../protocol/auth-plugins.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { decodeResponse, encodeRequest } from '../protocol/protocol-codec.js';
import type { Request, Response } from '../protocol/protocol-types.js';
import { certificateValidityProblem } from '../util/certificate-validity.js';
import { BookieClientError } from './bookie-client-error.js';

export interface ClientTlsOptions {
  /** PEM CA(s) the bookie's certificate must chain to. Default: Node's bundled public CAs. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** PEM client certificate, for bookies that verify clients (mutual TLS). */
  readonly cert?: string | Buffer;
  /** PEM private key of `cert`. */
  readonly key?: string | Buffer;
  /**
   * Check the bookie's certificate names its host. Default false, as BookKeeper
   * (tlsHostnameVerificationEnabled): bookie ids are often bare addresses. The chain is always checked.
   */
  readonly verifyHostname?: boolean;
}

export interface ConnectionSecurityOptions {
  readonly tls?: ClientTlsOptions;
  readonly auth?: TokenAuthOptions;
}

/** Sends one request on a connection nobody else reads yet and waits for its answer. */
function exchange(socket: net.Socket, request: Request, maxFrameSize: number): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const decoder = new FrameDecoder({ maxFrameSize });
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      try {
        decoder.push(chunk, (frame) => {
          done();
          resolve(decodeResponse(frame));
        });
      } catch (err) {
        done();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const onClose = (): void => {
      done();
      reject(new Error(`connection closed while waiting for the ${request.op} answer`));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', onError);
    socket.write(encodeRequest(request));
  });
}

function handshake(socket: net.Socket, options: ClientTlsOptions, host: string): Promise<tls.TLSSocket> {
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    const secured = tls.connect({
      socket,
      ...(options.ca === undefined ? {} : { ca: options.ca as tls.ConnectionOptions['ca'] }),
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.verifyHostname === true ? { servername: host } : { checkServerIdentity: () => undefined }),
    });
    const onError = (err: Error): void => { reject(err); };
    secured.once('error', onError);
    secured.once('secureConnect', () => {
      secured.off('error', onError);
      resolve(secured);
    });
  });
}

/**
 * Runs the set-up on a connected socket and returns the stream requests then go on (the socket
 * itself, or the TLS socket over it). Fails with BOOKIE_TLS_FAILED or BOOKIE_UNAUTHORIZED, naming
 * the bookie and the reason; the caller destroys the socket.
 */
export async function setUpConnection(
  socket: net.Socket, options: ConnectionSecurityOptions, bookie: string, maxFrameSize: number,
): Promise<net.Socket> {
  let stream: net.Socket = socket;
  if (options.tls !== undefined) {
    // a bookie refuses an expired client certificate by closing the connection after the
    // handshake (TLS 1.3), which would read as a bare refusal: say why before trying
    const expired = options.tls.cert === undefined ? undefined : certificateValidityProblem(options.tls.cert);
    if (expired !== undefined) throw new BookieClientError('BOOKIE_TLS_FAILED', `TLS with ${bookie}: our client certificate is unusable: ${expired}`);
    const started = await exchange(socket, { op: 'START_TLS', txnId: 0n }, maxFrameSize);
    if (started.status !== 'EOK') {
      throw new BookieClientError('BOOKIE_TLS_FAILED', `${bookie} does not serve TLS (START_TLS answered ${started.status})`);
    }
    const host = socket.remoteAddress ?? '';
    try {
      stream = await handshake(socket, options.tls, host);
    } catch (err) {
      throw new BookieClientError('BOOKIE_TLS_FAILED', `TLS handshake with ${bookie} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  if (options.tls === undefined && options.auth === undefined) return stream;
  const answer = await exchange(stream, {
    op: 'AUTH', txnId: 0n,
    authPluginName: options.auth === undefined ? AUTH_DISABLED_PLUGIN : TOKEN_AUTH_PLUGIN,
    payload: Buffer.from(options.auth?.token ?? ''),
  }, maxFrameSize).catch((err: unknown) => {
    // a bookie that refuses the client certificate closes the connection after the handshake
    throw new BookieClientError('BOOKIE_UNAUTHORIZED', `${bookie} refused this client: ${(err as Error).message}`, { cause: err });
  });
  if (answer.status !== 'EOK') {
    const reason = answer.op === 'AUTH' && answer.payload.length > 0 ? answer.payload.toString('utf8') : answer.status;
    throw new BookieClientError('BOOKIE_UNAUTHORIZED', `${bookie} refused this client: ${reason}`);
  }
  return stream;
}
