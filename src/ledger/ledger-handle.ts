// A ledger as a client holds it: a writer for the ledger this client created (adds, close) and a
// reader (entries up to the LAC, LAC reads, long poll), sharing one view of the metadata and its
// znode version, which every metadata change goes through as a CAS.
import type { Digest } from '../protocol/digest.js';
import type { Entry } from '../protocol/bk-entry-envelope.js';
import type { LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import { LedgerClientError } from './ledger-client-error.js';
import type { LedgerManager, VersionedLedgerMetadata } from './ledger-manager.js';
import { LedgerReader, type ReaderContext } from './ledger-reader.js';
import { LedgerWriter, type WriterContext } from './ledger-writer.js';

export interface HandleContext extends Omit<WriterContext, 'updateMetadata'>, ReaderContext {
  readonly manager: LedgerManager;
}

export class LedgerHandle {
  readonly id: bigint;
  readonly #ctx: HandleContext;
  #versioned: VersionedLedgerMetadata;
  readonly #reader: LedgerReader;
  readonly #writer: LedgerWriter | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    id: bigint, versioned: VersionedLedgerMetadata, digest: Digest, masterKey: Buffer, ctx: HandleContext,
    writer: { readonly explicitLacIntervalMs?: number } | false,
  ) {
    this.id = id;
    this.#ctx = ctx;
    this.#versioned = versioned;
    // a read-only handle shares its reads with the client's other readers of the ledger
    this.#reader = new LedgerReader(id, versioned.metadata, digest, ctx, writer === false);
    this.#writer = writer === false
      ? undefined
      : new LedgerWriter(id, versioned.metadata, digest, masterKey, { ...ctx, updateMetadata: (check, transform) => this.updateMetadata(check, transform) }, writer);
  }

  get metadata(): LedgerMetadata { return this.#versioned.metadata; }
  get lastAddConfirmed(): bigint { return this.#writer?.lastAddConfirmed ?? this.#reader.lastAddConfirmed; }
  get length(): bigint { return this.#writer?.length ?? this.metadata.length; }
  get isClosed(): boolean { return this.metadata.state === 'CLOSED'; }

  /**
   * CAS loop on the metadata: applies `transform` while `check` returns undefined, rejects with
   * the error `check` returns otherwise; keeps this handle's view current either way.
   */
  async updateMetadata(
    check: (current: LedgerMetadata) => LedgerClientError | undefined,
    transform: (current: LedgerMetadata) => LedgerMetadata,
  ): Promise<LedgerMetadata> {
    const updated = await this.#ctx.manager.update(this.id, (m) => {
      const problem = check(m);
      if (problem) throw problem;
      return true;
    }, transform, this.#versioned);
    this.#versioned = updated;
    this.#reader.updateMetadata(updated.metadata);
    return updated.metadata;
  }

  addEntry(payload: Uint8Array): Promise<bigint> {
    return new Promise((resolve, reject) => { this.submitEntry(payload, resolve, reject); });
  }

  /** addEntry with callbacks instead of a promise (LedgerWriter.submitEntry); never settles synchronously. */
  submitEntry(payload: Uint8Array, resolve: (entryId: bigint) => void, reject: (err: Error) => void): void {
    const writer = this.#writer;
    if (writer === undefined || this.#closing !== undefined) {
      const error = new LedgerClientError('LEDGER_CLOSED', writer === undefined ? `ledger ${this.id} is open for reading only` : `ledger ${this.id} is closing`);
      queueMicrotask(() => { reject(error); });
      return;
    }
    writer.submitEntry(payload, resolve, reject);
  }

  /** Entries up to the LAC (refused past it). */
  readEntries(first: bigint, last: bigint): Promise<Entry[]> {
    if (this.#writer && last > this.#writer.lastAddConfirmed) {
      return Promise.reject(new LedgerClientError('READ_BEYOND_LAC', `entry ${last} of ledger ${this.id} is past the last add confirmed (${this.#writer.lastAddConfirmed})`));
    }
    return this.#writer ? this.#reader.readUnconfirmed(first, last) : this.#reader.readEntries(first, last);
  }

  /** Entries without the LAC check, for recovery tools. */
  readUnconfirmed(first: bigint, last: bigint): Promise<Entry[]> {
    return this.#reader.readUnconfirmed(first, last);
  }

  readLastAddConfirmed(): Promise<bigint> {
    return this.#writer ? Promise.resolve(this.#writer.lastAddConfirmed) : this.#reader.readLastAddConfirmed();
  }

  readLastAddConfirmedAndEntry(previous: bigint, timeoutMs: number): Promise<{ lastAddConfirmed: bigint; entry?: Entry }> {
    return this.#reader.readLastAddConfirmedAndEntry(previous, timeoutMs);
  }

  /**
   * Writer: waits for pending adds, then writes CLOSED with the last entry and length (success if
   * someone already closed it at the same point; METADATA_VERSION_CONFLICT if elsewhere: it was
   * recovered). Reader: nothing to write.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#reader.release();
    const writer = this.#writer;
    if (!writer) return;
    await writer.drain();
    writer.stop();
    if (writer.failure) throw writer.failure;
    const lastEntryId = writer.lastAddConfirmed;
    const length = writer.length;
    await this.updateMetadata(
      (m) => {
        if (m.state === 'OPEN') return undefined;
        if (m.state === 'CLOSED' && m.lastEntryId === lastEntryId && m.length === length) return undefined;
        return new LedgerClientError('METADATA_VERSION_CONFLICT', `ledger ${this.id} was ${m.state === 'CLOSED' ? `closed elsewhere at entry ${m.lastEntryId}` : 'put in recovery by another client'}`);
      },
      (m) => (m.state === 'CLOSED' ? m : { ...m, state: 'CLOSED', lastEntryId, length }),
    );
  }
}
