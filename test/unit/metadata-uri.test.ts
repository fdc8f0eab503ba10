import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseMetadataUri } from '../../src/metadata/metadata-uri.js';

const localDir = (uri: string): string => {
  const parsed = parseMetadataUri(uri);
  if (parsed.kind !== 'local') throw new Error(`${uri} is not local:`);
  return parsed.dir;
};

describe('parseMetadataUri', () => {
  it('parses zk:// with several hosts and a path', () => {
    expect(parseMetadataUri('zk://h1:2181,h2:2182/messaging/dl')).to.deep.equal({
      kind: 'zk', connectString: 'h1:2181,h2:2182', path: '/messaging/dl',
    });
  });

  it("parses DistributedLog's distributedlog:// with ';' separators and a default port", () => {
    expect(parseMetadataUri('distributedlog://127.0.0.1:2181;zk2/ns')).to.deep.equal({
      kind: 'zk', connectString: '127.0.0.1:2181,zk2:2181', path: '/ns',
    });
  });

  it('defaults the path to the root and accepts IPv6 hosts', () => {
    expect(parseMetadataUri('zk://[::1]:2181')).to.deep.equal({ kind: 'zk', connectString: '[::1]:2181', path: '/' });
  });

  it('parses local: directories, relative and absolute', () => {
    expect(parseMetadataUri('local:./data')).to.deep.equal({ kind: 'local', dir: path.resolve('data'), path: '/' });
    expect(parseMetadataUri('local:/var/dlog')).to.deep.equal({ kind: 'local', dir: '/var/dlog', path: '/' });
    expect(parseMetadataUri('local:///var/dlog')).to.deep.equal({ kind: 'local', dir: '/var/dlog', path: '/' });
    // a `~` the shell did not expand (quoted, or from a config file) is the home directory
    expect(localDir('local:~/dlog')).to.equal(path.join(os.homedir(), 'dlog'));
    expect(localDir('local:~')).to.equal(os.homedir());
    expect(localDir('local:./~x')).to.equal(path.resolve('~x'));
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['http://h:2181/x', /unknown scheme/],
    ['zk:///path', /missing host/],
    ['zk://h:99999/x', /bad port/],
    ['zk://h:2181,/x', /bad host/],
    ['zk://h:2181/x/', /bad path/],
    ['zk://h:2181/a//b', /bad path/],
    ['local:', /missing directory/],
  ];
  for (const [uri, why] of bad) {
    it(`rejects ${JSON.stringify(uri)} with a clear INVALID_ARGUMENT`, () => {
      try {
        parseMetadataUri(uri);
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).code).to.equal('INVALID_ARGUMENT');
        expect((err as Error).message).to.match(why).and.to.include('expected zk://');
        return;
      }
      expect.fail(`accepted ${uri}`);
    });
  }
});
