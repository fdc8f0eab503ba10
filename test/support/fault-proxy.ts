// A TCP fault proxy for tests: put it between any two parties (client↔bookie, client↔ZooKeeper,
// bookie↔ZooKeeper) and change the link at any time:
// - `blackhole`: bytes stop flowing both ways and nothing is reset (a hung peer or a cut cable:
//   the kernel buffers fill and the sender sees no error); healing delivers what was held, as TCP
//   retransmission would. New connections are accepted and held too.
// - `reset`: every connection gets an RST, and so does every new one while the fault lasts.
// - `delay`: each chunk is forwarded `ms` after it arrived (order kept).
// - `throttle`: at most `bytesPerSecond` each way.
// - `halfClose`: a FIN in one direction (`toServer` or `toClient`); the other direction flows on.
// Chunks are held in a bounded queue per direction; a full queue pauses the sending side.
import net from 'node:net';

export type LinkFault =
  | { readonly kind: 'none' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'throttle'; readonly bytesPerSecond: number }
  | { readonly kind: 'halfClose'; readonly direction: 'toServer' | 'toClient' };

const MAX_QUEUED_BYTES = 1 << 20;

/** One direction of one connection: reads `from`, writes `to`, applying the proxy's fault. */
class Pump {
  readonly #queue: { chunk: Buffer; at: number }[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the throttle lets the next byte go. */
  #nextFree = 0;
  #ended = false;

  constructor(
    readonly from: net.Socket,
    readonly to: net.Socket,
    readonly direction: 'toServer' | 'toClient',
    readonly fault: () => LinkFault,
  ) {
    from.on('data', (chunk: Buffer) => {
      const f = this.fault();
      let at = Date.now();
      if (f.kind === 'delay') at += f.ms;
      if (f.kind === 'throttle') {
        this.#nextFree = Math.max(this.#nextFree, Date.now()) + (chunk.length * 1000) / f.bytesPerSecond;
        at = this.#nextFree;
      }
      this.#queue.push({ chunk, at });
      this.#queued += chunk.length;
      if (this.#queued > MAX_QUEUED_BYTES) from.pause();
      this.pump();
    });
    from.on('end', () => {
      this.#ended = true;
      this.pump();
    });
  }

  /** Forwards what is due; called on new data, on a timer and when the fault changes. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const f = this.fault();
    if (f.kind === 'blackhole') {
      this.from.pause();
      return;
    }
    if (f.kind === 'halfClose' && f.direction === this.direction) {
      this.#queue.length = 0;
      this.#queued = 0;
      if (!this.to.writableEnded) this.to.end();
      this.from.resume(); // read and drop
      return;
    }
    const now = Date.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now) {
      const { chunk } = this.#queue.shift()!;
      this.#queued -= chunk.length;
      if (!this.to.destroyed && !this.to.writableEnded) this.to.write(chunk);
    }
    if (this.#queue.length > 0) {
      this.#timer = setTimeout(() => { this.pump(); }, Math.max(1, this.#queue[0]!.at - now));
    } else if (this.#ended && !this.to.writableEnded) {
      this.to.end();
    }
    if (this.#queued <= MAX_QUEUED_BYTES / 2 && !this.from.destroyed) this.from.resume();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

interface Link {
  readonly client: net.Socket;
  readonly server: net.Socket;
  readonly pumps: Pump[];
}

export class FaultProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  /** Connections accepted during a blackhole, connected upstream when it heals. */
  readonly #held = new Set<net.Socket>();
  #fault: LinkFault = { kind: 'none' };
  /** Bytes received from clients (forwarded or held): how much a client asked of the server. */
  bytesFromClients = 0;

  private constructor(server: net.Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  /** Listens on a free loopback port (or `port`) and forwards to `target` (`host:port` or an object). */
  static async start(target: string | { host: string; port: number }, port = 0): Promise<FaultProxy> {
    const t = typeof target === 'string'
      ? { host: target.slice(0, target.lastIndexOf(':')), port: Number(target.slice(target.lastIndexOf(':') + 1)) }
      : target;
    const server = net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true });
    const proxy = new FaultProxy(server, t);
    server.on('connection', (socket) => { proxy.#accept(socket); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => { resolve(); });
    });
    return proxy;
  }

  get port(): number { return (this.#server.address() as net.AddressInfo).port; }
  /** `127.0.0.1:<port>`: give this to the party that should go through the proxy. */
  get address(): string { return `127.0.0.1:${this.port}`; }
  get fault(): LinkFault { return this.#fault; }
  get connections(): number { return this.#links.size + this.#held.size; }

  /** Applies `fault` to every current and future connection until the next set()/heal(). */
  set(fault: LinkFault): void {
    this.#fault = fault;
    if (fault.kind === 'reset') {
      for (const link of this.#links) {
        link.client.resetAndDestroy();
        link.server.resetAndDestroy();
      }
      for (const socket of this.#held) socket.resetAndDestroy();
      return;
    }
    if (fault.kind !== 'blackhole') for (const socket of [...this.#held]) this.#connect(socket);
    for (const link of this.#links) for (const pump of link.pumps) pump.pump();
  }

  heal(): void {
    this.set({ kind: 'none' });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
    for (const link of this.#links) {
      for (const pump of link.pumps) pump.stop();
      link.client.destroy();
      link.server.destroy();
    }
    for (const socket of this.#held) socket.destroy();
    await closed;
  }

  #accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.#fault.kind === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    if (this.#fault.kind === 'blackhole') {
      this.#held.add(socket);
      socket.once('close', () => this.#held.delete(socket));
      return;
    }
    this.#connect(socket);
  }

  #connect(client: net.Socket): void {
    this.#held.delete(client);
    if (client.destroyed) return;
    const server = net.connect({ host: this.#target.host, port: this.#target.port, noDelay: true, allowHalfOpen: true });
    server.on('error', () => undefined);
    const link: Link = { client, server, pumps: [] };
    link.pumps.push(new Pump(client, server, 'toServer', () => this.#fault), new Pump(server, client, 'toClient', () => this.#fault));
    client.on('data', (chunk: Buffer) => { this.bytesFromClients += chunk.length; });
    this.#links.add(link);
    const drop = (): void => {
      if (!this.#links.delete(link)) return;
      for (const pump of link.pumps) pump.stop();
      client.destroy();
      server.destroy();
    };
    client.once('close', drop);
    server.once('close', drop);
    client.resume();
  }
}
