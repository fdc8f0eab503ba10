// The public surface: everything a user may import is re-exported here, and nothing else is public.
export { DLogError, InvalidArgumentError, MetadataError } from './errors.js';
export type { DLogErrorOptions, MetadataErrorCode, MetadataErrorOptions } from './errors.js';
export type {
  CreateMode, CreateOptions, MetadataStore, MetadataStoreEvents, MultiOp, MultiResult, NodeData, NodeStat,
  SessionState, WatchEvent, WatchEventType, Watcher,
} from './metadata/metadata-store.js';
export { parseMetadataUri } from './metadata/metadata-uri.js';
export type { MetadataUri } from './metadata/metadata-uri.js';
export { openMetadataStore } from './metadata/open-metadata-store.js';
export type { MetadataStoreOptions } from './metadata/open-metadata-store.js';
export { LocalMetadataStore } from './metadata/local/local-metadata-store.js';
export { ZkMetadataStore } from './metadata/zk/zk-metadata-store.js';
export { startBookie } from './bookie/bookie.js';
export type { Bookie, BookieOptions } from './bookie/bookie.js';
export { BookieError } from './bookie/bookie-error.js';
export type { BookieErrorCode } from './bookie/bookie-error.js';
export { JournalError } from './bookie/journal-error.js';
export type { JournalErrorCode } from './bookie/journal-error.js';
export { StorageError } from './bookie/storage-error.js';
export type { StorageErrorCode } from './bookie/storage-error.js';
export { WireError } from './wire/wire-error.js';
export type { WireErrorCode } from './wire/wire-error.js';
export { LedgerClient } from './ledger/ledger-client.js';
export type { CreateLedgerOptions, LedgerClientOptions, OpenLedgerOptions } from './ledger/ledger-client.js';
export type { LedgerHandle } from './ledger/ledger-handle.js';
export { LedgerClientError } from './ledger/ledger-client-error.js';
export type { LedgerClientErrorCode } from './ledger/ledger-client-error.js';
export type { LedgerMetadata, LedgerState } from './wire/ledger-metadata-codec.js';
export type { DigestType } from './wire/digest.js';
export type { Entry } from './wire/entry-envelope.js';
export { BookieClientError } from './ledger/bookie-client-error.js';
export type { BookieClientErrorCode } from './ledger/bookie-client-error.js';
export type { Logger, LogFn } from './util/logger.js';
