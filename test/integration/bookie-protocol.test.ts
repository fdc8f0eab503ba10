// The bookie's v3 protocol semantics (bookkeeper.md §1.4) against a real bookie and a real
// ZooKeeper: fencing (also across restarts and a SIGKILL), long poll, explicit LAC, master keys,
// bad input of every kind (exact status or connection close, and the bookie keeps serving), and
// GET_BOOKIE_INFO.
import { statfs } from 'node:fs/promises';
import { expect } from 'chai';
import protobuf from 'protobufjs/minimal.js';
import { startBookie, type Bookie } from '../../src/bookie/bookie.js';
import { BookieClient } from '../../src/ledger/bookie-client.js';
import { bookkeeper, fromProtoUint64 } from '../../src/proto/index.js';
import type { Logger } from '../../src/util/logger.js';
import { decodeLac, encodeLac } from '../../src/protocol/lac-envelope.js';
import { availableEntryIds, decodeEntriesAvailability } from '../../src/protocol/entries-availability.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/protocol-codec.js';
import type { ReadEntryResponse, ReadLacResponse, Response } from '../../src/protocol/protocol-types.js';
import { zooKeeper } from '../support/hooks.js';
import { killAllBookieProcesses, startBookieProcess } from '../support/bookie-process.js';
import {
  addEntry, DIGEST, envelopeFor, expectEntry, frameOf, inBatches, MASTER_KEY, OTHER_MASTER_KEY, rawConnect, readEntry, removeDir, sleep,
  tempDir, uniqueRoot, type RawConnection,
} from '../support/bookie-test-utils.js';
import { waitFor } from '../support/wait-for.js';

const { OperationType } = bookkeeper;

type Field = readonly [fieldNo: number, value: number | Uint8Array];

/** Protobuf bytes built by hand: numbers as (int64) varints, byte arrays as length-delimited fields. */
function pb(fields: readonly Field[]): Buffer {
  const w = protobuf.Writer.create();
  for (const [no, value] of fields) {
    if (typeof value === 'number') w.uint32(no << 3).int64(value);
    else w.uint32((no << 3) | 2).bytes(value);
  }
  return Buffer.from(w.finish());
}

function header(operation: number, txnId: number, version = 3): Buffer {
  return pb([[1, version], [2, operation], [3, txnId]]);
}

/** The header of a raw response frame, as the bookie encoded it. */
function responseHeader(frame: Buffer): { version: number; operation: number; txnId: bigint; status: number } {
  const r = bookkeeper.Response.decode(frame);
  return { version: r.header.version, operation: r.header.operation, txnId: fromProtoUint64(r.header.txnId), status: r.status };
}

function asRead(r: Response): ReadEntryResponse {
  expect(r.op).to.equal('READ_ENTRY');
  return r as ReadEntryResponse;
}

/** A fencing read (entry -1, FENCE_LEDGER); `key` null sends none. */
function fence(client: BookieClient, ledgerId: bigint, key: Buffer | null = MASTER_KEY): Promise<Response> {
  return client.send({ op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'FENCE_LEDGER', ...(key === null ? {} : { masterKey: key }) });
}

function longPoll(client: BookieClient, ledgerId: bigint, previousLAC: bigint, timeOutMs: number): Promise<ReadEntryResponse> {
  return client.send({
    op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'ENTRY_PIGGYBACK', previousLAC, timeOut: BigInt(timeOutMs),
  }, timeOutMs + 10_000).then(asRead);
}

/** A logger that keeps the warnings: a bad connection must be logged once, not per byte. */
function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const off = (): void => undefined;
  return {
    warnings,
    debug: off,
    info: off,
    error: off,
    warn: (objOrMsg, msg) => { warnings.push(typeof objOrMsg === 'string' ? objOrMsg : msg ?? ''); },
  };
}

describe('bookie protocol (real bookie, real ZooKeeper)', function () {
  this.timeout(60_000);
  let zk: string;
  const dirs: string[] = [];
  const bookies: Bookie[] = [];
  const clients: BookieClient[] = [];

  before(async function () {
    zk = await zooKeeper(this);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const b of bookies.splice(0)) await b.close();
    await killAllBookieProcesses();
    for (const d of dirs.splice(0)) await removeDir(d);
  });

  const newDir = async (): Promise<string> => {
    const d = await tempDir('protocol');
    dirs.push(d);
    return d;
  };

  const start = async (options: { dir?: string; root?: string; maxFrameSize?: number; logger?: Logger } = {}): Promise<Bookie> => {
    const bookie = await startBookie({
      metadata: `zk://${zk}${options.root ?? uniqueRoot()}`,
      dir: options.dir ?? await newDir(),
      port: 0,
      gcIntervalMs: 0,
      ...(options.maxFrameSize === undefined ? {} : { maxFrameSize: options.maxFrameSize }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    bookies.push(bookie);
    return bookie;
  };

  const stopBookie = async (bookie: Bookie): Promise<void> => {
    await bookie.close();
    bookies.splice(bookies.indexOf(bookie), 1);
  };

  const connect = (target: Bookie | string): BookieClient => {
    const c = new BookieClient(typeof target === 'string' ? target : target.address);
    clients.push(c);
    return c;
  };

  describe('fencing', () => {
    it('refuses normal adds once fenced, accepts recovery adds, and keeps the fence across a restart', async () => {
      const dir = await newDir();
      const root = uniqueRoot();
      let bookie = await start({ dir, root });
      let c = connect(bookie);
      const L = 600n;
      for (let e = 0n; e < 3n; e++) expect((await addEntry(c, L, e)).status).to.equal('EOK');

      const fenced = asRead(await fence(c, L));
      expect(fenced.status).to.equal('EOK');
      expect(fenced.body?.equals(envelopeFor(L, 2n)), 'the fence read returns the last entry').to.equal(true);
      expect(fenced.maxLAC, "as Java's bookie, no maxLAC on a fencing read").to.equal(undefined);

      expect((await addEntry(c, L, 3n)).status).to.equal('EFENCED');
      expect((await readEntry(c, L, 3n)).status, 'a refused add stores nothing').to.equal('ENOENTRY');
      expect((await addEntry(c, L, 3n, { recovery: true })).status).to.equal('EOK');
      await expectEntry(c, L, 3n);
      expect(asRead(await fence(c, L)).status, 'fencing again').to.equal('EOK');
      // fencing a ledger this bookie never saw creates it fenced
      expect(asRead(await fence(c, 601n)).status).to.equal('ENOENTRY');
      expect((await addEntry(c, 601n, 0n)).status).to.equal('EFENCED');

      await stopBookie(bookie);
      bookie = await start({ dir, root });
      c = connect(bookie);
      expect((await addEntry(c, L, 4n)).status, 'after restart').to.equal('EFENCED');
      expect((await addEntry(c, 601n, 0n)).status, 'after restart').to.equal('EFENCED');
      expect((await addEntry(c, L, 4n, { recovery: true })).status).to.equal('EOK');
      expect((await addEntry(c, L, 5n, { recovery: true, key: OTHER_MASTER_KEY })).status, 'recovery add with another key').to.equal('EUA');
      for (let e = 0n; e <= 4n; e++) await expectEntry(c, L, e);
    });

    it('fences in the middle of pipelined adds: the fence read covers every acknowledged add, later adds are refused', async () => {
      const dir = await newDir();
      const root = uniqueRoot();
      let bookie = await start({ dir, root });
      const writers = [connect(bookie), connect(bookie)];
      const fencer = connect(bookie);
      const L = 610n;
      const acked: bigint[] = [];
      const refused: bigint[] = [];
      const other: string[] = [];
      let next = 0n;
      let fenceAnswered = false;
      const sentAfterFence: bigint[] = [];
      const worker = async (c: BookieClient): Promise<void> => {
        while (sentAfterFence.length < 20 && other.length === 0) {
          const e = next++;
          const afterFence = fenceAnswered;
          const r = await addEntry(c, L, e);
          if (r.status === 'EOK') acked.push(e);
          else if (r.status === 'EFENCED') refused.push(e);
          else other.push(`${e}: ${r.status}`);
          if (afterFence) sentAfterFence.push(e);
          if (afterFence && r.status !== 'EFENCED') other.push(`${e} sent after the fence answered: ${r.status}`);
        }
      };
      const workers = Array.from({ length: 64 }, (_, i) => worker(writers[i % 2]!));
      await waitFor(() => acked.length >= 200, 20_000, '200 acknowledged adds');
      const f = asRead(await fence(fencer, L));
      fenceAnswered = true;
      await Promise.all(workers);
      expect(other).to.deep.equal([]);
      expect(f.status).to.equal('EOK');
      expect(sentAfterFence.length, 'adds sent after the fence answered').to.be.greaterThan(0);
      // recovery reads from the fence read: it must cover every add acknowledged to the writer
      const lastAtFence = f.body!.readBigInt64BE(8);
      const maxAcked = acked.reduce((a, b) => (a > b ? a : b), -1n);
      expect(maxAcked <= lastAtFence, `acknowledged entry ${maxAcked} beyond the fence read's last entry ${lastAtFence}`).to.equal(true);

      await stopBookie(bookie);
      bookie = await start({ dir, root });
      const c = connect(bookie);
      await inBatches(acked, 64, (e) => expectEntry(c, L, e));
      expect((await addEntry(c, L, next)).status).to.equal('EFENCED');
    });

    it('keeps a fence that was acknowledged right before a SIGKILL (real process)', async function () {
      this.timeout(120_000);
      const dir = await newDir();
      const b = await startBookieProcess({ metadata: `zk://${zk}${uniqueRoot()}`, dir });
      for (let round = 0; round < 3; round++) {
        const c = new BookieClient(b.address);
        const L = BigInt(700 + round);
        const N = BigInt(round * 2); // round 0: a ledger with no entry, fenced at once
        for (let e = 0n; e < N; e++) expect((await addEntry(c, L, e)).status).to.equal('EOK');
        const r = asRead(await fence(c, L));
        await b.kill('SIGKILL'); // right after the fence was acknowledged
        c.close();
        expect(r.status, `fence of ledger ${L}`).to.equal(N === 0n ? 'ENOENTRY' : 'EOK');

        await b.restart();
        const c2 = connect(b.address);
        expect((await addEntry(c2, L, N)).status, `normal add to ${L} after SIGKILL + restart`).to.equal('EFENCED');
        expect((await addEntry(c2, L, N, { recovery: true })).status, `recovery add to ${L}`).to.equal('EOK');
        for (let e = 0n; e <= N; e++) await expectEntry(c2, L, e);
      }
    });
  });

  describe('long poll (READ_ENTRY -1, ENTRY_PIGGYBACK, previousLAC, timeOut)', () => {
    it('answers as soon as an add piggybacks a higher LAC, with maxLAC and the next entry', async () => {
      const bookie = await start();
      const c = connect(bookie);
      const L = 300n;
      for (let e = 0n; e < 5n; e++) expect((await addEntry(c, L, e)).status).to.equal('EOK'); // bookie LAC = 3

      let answeredAt = 0;
      const waiting = longPoll(c, L, 3n, 5000).then((r) => { answeredAt = Date.now(); return r; });
      await sleep(300);
      expect(answeredAt, 'the long poll waits while the LAC is not above previousLAC').to.equal(0);
      const addedAt = Date.now();
      expect((await addEntry(c, L, 5n)).status).to.equal('EOK'); // piggybacks LAC 4
      const r = await waiting;
      expect(answeredAt - addedAt, 'long poll answered within ms of the add').to.be.below(1000);
      expect(r.status).to.equal('EOK');
      expect(r.maxLAC).to.equal(4n);
      expect(r.entryId).to.equal(4n);
      expect(r.body?.equals(envelopeFor(L, 4n)), 'body = entry previousLAC + 1').to.equal(true);

      // the LAC is already above previousLAC: at once
      const t0 = Date.now();
      const now = await longPoll(c, L, 1n, 5000);
      expect(Date.now() - t0).to.be.below(1000);
      expect([now.status, now.maxLAC, now.entryId]).to.deep.equal(['EOK', 4n, 2n]);
      expect(now.body?.equals(envelopeFor(L, 2n))).to.equal(true);

      // the LAC jumps past an entry this bookie does not hold: EOK, maxLAC, no body
      const gap = longPoll(c, L, 5n, 5000);
      await sleep(100);
      expect((await addEntry(c, L, 8n, { lac: 7n })).status).to.equal('EOK');
      const g = await gap;
      expect([g.status, g.maxLAC, g.entryId, g.body]).to.deep.equal(['EOK', 7n, 6n, undefined]);
    });

    it('times out with EOK, maxLAC and no body when the LAC does not move', async () => {
      const bookie = await start();
      const c = connect(bookie);
      const L = 301n;
      for (let e = 0n; e < 3n; e++) expect((await addEntry(c, L, e)).status).to.equal('EOK'); // LAC 1
      const t0 = Date.now();
      const r = await longPoll(c, L, 1n, 1000);
      const elapsed = Date.now() - t0;
      expect(elapsed, 'answered at the timeout').to.be.within(950, 3000);
      expect([r.status, r.maxLAC, r.body]).to.deep.equal(['EOK', 1n, undefined]);
      // another ledger's adds do not wake it
      const t1 = Date.now();
      const other = longPoll(c, L, 1n, 1000);
      expect((await addEntry(c, 302n, 0n)).status).to.equal('EOK');
      expect((await addEntry(c, 302n, 5n, { lac: 4n })).status).to.equal('EOK');
      const o = await other;
      expect([o.status, o.maxLAC, o.body]).to.deep.equal(['EOK', 1n, undefined]);
      expect(Date.now() - t1, 'still waited for its timeout').to.be.at.least(950);
      expect((await longPoll(c, 999n, 0n, 100)).status, 'unknown ledger').to.equal('ENOLEDGER');
    });
  });

  describe('LAC', () => {
    it('READ_LAC returns the explicit LAC written with WRITE_LAC and the last entry, also after a restart', async () => {
      const dir = await newDir();
      const root = uniqueRoot();
      let bookie = await start({ dir, root });
      let c = connect(bookie);
      const L = 400n;
      for (let e = 0n; e < 3n; e++) expect((await addEntry(c, L, e)).status).to.equal('EOK');

      let r = await c.send({ op: 'READ_LAC', ledgerId: L }) as ReadLacResponse;
      expect(r.status).to.equal('EOK');
      expect(r.lacBody, 'no explicit LAC yet').to.equal(undefined);
      expect(r.lastEntryBody?.equals(envelopeFor(L, 2n))).to.equal(true);

      const lacEnvelope = encodeLac(DIGEST, L, 2n);
      expect((await c.send({ op: 'WRITE_LAC', ledgerId: L, lac: 2n, masterKey: MASTER_KEY, body: lacEnvelope })).status).to.equal('EOK');
      expect((await c.send({ op: 'WRITE_LAC', ledgerId: L, lac: 2n, masterKey: OTHER_MASTER_KEY, body: lacEnvelope })).status, 'another key').to.equal('EUA');
      r = await c.send({ op: 'READ_LAC', ledgerId: L }) as ReadLacResponse;
      expect(r.status).to.equal('EOK');
      expect(r.lacBody?.equals(lacEnvelope)).to.equal(true);
      expect(decodeLac(DIGEST, r.lacBody!, L)).to.equal(2n);
      expect(r.lastEntryBody?.equals(envelopeFor(L, 2n))).to.equal(true);
      // the explicit LAC raises the bookie's LAC for long polls too
      const lp = await longPoll(c, L, 1n, 100);
      expect([lp.status, lp.maxLAC]).to.deep.equal(['EOK', 2n]);

      // a ledger with neither entries nor an explicit LAC, and an unknown one
      expect(asRead(await fence(c, 401n)).status).to.equal('ENOENTRY');
      expect((await c.send({ op: 'READ_LAC', ledgerId: 401n })).status).to.equal('ENOENTRY');
      // as Java's bookie answers (test/interop/bookie-protocol.test.ts)
      expect((await c.send({ op: 'READ_LAC', ledgerId: 402n })).status).to.equal('ENOENTRY');

      await stopBookie(bookie);
      bookie = await start({ dir, root });
      c = connect(bookie);
      r = await c.send({ op: 'READ_LAC', ledgerId: L }) as ReadLacResponse;
      expect(r.status, 'after restart').to.equal('EOK');
      expect(r.lacBody?.equals(lacEnvelope), 'explicit LAC after restart').to.equal(true);
      expect(r.lastEntryBody?.equals(envelopeFor(L, 2n))).to.equal(true);
    });
  });

  describe('master key', () => {
    it('binds the first key: another key gets EUA, a fence without a key gets EUA, neither changes anything', async () => {
      const bookie = await start();
      const c = connect(bookie);
      const L = 500n;
      expect((await addEntry(c, L, 0n)).status).to.equal('EOK');
      expect((await addEntry(c, L, 1n, { key: OTHER_MASTER_KEY })).status).to.equal('EUA');
      expect((await readEntry(c, L, 1n)).status, 'the refused add stored nothing').to.equal('ENOENTRY');
      expect(asRead(await fence(c, L, null)).status, 'fence without masterKey').to.equal('EUA');
      expect(asRead(await fence(c, L, OTHER_MASTER_KEY)).status, 'fence with another key').to.equal('EUA');
      expect((await addEntry(c, L, 1n)).status, 'not fenced by the refused fences').to.equal('EOK');
      await expectEntry(c, L, 1n);
      // a fence binds the key of a new ledger too
      expect(asRead(await fence(c, 501n, OTHER_MASTER_KEY)).status).to.equal('ENOENTRY');
      expect((await addEntry(c, 501n, 0n, { recovery: true })).status, 'recovery add with a key other than the fencer\'s').to.equal('EUA');
    });
  });

  describe('bad input', () => {
    let bookie: Bookie;
    let logger: ReturnType<typeof capturingLogger>;
    let healthy: BookieClient;
    const L = 100n;

    beforeEach(async () => {
      logger = capturingLogger();
      bookie = await start({ logger });
      healthy = connect(bookie); // a connection that stays open through everyone else's bad input
      for (let e = 0n; e < 3n; e++) expect((await addEntry(healthy, L, e)).status).to.equal('EOK');
    });

    /** The bookie still serves well-formed requests: on the open connection and on a fresh one. */
    const stillServes = async (b: Bookie = bookie, existing: BookieClient = healthy): Promise<void> => {
      await expectEntry(existing, L, 1n);
      const fresh = connect(b);
      await expectEntry(fresh, L, 2n);
      fresh.close();
    };

    const expectClosedWithoutAnswer = async (conn: RawConnection, what: string): Promise<void> => {
      const timeout = sleep(5000).then(() => 'timeout' as const);
      const got = await Promise.race([conn.closed, timeout]);
      expect(got, `${what}: connection closed by the bookie`).to.not.equal('timeout');
      expect((got as Buffer).length, `${what}: bytes answered before closing`).to.equal(0);
    };

    it('closes the connection on malformed protobuf, and logs it at most once (rate-limited)', async () => {
      const payloads: [string, Buffer][] = [
        ['a header field longer than the frame', Buffer.from([0x0a, 0x7f, 0x08, 0x03])],
        ['an invalid varint', Buffer.from([0x0a, 0x03, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
        ['field number 0 (a v2 frame)', Buffer.from([0x02, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 100])],
        ['random bytes', Buffer.from('ffee0123456789abcdef00112233445566778899', 'hex')],
      ];
      for (const [what, payload] of payloads) {
        const before = logger.warnings.length;
        const conn = await rawConnect(bookie.address.port);
        conn.write(frameOf(payload));
        await expectClosedWithoutAnswer(conn, what);
        // one line a second per kind: the first is logged, the next ones may be held back
        const lines = logger.warnings.slice(before);
        if (what === payloads[0]![0]) expect(lines, `${what}: log lines`).to.deep.equal(['closing connection: malformed request']);
        else expect(lines.every((l) => l === 'closing connection: malformed request') && lines.length <= 1, `${what}: log lines ${JSON.stringify(lines)}`).to.equal(true);
        await stillServes();
      }
    });

    it('closes the connection on a missing required field or an operation number outside the enum', async () => {
      const cases: [string, Buffer][] = [
        ['READ_ENTRY without entryId', pb([[1, header(OperationType.READ_ENTRY, 1)], [100, pb([[1, 100]])]])],
        ['ADD_ENTRY without masterKey', pb([[1, header(OperationType.ADD_ENTRY, 2)], [101, pb([[1, 100], [2, 9], [4, envelopeFor(L, 9n)]])]])],
        ['a header without txnId', pb([[1, pb([[1, 3], [2, OperationType.READ_LAC]])], [104, pb([[1, 100]])]])],
        ['no header at all', pb([[104, pb([[1, 100]])]])],
        // proto2: an unknown value of a required enum leaves the field unset, so the message does not parse (as in Java)
        ['operation 99', pb([[1, header(99, 3)], [104, pb([[1, 100]])]])],
        ['version 7', pb([[1, header(OperationType.READ_LAC, 4, 7)], [104, pb([[1, 100]])]])],
      ];
      // an add as a client encodes it, cut short: the body's declared length runs past the frame
      const add = encodeRequest({ op: 'ADD_ENTRY', txnId: 5n, ledgerId: L, entryId: 9n, masterKey: MASTER_KEY, body: envelopeFor(L, 9n) });
      cases.push(['ADD_ENTRY cut short', add.subarray(4, add.length - 10)]);
      cases.push(['ADD_ENTRY with its header cut short', add.subarray(4, 9)]);
      for (const [what, payload] of cases) {
        const conn = await rawConnect(bookie.address.port);
        conn.write(frameOf(payload));
        await expectClosedWithoutAnswer(conn, what);
        await stillServes();
      }
      expect(await healthy.send({ op: 'READ_LAC', ledgerId: L }).then((r) => r.status)).to.equal('EOK');
      expect((await readEntry(healthy, L, 9n)).status, 'no malformed add was stored').to.equal('ENOENTRY');

      // a well-formed add with a field this bookie does not know is served: unknown fields are skipped
      const conn = await rawConnect(bookie.address.port);
      conn.write(frameOf(Buffer.concat([add.subarray(4), pb([[150, 1]])])));
      const r = decodeResponse(await conn.nextFrame());
      expect([r.op, r.status, r.txnId]).to.deep.equal(['ADD_ENTRY', 'EOK', 5n]);
      conn.destroy();
      await expectEntry(healthy, L, 9n);
    });

    it('closes the connection on a frame over the maximum frame size (64 KiB configured)', async () => {
      const small = await start({ maxFrameSize: 64 * 1024, logger });
      const c = connect(small);
      for (let e = 0n; e < 3n; e++) expect((await addEntry(c, L, e)).status).to.equal('EOK');
      // just under the limit is served: the limit counts the 4-byte prefix, as Netty does
      const big = envelopeFor(L, 3n, { size: 60 * 1024 });
      expect((await addEntry(c, L, 3n, { body: big })).status).to.equal('EOK');
      await expectEntry(c, L, 3n, big);

      for (const declared of [64 * 1024 - 3, 64 * 1024, 1 << 30, 0x7fffffff]) {
        const conn = await rawConnect(small.address.port);
        const prefix = Buffer.alloc(4);
        prefix.writeInt32BE(declared);
        conn.write(Buffer.concat([prefix, Buffer.alloc(100)]));
        await expectClosedWithoutAnswer(conn, `declared length ${declared}`);
        await stillServes(small, c);
      }
      // a negative length is as bad
      const neg = await rawConnect(small.address.port);
      neg.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
      await expectClosedWithoutAnswer(neg, 'negative length');
      // the largest frame that fits: 64 KiB including its prefix
      const exact = await rawConnect(small.address.port);
      const req = bookkeeper.Request.encode({
        header: { version: bookkeeper.ProtocolVersion.VERSION_THREE, operation: OperationType.READ_LAC, txnId: 77 },
        readLacRequest: { ledgerId: Number(L) },
        requestContext: [{ key: 'pad', value: 'x'.repeat(64 * 1024 - 4 - 30) }],
      }).finish();
      expect(req.length + 4, 'frame size').to.be.within(64 * 1024 - 8, 64 * 1024);
      exact.write(frameOf(Buffer.from(req)));
      const answer = decodeResponse(await exact.nextFrame());
      expect([answer.op, answer.status, answer.txnId]).to.deep.equal(['READ_LAC', 'EOK', 77n]);
      exact.destroy();
      await stillServes(small, c);
    });

    it('closes the connection on a 6 MiB frame at the default 5 MiB limit, without waiting for its bytes', async () => {
      const conn = await rawConnect(bookie.address.port);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(6 * 1024 * 1024);
      conn.write(Buffer.concat([prefix, Buffer.alloc(1024)]));
      await expectClosedWithoutAnswer(conn, '6 MiB frame');
      await stillServes();
      // 4 MiB is fine
      const body = envelopeFor(L, 10n, { size: 4 * 1024 * 1024 });
      expect((await addEntry(healthy, L, 10n, { body })).status).to.equal('EOK');
      await expectEntry(healthy, L, 10n, body);
    });

    it('answers EBADREQ to operations v3 does not serve, EBADVERSION to another version, EBADREQ to a missing sub-request', async () => {
      const conn = await rawConnect(bookie.address.port);
      const cases: [string, Buffer, number, string][] = [
        ['RANGE_READ_ENTRY', pb([[1, header(OperationType.RANGE_READ_ENTRY, 11)]]), OperationType.RANGE_READ_ENTRY, 'EBADREQ'],
        ['RANGE_ADD_ENTRY', pb([[1, header(OperationType.RANGE_ADD_ENTRY, 12)]]), OperationType.RANGE_ADD_ENTRY, 'EBADREQ'],
        ['BATCH_READ_ENTRY (v2 only)', pb([[1, header(OperationType.BATCH_READ_ENTRY, 13)]]), OperationType.BATCH_READ_ENTRY, 'EBADREQ'],
        ['START_TLS without TLS', pb([[1, header(OperationType.START_TLS, 15)], [106, Buffer.alloc(0)]]), OperationType.START_TLS, 'EBADREQ'],
        ['version 2', pb([[1, header(OperationType.READ_LAC, 16, 2)], [104, pb([[1, 100]])]]), OperationType.READ_LAC, 'EBADVERSION'],
        ['version 1 add', pb([[1, header(OperationType.ADD_ENTRY, 17, 1)]]), OperationType.ADD_ENTRY, 'EBADVERSION'],
        ['ADD_ENTRY without addRequest', pb([[1, header(OperationType.ADD_ENTRY, 18)]]), OperationType.ADD_ENTRY, 'EBADREQ'],
        ['READ_ENTRY without readRequest', pb([[1, header(OperationType.READ_ENTRY, 19)], [104, pb([[1, 100]])]]), OperationType.READ_ENTRY, 'EBADREQ'],
        ['READ_LAC without readLacRequest', pb([[1, header(OperationType.READ_LAC, 20)]]), OperationType.READ_LAC, 'EBADREQ'],
        ['WRITE_LAC without writeLacRequest', pb([[1, header(OperationType.WRITE_LAC, 21)]]), OperationType.WRITE_LAC, 'EBADREQ'],
      ];
      for (const [what, payload, operation, status] of cases) {
        conn.write(frameOf(payload));
        const frame = await conn.nextFrame();
        const txnId = fromProtoUint64(bookkeeper.Request.decode(payload).header.txnId);
        expect(responseHeader(frame), what).to.deep.equal({ version: 3, operation, txnId, status: bookkeeper.StatusCode[status as 'EOK'] });
        expect(decodeResponse(frame).status, what).to.equal(status);
      }
      // AUTH is answered as auth-disabled, on the same connection, which is still open
      conn.write(frameOf(pb([[1, header(OperationType.AUTH, 30)], [102, pb([[1, Buffer.from('AuthDisabledPlugin')], [2, Buffer.alloc(0)]])]])));
      const auth = decodeResponse(await conn.nextFrame());
      expect(auth).to.deep.include({ op: 'AUTH', status: 'EOK', txnId: 30n, authPluginName: 'AuthDisabledPlugin' });
      conn.write(frameOf(pb([[1, header(OperationType.READ_ENTRY, 31)], [100, pb([[1, Number(L)], [2, 0]])]])));
      const ok = decodeResponse(await conn.nextFrame());
      expect([ok.op, ok.status, ok.txnId]).to.deep.equal(['READ_ENTRY', 'EOK', 31n]);
      expect((ok as ReadEntryResponse).body?.equals(envelopeFor(L, 0n))).to.equal(true);
      conn.destroy();
      await stillServes();
    });

    it('answers ENOLEDGER, ENOENTRY and EBADREQ to reads and adds that name the wrong things', async () => {
      const c = healthy;
      expect((await readEntry(c, 12345n, 0n)).status, 'missing ledger').to.equal('ENOLEDGER');
      expect((await readEntry(c, 12345n, -1n)).status, 'missing ledger, last entry').to.equal('ENOLEDGER');
      expect((await readEntry(c, L, 3n)).status, 'missing entry').to.equal('ENOENTRY');
      expect((await readEntry(c, L, 1000n)).status, 'missing entry').to.equal('ENOENTRY');
      expect((await readEntry(c, L, -2n)).status, 'entry id -2').to.equal('EBADREQ');

      expect((await addEntry(c, 800n, 0n, { body: envelopeFor(800n, 1n) })).status, 'envelope of another entry').to.equal('EBADREQ');
      expect((await addEntry(c, 800n, 0n, { body: envelopeFor(801n, 0n) })).status, 'envelope of another ledger').to.equal('EBADREQ');
      expect((await addEntry(c, 800n, 0n, { body: envelopeFor(800n, 0n).subarray(0, 31) })).status, 'envelope shorter than its header').to.equal('EBADREQ');
      expect((await addEntry(c, 800n, -3n, { body: envelopeFor(800n, -3n) })).status, 'negative entry id').to.equal('EBADREQ');
      expect((await readEntry(c, 800n, 0n)).status, 'refused adds create nothing').to.equal('ENOLEDGER');
      // a mismatch inside an existing ledger stores nothing either
      expect((await addEntry(c, L, 3n, { body: envelopeFor(L, 4n) })).status).to.equal('EBADREQ');
      expect((await readEntry(c, L, 3n)).status).to.equal('ENOENTRY');
      await stillServes();
    });
  });

  it('GET_LIST_OF_ENTRIES_OF_LEDGER lists the entries held, before and after a checkpoint; ENOLEDGER for an unknown ledger', async () => {
    const bookie = await start();
    const c = connect(bookie);
    const L = 900n;
    const held = [0n, 1n, 2n, 5n, 6n, 9n];
    const list = async (ledgerId: bigint): Promise<{ status: string; ids?: bigint[] }> => {
      const r = await c.send({ op: 'GET_LIST_OF_ENTRIES_OF_LEDGER', ledgerId });
      if (r.op !== 'GET_LIST_OF_ENTRIES_OF_LEDGER') throw new Error(`answered ${r.op}`);
      const body = r.availabilityOfEntriesOfLedger;
      return { status: r.status, ...(body === undefined ? {} : { ids: [...availableEntryIds(decodeEntriesAvailability(body))] }) };
    };
    for (const e of held.slice(0, 4)) expect((await addEntry(c, L, e)).status).to.equal('EOK');
    await bookie.checkpoint();
    for (const e of held.slice(4)) expect((await addEntry(c, L, e)).status).to.equal('EOK');
    expect(await list(L)).to.deep.equal({ status: 'EOK', ids: held });
    expect(await list(L + 1n)).to.deep.equal({ status: 'ENOLEDGER' });
  });

  it('GET_BOOKIE_INFO reports the capacity and free space of its disk', async () => {
    const dir = await newDir();
    const bookie = await start({ dir });
    const c = connect(bookie);
    const r = await c.send({ op: 'GET_BOOKIE_INFO', requested: 3n });
    expect(r.op).to.equal('GET_BOOKIE_INFO');
    if (r.op !== 'GET_BOOKIE_INFO') return;
    expect(r.status).to.equal('EOK');
    const fs = await statfs(dir, { bigint: true });
    expect(r.totalDiskCapacity, 'total').to.equal(fs.blocks * fs.bsize);
    const free = Number(fs.bavail * fs.bsize);
    expect(Number(r.freeDiskSpace), 'free').to.be.within(free * 0.9 - 64e6, Math.min(free * 1.1 + 64e6, Number(r.totalDiskCapacity)));
    expect(r.freeDiskSpace! > 0n).to.equal(true);
  });
});
