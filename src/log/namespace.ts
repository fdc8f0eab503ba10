// A namespace of logs (DL's Namespace, reference §7.1): the entry point of the library. It opens the
// metadata store named by the URI and a ledger client on the bookies the namespace is bound to;
// `local:<dir>` starts the embedded deployment (local store plus bookies in worker threads) instead.
import os from 'node:os';
import { InvalidArgumentError, type DLogError } from '../errors.js';
import type { EmbeddedCluster, EmbeddedClusterOptions } from '../embedded/embedded-cluster.js';
import type { ClientTlsOptions } from '../ledger/connection-setup.js';
import { LedgerClient, type LedgerClientOptions } from '../ledger/ledger-client.js';
import { checkTokenAuth, type TokenAuthOptions } from '../protocol/auth-plugins.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { parseMetadataUri } from '../metadata/metadata-uri.js';
import { ZkMetadataStore, type ZkStoreOptions } from '../metadata/zk/zk-metadata-store.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { checkOptionKeys } from '../util/option-keys.js';
import type { LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import { DistributedLog } from './distributed-log.js';
import { resolveLogConfig, type LogConfig } from './log-config.js';
import { LogError } from './log-error.js';
import { LogMetadataStore } from './metadata/log-metadata-store.js';
import { findNamespaceBinding } from './metadata/namespace-binding.js';
import { OwnershipLock } from './metadata/ownership-lock.js';
import { SegmentListRegistry } from './reader/segment-list-registry.js';
import { deleteLogWithLedgers } from './writer/retention.js';
import { MetricsRegistry } from '../util/metrics.js';
import { LogMetrics } from './log-metrics.js';

export interface NamespaceOptions {
  /** ZooKeeper session timeout for `zk://` URIs. Default 30000 ms. */
  readonly sessionTimeoutMs?: number;
  /** How long Namespace.open waits for a ZooKeeper session (`zk://`) before CONNECTION_LOSS. Default 15000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * ZooKeeper digest credentials `user:password` for `zk://` URIs, added to every session. The
   * nodes this client creates (logs, segments, locks, ledgers) get creator-all ACLs plus world-read.
   */
  readonly zkAuth?: string;
  /** With zkAuth: false drops the world-read ACL. Default true. */
  readonly zkWorldReadable?: boolean;
  /** Bookies the embedded `local:` deployment runs. Default 3. */
  readonly bookies?: number;
  /**
   * `local:` only: an embedded bookie start that shows no progress for this long is ended, and a
   * restart ended so counts as a death of the bookie (see docs/operations.md). At least 1000; default 120000 ms.
   */
  readonly bookieStartStallMs?: number;
  /** Defaults for every log of this namespace (see LogConfig); openWriter/openReader may override. */
  readonly config?: Partial<LogConfig>;
  /** Written into writer lock nodes so a blocked writer can tell who holds a log. Default `<hostname>/<pid>`. */
  readonly clientId?: string;
  /**
   * TLS to the bookies (START_TLS), PEM contents. With `local:` the embedded bookies serve TLS with
   * this same certificate and key, require it, and verify client certificates against `ca`.
   */
  readonly tls?: ClientTlsOptions;
  /** Authenticate to the bookies (AUTH); with `local:` the embedded bookies require it. */
  readonly auth?: TokenAuthOptions;
  /**
   * Where the client's metrics go (see docs/operations.md); scrape with `prometheusText()`.
   * Default: a registry of this namespace's own, `Namespace.metrics`.
   */
  readonly metrics?: MetricsRegistry;
  /** pino-compatible. Default: silent. */
  readonly logger?: Logger;
  /**
   * Bytes of entries kept for this namespace's readers of one log to share: readers tailing the
   * same log issue one bookie read and one long poll per entry between them. Default 16 MiB; 0
   * keeps no entries (reads in flight are still shared).
   */
  readonly sharedReadCacheBytes?: number;
}

export interface OpenLogOptions {
  /** Create the log when it does not exist. Default false (LOG_NOT_FOUND). */
  readonly create?: boolean;
}

const NAMESPACE_KEYS = ['sessionTimeoutMs', 'connectTimeoutMs', 'zkAuth', 'zkWorldReadable', 'bookies', 'bookieStartStallMs', 'config', 'clientId', 'tls', 'auth', 'metrics', 'logger', 'sharedReadCacheBytes'] as const satisfies readonly (keyof NamespaceOptions)[];
const OPEN_LOG_KEYS = ['create'] as const satisfies readonly (keyof OpenLogOptions)[];

/** Where the logs of a `local:` namespace live in its store (the ledgers are under /ledgers). */
const LOCAL_NAMESPACE_ROOT = '/logs';

interface Backend {
  readonly store: MetadataStore;
  readonly namespaceRoot: string;
  readonly ledgers: LedgerClient;
  /** Closes what the backend opened besides the ledger client, in order. */
  readonly closers: ReadonlyArray<() => Promise<void>>;
  /** Why the backend cannot serve any more (an embedded bookie that is not restarted again). */
  readonly failure?: () => DLogError | undefined;
}

export class Namespace {
  readonly uri: string;
  /** The client's metrics (write/read counts and latency, rolls, locks, ensemble changes...). */
  readonly metrics: MetricsRegistry;
  readonly #logMetrics: LogMetrics;
  readonly #backend: Backend;
  readonly #metadata: LogMetadataStore;
  readonly #segmentLists: SegmentListRegistry;
  readonly #config: LogConfig;
  readonly #clientId: string;
  readonly #logger: Logger;
  readonly #logs = new Set<DistributedLog>();
  #closing: Promise<void> | undefined;

  private constructor(uri: string, backend: Backend, config: LogConfig, options: NamespaceOptions, metrics: MetricsRegistry) {
    this.uri = uri;
    this.metrics = metrics;
    this.#logMetrics = new LogMetrics(metrics);
    this.#backend = backend;
    this.#metadata = new LogMetadataStore(backend.store, backend.namespaceRoot);
    this.#config = config;
    this.#clientId = options.clientId ?? `${os.hostname()}/${process.pid}`;
    this.#logger = options.logger ?? noopLogger;
    this.#segmentLists = new SegmentListRegistry(this.#metadata, this.#logger);
  }

  /**
   * `zk://host:port[,host:port]/path/to/ns` (also `distributedlog://`) or `local:<dir>`. Options are
   * checked before anything is opened; a bad URI or option is InvalidArgumentError.
   */
  static async open(uri: string, options: NamespaceOptions = {}): Promise<Namespace> {
    checkOptionKeys(options, NAMESPACE_KEYS, 'Namespace.open');
    for (const key of ['sessionTimeoutMs', 'connectTimeoutMs'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new InvalidArgumentError(`Namespace.open option ${key} must be a positive integer (ms), got ${String(value)}`);
      }
    }
    const config = resolveLogConfig(options.config ?? {});
    const parsed = parseMetadataUri(uri);
    const logger = options.logger ?? noopLogger;
    if (options.auth !== undefined) checkTokenAuth(options.auth);
    const metrics = options.metrics ?? new MetricsRegistry('dlog_client_');
    const settings: ClientSettings = {
      logger, metrics, ...(options.tls === undefined ? {} : { tls: options.tls }), ...(options.auth === undefined ? {} : { auth: options.auth }),
      ...(options.sharedReadCacheBytes === undefined ? {} : { sharedReadCacheBytes: options.sharedReadCacheBytes }),
    };
    let backend: Backend;
    if (parsed.kind === 'local') {
      const bookieTls = options.tls === undefined ? {} : { tls: embeddedBookieTls(options.tls) };
      // loaded here so a client of zk:// never maps the bookie, lmdb or their native addons
      const { startEmbeddedCluster } = await import('../embedded/embedded-cluster.js');
      const cluster = await startEmbeddedCluster({
        dir: parsed.dir, logger, ...bookieTls,
        ...(options.bookies === undefined ? {} : { bookies: options.bookies }),
        ...(options.bookieStartStallMs === undefined ? {} : { startStallMs: options.bookieStartStallMs }),
        ...(options.auth === undefined ? {} : { auth: options.auth }),
      });
      backend = await openLocalBackend(cluster, settings);
    } else {
      if (parsed.path === '/') throw new InvalidArgumentError(`namespace URI ${uri} needs a path, e.g. zk://127.0.0.1:2181/messaging/ns`);
      const zkOptions: ZkStoreOptions = {
        logger,
        ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
        ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
        ...(options.zkAuth === undefined ? {} : { auth: options.zkAuth }),
        ...(options.zkWorldReadable === undefined ? {} : { worldReadable: options.zkWorldReadable }),
      };
      backend = await openZkBackend(parsed.connectString, parsed.path, zkOptions, settings);
    }
    return new Namespace(uri, backend, config, options, metrics);
  }

  /** The metadata store this namespace runs on (advanced: admin tools, tests). */
  get metadataStore(): MetadataStore {
    return this.#backend.store;
  }

  /** Creates the log's metadata; LOG_EXISTS if it is there already. */
  async createLog(name: string): Promise<void> {
    this.#checkOpen();
    await this.#metadata.createLog(name);
  }

  async logExists(name: string): Promise<boolean> {
    this.#checkOpen();
    return this.#metadata.logExists(name);
  }

  /** Log names under the namespace (or under `prefix/` for hierarchical names), reserved names hidden. */
  async getLogs(prefix?: string): Promise<string[]> {
    this.#checkOpen();
    return this.#metadata.getLogs(prefix);
  }

  /**
   * Deletes the log: its segments' ledgers first, then its metadata. It takes the log's ownership
   * lock first, so it fails with LOCK_HELD while a writer is open. LOG_NOT_FOUND if it does not exist.
   */
  async deleteLog(name: string): Promise<void> {
    this.#checkOpen();
    await this.#metadata.openLog(name);
    const lock = new OwnershipLock(this.#backend.store, this.#metadata.paths(name).lock, `${this.#clientId}#delete`, { logger: this.#logger });
    await lock.acquire(0);
    try {
      await deleteLogWithLedgers({ metadata: this.#metadata, ledgers: this.#backend.ledgers, logName: name, logger: this.#logger });
    } finally {
      // the member node went with the tree; release only stops the lock's listeners
      await lock.release();
    }
  }

  /** A handle on one log; LOG_NOT_FOUND unless it exists or `create` is set. */
  async openLog(name: string, options: OpenLogOptions = {}): Promise<DistributedLog> {
    this.#checkOpen();
    checkOptionKeys(options, OPEN_LOG_KEYS, 'openLog');
    const opened = await this.#metadata.openLog(name, options.create === true ? { create: true } : {});
    const log = new DistributedLog(opened.name, {
      store: this.#backend.store,
      metadata: this.#metadata,
      ledgers: this.#backend.ledgers,
      config: this.#config,
      clientId: this.#clientId,
      logger: this.#logger,
      segmentLists: this.#segmentLists,
      metrics: this.#logMetrics,
    }, (closed) => this.#logs.delete(closed));
    this.#logs.add(log);
    return log;
  }

  /** A segment ledger's BookKeeper metadata (ensembles, state, length); NO_SUCH_LEDGER once deleted. */
  async getLedgerMetadata(ledgerId: bigint): Promise<LedgerMetadata> {
    this.#checkOpen();
    return this.#backend.ledgers.readLedgerMetadata(ledgerId);
  }

  /** Closes every writer (draining it) and reader opened here, then the connections (and embedded bookies). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const results = await Promise.allSettled([...this.#logs].map((l) => l.close()));
    this.#logs.clear();
    await this.#backend.ledgers.close();
    for (const close of this.#backend.closers) await close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new LogError('NAMESPACE_CLOSED', `namespace ${this.uri} is closed`);
    const failure = this.#backend.failure?.();
    if (failure !== undefined) throw failure;
  }
}

/** Runs `open`; if it fails, closes what was opened before it (newest first) and rethrows. */
async function closingOnFailure<T>(closers: ReadonlyArray<() => Promise<void>>, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}

/** What the ledger client gets besides its store: logger, TLS and auth. */
type ClientSettings = Omit<LedgerClientOptions, 'store' | 'ledgersRoot'> & { readonly logger: Logger };

/** The embedded bookies present the client's own certificate and verify clients against its CA. */
function embeddedBookieTls(options: ClientTlsOptions): NonNullable<EmbeddedClusterOptions['tls']> {
  if (options.cert === undefined || options.key === undefined || options.ca === undefined || Array.isArray(options.ca)) {
    throw new InvalidArgumentError('tls with a local: namespace needs cert, key and one ca: the embedded bookies serve that certificate');
  }
  return { cert: options.cert, key: options.key, ca: options.ca as string | Buffer, required: true };
}

function openLocalBackend(cluster: EmbeddedCluster, settings: ClientSettings): Promise<Backend> {
  const closers = [() => cluster.close()];
  return closingOnFailure(closers, async () => {
    const ledgers = await LedgerClient.open({ store: cluster.store, ledgersRoot: cluster.ledgersRoot, ...settings });
    // writers and readers already open see a bookie given up through their ledger client
    const unserve = cluster.serve(ledgers);
    return { store: cluster.store, namespaceRoot: LOCAL_NAMESPACE_ROOT, ledgers, closers: [() => { unserve(); return Promise.resolve(); }, ...closers], failure: () => cluster.failure };
  });
}

/** The namespace's ZooKeeper, plus a second session when the binding puts the bookies on another one. */
async function openZkBackend(connectString: string, namespaceRoot: string, zkOptions: ZkStoreOptions, settings: ClientSettings): Promise<Backend> {
  const store = await ZkMetadataStore.connect(connectString, zkOptions);
  const closers: Array<() => Promise<void>> = [() => store.close()];
  return closingOnFailure(closers, async () => {
    const binding = await findNamespaceBinding(store, namespaceRoot);
    // wrong zkAuth: AUTH_FAILED naming the user now, not NO_AUTH at the first write
    await store.checkCredentials(namespaceRoot);
    let ledgerStore = store;
    if (binding.zkServers !== undefined && binding.zkServers !== connectString) {
      const other = await ZkMetadataStore.connect(binding.zkServers, zkOptions);
      closers.unshift(() => other.close());
      ledgerStore = other;
    }
    await ledgerStore.checkCredentials(binding.ledgersPath);
    const ledgers = await LedgerClient.open({ store: ledgerStore, ledgersRoot: binding.ledgersPath, ...settings });
    return { store, namespaceRoot, ledgers, closers };
  });
}
