// The bookie's admin HTTP endpoint, shaped like BookKeeper's http server: Prometheus metrics, a
// heartbeat, bookie info, the read-only state (GET, and PUT to switch it) and a GC trigger. It
// answers JSON (metrics: Prometheus text) and never throws into the bookie: a failed handler is a 500.
// Connections are not kept alive: scrapes are seconds apart, and a client reusing a socket the
// server is closing for idleness would see its request fail.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/logger.js';
import type { Bookie } from './bookie.js';

export interface AdminHttpOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
}

export interface AdminHttp {
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

const MAX_BODY = 4096;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
    });
    req.on('end', () => { resolve(body); });
    req.on('error', reject);
  });
}

async function handle(bookie: Bookie, req: http.IncomingMessage): Promise<{ status: number; type: string; body: string }> {
  const json = (value: unknown, status = 200): { status: number; type: string; body: string } => ({ status, type: 'application/json', body: `${JSON.stringify(value)}\n` });
  const path = new URL(req.url ?? '/', 'http://bookie').pathname;
  const method = req.method ?? 'GET';
  const only = (...methods: string[]): void => {
    if (!methods.includes(method)) throw new HttpError(405, `${method} not allowed on ${path} (use ${methods.join(' or ')})`);
  };
  switch (path) {
    case '/metrics':
      only('GET');
      return { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: bookie.metricsText() };
    case '/heartbeat':
      only('GET');
      return { status: 200, type: 'text/plain', body: 'OK\n' };
    case '/api/v1/bookie/info':
      only('GET');
      return json(await bookie.info());
    case '/api/v1/bookie/state': {
      only('GET', 'PUT');
      if (method === 'PUT') {
        let wanted: unknown;
        try {
          wanted = (JSON.parse(await readBody(req)) as { readOnly?: unknown }).readOnly;
        } catch (err) {
          if (err instanceof HttpError) throw err;
          throw new HttpError(400, 'body must be JSON: {"readOnly": true|false}');
        }
        if (typeof wanted !== 'boolean') throw new HttpError(400, 'body must be JSON: {"readOnly": true|false}');
        await bookie.setReadOnly(wanted);
      }
      return json({ readOnly: bookie.readOnly });
    }
    case '/api/v1/bookie/gc':
      only('PUT', 'POST');
      return json(await bookie.collectGarbage());
    default:
      throw new HttpError(404, `no such endpoint ${path}`);
  }
}

export async function startAdminHttp(bookie: Bookie, options: AdminHttpOptions): Promise<AdminHttp> {
  const server = http.createServer((req, res) => {
    handle(bookie, req).then(
      ({ status, type, body }) => { res.writeHead(status, { 'content-type': type, connection: 'close' }).end(body); },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) options.logger.error({ err, url: req.url }, 'admin endpoint request failed');
        res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(`${JSON.stringify({ error: (err as Error).message })}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: { host: options.host, port },
    close: () => new Promise<void>((resolve) => {
      server.close(() => { resolve(); });
      server.closeAllConnections();
    }),
  };
}
