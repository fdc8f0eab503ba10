// The log layer's configuration: every option with its default and its check in one place. Defaults
// differ from DL's where DL's surprise users (reference §10): no 1 KiB buffer without a flush timer
// (batching is adaptive, see log-segment-writer.ts), size rolling honoured together with time rolling,
// and nothing deleted by age alone unless the application truncated it first.
import { InvalidArgumentError } from '../errors.js';
import type { DigestType } from '../protocol/digest.js';
import type { CompressionCodec } from './format/compression.js';
import { MAX_LOGRECORDSET_SIZE } from './format/log-record.js';

export interface LogConfig {
  /** Bookies per segment ledger. Default 3. */
  readonly ensembleSize: number;
  /** Copies of each entry. Default 3. */
  readonly writeQuorumSize: number;
  /** Copies that must be fsynced before an add is acknowledged. Default 2. */
  readonly ackQuorumSize: number;
  /** Ledger entry digest. Default 'CRC32' (DL's). */
  readonly digest: DigestType;
  /** Ledger password (DL's digestPw). Default empty. */
  readonly ledgerPassword: Uint8Array;

  /** How long openWriter waits for another writer to let go: 0 fails at once, -1 waits forever. Default 0. */
  readonly lockTimeoutMs: number;
  /** An entry is sent when its buffered records reach this size. Default 256 KiB, at most 1,044,480. */
  readonly maxEntryBytes: number;
  /** Backstop for records buffered behind an in-flight entry; 0 disables. Default 5 ms. */
  readonly flushIntervalMs: number;
  /** Entry compression: 'none' or 'lz4'. Default 'none'. */
  readonly compression: CompressionCodec;
  /** Bytes accepted and not yet acknowledged; further writes wait (FIFO). Default 8 MiB, at least 1,044,480. */
  readonly maxPendingBytes: number;
  /** A write waiting for room longer than this fails with WRITE_LIMIT_EXCEEDED. Default 30 s; 0 waits forever. */
  readonly pendingTimeoutMs: number;
  /** Roll to a new segment once the current one holds this many bytes. Default 256 MiB; 0 disables. */
  readonly maxSegmentBytes: number;
  /** Roll to a new segment once the current one is this old (checked on write). Default 2 h; 0 disables. */
  readonly rollingIntervalMs: number;

  /** Completed segments are purged once completed longer ago than this (checked after each roll). Default 72 h; 0 disables. */
  readonly retentionMs: number;
  /** Retention purges only segments the application truncated. Default true; false lets age alone delete (DL's default). */
  readonly explicitTruncation: boolean;

  /** Entries a reader fetches ahead of its consumer. Default 64. */
  readonly readAheadEntries: number;
  /** Bytes of records a reader buffers ahead of its consumer. Default 16 MiB. */
  readonly readAheadBytes: number;
  /** A caught-up reader's long-poll wait per request. Default 1000 ms. */
  readonly longPollTimeoutMs: number;
  /** A reader re-lists the segments this often even without a watch event (safety net). Default 5000 ms. */
  readonly relistIntervalMs: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  ensembleSize: 3,
  writeQuorumSize: 3,
  ackQuorumSize: 2,
  digest: 'CRC32',
  ledgerPassword: new Uint8Array(0),
  lockTimeoutMs: 0,
  maxEntryBytes: 256 * 1024,
  flushIntervalMs: 5,
  compression: 'none',
  maxPendingBytes: 8 * 1024 * 1024,
  pendingTimeoutMs: 30_000,
  maxSegmentBytes: 256 * 1024 * 1024,
  rollingIntervalMs: 2 * 60 * 60 * 1000,
  retentionMs: 72 * 60 * 60 * 1000,
  explicitTruncation: true,
  readAheadEntries: 64,
  readAheadBytes: 16 * 1024 * 1024,
  longPollTimeoutMs: 1000,
  relistIntervalMs: 5000,
});

const DIGESTS: readonly DigestType[] = ['CRC32', 'CRC32C', 'HMAC', 'DUMMY'];
const CODECS: readonly CompressionCodec[] = ['none', 'lz4'];

type IntRule = readonly [min: number, max: number];
const INT_RULES: { readonly [K in keyof LogConfig]?: IntRule } = {
  ensembleSize: [1, 64],
  writeQuorumSize: [1, 64],
  ackQuorumSize: [1, 64],
  lockTimeoutMs: [-1, Number.MAX_SAFE_INTEGER],
  maxEntryBytes: [1, MAX_LOGRECORDSET_SIZE],
  flushIntervalMs: [0, 60_000],
  maxPendingBytes: [MAX_LOGRECORDSET_SIZE, Number.MAX_SAFE_INTEGER],
  pendingTimeoutMs: [0, Number.MAX_SAFE_INTEGER],
  maxSegmentBytes: [0, Number.MAX_SAFE_INTEGER],
  rollingIntervalMs: [0, Number.MAX_SAFE_INTEGER],
  retentionMs: [0, Number.MAX_SAFE_INTEGER],
  readAheadEntries: [1, 10_000],
  readAheadBytes: [MAX_LOGRECORDSET_SIZE, Number.MAX_SAFE_INTEGER],
  longPollTimeoutMs: [1, 600_000],
  relistIntervalMs: [10, 3_600_000],
};

/** Merges `overrides` over `base` and checks every field; unknown keys and bad values are InvalidArgumentError. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}, base: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  for (const key of Object.keys(overrides)) {
    if (!(key in DEFAULT_LOG_CONFIG)) throw new InvalidArgumentError(`unknown log option ${JSON.stringify(key)}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => (v as unknown) !== undefined));
  const config: LogConfig = { ...base, ...defined };
  for (const [key, rule] of Object.entries(INT_RULES) as Array<[keyof LogConfig, IntRule]>) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < rule[0] || v > rule[1]) {
      throw new InvalidArgumentError(`log option ${key} must be an integer in [${rule[0]}, ${rule[1]}], got ${String(v)}`);
    }
  }
  if (!(config.ackQuorumSize <= config.writeQuorumSize && config.writeQuorumSize <= config.ensembleSize)) {
    throw new InvalidArgumentError(
      `need ackQuorumSize <= writeQuorumSize <= ensembleSize, got ${config.ackQuorumSize} <= ${config.writeQuorumSize} <= ${config.ensembleSize}`,
    );
  }
  if (!DIGESTS.includes(config.digest)) throw new InvalidArgumentError(`log option digest must be one of ${DIGESTS.join(', ')}`);
  if (!CODECS.includes(config.compression)) throw new InvalidArgumentError(`log option compression must be one of ${CODECS.join(', ')}`);
  if (!(config.ledgerPassword instanceof Uint8Array)) throw new InvalidArgumentError('log option ledgerPassword must be a Uint8Array');
  if (typeof config.explicitTruncation !== 'boolean') throw new InvalidArgumentError('log option explicitTruncation must be a boolean');
  return Object.freeze(config);
}
