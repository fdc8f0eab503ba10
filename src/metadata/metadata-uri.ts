// Metadata URIs: `zk://h1:2181,h2:2181/path`, DistributedLog's `distributedlog://h1:2181;h2:2181/path`
// and the embedded `local:./dir`. The path names the root the caller works under (a namespace or a
// ledgers root); the store itself is not chrooted.
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { validatePath } from './path.js';

export type MetadataUri =
  | { readonly kind: 'zk'; readonly connectString: string; readonly path: string }
  | { readonly kind: 'local'; readonly dir: string; readonly path: string };

const ZK_SCHEMES = ['zk:', 'distributedlog:', 'distributedlog-bk:'];
const DEFAULT_ZK_PORT = 2181;

function fail(uri: string, why: string): never {
  throw new InvalidArgumentError(`invalid metadata URI ${JSON.stringify(uri)}: ${why}; ` +
    'expected zk://host:port[,host:port...]/path, distributedlog://host:port[;host:port...]/path or local:<dir>');
}

function parseHost(uri: string, hostPort: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d+))?$/.exec(hostPort);
  if (!m?.[1]) fail(uri, `bad host ${JSON.stringify(hostPort)}`);
  const port = m[2] === undefined ? DEFAULT_ZK_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(uri, `bad port in ${JSON.stringify(hostPort)}`);
  return `${m[1]}:${port}`;
}

function parseRoot(uri: string, raw: string): string {
  const root = raw === '' ? '/' : raw;
  try {
    validatePath(root);
  } catch (err) {
    fail(uri, `bad path: ${(err as Error).message}`);
  }
  return root;
}

export function parseMetadataUri(uri: string): MetadataUri {
  if (uri.trim() === '') fail(uri, 'empty');
  if (uri.startsWith('local:')) {
    const dir = uri.slice('local:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir === '') fail(uri, 'missing directory');
    // `~` as a shell would expand it: a URI in quotes or in a config file reaches us unexpanded
    const home = dir === '~' || dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(1)) : dir;
    return { kind: 'local', dir: path.resolve(home), path: '/' };
  }
  const scheme = ZK_SCHEMES.find((s) => uri.startsWith(`${s}//`));
  if (scheme === undefined) fail(uri, 'unknown scheme');
  const rest = uri.slice(scheme.length + 2);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  if (authority === '') fail(uri, 'missing host');
  const hosts = authority.split(/[,;]/).map((h) => parseHost(uri, h));
  return { kind: 'zk', connectString: hosts.join(','), path: parseRoot(uri, slash < 0 ? '' : rest.slice(slash)) };
}
