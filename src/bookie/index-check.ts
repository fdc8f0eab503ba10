// Start-up checks of the LMDB ledger index before the bookie maps it. LMDB trusts its file: a
// truncated data.mdb crashes the process (SIGSEGV/SIGBUS) with nothing printed, and flipped bytes
// in a page crash it later or make it answer ENOENTRY for entries the entry logs hold. So:
// 1. the meta pages are read with plain file reads: LMDB's magic and version, a page size LMDB
//    can have, and a file long enough for the last page the newest meta names;
// 2. a child process (where a crash is only an exit signal) opens the index read-only and walks
//    every database: keys in order and of their fixed sizes, as many rows as LMDB counts, values
//    well formed, every location pointing at the record of its own entry in an entry log (a
//    damaged record there is the entry log's damage, counted and left to reads: CORRUPT_ENTRY).
//    It costs a process start plus a read of each record's header (measured in docs/operations.md).
// Either failing refuses the start with INDEX_CORRUPT naming the file; nothing is repaired.
import { execFile } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LOG_HEADER_SIZE, RECORD_HEADER_SIZE, parseLogFileName } from './entry-log.js';
import { StorageError } from './storage-error.js';

/** MDB_page_header: pgno(8) txnid(8) pad(2) flags(2) lower(2) upper(2). */
const PAGE_HEADER = 24;
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
/** Offsets in MDB_meta (after the page header): magic u32, version u32, address u64, mapsize u64,
 *  dbs[0] (its first u32 is the page size), dbs[1], last_pg u64, txnid u64. */
const META_PSIZE = 24;
const META_LAST_PG = 120;
const META_TXNID = 128;
const META_MAIN_ROOT = 112;
const META_SIZE = 144;
/** The verify child gets this long per start; a huge index on a slow disk may need more. */
const VERIFY_TIMEOUT_MS = 10 * 60_000;

interface Meta { readonly psize: number; readonly lastPage: bigint; readonly txnid: bigint; readonly mainRoot: bigint }

function corrupt(file: string, message: string, offset?: number): StorageError {
  const at = offset === undefined ? '' : ` at offset ${offset}`;
  return new StorageError('INDEX_CORRUPT', `ledger index ${file} is damaged${at}: ${message}; restore the bookie's directory or remove it and let the ensemble re-replicate`, { file });
}

/** The meta at `pageOffset`, or a reason it is not one. */
function parseMeta(buf: Buffer, base: number): Meta | string {
  if (buf.length < base + PAGE_HEADER + META_SIZE) return 'shorter than a meta page';
  const m = base + PAGE_HEADER;
  if (buf.readUInt32LE(m) !== MDB_MAGIC) return `no LMDB magic (0x${buf.readUInt32LE(m).toString(16)})`;
  if ((buf.readUInt32LE(m + 4) & 0xffff) !== MDB_DATA_VERSION) return `LMDB data version ${buf.readUInt32LE(m + 4) & 0xffff}, expected ${MDB_DATA_VERSION}`;
  const psize = buf.readUInt32LE(m + META_PSIZE);
  if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) return `page size ${psize}`;
  return { psize, lastPage: buf.readBigUInt64LE(m + META_LAST_PG), txnid: buf.readBigUInt64LE(m + META_TXNID), mainRoot: buf.readBigUInt64LE(m + META_MAIN_ROOT) };
}

/** Check 1: the meta pages and the file's length. Resolves false when there is no index yet. */
export async function checkIndexFile(indexDir: string): Promise<boolean> {
  const file = path.join(indexDir, 'data.mdb');
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return false; // created, never committed: LMDB initialises it
    const head = Buffer.alloc(Math.min(size, 2 * 65536));
    await handle.read(head, 0, head.length, 0);
    const first = parseMeta(head, 0);
    if (typeof first === 'string') throw corrupt(file, `meta page 0: ${first}`, 0);
    const second = parseMeta(head, first.psize);
    if (typeof second === 'string') throw corrupt(file, `meta page 1: ${second}`, first.psize);
    const meta = second.txnid > first.txnid ? second : first;
    const pages = BigInt(Math.floor(size / meta.psize));
    if (meta.lastPage >= pages) {
      throw corrupt(file, `${size} bytes, but its last committed page is ${meta.lastPage} of ${meta.psize} bytes (truncated?)`, size);
    }
    if (meta.mainRoot !== 0xffffffffffffffffn && meta.mainRoot >= pages) throw corrupt(file, `root page ${meta.mainRoot} is past the end`);
    return true;
  } finally {
    await handle.close();
  }
}

/** Sizes of the entry logs in `dir`, by id. */
async function logSizes(dir: string): Promise<Record<number, number>> {
  const sizes: Record<number, number> = {};
  for (const name of await readdir(dir)) {
    const id = parseLogFileName(name);
    if (id !== undefined) sizes[id] = (await stat(path.join(dir, name))).size;
  }
  return sizes;
}

// Plain CommonJS for `node -e`: no project module is needed (they may be TypeScript sources).
const VERIFY_SCRIPT = `
const { openSync, readSync } = require('node:fs');
const { join } = require('node:path');
const { open } = require(process.argv[1]);
const { crc32c } = require(process.argv[2]);
const [, , , dir, logDir, logsJson, headerSize, recordHeaderSize] = process.argv;
const logs = JSON.parse(logsJson);
const fds = new Map();
const header = Buffer.alloc(Number(recordHeaderSize));
const fail = (reason) => { process.stdout.write(reason); process.exit(3); };
const MAX_RECORD = 64 << 20;
let damaged = 0;
const root = open({ path: dir, maxDbs: 4, readOnly: true });
const bin = { keyEncoding: 'binary', encoding: 'binary' };
const checks = {
  locations: (k, v) => {
    if (k.length !== 16 || v.length !== 8) return 'a location of the wrong size';
    const logId = v.readUInt32BE(0), offset = v.readUInt32BE(4), name = logId.toString(16) + '.log';
    const size = logs[logId];
    if (size === undefined) return 'a location in entry log ' + name + ', which does not exist';
    if (offset < Number(headerSize)) return 'a location inside the header of entry log ' + name;
    if (offset + header.length > size) { damaged++; return; }
    // the record there must be this entry's: a flipped key or value points elsewhere
    let fd = fds.get(logId);
    if (fd === undefined) fds.set(logId, fd = openSync(join(logDir, name), 'r'));
    readSync(fd, header, 0, header.length, offset);
    const length = header.readUInt32BE(0);
    const fits = offset + header.length + length <= size;
    if (header.subarray(8, 24).equals(k) && fits) return;
    // an intact record of another entry: the index is wrong; a damaged record: the entry log is,
    // and reads of it answer CORRUPT_ENTRY (the client asks another replica) as for any damage
    if (fits && length <= MAX_RECORD) {
      const record = Buffer.alloc(header.length + length);
      readSync(fd, record, 0, record.length, offset);
      if (crc32c(record.subarray(8)) === record.readUInt32BE(4)) return 'a location pointing at the record of another entry in ' + name + ' at ' + offset;
    }
    damaged++;
  },
  ledgers: (k, v) => {
    if (k.length !== 8 || v.length < 6 || v[0] !== 1) return 'a ledger state of the wrong shape';
    const keyLen = v.readUInt16BE(2);
    if (v.length < 6 + keyLen || v.length !== 6 + keyLen + v.readUInt16BE(4 + keyLen)) return 'a ledger state of the wrong length';
  },
  logs: (k, v) => (k.length !== 4 || v.length % 16 !== 0 ? 'a log accounting row of the wrong size' : undefined),
  meta: () => undefined,
};
let total = 0;
for (const [name, check] of Object.entries(checks)) {
  let db;
  try { db = root.openDB({ name, ...bin }); } catch { continue; }
  let prev, rows = 0;
  for (const { key, value } of db.getRange()) {
    if (prev !== undefined && Buffer.compare(prev, key) >= 0) fail(name + ': keys out of order after ' + prev.toString('hex'));
    const bad = check(key, value);
    if (bad) fail(name + ': ' + bad + ' (key ' + key.toString('hex') + ')');
    prev = Buffer.from(key);
    rows++;
  }
  // a damaged leaf or branch page ends or skips the walk without an error: LMDB's own count tells
  const counted = db.getStats().entryCount;
  if (rows !== counted) fail(name + ': ' + rows + ' rows readable of the ' + counted + ' it counts');
  total += rows;
}
process.stdout.write(total + ' ' + damaged);
`;

export interface IndexVerification {
  readonly rows: number;
  /** Locations whose entry-log record is damaged (not the index): reads of them fail with CORRUPT_ENTRY. */
  readonly damagedRecords: number;
}

/**
 * Check 2, in a child process: resolves with what it walked, or rejects with INDEX_CORRUPT (also
 * when LMDB crashed the child).
 */
export async function verifyIndex(indexDir: string, logDir: string): Promise<IndexVerification> {
  const file = path.join(indexDir, 'data.mdb');
  const require = createRequire(import.meta.url);
  const args = ['-e', VERIFY_SCRIPT, require.resolve('lmdb'), require.resolve('@node-rs/crc32'), indexDir, logDir,
    JSON.stringify(await logSizes(logDir)), String(LOG_HEADER_SIZE), String(RECORD_HEADER_SIZE)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: VERIFY_TIMEOUT_MS, maxBuffer: 1 << 20, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) => {
      if (err === null) {
        const [rows, damagedRecords] = stdout.split(' ').map(Number);
        resolve({ rows: rows ?? 0, damagedRecords: damagedRecords ?? 0 });
        return;
      }
      const { code, signal } = err as { code?: number | string; signal?: string };
      if (code === 3) reject(corrupt(file, stdout));
      else if (signal) reject(corrupt(file, `reading it crashed LMDB (${signal})`));
      else reject(corrupt(file, `LMDB could not read it: ${stderr.trim().split('\n').pop() ?? `exit ${String(code)}`}`));
    });
  });
}
