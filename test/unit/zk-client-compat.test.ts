import { expect } from 'chai';
import zookeeper from 'node-zookeeper-client';
import '../../src/metadata/zk/zk-metadata-store.js';

// create() is public at run time but missing from @types/node-zookeeper-client
const { create } = zookeeper.Exception as unknown as { create: (code: number) => zookeeper.Exception };

describe('node-zookeeper-client compatibility', () => {
  it('turns error codes newer than ZooKeeper 3.4 into errors instead of throwing', () => {
    // ZooKeeper 3.5+ answers UNKNOWN_SESSION (-12) to requests racing a session close
    expect(create(-12).getCode()).to.equal(zookeeper.Exception.SESSION_EXPIRED);
    expect(create(-13).getCode()).to.equal(zookeeper.Exception.SYSTEM_ERROR);
    expect(create(-101).getCode()).to.equal(zookeeper.Exception.NO_NODE);
  });
});
