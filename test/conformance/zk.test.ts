import { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';
import { zooKeeper } from '../support/hooks.js';
import { forceExpire } from '../support/zk-expire.js';
import { metadataStoreConformance } from './metadata-store.suite.js';

let connectString = '';

metadataStoreConformance<ZkMetadataStore>('zk (real ZooKeeper server)', {
  open: async (ctx) => {
    connectString = await zooKeeper(ctx);
    return ZkMetadataStore.connect(connectString, { sessionTimeoutMs: 4000 });
  },
  forceExpire: (store) => forceExpire(store, connectString),
});
