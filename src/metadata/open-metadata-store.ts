import type { Logger } from '../util/logger.js';
import type { MetadataStore } from './metadata-store.js';
import { parseMetadataUri, type MetadataUri } from './metadata-uri.js';
import { ZkMetadataStore } from './zk/zk-metadata-store.js';

export interface MetadataStoreOptions {
  /** ZooKeeper session timeout (zk backend). Default 30000. */
  sessionTimeoutMs?: number;
  /** ZooKeeper digest credentials `user:password` (zk backend; see ZkStoreOptions.auth). */
  zkAuth?: string;
  /** With zkAuth: created nodes stay world-readable. Default true. */
  zkWorldReadable?: boolean;
  logger?: Logger;
}

/** Opens the backend a metadata URI names: a ZooKeeper session or the embedded local store. */
export async function openMetadataStore(uri: string | MetadataUri, options: MetadataStoreOptions = {}): Promise<MetadataStore> {
  const parsed = typeof uri === 'string' ? parseMetadataUri(uri) : uri;
  switch (parsed.kind) {
    case 'zk':
      return ZkMetadataStore.connect(parsed.connectString, {
        ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
        ...(options.zkAuth === undefined ? {} : { auth: options.zkAuth }),
        ...(options.zkWorldReadable === undefined ? {} : { worldReadable: options.zkWorldReadable }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      });
    case 'local': {
      // lmdb is loaded only when a local store is opened
      const { LocalMetadataStore } = await import('./local/local-metadata-store.js');
      return LocalMetadataStore.open(parsed.dir, options.logger ? { logger: options.logger } : {});
    }
  }
}
