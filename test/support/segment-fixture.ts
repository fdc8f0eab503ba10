// A log written segment by segment the way a DL writer does it (start segment -> LogSegmentWriter ->
// close ledger -> complete segment), for reader tests. It remembers every record it wrote with the
// DLSN and sequence id a reader must return.
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import type { DLSN } from '../../src/log/format/dlsn.js';
import { userRecord } from '../../src/log/format/log-record.js';
import type { LogMetadataStore, LogVersions } from '../../src/log/metadata/log-metadata-store.js';
import { newInProgressSegment, type LogSegmentMetadata } from '../../src/log/metadata/log-segment-metadata.js';
import { LogSegmentWriter, type LogSegmentWriterOptions } from '../../src/log/writer/segment-writer.js';
import { appendRecord } from './segment-append.js';

export interface WrittenRecord {
  readonly dlsn: DLSN;
  readonly txid: bigint;
  readonly payload: Buffer;
  readonly sequenceId: bigint;
}

interface OpenSegment {
  readonly metadata: LogSegmentMetadata;
  readonly writer: LogSegmentWriter;
}

export const payloadOf = (txid: bigint, i: number): Buffer => Buffer.from(`record-${txid}-${i}-`.repeat(1 + (i % 3)));

export class LogFixture {
  readonly name: string;
  readonly records: WrittenRecord[] = [];
  /** Completed segments, oldest first. */
  readonly completed: LogSegmentMetadata[] = [];
  readonly #metadata: LogMetadataStore;
  readonly #ledgers: LedgerClient;
  readonly #writerOptions: LogSegmentWriterOptions;
  #versions: LogVersions;
  #open: OpenSegment | undefined;
  #lssn = 0n;

  private constructor(metadata: LogMetadataStore, ledgers: LedgerClient, name: string, versions: LogVersions, writerOptions: LogSegmentWriterOptions) {
    this.#metadata = metadata;
    this.#ledgers = ledgers;
    this.name = name;
    this.#versions = versions;
    this.#writerOptions = writerOptions;
  }

  static async create(metadata: LogMetadataStore, ledgers: LedgerClient, name: string, writerOptions: LogSegmentWriterOptions = {}): Promise<LogFixture> {
    return new LogFixture(metadata, ledgers, name, await metadata.createLog(name), writerOptions);
  }

  get inProgress(): LogSegmentMetadata | undefined {
    return this.#open?.metadata;
  }

  /** Starts the next segment; the open one (if any) is closed and completed after it, as DL's roll does. */
  async startSegment(firstTxId: bigint): Promise<void> {
    const previous = this.#open;
    const ledger = await this.#ledgers.createLedger();
    this.#lssn += 1n;
    const metadata = newInProgressSegment({ logSegmentId: ledger.id, firstTxId, logSegmentSequenceNo: this.#lssn });
    if (previous) await previous.writer.flush();
    this.#versions = await this.#metadata.startSegment(this.name, metadata, this.#versions.maxLssn, this.#versions.maxTxId);
    this.#open = { metadata, writer: new LogSegmentWriter(ledger, this.#lssn, this.#writerOptions) };
    if (previous) await this.#complete(previous);
  }

  /** Writes records with these txids to the open segment, pipelined; resolves when all are acked. */
  async write(txids: readonly bigint[]): Promise<WrittenRecord[]> {
    const open = this.#requireOpen();
    const base = this.records.length;
    const dlsns = await Promise.all(txids.map((txid, i) => appendRecord(open.writer, userRecord(txid, payloadOf(txid, base + i)))));
    const written = dlsns.map((dlsn, i) => {
      const txid = txids[i] as bigint;
      return { dlsn, txid, payload: payloadOf(txid, base + i), sequenceId: BigInt(base + i) };
    });
    this.records.push(...written);
    return written;
  }

  async markEndOfStream(): Promise<void> {
    await this.#requireOpen().writer.markEndOfStream();
  }

  /** Closes and completes the open segment. */
  async completeSegment(): Promise<LogSegmentMetadata> {
    const open = this.#requireOpen();
    this.#open = undefined;
    return this.#complete(open);
  }

  /** Segments of the given sizes (the last left open unless `completeLast`), txids from `txidOf(index)`. */
  async writeSegments(sizes: readonly number[], txidOf: (i: number) => bigint, completeLast = true): Promise<void> {
    for (const size of sizes) {
      const first = this.records.length;
      await this.startSegment(txidOf(first));
      await this.write(Array.from({ length: size }, (_, k) => txidOf(first + k)));
    }
    if (completeLast) await this.completeSegment();
  }

  async #complete(open: OpenSegment): Promise<LogSegmentMetadata> {
    const done = await open.writer.close();
    const prev = this.completed.at(-1);
    const completed = open.metadata.complete({
      ...done,
      startSequenceId: prev === undefined ? 0n : prev.startSequenceId + BigInt(prev.recordCount),
    });
    this.#versions = await this.#metadata.completeSegment(this.name, open.metadata, completed, this.#versions.maxLssn, this.#versions.maxTxId);
    this.completed.push(completed);
    return completed;
  }

  #requireOpen(): OpenSegment {
    if (!this.#open) throw new Error(`log ${this.name} has no open segment`);
    return this.#open;
  }
}
