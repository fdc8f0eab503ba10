// `distributedlog/metadata`: the metadata stores (ZooKeeper and the embedded local store) behind one
// interface. Importing it loads lmdb (the local store's database).
export { MetadataError } from '../errors.js';
export type { MetadataErrorCode, MetadataErrorOptions } from '../errors.js';
export type {
  CreateMode, CreateOptions, MetadataStore, MetadataStoreEvents, MultiOp, MultiResult, NodeData, NodeStat,
  SessionState, WatchEvent, WatchEventType, Watcher,
} from './metadata-store.js';
export { parseMetadataUri } from './metadata-uri.js';
export type { MetadataUri } from './metadata-uri.js';
export { openMetadataStore } from './open-metadata-store.js';
export type { MetadataStoreOptions } from './open-metadata-store.js';
export { LocalMetadataStore } from './local/local-metadata-store.js';
export { ZkMetadataStore } from './zk/zk-metadata-store.js';
