// The writer creates the next segment's ledger half way to a roll, so a roll does not wait for a
// ledger creation; a writer that closes or aborts deletes the ledger it pre-allocated. Real
// ZooKeeper and in-process bookies; ledgers are counted from the ledger manager's listing.
import { expect } from 'chai';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import { LedgerManager } from '../../src/ledger/ledger-manager.js';
import { resolveLogConfig } from '../../src/log/log-config.js';
import { LogMetadataStore } from '../../src/log/metadata/log-metadata-store.js';
import { LogWriter } from '../../src/log/writer/log-writer.js';
import { noopLogger } from '../../src/util/logger.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';

// 100 B payloads + 20 B record headers: 18 records pass half of 4 KiB, 35 pass all of it
const MAX_SEGMENT_BYTES = 4096;
const payload = Buffer.alloc(100, 0x70);

describe('LogWriter pre-allocates the next segment ledger', function () {
  this.timeout(60_000);
  let cluster: BookieCluster;
  let ledgers: LedgerClient;
  let manager: LedgerManager;
  let metadata: LogMetadataStore;
  let logCount = 0;

  before(async function () {
    cluster = await startBookieCluster(this, 'prealloc');
    ledgers = await cluster.client();
    manager = new LedgerManager(cluster.store, cluster.ledgersRoot);
    metadata = new LogMetadataStore(cluster.store, `/ns-prealloc-${process.pid}-${Date.now()}`);
  });

  after(async () => {
    await cluster.close();
  });

  const openWriter = async (): Promise<{ name: string; writer: LogWriter }> => {
    const name = `prealloc-${++logCount}`;
    await metadata.createLog(name);
    const config = resolveLogConfig({ maxSegmentBytes: MAX_SEGMENT_BYTES });
    const writer = await LogWriter.open({ logName: name, store: cluster.store, metadata, ledgers, config, clientId: 'test', logger: noopLogger });
    return { name, writer };
  };

  let txid = 0n;
  const write = async (writer: LogWriter, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await writer.asyncWrite({ txid: ++txid, payload });
  };

  /** Ledgers created since `before` that no segment of the log references. */
  const spares = async (name: string, before: readonly bigint[]): Promise<bigint[]> => {
    const used = new Set((await metadata.listSegments(name)).map((s) => s.logSegmentId));
    return (await manager.listLedgerIds()).filter((id) => !before.includes(id) && !used.has(id));
  };

  /** Waits until the log has exactly one spare ledger: the background creation finished. */
  const oneSpare = async (name: string, before: readonly bigint[]): Promise<bigint> => {
    for (;;) {
      const found = await spares(name, before);
      if (found.length > 1) throw new Error(`more than one spare ledger: ${found.join(', ')}`);
      if (found[0] !== undefined) return found[0];
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  it('creates the next ledger half way through a segment and rolls onto it', async () => {
    const before = await manager.listLedgerIds();
    const { name, writer } = await openWriter();
    try {
      await write(writer, 1);
      expect(await spares(name, before)).to.deep.equal([]); // nothing before half way
      await write(writer, 20);
      const spare = await oneSpare(name, before);
      await write(writer, 20); // past the size limit: the next write rolls
      const segments = await metadata.listSegments(name);
      expect(segments).to.have.length(2);
      expect(segments[1]?.logSegmentId).to.equal(spare);
    } finally {
      await writer.close();
    }
    expect(await spares(name, before)).to.deep.equal([]);
  });

  for (const how of ['close', 'abort'] as const) {
    it(`a writer that ends with ${how}() deletes the ledger it pre-allocated`, async () => {
      const before = await manager.listLedgerIds();
      const { name, writer } = await openWriter();
      await write(writer, 25);
      const spare = await oneSpare(name, before);
      await writer[how]();
      expect(await manager.listLedgerIds()).to.not.include(spare);
      expect(await spares(name, before)).to.deep.equal([]);
    });
  }
});
