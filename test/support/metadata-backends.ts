// Both MetadataStore backends for tests that must hold on each: the local store in a fresh
// temporary directory (removed after the run) and the shared test ZooKeeper.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from 'mocha';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { zooKeeper } from './hooks.js';

export interface MetadataBackend {
  readonly name: 'local' | 'zk';
  /** A new client (its own session) on the backend's store. */
  connect(ctx: Context): Promise<MetadataStore>;
}

export function metadataBackends(label: string): readonly MetadataBackend[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dlog-${label}-`));
  after(() => { rmSync(dir, { recursive: true, force: true }); });
  return [
    { name: 'local', connect: () => LocalMetadataStore.open(dir) },
    { name: 'zk', connect: async (ctx) => ZkMetadataStore.connect(await zooKeeper(ctx), { sessionTimeoutMs: 4000 }) },
  ];
}
