// The start bound of `local:` bookie workers: a restart that hangs in start-up (a test hook) is
// ended once it shows no progress for bookieStartStallMs and counts as a death (restarted, given
// up after too many); a start that waits on a child process longer than the bound, as the index
// check after an unclean stop does, is not ended.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MAX_RESTARTS } from '../../src/embedded/bookie-supervisor.js';
import { runningEmbeddedCluster, type EmbeddedCluster } from '../../src/embedded/embedded-cluster.js';
import { Namespace } from '../../src/log/namespace.js';
import type { Logger, LogFn } from '../../src/util/logger.js';
import { waitFor } from '../support/wait-for.js';

const STALL_MS = 1000;
const ENDED = 'made no start-up progress';

/** Keeps every line's message (and its err's message), to count what the supervisor did. */
function recordingLogger(lines: string[]): Logger {
  const record: LogFn = (objOrMsg, msg) => {
    const err = typeof objOrMsg === 'object' ? (objOrMsg as { err?: { message?: string } }).err?.message : undefined;
    lines.push([typeof objOrMsg === 'string' ? objOrMsg : msg, err].filter((s) => s !== undefined).join(' | '));
  };
  return { debug: record, info: record, warn: record, error: record, child: () => recordingLogger(lines) };
}

describe('embedded bookie start bound (local:)', function () {
  this.timeout(120_000);
  let dir: string;
  let ns: Namespace | undefined;
  let lines: string[];
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dlog-stall-')));
    lines = [];
  });
  afterEach(async () => {
    await ns?.close().catch(() => undefined);
    ns = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (): Promise<EmbeddedCluster> => {
    ns = await Namespace.open(`local:${dir}`, { bookies: 3, bookieStartStallMs: STALL_MS, logger: recordingLogger(lines) });
    const cluster = runningEmbeddedCluster(dir);
    if (cluster === undefined) throw new Error('no cluster running for the namespace');
    return cluster;
  };
  const registration = async (cluster: EmbeddedCluster, index: number): Promise<string | undefined> =>
    (await cluster.store.exists(`${cluster.ledgersRoot}/available/${cluster.bookieIds[index]!}`))?.czxid.toString();
  const ended = (): number => lines.filter((l) => l.includes(ENDED)).length;

  it('a restart hung in start-up is ended and restarted; the bookie comes back and serves a writer', async () => {
    const cluster = await open();
    const before = await registration(cluster, 1);
    cluster.stallBookieRestarts(1, 2, 'hang');
    await cluster.crashBookie(1);
    await waitFor(async () => ![undefined, before].includes(await registration(cluster, 1)), 60_000, 'bookie 1 registered anew');
    expect(ended(), 'both hung restarts ended').to.equal(2);
    expect(cluster.failure).to.equal(undefined);
    const log = await ns!.openLog('after', { create: true });
    const writer = await log.openWriter();
    await writer.asyncWrite({ txid: 1n, payload: Buffer.from('after the stalls') });
    await writer.close();
    const reader = await log.openReader();
    const record = await reader.readNext();
    await reader.close();
    expect([record.txid, record.payload.toString()]).to.deep.equal([1n, 'after the stalls']);
  });

  it(`restarts that always hang count as deaths: the bookie is given up after ${MAX_RESTARTS} of them`, async () => {
    const cluster = await open();
    cluster.stallBookieRestarts(1, MAX_RESTARTS + 1, 'hang');
    await cluster.crashBookie(1);
    await waitFor(() => cluster.failure !== undefined, 60_000, 'the cluster gave up');
    expect(cluster.failure?.code).to.equal('EMBEDDED_BOOKIE_FAILED');
    expect(cluster.failure?.message).to.contain(cluster.bookieIds[1]).and.contain(ENDED);
    expect(ended()).to.equal(MAX_RESTARTS);
    expect(await registration(cluster, 1), 'not restarted again').to.equal(undefined);
  });

  it('a start waiting on a child process (as the index check does) longer than the bound is not ended', async () => {
    const cluster = await open();
    const before = await registration(cluster, 1);
    cluster.stallBookieRestarts(1, 1, 'child'); // 3 s on a child process, the bound is 1 s
    await cluster.crashBookie(1);
    await waitFor(async () => ![undefined, before].includes(await registration(cluster, 1)), 60_000, 'bookie 1 registered anew');
    expect(ended(), 'the start was not ended').to.equal(0);
    expect(lines.filter((l) => l.includes('restarting it')), 'one death, one restart').to.have.length(1);
  });
});
