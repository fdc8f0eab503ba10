// `dlog bookie list` (registered bookies, writable and read-only) and `dlog bookie status
// <host:port>` (a bookie's admin HTTP endpoint).
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { openMetadataStore } from '../metadata/open-metadata-store.js';
import { parseMetadataUri } from '../metadata/metadata-uri.js';
import { formatTable } from './table.js';

export const BOOKIE_LIST_HELP = `Usage: dlog bookie list --metadata <uri> [--zk-auth user:password]

Lists the bookies registered under the ledgers root the URI's path names (default /ledgers):
id and state (writable or read-only).
`;

export const BOOKIE_STATUS_HELP = `Usage: dlog bookie status <host:port>

Asks a bookie's admin HTTP endpoint (dlog bookie --http-port) for its info and state.
`;

export async function bookieListCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { metadata: { type: 'string' }, 'zk-auth': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(BOOKIE_LIST_HELP);
    return 0;
  }
  if (values.metadata === undefined) throw new InvalidArgumentError('--metadata <uri> is required (e.g. zk://127.0.0.1:2181/ledgers)');
  const uri = parseMetadataUri(values.metadata);
  const root = uri.path === '/' ? '/ledgers' : uri.path;
  const store = await openMetadataStore(uri, values['zk-auth'] === undefined ? {} : { zkAuth: values['zk-auth'] });
  try {
    const available = `${root}/available`;
    const writable = (await store.children(available).catch(() => [])).filter((c) => c !== 'readonly');
    const readOnly = await store.children(`${available}/readonly`).catch(() => []);
    const rows = [...writable.map((id) => [id, 'writable']), ...readOnly.map((id) => [id, 'read-only'])];
    process.stdout.write(formatTable([['BOOKIE', 'STATE'], ...rows]));
    return 0;
  } finally {
    await store.close();
  }
}

export async function bookieStatusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(BOOKIE_STATUS_HELP);
    return 0;
  }
  const [address] = positionals;
  if (address === undefined || positionals.length > 1 || !/^[^:]+:\d+$/.test(address)) {
    throw new InvalidArgumentError('dlog bookie status takes one <host:port> (the bookie\'s --http-port)');
  }
  let info: Record<string, unknown>;
  try {
    const res = await fetch(`http://${address}/api/v1/bookie/info`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    info = await res.json() as Record<string, unknown>;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`cannot reach the admin endpoint at ${address}: ${cause}`, { cause: err });
  }
  process.stdout.write(formatTable([['FIELD', 'VALUE'], ...Object.entries(info).map(([k, v]) => [k, String(v)])]));
  return 0;
}
