import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalMetadataStore } from '../../src/metadata/local/local-metadata-store.js';
import { metadataStoreConformance } from './metadata-store.suite.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-conformance-local-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

metadataStoreConformance<LocalMetadataStore>('local (embedded, persisted)', {
  open: () => LocalMetadataStore.open(dir),
  forceExpire: (store) => (store).expireSession(),
  // every client is closed before this runs, so the next open reads the directory again
  reopen: () => Promise.resolve(),
});
