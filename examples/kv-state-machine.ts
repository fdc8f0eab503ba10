// A replicated key-value store that uses a log as its write-ahead log.
//
//   node --import tsx examples/kv-state-machine.ts [--uri local:./example-data] [--state-dir dir]
//
// Every command (`set k v`, `del k`) is appended to the log first and applied to the in-memory
// Map only once the write is acknowledged, so the Map never holds a change the log could lose. A
// snapshot (the Map plus the DLSN and txid of the last command it includes) is saved to a file
// now and then, and the log before it is truncated. Recovery = load the snapshot, then replay the
// log from just after the snapshot's DLSN. The script runs commands, snapshots, runs more,
// "crashes" (aborts the writer and drops the Map), recovers, and checks the state survived.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { DLSN, LogError, Namespace, parseMetadataUri, type DistributedLog, type LogWriter } from 'distributedlog';

const { values } = parseArgs({ options: { uri: { type: 'string', default: 'local:./example-data' }, 'state-dir': { type: 'string' } } });
const uri = values.uri;
// The snapshot lives next to the embedded deployment's data (or in --state-dir for zk:// URIs).
const parsed = parseMetadataUri(uri);
const stateDir = values['state-dir'] ?? (parsed.kind === 'local' ? path.join(parsed.dir, 'app') : './example-state');
const snapshotFile = path.join(stateDir, 'kv-snapshot.json');
const LOG = 'kv-wal';

type Command = { op: 'set'; key: string; value: string } | { op: 'del'; key: string };
interface Snapshot { dlsn: string; txid: string; entries: Array<[string, string]> }

function apply(state: Map<string, string>, cmd: Command): void {
  if (cmd.op === 'set') state.set(cmd.key, cmd.value);
  else state.delete(cmd.key);
}

class KvStateMachine {
  readonly state = new Map<string, string>();
  /** The last command in `state`: a snapshot taken now covers the log up to here. */
  applied: { dlsn: DLSN; txid: bigint } | undefined;

  private constructor(readonly log: DistributedLog, readonly writer: LogWriter) {}

  /** Startup: become the writer, then rebuild the state from the snapshot and the log after it. */
  static async open(log: DistributedLog): Promise<KvStateMachine> {
    // Opening the writer first fences a previous writer (a crashed one included) and completes the
    // segment it left in progress, so the log cannot grow while we replay it. Small segments and
    // a short retention make the truncation below visible in a few commands.
    const sm = new KvStateMachine(log, await log.openWriter({ maxSegmentBytes: 256, retentionMs: 1 }));
    // No snapshot file means "start from the log's beginning"; any other read error must stop us:
    // the log before the snapshot may be truncated, so replaying it all would not rebuild the state.
    const snapshot = await readFile(snapshotFile, 'utf8').then((t) => JSON.parse(t) as Snapshot, (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    });
    if (snapshot !== undefined) {
      for (const [k, v] of snapshot.entries) sm.state.set(k, v);
      sm.applied = { dlsn: DLSN.deserialize(snapshot.dlsn), txid: BigInt(snapshot.txid) };
      console.log(`  loaded snapshot: ${sm.state.size} keys up to txid ${snapshot.txid}`);
    }
    // Replay up to the last record there is now; a reader would otherwise wait for more forever.
    const end = await log.getLastDLSN().catch((err: unknown) => {
      if (err instanceof LogError && err.code === 'LOG_EMPTY') return undefined;
      throw err;
    });
    if (end !== undefined && (sm.applied === undefined || end.compare(sm.applied.dlsn) > 0)) {
      // next(): the position just after the snapshot's record (readers start at or after `from`).
      const reader = await log.openReader(sm.applied === undefined ? {} : { from: sm.applied.dlsn.next() });
      let replayed = 0;
      for await (const record of reader) {
        apply(sm.state, JSON.parse(record.payload.toString('utf8')) as Command);
        sm.applied = { dlsn: record.dlsn, txid: record.txid };
        replayed++;
        if (record.dlsn.compare(end) >= 0) break;
      }
      await reader.close();
      console.log(`  replayed ${replayed} commands from the log`);
    }
    return sm;
  }

  /** Log first, apply once acknowledged. Acks come in write order, so concurrent calls apply in log order. */
  async execute(cmd: Command): Promise<void> {
    const txid = this.writer.lastTxId + 1n;
    const dlsn = await this.writer.asyncWrite({ txid, payload: Buffer.from(JSON.stringify(cmd)) });
    apply(this.state, cmd);
    this.applied = { dlsn, txid };
  }

  /** Saves the state atomically (write + rename), then lets the log forget what the snapshot covers. */
  async snapshot(): Promise<void> {
    if (this.applied === undefined) return;
    const snap: Snapshot = { dlsn: this.applied.dlsn.serialize(), txid: String(this.applied.txid), entries: [...this.state] };
    await mkdir(stateDir, { recursive: true });
    // fsync before the rename: the log is about to be truncated, so the snapshot must be on disk.
    const file = await open(`${snapshotFile}.tmp`, 'w');
    await file.writeFile(JSON.stringify(snap));
    await file.sync();
    await file.close();
    await rename(`${snapshotFile}.tmp`, snapshotFile);
    // Segments wholly before this DLSN are marked truncated (readers skip them; retention deletes them).
    await this.writer.truncate(this.applied.dlsn);
    console.log(`  snapshot: ${this.state.size} keys up to txid ${snap.txid}; log truncated before it`);
  }
}

const parse = (line: string): Command => {
  const [op, key = '', value = ''] = line.split(' ');
  return op === 'del' ? { op, key } : { op: 'set', key, value };
};
const before = ['set a 1', 'set b 2', 'set c 3', 'del b', 'set a 10', 'set d 4', 'set e 5', 'del c', 'set f 6', 'set g 7', 'set a 11', 'set h 8'];
const after = ['set b 20', 'del d', 'set i 9', 'set j 10', 'del a', 'set k 11', 'set e 50'];
const expected = new Map<string, string>();
for (const line of [...before, ...after]) apply(expected, parse(line));

// Start from scratch each run: no log, no snapshot.
await rm(snapshotFile, { force: true });
let ns = await Namespace.open(uri);
if (await ns.logExists(LOG)) await ns.deleteLog(LOG);

console.log('run 1: execute commands, snapshot, execute more');
const sm = await KvStateMachine.open(await ns.openLog(LOG, { create: true }));
for (const line of before) await sm.execute(parse(line));
const describe = async (): Promise<string> =>
  (await sm.log.getLogSegments()).map((s) => `#${s.logSegmentSequenceNo}${s.isTruncated ? ' (truncated)' : ''}`).join(' ');
console.log(`  log segments: ${await describe()}`);
await sm.snapshot();
for (const line of after) await sm.execute(parse(line));
console.log(`  state: ${JSON.stringify(Object.fromEntries(sm.state))}`);
console.log(`  log segments: ${await describe()} (truncated ones are deleted by retention after a roll)`);

// (sm is kept only to compare with below; nothing of it is used to recover.)
console.log('crash: abort the writer (its segment stays in progress) and drop the in-memory state');
await sm.writer.abort();
await ns.close();

console.log('run 2: recover from the snapshot and the log');
ns = await Namespace.open(uri);
const recovered = await KvStateMachine.open(await ns.openLog(LOG));
console.log(`  state: ${JSON.stringify(Object.fromEntries(recovered.state))}`);
const ok = isDeepStrictEqual(recovered.state, expected) && isDeepStrictEqual(sm.state, expected);
// The recovered machine carries on: its next txid follows the last one in the log.
await recovered.execute({ op: 'set', key: 'after-recovery', value: 'yes' });
await ns.close();

if (!ok) {
  console.error(`FAILED: expected ${JSON.stringify(Object.fromEntries(expected))}`);
  process.exit(1);
}
console.log('recovered state equals the state before the crash');
