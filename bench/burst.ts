// A burst of un-awaited writes (issue 14's trip-over): a script calls asyncWrite N times before it
// awaits anything. Admission must stay O(1) per record, so the time to the last ack grows linearly
// with N and no write fails. Through the built library, E3 W3 A2 on 3 bookie PROCESSES and a real
// ZooKeeper (or any namespace with --uri, e.g. local:/tmp/x); 100 B records, one log per row.
//   npm run build && node --import tsx bench/burst.ts [--counts 100000,200000,400000,1000000] [--uri <ns-uri>]
import os from 'node:os';
import type { Namespace } from '../lib/index.js';
import { benchArgs } from './bench-args.js';
import { withBenchNamespace } from './bookie-cluster.js';
import { fmt } from './stats.js';

const args = benchArgs({ counts: [100_000, 200_000, 400_000, 1_000_000], uri: null });

interface Row { readonly seconds: number; readonly rejected: number; readonly cpuUsPerRecord: number; readonly peakRssMb: number }

async function burstRow(ns: Namespace, count: number): Promise<Row> {
  const log = await ns.openLog(`burst-${count}-${Date.now()}`, { create: true });
  const writer = await log.openWriter();
  const payload = Buffer.alloc(100, 0x62);
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 100);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const writes = new Array<Promise<unknown>>(count);
  for (let i = 0; i < count; i++) writes[i] = writer.asyncWrite({ txid: BigInt(i + 1), payload });
  const settled = await Promise.allSettled(writes);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  await writer.close();
  const rejected = settled.filter((r) => r.status === 'rejected').length;
  return { seconds, rejected, cpuUsPerRecord: (cpu.user + cpu.system) / count, peakRssMb: peakRss / 2 ** 20 };
}

await withBenchNamespace('burst', { uri: args.uri }, async ({ ns, uri }) => {
  console.log(`burst bench: ${uri.startsWith('local:') ? 'embedded' : '3 bookie processes'}, E3 W3 A2, 100 B, ${os.cpus().length} CPUs, node ${process.version}, load ${os.loadavg()[0]?.toFixed(1)}`);
  await burstRow(ns, 20_000); // warm-up
  console.log('\nun-awaited writes | to last ack s  records/s  µs/record  client CPU µs/record  peak RSS MB  rejected');
  for (const count of args.counts) {
    const r = await burstRow(ns, count);
    console.log(`${fmt(count).padStart(17)} | ${fmt(r.seconds, 2).padStart(13)} ${fmt(count / r.seconds).padStart(10)} ${fmt((r.seconds * 1e6) / count, 1).padStart(10)} ${fmt(r.cpuUsPerRecord, 1).padStart(21)} ${fmt(r.peakRssMb).padStart(12)} ${String(r.rejected).padStart(9)}`);
  }
});
