// DistributedLog's ZooKeeper metadata of a namespace's logs and their segments
// (ZKLogStreamMetadataStore, ZKLogMetadataStore, BKLogWriteHandler, LogSegmentMetadataStoreUpdater).
// One log is <ns>/<logName>/<default>/{maxtxid, version, lock, readLock, ledgers, allocation}, created
// in one multi; segment start and completion are versioned multis, so a stale writer fails with
// METADATA_CONFLICT and changes nothing.
import { InvalidArgumentError, MetadataError } from '../../errors.js';
import type { MetadataStore, MultiOp, MultiResult, NodeData, NodeStat, Watcher } from '../../metadata/metadata-store.js';
import { joinPath, parentOf, validatePath } from '../../metadata/path.js';
import { LogError } from '../log-error.js';
import {
  compareLogSegments,
  parseLogSegmentMetadata,
  UNASSIGNED_LSSN,
  type LogSegmentMetadata,
} from './log-segment-metadata.js';
import { parseLogSegmentName } from './log-segment-names.js';
import { validateLogName } from './log-names.js';
import { DEFAULT_STREAM_NAME, logPaths, segmentPath, type LogPaths } from './log-paths.js';
import { sameZnode, type CachedSegment, type SegmentListCache } from './segment-list-cache.js';

export interface Versioned<T> {
  readonly value: T;
  /** The znode's data version, for the next compare-and-set. */
  readonly version: number;
}

/** The cached values a writer passes to its next versioned update. */
export interface LogVersions {
  /** `<root>/maxtxid`. */
  readonly maxTxId: Versioned<bigint>;
  /** `<root>/ledgers`: the max LSSN (0 when none was assigned). */
  readonly maxLssn: Versioned<bigint>;
}

export interface OpenedLog extends LogVersions {
  /** The normalized log name. */
  readonly name: string;
  readonly paths: LogPaths;
}

export interface LogMetadataStoreOptions {
  /** The log root's name under `<ns>/<logName>` (`unpartitionedStreamName`); default `<default>`. */
  unpartitionedStreamName?: string;
}

/** The layout version stored in `<root>/version`: int32 -1, big-endian. */
const LAYOUT_VERSION = -1;
const EMPTY = new Uint8Array(0);
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** A cached listing that raced a deletion lists again, this many times in all at most. */
const MAX_LISTING_ATTEMPTS = 5;

const ascii = (v: bigint): Buffer => Buffer.from(v.toString(), 'utf8');
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

function layoutVersionBytes(): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(LAYOUT_VERSION);
  return b;
}

function isCode(err: unknown, code: MetadataError['code']): err is MetadataError {
  return err instanceof MetadataError && err.code === code;
}

/** Reserved children of the namespace root (`.allocation_pool`, `.subnamespaces`) and of a log (`<default>`). */
function isReserved(child: string): boolean {
  return child.startsWith('.') || child.startsWith('<');
}

export class LogMetadataStore {
  readonly #store: MetadataStore;
  readonly #namespaceRoot: string;
  readonly #streamName: string;

  constructor(store: MetadataStore, namespaceRoot: string, options: LogMetadataStoreOptions = {}) {
    validatePath(namespaceRoot);
    this.#store = store;
    this.#namespaceRoot = namespaceRoot;
    this.#streamName = options.unpartitionedStreamName ?? DEFAULT_STREAM_NAME;
  }

  /** The znode paths of log `name` (validated and normalized). */
  paths(name: string): LogPaths {
    return logPaths(this.#namespaceRoot, validateLogName(name), this.#streamName);
  }

  /** Creates the log's nodes (completing a partial tree); LOG_EXISTS if it is complete already. */
  createLog(name: string): Promise<OpenedLog> {
    return this.#open(name, 'create');
  }

  /**
   * Reads the log's maxtxid and max LSSN and checks its layout version. A missing or partial log is
   * LOG_NOT_FOUND unless `create` is set, in which case the missing nodes are created in one multi.
   */
  async openLog(name: string, options: { create?: boolean } = {}): Promise<OpenedLog> {
    if (options.create !== true) return this.#open(name, 'open');
    try {
      return await this.#open(name, 'open-or-create');
    } catch (err) {
      // a concurrent creator won the race: its log is complete now
      if (err instanceof LogError && err.code === 'LOG_EXISTS') return this.#open(name, 'open');
      throw err;
    }
  }

  /** `sync` then `exists` on `<root>/ledgers`. */
  async logExists(name: string): Promise<boolean> {
    const { ledgers } = this.paths(name);
    await this.#store.sync(this.#namespaceRoot);
    return (await this.#store.exists(ledgers)) !== null;
  }

  /**
   * Names of the children of the namespace root, or of `<ns>/<prefix>` as `prefix/child`, without
   * reserved names. As in DL, a child is not checked to be a log: for a hierarchical log `a/b`,
   * `getLogs()` lists `a` and `getLogs('a')` lists `a/b`. A missing prefix lists nothing.
   */
  async getLogs(prefix?: string): Promise<string[]> {
    const parent = prefix === undefined ? undefined : validateLogName(prefix);
    let children: string[];
    try {
      children = await this.#store.children(parent === undefined ? this.#namespaceRoot : joinPath(this.#namespaceRoot, parent));
    } catch (err) {
      if (isCode(err, 'NO_NODE')) return [];
      throw err;
    }
    return children.filter((c) => !isReserved(c)).map((c) => (parent === undefined ? c : `${parent}/${c}`));
  }

  /**
   * Deletes `<ns>/<logName>` and everything under it (metadata only: list the segments first to
   * delete their ledgers). Empty parents of a hierarchical name are left in place, as in DL.
   */
  async deleteLog(name: string): Promise<void> {
    const paths = this.paths(name);
    if ((await this.#store.exists(paths.log)) === null) {
      throw new LogError('LOG_NOT_FOUND', `log ${name} does not exist`);
    }
    await this.#deleteTree(paths.log);
  }

  /**
   * The segments under `<root>/ledgers`, sorted by compareLogSegments. Non-segment children are
   * ignored, as are segments deleted while listing. LSSN_GAP if two consecutive segments (V2+) are
   * not consecutive LSSNs. The watcher fires on the next change of the segment list.
   */
  async listSegments(name: string, watcher?: Watcher): Promise<LogSegmentMetadata[]> {
    const paths = this.paths(name);
    const children = await this.#segmentNames(name, paths, watcher);
    const read = await Promise.all(children.map(async (c) => {
      const path = segmentPath(paths, c);
      const node = await this.#getOrNull(path);
      return node === null ? null : parseLogSegmentMetadata(path, node.data);
    }));
    return checkedSegments(name, read);
  }

  /**
   * listSegments reading only the segment znodes that are new or changed since `cache`'s last
   * listing (segment-list-cache.ts), which it updates; `verify` stats every known znode (the
   * periodic re-list). Resolves with the segments and whether they changed since that listing.
   */
  async listSegmentsCached(name: string, cache: SegmentListCache, options: { watcher?: Watcher; verify?: boolean } = {}): Promise<{ segments: LogSegmentMetadata[]; changed: boolean }> {
    const paths = this.paths(name);
    let watcher = options.watcher;
    for (let attempt = 1; ; attempt++) {
      const before = await this.#parentStat(name, paths);
      const relist = watcher !== undefined || before.cversion !== cache.cversion || before.pzxid !== cache.pzxid;
      const names = relist ? await this.#segmentNames(name, paths, watcher) : [...cache.byName.keys()];
      watcher = undefined; // armed once
      // the names are those of `before` only if nothing was created or deleted while they were listed
      const exact = !relist || (await this.#parentStat(name, paths)).pzxid === before.pzxid;
      const added = names.filter((n) => !cache.byName.has(n)).length;
      const removed = cache.byName.size - (names.length - added);
      const noRewrite = exact && cache.cversion >= 0 && removed === 0 && before.cversion - cache.cversion === added;
      let changed = added > 0 || removed > 0;
      const byName = new Map<string, CachedSegment>();
      await Promise.all(names.map(async (c) => {
        const path = segmentPath(paths, c);
        const known = cache.byName.get(c);
        if (known !== undefined && noRewrite && options.verify !== true) {
          byName.set(c, known);
          return;
        }
        if (known !== undefined) {
          cache.stats++;
          const stat = await this.#store.exists(path);
          if (stat === null) return;
          if (sameZnode(known, stat)) {
            byName.set(c, known);
            return;
          }
        }
        cache.reads++;
        const node = await this.#getOrNull(path);
        if (node === null) return;
        changed = true;
        byName.set(c, { czxid: node.stat.czxid, mzxid: node.stat.mzxid, segment: parseLogSegmentMetadata(path, node.data) });
      }));
      // a znode deleted while listing (a roll completing inprogress_N as logrecs_N): this listing
      // mixes two states of the log, the next one sees where it went
      if (byName.size !== names.length && attempt < MAX_LISTING_ATTEMPTS) continue;
      const segments = checkedSegments(name, [...byName.values()].map((e) => e.segment));
      cache.byName = byName;
      cache.cversion = before.cversion;
      cache.pzxid = before.pzxid;
      return { segments, changed: changed || byName.size !== names.length };
    }
  }

  /** The segment names under `<root>/ledgers` (other children ignored); LOG_NOT_FOUND if it is missing. */
  async #segmentNames(name: string, paths: LogPaths, watcher?: Watcher): Promise<string[]> {
    try {
      const children = await this.#store.children(paths.ledgers, watcher);
      return children.filter((c) => parseLogSegmentName(c) !== undefined);
    } catch (err) {
      if (isCode(err, 'NO_NODE')) throw new LogError('LOG_NOT_FOUND', `log ${name} does not exist`, { cause: err });
      throw err;
    }
  }

  async #parentStat(name: string, paths: LogPaths): Promise<NodeStat> {
    const stat = await this.#store.exists(paths.ledgers);
    if (stat === null) throw new LogError('LOG_NOT_FOUND', `log ${name} does not exist`);
    return stat;
  }

  /**
   * Starts an in-progress segment: one multi of create `inprogress_<lssn>`, set `/ledgers` to the
   * LSSN at its cached version, and a version check of `/maxtxid`. As in the bookkeeper-hosted DL
   * (§11), maxtxid is written at completion only, so an empty segment that recovery deletes leaves
   * it at the last real txid. The LSSN must be max + 1 (or max, after an empty in-progress segment
   * was deleted), or anything when max is 0.
   */
  async startSegment(
    name: string,
    segment: LogSegmentMetadata,
    maxLssn: Versioned<bigint>,
    maxTxId: Versioned<bigint>,
  ): Promise<LogVersions> {
    if (!segment.inProgress) throw new InvalidArgumentError(`segment ${segment.logSegmentSequenceNo} is not in progress`);
    const lssn = segment.logSegmentSequenceNo;
    if (maxLssn.value !== UNASSIGNED_LSSN && lssn !== maxLssn.value + 1n && lssn !== maxLssn.value) {
      throw new LogError('UNEXPECTED_LSSN', `log ${name}: cannot start LSSN ${lssn} after max LSSN ${maxLssn.value}`);
    }
    const paths = this.paths(name);
    const results = await this.#multi(name, [
      { op: 'create', path: segmentPath(paths, segment.znodeName()), data: Buffer.from(segment.serialize(), 'utf8') },
      { op: 'set', path: paths.ledgers, data: ascii(lssn), version: maxLssn.version },
      { op: 'check', path: paths.maxTxId, version: maxTxId.version },
    ]);
    return { maxLssn: { value: lssn, version: setVersion(results[1]) }, maxTxId };
  }

  /**
   * Completes a segment: one multi of create `logrecs_<lssn>`, delete `inprogress_<lssn>`, set
   * `/ledgers` to max(lssn, current) and `/maxtxid` to max(lastTxId, current) at the cached versions.
   * The max LSSN must be lssn or lssn + 1 (the next segment may have started already).
   */
  async completeSegment(
    name: string,
    inprogress: LogSegmentMetadata,
    completed: LogSegmentMetadata,
    maxLssn: Versioned<bigint>,
    maxTxId: Versioned<bigint>,
  ): Promise<LogVersions> {
    const lssn = inprogress.logSegmentSequenceNo;
    if (!inprogress.inProgress || completed.inProgress || completed.logSegmentSequenceNo !== lssn) {
      throw new InvalidArgumentError(`completeSegment needs an in-progress segment and its completed form (LSSN ${lssn})`);
    }
    if (maxLssn.value !== lssn && maxLssn.value !== lssn + 1n) {
      throw new LogError('UNEXPECTED_LSSN', `log ${name}: cannot complete LSSN ${lssn} with max LSSN ${maxLssn.value}`);
    }
    const paths = this.paths(name);
    const newMaxLssn = max(lssn, maxLssn.value);
    const txId = max(completed.lastTxId, maxTxId.value);
    const results = await this.#multi(name, [
      { op: 'create', path: segmentPath(paths, completed.znodeName()), data: Buffer.from(completed.serialize(), 'utf8') },
      { op: 'delete', path: segmentPath(paths, inprogress.znodeName()) },
      { op: 'set', path: paths.ledgers, data: ascii(newMaxLssn), version: maxLssn.version },
      { op: 'set', path: paths.maxTxId, data: ascii(txId), version: maxTxId.version },
    ]);
    return {
      maxLssn: { value: newMaxLssn, version: setVersion(results[2]) },
      maxTxId: { value: txId, version: setVersion(results[3]) },
    };
  }

  /**
   * Rewrites a segment's znode (truncation status, min active DLSN) as DL does: delete and re-create
   * under the same name in one multi, so its children watchers fire. Name version 1 names only.
   */
  async updateSegment(name: string, segment: LogSegmentMetadata): Promise<void> {
    await this.updateSegments(name, [segment]);
  }

  /** updateSegment for many segments, all in one multi: every rewrite applies or none does. */
  async updateSegments(name: string, segments: readonly LogSegmentMetadata[]): Promise<void> {
    if (segments.length === 0) return;
    const paths = this.paths(name);
    await this.#multi(
      name,
      segments.flatMap((segment): MultiOp[] => {
        const path = segmentPath(paths, segment.znodeName());
        return [
          { op: 'delete', path },
          { op: 'create', path, data: Buffer.from(segment.serialize(), 'utf8') },
        ];
      }),
    );
  }

  /** Deletes a segment's znode (not its ledger); SEGMENT_NOT_FOUND if it is gone. */
  async deleteSegment(name: string, segment: LogSegmentMetadata): Promise<void> {
    await this.#multi(name, [{ op: 'delete', path: segmentPath(this.paths(name), segment.znodeName()) }]);
  }

  async #open(name: string, mode: 'open' | 'create' | 'open-or-create'): Promise<OpenedLog> {
    const logName = validateLogName(name);
    const paths = logPaths(this.#namespaceRoot, logName, this.#streamName);
    // creation order: missing ancestors (the namespace root and its parents included), the log, then its nodes
    const ancestors: string[] = [];
    for (let p = parentOf(paths.log); p !== '/'; p = parentOf(p)) ancestors.unshift(p);
    const layout: Array<[string, Uint8Array]> = [
      ...ancestors.map((p): [string, Uint8Array] => [p, EMPTY]),
      [paths.log, EMPTY],
      [paths.root, EMPTY],
      [paths.maxTxId, ascii(0n)],
      [paths.version, layoutVersionBytes()],
      [paths.lock, EMPTY],
      [paths.readLock, EMPTY],
      [paths.ledgers, ascii(0n)],
      [paths.allocation, EMPTY],
    ];
    const nodes = await Promise.all(layout.map(([p]) => this.#getOrNull(p)));
    const found = new Map(layout.map(([p], i) => [p, nodes[i] ?? null]));
    const missing = layout.filter(([p]) => found.get(p) === null);
    if (missing.length === 0 && mode === 'create') throw new LogError('LOG_EXISTS', `log ${logName} already exists`);
    if (missing.length > 0 && mode === 'open') throw new LogError('LOG_NOT_FOUND', `log ${logName} does not exist`);

    const version = found.get(paths.version);
    if (version && !(version.data.length === 4 && version.data.readInt32BE(0) === LAYOUT_VERSION)) {
      throw new LogError('INVALID_LOG_METADATA', `log ${logName}: unexpected layout version ${version.data.toString('hex')}`);
    }
    const versioned = (path: string): Versioned<bigint> => {
      const node = found.get(path);
      return node ? { value: parseLong(logName, path, node.data), version: node.stat.version } : { value: 0n, version: 0 };
    };
    const opened = { name: logName, paths, maxTxId: versioned(paths.maxTxId), maxLssn: versioned(paths.ledgers) };
    if (missing.length === 0) return opened;
    try {
      await this.#store.multi(missing.map(([path, data]) => ({ op: 'create', path, data })));
    } catch (err) {
      if (!isCode(err, 'NODE_EXISTS')) throw err;
      // a shared ancestor created meanwhile (by another log's creation): read again
      const ancestorsMissing = ancestors.filter((p) => found.get(p) === null).length;
      if (err.failedOp !== undefined && err.failedOp < ancestorsMissing) return this.#open(name, mode);
      throw new LogError('LOG_EXISTS', `log ${logName} already exists`, { cause: err });
    }
    return opened;
  }

  /** Maps a failed versioned multi to LogErrors; other failures (connection loss...) pass through. */
  async #multi(name: string, ops: readonly MultiOp[]): Promise<MultiResult[]> {
    try {
      return await this.#store.multi(ops);
    } catch (err) {
      const op = err instanceof MetadataError && err.failedOp !== undefined ? ops[err.failedOp] : undefined;
      if (op === undefined || !(err instanceof MetadataError)) throw err;
      const at = `log ${name}: ${op.op} ${op.path}`;
      if (err.code === 'BAD_VERSION' || err.code === 'NODE_EXISTS') {
        throw new LogError('METADATA_CONFLICT', `${at} failed with ${err.code}: a newer writer changed the log`, { cause: err });
      }
      if (err.code === 'NO_NODE') {
        if (op.op === 'delete') throw new LogError('SEGMENT_NOT_FOUND', `${at}: the segment is gone`, { cause: err });
        throw new LogError('LOG_NOT_FOUND', `${at}: the log is gone`, { cause: err });
      }
      throw err;
    }
  }

  async #getOrNull(path: string): Promise<NodeData | null> {
    try {
      return await this.#store.get(path);
    } catch (err) {
      if (isCode(err, 'NO_NODE')) return null;
      throw err;
    }
  }

  /** Children first; NOT_EMPTY (a child created meanwhile, e.g. a lock member) means list again. */
  async #deleteTree(path: string): Promise<void> {
    for (;;) {
      let children: string[];
      try {
        children = await this.#store.children(path);
      } catch (err) {
        if (isCode(err, 'NO_NODE')) return;
        throw err;
      }
      await Promise.all(children.map((c) => this.#deleteTree(joinPath(path, c))));
      try {
        await this.#store.delete(path);
        return;
      } catch (err) {
        if (isCode(err, 'NO_NODE')) return;
        if (!isCode(err, 'NOT_EMPTY')) throw err;
      }
    }
  }
}

function setVersion(result: MultiResult | undefined): number {
  if (result?.op !== 'set') throw new MetadataError('METADATA_ERROR', 'multi returned no set result');
  return result.stat.version;
}

/** Decimal ASCII long (Long.parseLong) in maxtxid or /ledgers. */
function parseLong(logName: string, path: string, data: Buffer): bigint {
  const text = data.toString('utf8');
  const v = /^[+-]?[0-9]+$/.test(text) ? BigInt(text) : undefined;
  if (v === undefined || v < INT64_MIN || v > INT64_MAX) {
    throw new LogError('INVALID_LOG_METADATA', `log ${logName}: ${path} holds ${JSON.stringify(text)}, not a decimal long`);
  }
  return v;
}

/** The segments read (null: deleted while listing), sorted; LSSN_GAP if two consecutive V2+ segments skip an LSSN. */
function checkedSegments(name: string, read: readonly (LogSegmentMetadata | null)[]): LogSegmentMetadata[] {
  const segments = read.filter((s): s is LogSegmentMetadata => s !== null).sort(compareLogSegments);
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1] as LogSegmentMetadata;
    const cur = segments[i] as LogSegmentMetadata;
    if (prev.version >= 2 && cur.version >= 2 && prev.logSegmentSequenceNo + 1n !== cur.logSegmentSequenceNo) {
      throw new LogError(
        'LSSN_GAP',
        `log ${name}: LSSN gap between segments ${prev.logSegmentSequenceNo} and ${cur.logSegmentSequenceNo}`,
      );
    }
  }
  return segments;
}
