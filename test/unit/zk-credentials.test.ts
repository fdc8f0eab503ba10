// Telling wrong ZooKeeper digest credentials from a node's ACL (the real ZooKeeper case is in
// test/integration/bookie-security.test.ts).
import { expect } from 'chai';
import { credentialProblem, digestId } from '../../src/metadata/zk/zk-credentials.js';

const ALL = 31;
const READ = 1;
const digest = (auth: string, permission = ALL): { permission: number; id: { scheme: string; id: string } } => ({ permission, id: { scheme: 'digest', id: digestId(auth) } });
const world = (permission: number): { permission: number; id: { scheme: string; id: string } } => ({ permission, id: { scheme: 'world', id: 'anyone' } });

describe('ZooKeeper digest credentials against an ACL', () => {
  it('computes the digest id as ZooKeeper does', () => {
    // the superDigest example of ZooKeeper's administrator guide: super:test
    expect(digestId('super:test')).to.equal('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    expect(digestId('a:b:c')).to.match(/^a:/);
  });

  it('accepts our own digest, a world-writable node and ACLs it cannot judge', () => {
    expect(credentialProblem([digest('alice:secret'), world(READ)], 'alice:secret', '/ns')).to.equal(undefined);
    expect(credentialProblem([world(ALL)], 'alice:secret', '/ns')).to.equal(undefined);
    expect(credentialProblem([digest('bob:x'), { permission: ALL, id: { scheme: 'ip', id: '10.0.0.1' } }], 'alice:secret', '/ns')).to.equal(undefined);
    // read-only for everyone: nobody's credentials change it, nothing to tell
    expect(credentialProblem([world(READ)], 'alice:secret', '/ns')).to.equal(undefined);
  });

  it('names the user and what is wrong: the password, or a user the ACL does not list', () => {
    const acl = [digest('alice:secret'), world(READ)];
    expect(credentialProblem(acl, 'alice:wrong', '/ns')).to.equal(
      "ZooKeeper credentials for user 'alice' cannot change /ns: the password does not match the one its ACL was made with (check zkAuth / --zk-auth)",
    );
    expect(credentialProblem(acl, 'mallory:secret', '/ns')).to.equal(
      "ZooKeeper credentials for user 'mallory' cannot change /ns: its ACL allows changes by digest user(s) alice only (check zkAuth / --zk-auth)",
    );
    // a digest entry with read only grants no change
    expect(credentialProblem([digest('alice:secret'), digest('mallory:secret', READ)], 'mallory:secret', '/ns')).to.match(/alice only/);
  });
});
