// A namespace's binding to its BookKeeper cluster (reference §1.1): the first znode with data on the
// way from the namespace path up to `/` holds `1`, `BKDL` and a TJSON-encoded BKDLConfigFormat whose
// field 1 is the bookies' ZooKeeper and field 2 their ledgers root. Unbound: `/ledgers` on the
// namespace's own ZooKeeper.
import { MetadataError } from '../../errors.js';
import type { MetadataStore } from '../../metadata/metadata-store.js';
import { parentOf, validatePath } from '../../metadata/path.js';
import { LogError } from '../log-error.js';

export interface NamespaceBinding {
  /** The bookies' ZooKeeper connect string, when the binding names one. */
  readonly zkServers?: string;
  readonly ledgersPath: string;
}

export const DEFAULT_LEDGERS_PATH = '/ledgers';

/** Parses a namespace root's data; INVALID_LOG_METADATA when it is not a DL binding. */
export function parseNamespaceBinding(path: string, data: Uint8Array): NamespaceBinding {
  const lines = Buffer.from(data).toString('utf8').split('\n');
  const bad = (why: string): LogError => new LogError('INVALID_LOG_METADATA', `namespace binding at ${path}: ${why}`);
  if (lines[0]?.trim() !== '1' || lines[1]?.trim() !== 'BKDL') throw bad('expected the lines "1" and "BKDL"');
  let fields: unknown;
  try {
    fields = JSON.parse(lines.slice(2).join('\n'));
  } catch {
    throw bad('the third line is not TJSON');
  }
  const str = (id: string): string | undefined => {
    const field = (fields as Record<string, unknown> | null)?.[id];
    const value = (field as { str?: unknown } | undefined)?.str;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const zkServers = str('1');
  const ledgersPath = str('2') ?? DEFAULT_LEDGERS_PATH;
  validatePath(ledgersPath);
  return zkServers === undefined ? { ledgersPath } : { zkServers: zkServers.replaceAll(';', ','), ledgersPath };
}

/** The binding in effect for `namespaceRoot`, or the default when no znode on the way up has data. */
export async function findNamespaceBinding(store: MetadataStore, namespaceRoot: string): Promise<NamespaceBinding> {
  for (let p = namespaceRoot; p !== '/'; p = parentOf(p)) {
    let data: Buffer;
    try {
      data = (await store.get(p)).data;
    } catch (err) {
      if (err instanceof MetadataError && err.code === 'NO_NODE') continue;
      throw err;
    }
    if (data.length > 0) return parseNamespaceBinding(p, data);
  }
  return { ledgersPath: DEFAULT_LEDGERS_PATH };
}
