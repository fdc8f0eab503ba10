// Shared helpers of the bookie integration tests: deterministic entries, temp dirs, unique ledgers
// roots, raw sockets for bad-input tests, and small protocol shortcuts over BookieClient.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { BookieClient } from '../../src/ledger/bookie-client.js';
import { createDigest } from '../../src/protocol/digest.js';
import { decodeEntry, encodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { masterKey } from '../../src/protocol/master-key.js';
import type { Response, StatusCode } from '../../src/protocol/protocol-types.js';

export const PASSWORD = Buffer.from('integration-test-password');
export const DIGEST = createDigest('CRC32C', PASSWORD);
export const MASTER_KEY = masterKey(PASSWORD);
export const OTHER_MASTER_KEY = masterKey(Buffer.from('somebody else'));
export const ENTRY_SIZE = 1024;

const STREAM_KEY = Buffer.alloc(16, 0x5a);

/** Pseudo-random bytes determined by (ledgerId, entryId): what the entry's payload must read back as. */
export function payloadFor(ledgerId: bigint, entryId: bigint, size = ENTRY_SIZE): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigInt64BE(ledgerId, 0);
  iv.writeUInt32BE(Number(BigInt.asUintN(32, entryId)), 8); // the last 4 bytes are the CTR block counter: no overlap between entries
  return createCipheriv('aes-128-ctr', STREAM_KEY, iv).update(Buffer.alloc(size));
}

/** The entry envelope a writer sends for (ledgerId, entryId); deterministic, so it can be recomputed to compare. */
export function envelopeFor(ledgerId: bigint, entryId: bigint, options: { size?: number; lac?: bigint } = {}): Buffer {
  const size = options.size ?? ENTRY_SIZE;
  return encodeEntry(DIGEST, {
    ledgerId,
    entryId,
    lastAddConfirmed: options.lac ?? entryId - 1n,
    length: (entryId + 1n) * BigInt(size),
  }, payloadFor(ledgerId, entryId, size));
}

/** A unique ledgers root, so tests sharing one ZooKeeper never see each other's nodes. */
export function uniqueRoot(prefix = 'ledgers'): string {
  return `/${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `dlog-it-${prefix}-`));
}

export function removeDir(dir: string | undefined): Promise<void> {
  return dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true });
}

/** Bytes the files under `dir` occupy on disk (st_blocks), recursively. */
export async function diskUsageOf(dir: string, filter: (name: string) => boolean = () => true): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await diskUsageOf(p, filter);
    else if (entry.isFile() && filter(entry.name)) total += (await stat(p)).blocks * 512;
  }
  return total;
}

export function expectStatus(response: Response, status: StatusCode, what = ''): void {
  expect(response.status, `${what} ${response.op} status`).to.equal(status);
}

export async function addEntry(
  client: BookieClient, ledgerId: bigint, entryId: bigint,
  options: { key?: Buffer; recovery?: boolean; body?: Buffer; lac?: bigint } = {},
): Promise<Response> {
  return client.send({
    op: 'ADD_ENTRY',
    ledgerId,
    entryId,
    masterKey: options.key ?? MASTER_KEY,
    body: options.body ?? envelopeFor(ledgerId, entryId, options.lac === undefined ? {} : { lac: options.lac }),
    ...(options.recovery === true ? { recoveryAdd: true } : {}),
  });
}

export async function readEntry(client: BookieClient, ledgerId: bigint, entryId: bigint): Promise<Response> {
  return client.send({ op: 'READ_ENTRY', ledgerId, entryId });
}

/**
 * Reads (ledgerId, entryId) and asserts it is EOK with exactly the envelope envelopeFor() makes,
 * which also verifies with the digest.
 */
export async function expectEntry(client: BookieClient, ledgerId: bigint, entryId: bigint, expected?: Buffer): Promise<void> {
  const r = await readEntry(client, ledgerId, entryId);
  const what = `entry ${ledgerId}:${entryId}`;
  expect(r.op, what).to.equal('READ_ENTRY');
  if (r.op !== 'READ_ENTRY') return;
  expect(r.status, `${what} status`).to.equal('EOK');
  expect(r.body, `${what} body`).to.not.equal(undefined);
  const body = r.body!;
  const decoded = decodeEntry(DIGEST, body, { ledgerId, entryId }); // throws on a digest or id mismatch
  const want = expected ?? envelopeFor(ledgerId, entryId);
  if (!body.equals(want)) expect.fail(`${what}: read back ${body.length} bytes that differ from the ${want.length} written`);
  expect(decoded.payload.length, `${what} payload`).to.equal(want.length - 32 - DIGEST.length);
}

/** Runs `fn` over `items` with at most `width` in flight. */
export async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export interface RawConnection {
  readonly socket: net.Socket;
  /** Resolves when the bookie closed the connection, with everything it sent before. */
  readonly closed: Promise<Buffer>;
  write(bytes: Buffer): void;
  /** Resolves with the next complete response frame payload, or rejects when the connection closes first. */
  nextFrame(timeoutMs?: number): Promise<Buffer>;
  destroy(): void;
}

/** A plain TCP connection to a bookie, for bytes no client would send. */
export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    waiter?.();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<Buffer>((resolve) => {
    socket.once('close', () => {
      isClosed = true;
      waiter?.();
      resolve(received);
    });
  });
  const takeFrame = (): Buffer | undefined => {
    if (received.length < 4) return undefined;
    const n = received.readInt32BE(0);
    if (received.length < 4 + n) return undefined;
    const frame = received.subarray(4, 4 + n);
    received = received.subarray(4 + n);
    return frame;
  };
  return {
    socket,
    closed,
    write: (bytes) => { socket.write(bytes); },
    nextFrame: (timeoutMs = 5000) => new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => { waiter = undefined; reject(new Error(`no response frame within ${timeoutMs} ms`)); }, timeoutMs);
      const check = (): void => {
        const frame = takeFrame();
        if (frame !== undefined) {
          clearTimeout(timer);
          waiter = undefined;
          resolve(frame);
        } else if (isClosed) {
          clearTimeout(timer);
          waiter = undefined;
          reject(new Error('connection closed by the bookie'));
        }
      };
      waiter = check;
      check();
    }),
    destroy: () => { socket.destroy(); },
  };
}

function once(emitter: net.Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    emitter.once(event, () => { resolve(); });
    emitter.once('error', reject);
  });
}

/** A frame: 4-byte big-endian length, then the payload. */
export function frameOf(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
