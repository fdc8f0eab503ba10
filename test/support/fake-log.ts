// A log on fake bookies and the local metadata store: the DistributedLog a namespace would hand
// out, without ZooKeeper, bookie processes or worker threads, for fast writer and reader tests.
import { DistributedLog } from '../../src/log/distributed-log.js';
import { resolveLogConfig, type LogConfig } from '../../src/log/log-config.js';
import { LogMetadataStore } from '../../src/log/metadata/log-metadata-store.js';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { noopLogger } from '../../src/util/logger.js';
import type { LedgerDeployment } from './ledger-backends.js';

export interface FakeLog {
  readonly log: DistributedLog;
  readonly metadata: LogMetadataStore;
  readonly ledgers: LedgerClient;
}

let seq = 0;

/** Creates a log under /logs and opens it; `store` is the session its writers lock with (default the deployment's). */
export async function openFakeLog(d: LedgerDeployment, config: Partial<LogConfig> = {}, store: MetadataStore = d.store): Promise<FakeLog> {
  const metadata = new LogMetadataStore(store, '/logs');
  const name = `log-${++seq}`;
  await metadata.createLog(name);
  const ledgers = await d.client();
  const log = new DistributedLog(name, { store, metadata, ledgers, config: resolveLogConfig(config), clientId: 'fake-test', logger: noopLogger });
  return { log, metadata, ledgers };
}
