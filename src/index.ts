// The client entry point, `distributedlog`: namespaces, logs, writers, readers, DLSNs, errors and types.
// It loads no storage-node code: the embedded bookies and the local store (lmdb) are imported only
// when a `local:` namespace is opened. Storage nodes, the BookKeeper client and the metadata stores
// have entry points of their own: `distributedlog/bookie`, `distributedlog/ledger`, `distributedlog/metadata`.
export { DLogError, InvalidArgumentError, MetadataError } from './errors.js';
export type { DLogErrorCode, DLogErrorOptions, MetadataErrorCode, MetadataErrorOptions } from './errors.js';
export { Namespace } from './log/namespace.js';
export type { NamespaceOptions, OpenLogOptions } from './log/namespace.js';
export { DistributedLog } from './log/distributed-log.js';
export type { ReaderOptions, WriterOptions } from './log/distributed-log.js';
export { LogWriter } from './log/writer/log-writer.js';
export type { LogWriterStats } from './log/writer/log-writer.js';
export type { WriteRecord } from './log/format/write-record.js';
export { LogReader } from './log/reader/log-reader.js';
export type { LogRecordWithDLSN } from './log/reader/log-read-ahead.js';
export type { SubscriptionsStore } from './log/metadata/subscriptions.js';
export { DLSN } from './log/format/dlsn.js';
export { LogError } from './log/log-error.js';
export type { LogErrorCode } from './log/log-error.js';
export { LockHeldError } from './log/metadata/ownership-lock.js';
export { DEFAULT_LOG_CONFIG } from './log/log-config.js';
export type { LogConfig } from './log/log-config.js';
export { TruncationStatus } from './log/metadata/log-segment-metadata.js';
export type { LogSegmentMetadata } from './log/metadata/log-segment-metadata.js';
export type { CompressionCodec } from './log/format/compression.js';
export { parseMetadataUri } from './metadata/metadata-uri.js';
export type { MetadataUri } from './metadata/metadata-uri.js';
export type { MetadataStore } from './metadata/metadata-store.js';
// errors of the layers below that reach a client as a cause or a rejection
export { LedgerClientError } from './ledger/ledger-client-error.js';
export type { LedgerClientErrorCode } from './ledger/ledger-client-error.js';
export { BookieClientError } from './ledger/bookie-client-error.js';
export type { BookieClientErrorCode } from './ledger/bookie-client-error.js';
export { WireError } from './protocol/wire-error.js';
export type { WireErrorCode } from './protocol/wire-error.js';
export type { LedgerMetadata, LedgerState } from './ledger-metadata/ledger-metadata-codec.js';
export type { DigestType } from './protocol/digest.js';
export type { Logger, LogFn } from './util/logger.js';
// operations: TLS and auth to the bookies, metrics, diagnostics_channel names
export type { ClientTlsOptions } from './ledger/connection-setup.js';
export type { AuthPlugin, TokenAuthOptions } from './protocol/auth-plugins.js';
export { MetricsRegistry } from './util/metrics.js';
export type { Counter, Histogram, Labels } from './util/metrics.js';
export { ENSEMBLE_CHANGE_CHANNEL, FENCED_CHANNEL } from './ledger/ledger-metrics.js';
export { LOCK_LOST_CHANNEL, SEGMENT_ROLL_CHANNEL } from './log/log-metrics.js';
