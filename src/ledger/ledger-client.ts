// The BookKeeper client: creates, opens (with or without recovery) and deletes ledgers on the
// bookies registered under a ledgers root, in BookKeeper's metadata layout.
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { noopLogger, type Logger } from '../util/logger.js';
import { createDigest, type DigestType } from '../protocol/digest.js';
import type { LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import { masterKey } from '../protocol/master-key.js';
import { checkTokenAuth, type TokenAuthOptions } from '../protocol/auth-plugins.js';
import { certificateValidityProblem } from '../util/certificate-validity.js';
import type { MetricsRegistry } from '../util/metrics.js';
import { BookieClientError } from './bookie-client-error.js';
import { BookiePool } from './bookie-pool.js';
import type { ClientTlsOptions } from './connection-setup.js';
import type { BookieConnections } from './bookie-transport.js';
import { BookieRegistry } from './bookie-registry.js';
import { SharedEntryReads } from './shared-entry-reads.js';
import { LedgerClientError } from './ledger-client-error.js';
import { LedgerHandle, type HandleContext } from './ledger-handle.js';
import { LedgerIdGenerator } from './ledger-id-generator.js';
import { LedgerManager, type VersionedLedgerMetadata } from './ledger-manager.js';
import { LedgerMetrics } from './ledger-metrics.js';
import { recoverLedger } from './ledger-recovery.js';
import { PlacementPolicy } from './placement-policy.js';

export interface LedgerClientOptions {
  readonly store: MetadataStore;
  /** Default `/ledgers`. */
  readonly ledgersRoot?: string;
  /** Per-request bookie timeout; a timed-out add replaces the bookie. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /**
   * A bookie whose adds time out while no other bookie can replace it is waited for this long after
   * the first timeout (its adds are sent again meanwhile), then the writer fails with
   * NOT_ENOUGH_BOOKIES. Default 30000 ms; 0 fails at once.
   */
  readonly stalledBookieWaitMs?: number;
  /** A read asks the next replica too after this long. Default 500 ms (BookKeeper: 2000). */
  readonly speculativeReadTimeoutMs?: number;
  /** Where the client's metrics go (ensemble changes, speculative reads, recoveries). Default: a private registry. */
  readonly metrics?: MetricsRegistry;
  /** TLS to the bookies (START_TLS); PEM contents. */
  readonly tls?: ClientTlsOptions;
  /** Authenticate to the bookies with this plugin (AUTH). */
  readonly auth?: TokenAuthOptions;
  readonly logger?: Logger;
  /**
   * Bytes of entries kept for the client's readers of one ledger to share (their reads and long
   * polls in flight are joined too). Default 16 MiB; 0 keeps none.
   */
  readonly sharedReadCacheBytes?: number;
  /** How to reach the bookies; default TCP connections (a BookiePool). The client closes it. Tests inject fakes. */
  readonly connections?: BookieConnections;
}

export interface CreateLedgerOptions {
  /** Default 3. */
  readonly ensembleSize?: number;
  /** Default 3 (E3 W3 A2 is what DistributedLog runs). */
  readonly writeQuorumSize?: number;
  /** Default 2. */
  readonly ackQuorumSize?: number;
  /** Default CRC32, DistributedLog's. */
  readonly digest?: DigestType;
  readonly password?: Uint8Array;
  readonly customMetadata?: ReadonlyMap<string, Buffer>;
  /** Write the LAC explicitly this often when it moved (tailing readers see a quiet ledger's last entry). Default 0 = off. */
  readonly explicitLacIntervalMs?: number;
}

export interface OpenLedgerOptions {
  /** Fence the ledger and close it at its last recoverable entry (a new owner taking over). */
  readonly recover: boolean;
  readonly password?: Uint8Array;
}

export class LedgerClient {
  readonly #manager: LedgerManager;
  readonly #ids: LedgerIdGenerator;
  readonly #registry: BookieRegistry;
  readonly #placement: PlacementPolicy;
  readonly #pool: BookieConnections;
  readonly #ctx: HandleContext;
  /** Metadata reads in flight for read-only opens: many readers opening one ledger read it once. */
  readonly #metadataReads = new Map<bigint, Promise<VersionedLedgerMetadata>>();

  private constructor(options: LedgerClientOptions, registry: BookieRegistry, sharedReads: SharedEntryReads) {
    const root = options.ledgersRoot ?? '/ledgers';
    const logger = options.logger ?? noopLogger;
    this.#registry = registry;
    this.#manager = new LedgerManager(options.store, root, { logger });
    this.#ids = new LedgerIdGenerator(options.store, root, { logger });
    this.#placement = new PlacementPolicy(registry, { logger });
    this.#pool = options.connections ?? new BookiePool({
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.auth === undefined ? {} : { auth: options.auth }),
    });
    this.#ctx = {
      pool: this.#pool,
      manager: this.#manager,
      logger,
      metrics: new LedgerMetrics(options.metrics, sharedReads),
      replaceBookie: (ensemble, index) => this.#placement.replaceBookie(ensemble, index),
      recordBookieError: (bookieId) => { this.#placement.recordError(bookieId); },
      ...(options.speculativeReadTimeoutMs === undefined ? {} : { speculativeReadTimeoutMs: options.speculativeReadTimeoutMs }),
      ...(options.stalledBookieWaitMs === undefined ? {} : { stalledBookieWaitMs: options.stalledBookieWaitMs }),
      sharedReads,
    };
  }

  static async open(options: LedgerClientOptions): Promise<LedgerClient> {
    if (options.auth !== undefined) checkTokenAuth(options.auth);
    const wait = options.stalledBookieWaitMs;
    if (wait !== undefined && !(Number.isFinite(wait) && wait >= 0)) {
      throw new InvalidArgumentError(`stalledBookieWaitMs must be a non-negative number of milliseconds, got ${wait}`);
    }
    // every handshake would fail, and a write would only report the bookies it ran out of
    const expired = options.tls?.cert === undefined ? undefined : certificateValidityProblem(options.tls.cert);
    if (expired !== undefined) throw new BookieClientError('BOOKIE_TLS_FAILED', `client TLS: our client certificate is unusable: ${expired}`);
    const sharedReads = new SharedEntryReads(options.sharedReadCacheBytes);
    const registry = new BookieRegistry(options.store, options.ledgersRoot ?? '/ledgers', options.logger ? { logger: options.logger } : {});
    await registry.start();
    return new LedgerClient(options, registry, sharedReads);
  }

  /** Bookies currently registered as writable. */
  writableBookies(): ReadonlySet<string> {
    return this.#registry.writable();
  }

  /**
   * The bookie is gone for good (the embedded cluster gave it up): requests to it fail with `err`
   * now and from now on, without a connection attempt; placement never picks it again. A writer
   * with it in its ensemble replaces it by an ensemble change, or fails with NOT_ENOUGH_BOOKIES
   * whose cause is `err`; reads go to the other replicas.
   */
  failBookie(bookieId: string, err: Error): void {
    // placement first: the ensemble changes the failed requests start must not pick it
    this.#placement.bookieGone(bookieId, err);
    this.#pool.failBookie?.(bookieId, err);
  }

  async createLedger(options: CreateLedgerOptions = {}): Promise<LedgerHandle> {
    const ensembleSize = options.ensembleSize ?? 3;
    const writeQuorumSize = options.writeQuorumSize ?? 3;
    const ackQuorumSize = options.ackQuorumSize ?? 2;
    if (!(ensembleSize >= writeQuorumSize && writeQuorumSize >= ackQuorumSize && ackQuorumSize >= 1)) {
      throw new InvalidArgumentError(`quorums must satisfy ensemble >= write >= ack >= 1, got ${ensembleSize}/${writeQuorumSize}/${ackQuorumSize}`);
    }
    const password = Buffer.from(options.password ?? new Uint8Array(0));
    const digestType = options.digest ?? 'CRC32';
    const metadata: LedgerMetadata = {
      ensembleSize, writeQuorumSize, ackQuorumSize,
      state: 'OPEN', lastEntryId: -1n, length: 0n, digestType, password,
      ensembles: [[0n, this.#placement.newEnsemble(ensembleSize)]],
      ctime: Date.now(),
      customMetadata: options.customMetadata ?? new Map(),
      cToken: randomBytes(8).readBigInt64BE(0),
    };
    for (;;) {
      const id = await this.#ids.generate();
      try {
        const created = await this.#manager.create(id, metadata);
        const explicit = options.explicitLacIntervalMs === undefined ? {} : { explicitLacIntervalMs: options.explicitLacIntervalMs };
        return new LedgerHandle(id, created, createDigest(digestType, password), masterKey(password), this.#ctx, explicit);
      } catch (err) {
        // an id taken by a ledger created outside our id generator: draw another
        if (!(err instanceof LedgerClientError && err.code === 'LEDGER_EXISTS')) throw err;
      }
    }
  }

  async openLedger(ledgerId: bigint, options: OpenLedgerOptions): Promise<LedgerHandle> {
    const versioned = options.recover ? await this.#manager.read(ledgerId) : await this.#readShared(ledgerId);
    const { metadata } = versioned;
    const password = Buffer.from(options.password ?? new Uint8Array(0));
    if (metadata.password !== undefined && !metadata.password.equals(password)) {
      throw new LedgerClientError('UNAUTHORIZED', `wrong password for ledger ${ledgerId}`, { ledgerId });
    }
    const digest = createDigest(metadata.digestType ?? 'CRC32', password);
    const handle = new LedgerHandle(ledgerId, versioned, digest, masterKey(password), this.#ctx, false);
    if (!options.recover || metadata.state === 'CLOSED') return handle;
    await recoverLedger({
      ledgerId, metadata, digest, masterKey: masterKey(password),
      ctx: { ...this.#ctx, updateMetadata: (check, transform) => handle.updateMetadata(check, transform) },
    });
    this.#ctx.metrics?.recovered({ ledgerId, lastEntryId: handle.metadata.lastEntryId });
    return handle;
  }

  #readShared(ledgerId: bigint): Promise<VersionedLedgerMetadata> {
    let reading = this.#metadataReads.get(ledgerId);
    if (reading === undefined) {
      reading = this.#manager.read(ledgerId);
      this.#metadataReads.set(ledgerId, reading);
      const done = (): void => { this.#metadataReads.delete(ledgerId); };
      reading.then(done, done);
    }
    return reading;
  }

  /** The ledger's metadata (ensembles, state, last entry); NO_SUCH_LEDGER when it does not exist. */
  async readLedgerMetadata(ledgerId: bigint): Promise<LedgerMetadata> {
    return (await this.#manager.read(ledgerId)).metadata;
  }

  /** Deletes the ledger's metadata; bookies drop its entries at their next garbage collection. */
  async deleteLedger(ledgerId: bigint): Promise<void> {
    await this.#manager.delete(ledgerId);
  }

  async close(): Promise<void> {
    this.#pool.close();
    await this.#registry.close();
  }
}
