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
export type { Logger, LogFn } from './util/logger.js';
