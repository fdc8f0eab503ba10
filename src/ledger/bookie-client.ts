// One connection to one bookie: BookKeeper v3 requests pipelined on a single socket, correlated by
// txnId, each with a timeout, frames coalesced per tick (FrameWriter). The connection is opened
// on first use and again after it drops; requests outstanding when it drops fail retriably.
//
// Per-request cost matters (a writer pipelines hundreds of adds per bookie): on an open, writable
// connection send() is synchronous up to the returned promise, and timeouts are deadlines checked
// by one timer per client, armed for the earliest deadline, instead of a timer per request.
//
// A client must not blame a bookie for its own stalled event loop: a request's timeout counts from
// when its frame is handed to the socket (not from when it was queued behind a burst), and a sweep
// that runs late (the loop was blocked, so responses may sit unread in the socket) first lets one
// I/O poll run before it fails anything.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { FrameDecoder, DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame-decoder.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { encodeAddRequestParts } from '../protocol/add-entry-codec.js';
import { decodeResponse, encodeRequest } from '../protocol/protocol-codec.js';
import type { Request, Response } from '../protocol/protocol-types.js';
import { RingQueue } from '../util/ring-queue.js';
import { Backoff } from '../util/backoff.js';
import { BookieClientError } from './bookie-client-error.js';
import { setUpConnection, type ConnectionSecurityOptions } from './connection-setup.js';

export interface BookieClientOptions extends ConnectionSecurityOptions {
  /** Per-request timeout. Default 5000 ms (BookKeeper's readTimeout). */
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly maxFrameSize?: number;
  /** After a failed connect, sends fail fast for this long, doubling up to 5 s. Default 100 ms. */
  readonly reconnectBackoffMs?: number;
}

const MAX_BACKOFF_MS = 5000;
/** A sweep this late means the event loop was blocked, not that the bookie was slow. */
const STALL_MS = 100;

/** A request as callers build it: the client assigns the txnId. */
export type OutgoingRequest = Request extends infer R ? (R extends Request ? Omit<R, 'txnId'> : never) : never;

interface Pending {
  readonly resolve: (response: Response) => void;
  readonly reject: (err: Error) => void;
  /** Date.now() after which the request fails with BOOKIE_TIMEOUT; reset when the frame is sent. */
  deadline: number;
  readonly op: Request['op'];
  readonly timeoutMs: number;
}

interface Connection {
  readonly socket: net.Socket;
  readonly writer: FrameWriter;
}

/** Process-wide, as BookKeeper clients do; unique across this process's connections. A number: map keys and varints stay cheap (2^53 ids). */
let nextTxnId = 0;

export class BookieClient {
  readonly address: { readonly host: string; readonly port: number };
  readonly #requestTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #maxFrameSize: number;
  readonly #security: ConnectionSecurityOptions;
  readonly #pending = new Map<number, Pending>();
  /** Requests whose frames wait in the FrameWriter, oldest first: their deadlines start at the flush. */
  #unsent = new RingQueue<Pending>();
  #connection: Promise<Connection> | undefined;
  /** Set while #connection is resolved and open: the synchronous path of send(). */
  #open: Connection | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** When #sweepTimer fires. */
  #sweepAt = Infinity;
  #closed = false;
  readonly #backoff: Backoff;
  /** Until then, a failed bookie is not dialled again: sends fail at once. */
  #retryAt = 0;
  /** The bookie's last refusal of this client (TLS, auth): repeated by the fast failures of the backoff. */
  #refusal: BookieClientError | undefined;
  /** The host name resolved once (the thread pool's DNS lookup stays off the per-connect path). */
  #ip: Promise<string> | undefined;
  /** Set by fail(): the bookie is gone for good, every request fails with this at once. */
  #failure: Error | undefined;

  /** `address` is `host:port` (a bookie id that is an address). */
  constructor(address: string | { host: string; port: number }, options: BookieClientOptions = {}) {
    if (typeof address === 'string') {
      const i = address.lastIndexOf(':');
      this.address = { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
    } else {
      this.address = address;
    }
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.#security = { ...(options.tls === undefined ? {} : { tls: options.tls }), ...(options.auth === undefined ? {} : { auth: options.auth }) };
    this.#backoff = new Backoff({ initialMs: options.reconnectBackoffMs ?? 100, maxMs: MAX_BACKOFF_MS });
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Sends one request; resolves with the bookie's response, whatever its status. */
  send(request: OutgoingRequest, timeoutMs = this.#requestTimeoutMs): Promise<Response> {
    if (this.#closed) return Promise.reject(new BookieClientError('BOOKIE_CLIENT_CLOSED', 'the bookie client is closed'));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const open = this.#open;
    if (open?.writer.writable === true) return this.#write(open.writer, request, timeoutMs);
    return this.#sendWhenWritable(request, timeoutMs);
  }

  async #sendWhenWritable(request: OutgoingRequest, timeoutMs: number): Promise<Response> {
    const wait = this.#retryAt - Date.now();
    if (this.#connection === undefined && wait > 0) {
      if (this.#refusal !== undefined) throw new BookieClientError(this.#refusal.code, this.#refusal.message);
      throw new BookieClientError('BOOKIE_UNAVAILABLE', `cannot connect to ${this.#name()}; next attempt in ${wait} ms`);
    }
    const { writer } = await this.#connect();
    // the socket is applying back-pressure: wait rather than buffer without bound
    if (!writer.writable) await writer.whenWritable().catch(() => undefined);
    if (this.#failure !== undefined) throw this.#failure; // failed meanwhile
    return this.#write(writer, request, timeoutMs);
  }

  #write(writer: FrameWriter, request: OutgoingRequest, timeoutMs: number): Promise<Response> {
    const txnId = nextTxnId++;
    // an add's body is shared by the frames to every bookie of its write set, never copied into each
    const add = request.op === 'ADD_ENTRY' ? encodeAddRequestParts(request, txnId) : undefined;
    const frame = add?.head ?? encodeRequest({ ...request, txnId: BigInt(txnId) });
    const deadline = Date.now() + timeoutMs;
    return new Promise<Response>((resolve, reject) => {
      const pending: Pending = { resolve, reject, deadline, op: request.op, timeoutMs };
      this.#pending.set(txnId, pending);
      this.#unsent.push(pending);
      if (deadline < this.#sweepAt) this.#armSweep(deadline);
      try {
        if (add === undefined) writer.write(frame);
        else writer.write(add.head, add.body, add.tail);
      } catch (err) {
        this.#settle(txnId)?.reject(new BookieClientError('BOOKIE_UNAVAILABLE', `connection to ${this.#name()} lost`, { cause: err }));
      }
    });
  }

  /** Closes the connection; outstanding requests fail with BOOKIE_CLIENT_CLOSED. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#sweepTimer);
    void this.#connection?.then(({ socket }) => socket.destroy(), () => undefined);
    this.#failAll(new BookieClientError('BOOKIE_CLIENT_CLOSED', 'the bookie client is closed'));
  }

  /**
   * The bookie is gone for good (an embedded bookie its cluster gave up on): the requests in flight
   * fail with `err` now, later ones at once, and the bookie is never dialled again (no connect
   * timeouts, no reconnect attempts).
   */
  fail(err: Error): void {
    if (this.#closed || this.#failure !== undefined) return;
    this.#failure = err;
    this.#open = undefined;
    clearTimeout(this.#sweepTimer);
    this.#sweepAt = Infinity;
    void this.#connection?.then(({ socket }) => socket.destroy(), () => undefined);
    this.#failAll(err);
  }

  /** The FrameWriter handed every queued frame to the socket: their timeouts start now. */
  readonly #onFlush = (): void => {
    if (this.#unsent.length === 0) return;
    const now = Date.now();
    for (let p = this.#unsent.shift(); p !== undefined; p = this.#unsent.shift()) p.deadline = now + p.timeoutMs;
  };

  #name(): string {
    return `bookie ${this.address.host}:${this.address.port}`;
  }

  #settle(txnId: number): Pending | undefined {
    const pending = this.#pending.get(txnId);
    if (pending) this.#pending.delete(txnId);
    return pending;
  }

  #failAll(err: Error): void {
    for (const txnId of [...this.#pending.keys()]) this.#settle(txnId)?.reject(err);
  }

  // Unref'd: a pending request always has an open socket, which keeps the process alive.
  #armSweep(at: number): void {
    clearTimeout(this.#sweepTimer);
    this.#sweepAt = at;
    this.#sweepTimer = setTimeout(this.#sweep, Math.max(0, at - Date.now())).unref();
  }

  /** Fails the requests past their deadline and re-arms for the earliest remaining one. */
  readonly #sweep = (): void => {
    const late = Date.now() - this.#sweepAt;
    this.#sweepTimer = undefined;
    if (late > STALL_MS && this.#pending.size > 0) {
      // timers run before the poll phase: read what arrived while the loop was blocked first
      this.#sweepAt = -Infinity; // no timer is armed until #expire has run
      setImmediate(this.#expire);
      return;
    }
    this.#expire();
  };

  readonly #expire = (): void => {
    this.#sweepAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [txnId, pending] of this.#pending) {
      if (pending.deadline <= now) {
        this.#pending.delete(txnId);
        pending.reject(new BookieClientError('BOOKIE_TIMEOUT', `${pending.op} to ${this.#name()} timed out after ${pending.timeoutMs} ms`));
      } else if (pending.deadline < next) {
        next = pending.deadline;
      }
    }
    if (next !== Infinity) this.#armSweep(next);
  };

  #resolveHost(): Promise<string> {
    const { host } = this.address;
    if (net.isIP(host) !== 0) return Promise.resolve(host);
    this.#ip ??= lookup(host).then((r) => r.address, (err: unknown) => {
      this.#ip = undefined; // not cached: the next attempt looks it up again
      throw err;
    });
    return this.#ip;
  }

  #connectFailed(): void {
    this.#retryAt = Date.now() + this.#backoff.next();
  }

  #connect(): Promise<Connection> {
    this.#connection ??= this.#resolveHost().catch((err: unknown) => {
      this.#connection = undefined;
      this.#connectFailed();
      throw new BookieClientError('BOOKIE_UNAVAILABLE', `cannot resolve ${this.#name()}`, { cause: err });
    }).then((ip) => new Promise<Connection>((resolve, reject) => {
      const raw = net.connect({ host: ip, port: this.address.port, noDelay: true, keepAlive: true });
      const decoder = new FrameDecoder({ maxFrameSize: this.#maxFrameSize });
      // the connect timeout covers the TLS and AUTH set-up too
      const timer = setTimeout(() => { raw.destroy(new Error(`connect timed out after ${this.#connectTimeoutMs} ms`)); }, this.#connectTimeoutMs);
      let connected = false;
      let closed = false;
      /** Why set-up failed, reported instead of a bare "cannot connect". */
      let refusal: BookieClientError | undefined;
      const onClose = (): void => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        this.#connection = undefined;
        this.#open = undefined;
        this.#unsent = new RingQueue();
        if (!connected) this.#connectFailed();
        const err = this.#failure ?? refusal ?? new BookieClientError('BOOKIE_UNAVAILABLE', `${connected ? 'connection to' : 'cannot connect to'} ${this.#name()}${connected ? ' lost' : ''}`);
        if (!connected) reject(err);
        this.#failAll(err);
      };
      const onData = (chunk: Buffer): void => {
        try {
          decoder.push(chunk, (frame) => {
            const response = decodeResponse(frame);
            this.#settle(Number(response.txnId))?.resolve(response);
          });
        } catch (err) {
          raw.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      };
      /** While the set-up runs, its outcome (which a close also settles) reports the failure. */
      let settingUp = false;
      raw.once('connect', () => {
        settingUp = true;
        setUpConnection(raw, this.#security, this.#name(), this.#maxFrameSize).then((socket) => {
          settingUp = false;
          if (closed || raw.destroyed) {
            onClose();
            return;
          }
          connected = true;
          clearTimeout(timer);
          this.#backoff.reset();
          this.#retryAt = 0;
          this.#refusal = undefined;
          if (socket !== raw) {
            socket.on('error', () => { /* reported through 'close' */ });
            socket.once('close', () => { raw.destroy(); onClose(); });
          }
          socket.on('data', onData);
          this.#open = { socket, writer: new FrameWriter(socket, { onFlush: this.#onFlush }) };
          resolve(this.#open);
        }, (err: unknown) => {
          settingUp = false;
          refusal = err instanceof BookieClientError ? err : new BookieClientError('BOOKIE_UNAVAILABLE', `cannot set up a connection to ${this.#name()}: ${(err as Error).message}`, { cause: err });
          this.#refusal = refusal;
          raw.destroy();
          onClose();
        });
      });
      raw.on('error', () => { /* reported through 'close' */ });
      raw.once('close', () => { if (!settingUp) onClose(); });
    }));
    return this.#connection;
  }
}
