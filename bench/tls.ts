// TLS vs plaintext between the ledger client and 3 bookie PROCESSES (real ZooKeeper): E3 W3 A2
// adds of 1 KiB, one at a time and 1000 in flight, on the same bookies (they serve TLS, not
// required), rounds alternating plaintext and TLS; medians of the rounds, and client CPU per add.
//   npm run build && node --import tsx bench/tls.ts [--seconds 3] [--rounds 3]
import os from 'node:os';
// the built library, as users run it
import { LedgerClient, type LedgerClientOptions } from '../lib/ledger/ledger-client.js';
import { ZkMetadataStore } from '../lib/metadata/zk/zk-metadata-store.js';
import { makeTestCerts } from '../test/support/test-certs.js';
import { startBenchCluster } from './bookie-cluster.js';
import { benchArgs } from './bench-args.js';
import { fmt, median, percentile } from './stats.js';

const args = benchArgs({ seconds: 3, rounds: 3 });
const SECONDS = args.seconds;
const ROUNDS = args.rounds;

interface Row { readonly addsPerSec: number; readonly p50: number; readonly p99: number; readonly cpuUsPerAdd: number }

async function writeRow(client: LedgerClient, window: number): Promise<Row> {
  const ledger = await client.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 });
  const payload = Buffer.alloc(1024, 0x61);
  const lat: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(Array.from({ length: window }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await ledger.addEntry(payload);
      lat.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await ledger.close();
  await client.deleteLedger(ledger.id);
  lat.sort((a, b) => a - b);
  return { addsPerSec: lat.length / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), cpuUsPerAdd: (used.user + used.system) / lat.length };
}

const certs = makeTestCerts();
const bookie = certs.leaf('bookie');
const app = certs.leaf('app', '0:app');
const cluster = await startBenchCluster('tls', 3, '/ledgers', ['--tls-cert', bookie.certFile, '--tls-key', bookie.keyFile, '--tls-ca', certs.ca.certFile]);
const store = await ZkMetadataStore.connect(cluster.zk);
const open = (extra: Partial<LedgerClientOptions>): Promise<LedgerClient> => LedgerClient.open({ store, ledgersRoot: cluster.ledgersRoot, ...extra });
const modes = {
  plaintext: await open({}),
  'mutual TLS': await open({ tls: { ca: certs.ca.cert, cert: app.cert, key: app.key } }),
};
try {
  for (let i = 0; modes.plaintext.writableBookies().size < 3; i++) {
    if (i > 200) throw new Error('bookies did not register');
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`TLS bench: 3 bookie processes, ${os.cpus().length} CPUs, ${SECONDS} s x ${ROUNDS} rounds per row, 1 KiB, E3 W3 A2, node ${process.version}`);
  for (const client of Object.values(modes)) await writeRow(client, 100); // warm-up: connections, handshakes, JIT
  console.log('\nrow                         | adds/s     p50 ms  p99 ms  client CPU us/add');
  for (const window of [1, 1000]) {
    const results = Object.entries(modes).map(([name, client]) => ({ name, client, rows: [] as Row[] }));
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of results) mode.rows.push(await writeRow(mode.client, window));
    }
    for (const { name, rows } of results) {
      const m = (f: (row: Row) => number): number => median(rows.map(f));
      console.log(`${`${name}, ${window} in flight`.padEnd(27)} | ${fmt(m((x) => x.addsPerSec)).padStart(8)} ${fmt(m((x) => x.p50), 2).padStart(8)} ${fmt(m((x) => x.p99), 2).padStart(7)} ${fmt(m((x) => x.cpuUsPerAdd), 1).padStart(10)}`);
    }
  }
} finally {
  for (const client of Object.values(modes)) await client.close();
  await store.close();
  await cluster.stop();
  certs.remove();
}
