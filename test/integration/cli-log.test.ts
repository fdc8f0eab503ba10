// The log commands of the `dlog` CLI run as processes: `log`, `write`, `tail`, `truncate` and
// `ledger` on an embedded `local:` namespace (one process at a time: the directory is locked), then
// following, Ctrl-C and a held writer lock on a ZooKeeper deployment, where processes share a log.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Context } from 'mocha';
import { DLSN } from '../../src/log/format/dlsn.js';
import { startLogDeployment, type LogDeployment } from '../support/log-backends.js';

const CLI = ['--import', 'tsx', new URL('../../src/cli/main.ts', import.meta.url).pathname];
const ROOT = new URL('../..', import.meta.url).pathname;

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Processes still running: killed after each test, so a hung one cannot keep mocha alive. */
const running = new Set<ChildProcess>();

function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child);
  child.once('close', () => running.delete(child));
  return child;
}

/** The promise's value, or a failure naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not within ${ms} ms`)); }, ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function finished(child: ChildProcess): Promise<Run> {
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => stdout.push(d));
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => { resolve({ code, stdout: Buffer.concat(stdout), stderr }); });
  });
}

/** Runs `dlog <args>` to the end, with `input` on stdin (none: stdin closed at once). */
function dlog(args: readonly string[], input: string | Buffer = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = start(args, env);
  const done = finished(child);
  child.stdin?.end(input);
  return done;
}

function ok(run: Run): string {
  expect(run.stderr, 'stderr').to.not.include('    at ');
  expect(run.code, run.stderr).to.equal(0);
  return run.stdout.toString();
}

/** A failure reported as one `dlog <command>: ...` line, without a stack trace. */
function failed(run: Run, code: 1 | 2, command: string, message: RegExp): void {
  expect(run.code, run.stderr).to.equal(code);
  expect(run.stderr).to.not.include('    at ');
  const [first] = run.stderr.split('\n');
  expect(first).to.match(new RegExp(`^dlog ${command}: `));
  expect(first).to.match(message);
}

/** Resolves once the child's stdout holds `count` lines. */
function lines(child: ChildProcess, count: number): Promise<string[]> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      text += d.toString();
      const got = text.split('\n').slice(0, -1);
      if (got.length >= count) {
        child.stdout?.off('data', onData);
        resolve(got);
      }
    };
    child.stdout?.on('data', onData);
    child.once('close', (code) => { reject(new Error(`exited ${code} after printing ${JSON.stringify(text)}`)); });
  });
}

const tuple = (base64: string): string => {
  const d = DLSN.deserialize(base64);
  return `(${d.logSegmentSequenceNo},${d.entryId},${d.slotId})`;
};

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

describe('dlog log, write, tail, truncate, ledger (local:)', function () {
  this.timeout(120_000);
  let dir: string;
  let uri: string[];
  const records: Array<{ dlsn: string; dlsnText: string; txid: string; payload: string; encoding: string }> = [];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-cli-'));
    uri = ['--uri', `local:${path.join(dir, 'data')}`];
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('creates and lists a log', async () => {
    expect(ok(await dlog(['log', 'create', 'events', ...uri]))).to.equal('created log events\n');
    expect(ok(await dlog(['log', 'list', ...uri]))).to.equal('events\n');
  });

  it('writes stdin lines, then a file\'s lines from --txid-start, one record per line', async () => {
    const fromStdin = await dlog(['write', 'events', ...uri], 'alpha\nbeta\ngamma\n');
    ok(fromStdin);
    expect(fromStdin.stderr).to.match(/^wrote 3 records to events, last DLSN \(1,\d+,\d+\), last txid 3\n$/);
    const file = path.join(dir, 'lines.bin');
    writeFileSync(file, Buffer.concat([Buffer.from('delta\n'), Buffer.from([0xff, 0xfe])]));
    const fromFile = await dlog(['write', 'events', '--file', file, '--txid-start', '10', ...uri]);
    ok(fromFile);
    expect(fromFile.stderr).to.match(/^wrote 2 records to events, last DLSN \(2,\d+,\d+\), last txid 11\n$/);
  });

  it('tails as JSON: DLSN, txid, sequence id, and payloads that are not UTF-8 in base64', async () => {
    const out = ok(await dlog(['tail', 'events', '--no-follow', '--format', 'json', ...uri]));
    for (const line of out.trimEnd().split('\n')) records.push(JSON.parse(line) as (typeof records)[number]);
    expect(records.map((r) => [r.txid, r.payload, r.encoding])).to.deep.equal([
      ['1', 'alpha', 'utf8'], ['2', 'beta', 'utf8'], ['3', 'gamma', 'utf8'], ['10', 'delta', 'utf8'], ['11', '//4=', 'base64'],
    ]);
    expect(records.map((r) => tuple(r.dlsn).slice(0, 3))).to.deep.equal(['(1,', '(1,', '(1,', '(2,', '(2,']);
    // both text forms of each DLSN, naming the same position
    for (const r of records) expect(r.dlsnText).to.equal(tuple(r.dlsn));
  });

  it('tails in hex from a txid, and as text from a base64 DLSN up to --limit', async () => {
    const hex = ok(await dlog(['tail', 'events', '--no-follow', '--format', 'hex', '--from', 'txid:10', ...uri]));
    expect(hex).to.equal(`${tuple(records[3]!.dlsn)} ${Buffer.from('delta').toString('hex')}\n${tuple(records[4]!.dlsn)} fffe\n`);
    const text = ok(await dlog(['tail', 'events', '--from', records[1]!.dlsn, '--limit', '2', ...uri]));
    expect(text).to.equal('beta\ngamma\n');
  });

  it('truncates before a DLSN, and shows the log with its segments', async () => {
    const gamma = tuple(records[2]!.dlsn);
    const truncated = ok(await dlog(['truncate', 'events', gamma, ...uri]));
    expect(truncated).to.match(new RegExp(`^truncated log events before \\${gamma.slice(0, -1)}\\):\n  segment 1 \\(ledger \\d+\\): active -> partial@\\${gamma.slice(0, -1)}\\)\n$`));

    const show = ok(await dlog(['log', 'show', 'events', ...uri]));
    const [summary = '', table = ''] = show.split('\n\n');
    expect(summary).to.include('records     5').and.include(`first DLSN  ${gamma}  ${records[2]!.dlsn}`)
      .and.include(`last DLSN   ${tuple(records[4]!.dlsn)}`).and.include('last txid   11').and.include('segments    2');
    const rows = table.trimEnd().split('\n').map((row) => row.split(/\s{2,}/));
    expect(rows[0]).to.deep.equal(['LSSN', 'ledger', 'state', 'first txid', 'last txid', 'records', 'size', 'truncation']);
    expect(rows[1]).to.have.length(8);
    expect([rows[1]![0], rows[1]![2], rows[1]![3], rows[1]![4], rows[1]![5], rows[1]![7]]).to.deep.equal(['1', 'completed', '1', '3', '3', `partial@${gamma}`]);
    expect([rows[2]![0], rows[2]![2], rows[2]![3], rows[2]![4], rows[2]![5], rows[2]![7]]).to.deep.equal(['2', 'completed', '10', '11', '2', 'active']);
    expect(Number(rows[2]![6])).to.be.greaterThan(7);

    const ledger = ok(await dlog(['ledger', 'show', rows[2]![1]!, ...uri]));
    expect(ledger).to.match(new RegExp(`^ledger +${rows[2]![1]!}\n`)).and.match(/\nstate +CLOSED\n/)
      .and.match(/\nensemble size +3\n/).and.match(/\nwrite quorum +3\n/).and.match(/\nack quorum +2\n/)
      .and.match(new RegExp(`\nlength +${rows[2]![6]!} bytes\n`)).and.match(/\ndigest +CRC32\n/)
      .and.match(/\nensembles:\n {2}from entry 0 +\S+, \S+, \S+\n$/);
  });

  it('deletes the log', async () => {
    expect(ok(await dlog(['log', 'delete', 'events', ...uri]))).to.equal('deleted log events\n');
    expect(ok(await dlog(['log', 'list', ...uri]))).to.equal('');
  });
});

describe('dlog log commands on ZooKeeper: following, Ctrl-C, errors', function () {
  this.timeout(120_000);
  let deployment: LogDeployment | undefined;
  let uri: string[];

  before(async function (this: Context) {
    const started = await startLogDeployment(this, 'zk', 'cli');
    deployment = started;
    uri = ['--uri', started.uri];
  });
  after(async () => { await deployment?.close(); });

  it('follows a running writer; --from end prints only later records; truncate meets the writer\'s lock', async () => {
    ok(await dlog(['write', 'feed', '--create', ...uri], 'a\nb\n'));
    const tail = start(['tail', 'feed', '--limit', '3', ...uri]);
    const tailDone = finished(tail);
    const fromEnd = start(['tail', 'feed', '--from', 'end', '--format', 'hex', ...uri]);
    const fromEndDone = finished(fromEnd);
    const writer = start(['write', 'feed', '--stream', ...uri]);
    const writerDone = finished(writer);
    expect(await within(20_000, 'tail prints the first records', lines(tail, 2))).to.deep.equal(['a', 'b']);

    writer.stdin?.write('c\n');
    expect(ok(await within(20_000, 'tail --limit 3 exits after its third record', tailDone))).to.equal('a\nb\nc\n');
    // the writer holds the lock now that its first record is in
    failed(await dlog(['truncate', 'feed', '(1,0,0)', ...uri]), 1, 'truncate', /log feed has a running writer .*\[LOCK_HELD\]$/);

    // --from end started at some point before or after `c`: write until it has printed something
    const printed = lines(fromEnd, 1);
    let ticks = 0;
    const ticker = setInterval(() => { writer.stdin?.write(`tick-${++ticks}\n`); }, 300);
    try {
      await within(20_000, 'tail --from end prints a record written after it started', printed);
    } finally {
      clearInterval(ticker);
    }
    fromEnd.kill('SIGINT');
    const hexLines = ok(await within(20_000, 'tail exits on SIGINT', fromEndDone)).trimEnd().split('\n');
    const payloads = hexLines.map((l) => Buffer.from(l.split(' ')[1] ?? '', 'hex').toString());
    expect(payloads.length).to.be.greaterThan(0);
    for (const p of payloads) expect(p).to.match(/^(c|tick-\d+)$/);

    writer.stdin?.end();
    const written = await within(20_000, 'write exits at the end of its input', writerDone);
    ok(written);
    expect(written.stderr).to.match(new RegExp(`^wrote ${1 + ticks} records to feed, last DLSN \\(\\d+,\\d+,\\d+\\), last txid ${3 + ticks}\n$`));
  });

  it('names a missing log or ledger in one line, exit 1', async () => {
    const runs = await Promise.all([
      dlog(['log', 'show', 'nope', ...uri]),
      dlog(['log', 'delete', 'nope', ...uri]),
      dlog(['write', 'nope', ...uri], 'x\n'),
      dlog(['tail', 'nope', '--no-follow', ...uri]),
      dlog(['truncate', 'nope', '(1,0,0)', ...uri]),
    ]);
    for (const [i, command] of ['log', 'log', 'write', 'tail', 'truncate'].entries()) {
      // write, which can create it, says how
      failed(runs[i]!, 1, command, command === 'write' ? /log nope does not exist \(pass --create to create it\) \[LOG_NOT_FOUND\]$/ : /log nope does not exist \[LOG_NOT_FOUND\]$/);
    }
    failed(await dlog(['ledger', 'show', '987654321', ...uri]), 1, 'ledger', /ledger 987654321 does not exist \[NO_SUCH_LEDGER\]$/);
  });

  it('rejects bad arguments with one line and exit 2, before opening the namespace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['log'], /missing subcommand: list, create, delete, show/],
      [['log', 'frob'], /unknown subcommand "frob"/],
      [['log', 'show'], /missing <name>/],
      [['log', 'list', '--bogus'], /--bogus/],
      [['write', 'feed', '--txid-start=-1'], /--txid-start must be an integer >= 0/],
      [['tail', 'feed', '--format', 'xml'], /--format must be text, json, hex/],
      [['tail', 'feed', '--from', 'txid:x'], /--from txid:<n> needs a non-negative integer/],
      [['truncate', 'feed', 'nonsense'], /invalid DLSN "nonsense"/],
      [['ledger', 'show', 'abc'], /invalid ledger id "abc"/],
    ];
    // an unreachable namespace: a usage error must not get as far as connecting
    const runs = await Promise.all(cases.map(([args]) => dlog([...args, '--uri', 'zk://127.0.0.1:1/none'])));
    cases.forEach(([args, message], i) => { failed(runs[i]!, 2, args[0]!, message); });
  });

  it('prints help for every command and subcommand', async () => {
    const helps = [['log'], ['log', 'show'], ['write'], ['tail'], ['truncate'], ['ledger'], ['ledger', 'show']];
    const runs = await Promise.all(helps.map((args) => dlog([...args, '--help'])));
    runs.forEach((run, i) => { expect(ok(run)).to.match(new RegExp(`^Usage: dlog ${helps[i]![0]!}`)); });
  });
});

describe('dlog as a new user meets it (issue 14)', function () {
  this.timeout(120_000);
  let dir: string;
  let data: string;
  let uri: string[];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dlog-cli-user-'));
    data = path.join(dir, 'data');
    uri = ['--uri', `local:${data}`];
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('a bare dlog prints the help on stderr and exits 2; an unknown option is one balanced line', async () => {
    const bare = await dlog([]);
    expect(bare.code).to.equal(2);
    expect(bare.stderr).to.include('Usage: dlog');
    const unknown = await dlog(['log', 'list', '--bogus', ...uri]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.equal("dlog log: unknown option --bogus\nRun 'dlog log --help' for usage.\n");
  });

  it('write checks every record before the first write, and says how many it wrote', async () => {
    ok(await dlog(['write', 'atomic', '--create', ...uri], 'l0\n'));
    const big = 'x'.repeat(2 * 1024 * 1024);
    failed(await dlog(['write', 'atomic', ...uri], `l1\n${big}\nl3\nl4\nl5\n`), 2, 'write', /record 2 has 2097152 bytes, over the 1040364-byte limit: nothing was written/);
    const one = await dlog(['write', 'atomic', ...uri], 'l6\n');
    expect(ok(one) + one.stderr).to.match(/^wrote 1 record to atomic, /);
    expect(ok(await dlog(['tail', 'atomic', '--no-follow', ...uri]))).to.equal('l0\nl6\n');
    failed(await dlog(['write', 'absent', ...uri], 'x\n'), 1, 'write', /log absent does not exist \(pass --create to create it\) \[LOG_NOT_FOUND\]$/);
  });

  it('write splits at --delimiter or reads length-prefixed records; DLOG_URI names the namespace', async () => {
    const env = { DLOG_URI: `local:${data}` };
    ok(await dlog(['write', 'framed', '--create', '--delimiter', '\\0'], 'a\nb\0c\0', env));
    const frame = (text: string): Buffer => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return Buffer.concat([head, body]);
    };
    ok(await dlog(['write', 'framed', '--length-prefixed'], Buffer.concat([frame('d\ne'), frame(''), frame('f')]), env));
    failed(await dlog(['write', 'framed', '--length-prefixed'], frame('g').subarray(0, 3), env), 2, 'write', /ends inside the length prefix of record 1/);
    const payloads = async (...args: string[]): Promise<string[]> => ok(await dlog(['tail', 'framed', '--no-follow', '--format', 'json', ...args], '', env))
      .trimEnd().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { payload: string }).payload);
    expect(await payloads()).to.deep.equal(['a\nb', 'c', 'd\ne', '', 'f']);
    // --from -n: the last n records, across segments (two writes made two)
    expect(await payloads('--from', '-4')).to.deep.equal(['c', 'd\ne', '', 'f']);
    expect(await payloads('--from', '-1')).to.deep.equal(['f']);
    expect(await payloads('--from', '-9')).to.deep.equal(['a\nb', 'c', 'd\ne', '', 'f']);
  });

  it('log list and log show print JSON; subscription list, get and set move a committed position', async () => {
    expect(JSON.parse(ok(await dlog(['log', 'list', '--json', ...uri])))).to.include.members(['atomic', 'framed']);
    const shown = JSON.parse(ok(await dlog(['log', 'show', 'atomic', '--json', ...uri]))) as {
      log: string; records: string; lastDLSN: { text: string; base64: string }; lastTxId: string; segments: Array<{ lssn: string; records: string | null }>;
    };
    expect([shown.log, shown.records, shown.lastTxId]).to.deep.equal(['atomic', '2', '2']);
    expect(DLSN.parse(shown.lastDLSN.base64).toString()).to.equal(shown.lastDLSN.text);
    expect(shown.segments.map((s) => [s.lssn, s.records])).to.deep.equal([['1', '1'], ['2', '1']]);
    failed(await dlog(['log', 'create', 'x', '--json', ...uri]), 2, 'log', /takes no --json/);

    expect(ok(await dlog(['subscription', 'get', 'atomic', 'billing', ...uri]))).to.equal('billing (1,0,-1) AQAAAAAAAAABAAAAAAAAAAD//////////w==\n');
    expect(ok(await dlog(['subscription', 'set', 'atomic', 'billing', shown.lastDLSN.text, ...uri]))).to.match(/^billing \(2,0,0\) /);
    // never backwards: the stored position stays, and stderr says so
    const back = await dlog(['subscription', 'set', 'atomic', 'billing', '(1,0,0)', '--json', ...uri]);
    expect(JSON.parse(ok(back))).to.deep.equal({ id: 'billing', dlsn: shown.lastDLSN });
    expect(back.stderr).to.match(/already at or past \(1,0,0\): unchanged/);
    expect(JSON.parse(ok(await dlog(['subscription', 'list', 'atomic', '--json', ...uri])))).to.deep.equal([{ id: 'billing', dlsn: shown.lastDLSN }]);
  });

  it('survives a closed stdout (EPIPE) in every printing command', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => `line-${i}-${'y'.repeat(60)}`).join('\n');
    ok(await dlog(['write', 'piped', '--create', ...uri], text));
    for (const args of [['log', 'list'], ['log', 'show', 'piped'], ['ledger', 'show', '1'], ['tail', 'piped', '--no-follow'], ['--help']]) {
      const child = start([...args, ...(args[0] === '--help' ? [] : uri)]);
      const done = finished(child);
      child.stdin?.end();
      // the reading end goes away before the command prints: every write to stdout hits EPIPE
      child.stdout?.destroy();
      const run = await within(30_000, `dlog ${args.join(' ')} with a closed stdout`, done);
      expect(run.stderr, args.join(' ')).to.not.match(/EPIPE|Unhandled| {4}at /);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).to.equal(0);
    }
  });

  it('a second process on a local: directory is pointed to dlog sandbox; tail --limit exits without warnings', async () => {
    const holder = start(['tail', 'piped', ...uri]);
    const holderDone = finished(holder);
    await within(30_000, 'the tail prints', lines(holder, 1));
    const second = await dlog(['log', 'list', ...uri]);
    failed(second, 1, 'log', /dlog sandbox.*\[STORE_LOCKED\]$/);
    holder.kill('SIGINT');
    ok(await within(30_000, 'tail exits on SIGINT', holderDone));
    const limited = await dlog(['tail', 'piped', '--limit', '2', ...uri]);
    expect(ok(limited).split('\n')).to.have.length(3);
    expect(limited.stderr).to.equal('');
  });
});

