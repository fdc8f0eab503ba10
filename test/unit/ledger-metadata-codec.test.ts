import { expect } from 'chai';
import {
  decodeLedgerMetadata,
  encodeLedgerMetadata,
  type EnsembleSegment,
  type LedgerMetadata,
} from '../../src/ledger-metadata/ledger-metadata-codec.js';
import { BOOKIES, OPEN_LEDGER, OPEN_LEDGER_ZNODE } from '../support/ledger-metadata-fixture.js';
import { thrown } from '../support/thrown.js';

describe('ledger metadata codec', () => {
  it('writes format v3 byte for byte', () => {
    const znode = encodeLedgerMetadata(OPEN_LEDGER);
    expect(znode).to.deep.equal(OPEN_LEDGER_ZNODE);
    expect(znode.subarray(0, 30).toString('latin1')).to.equal('BookieMetadataFormatVersion\t3\n');
    expect(decodeLedgerMetadata(znode)).to.deep.equal(OPEN_LEDGER);
  });

  it('round-trips a closed ledger with every optional field', () => {
    const closed: LedgerMetadata = {
      ensembleSize: 3,
      writeQuorumSize: 3,
      ackQuorumSize: 2,
      state: 'CLOSED',
      lastEntryId: 5_000_000_000n,
      length: (1n << 62n) + 1n,
      digestType: 'HMAC',
      password: Buffer.from([0, 255, 10]),
      ensembles: [
        [0n, BOOKIES],
        [17n, ['b1:3181', 'b4:3181', 'b3:3181']],
        [4_000_000_000n, ['bookie-a', 'bookie-b', 'bookie-c']],
      ],
      ctime: 1_700_000_000_123,
      customMetadata: new Map([
        ['application', Buffer.from('distributedlog')],
        ['empty', Buffer.alloc(0)],
      ]),
      cToken: -(1n << 63n),
    };
    expect(decodeLedgerMetadata(encodeLedgerMetadata(closed))).to.deep.equal(closed);
  });

  it('copies the buffers it decodes', () => {
    const znode = Buffer.from(OPEN_LEDGER_ZNODE);
    const metadata = decodeLedgerMetadata(znode);
    znode.fill(0);
    expect(metadata.password).to.deep.equal(Buffer.from('pw'));
  });

  it('reads format v2 (TextFormat)', () => {
    const text = [
      'BookieMetadataFormatVersion\t2',
      'quorumSize: 2',
      'ensembleSize: 3',
      'length: 1024',
      'lastEntryId: 9',
      'state: CLOSED',
      'segment {',
      '  ensembleMember: "10.0.0.1:3181"',
      '  ensembleMember: "10.0.0.2:3181"',
      '  ensembleMember: "10.0.0.3:3181"',
      '  firstEntryId: 0',
      '}',
      'digestType: CRC32',
      'password: "p\\001\\"w"',
      'ctime: 1400000000000',
      'customMetadata {',
      '  key: "k"',
      '  value: "v\\377\\xfe"',
      '}',
      '',
    ].join('\n');
    expect(decodeLedgerMetadata(Buffer.from(text))).to.deep.equal({
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      state: 'CLOSED',
      lastEntryId: 9n,
      length: 1024n,
      digestType: 'CRC32',
      password: Buffer.from([0x70, 0x01, 0x22, 0x77]),
      ensembles: [[0n, ['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181']]],
      ctime: 1_400_000_000_000,
      customMetadata: new Map([['k', Buffer.from([0x76, 0xff, 0xfe])]]),
    });
  });

  it('reads the one-line v2 form of the reference, ack quorum included', () => {
    const text =
      'BookieMetadataFormatVersion\t2\nquorumSize: 2 ensembleSize: 3 length: 0 lastEntryId: -1 state: OPEN ' +
      'segment { ensembleMember: "10.0.0.1:3181" ensembleMember: "10.0.0.2:3181" ensembleMember: "10.0.0.3:3181" ' +
      'firstEntryId: 0 } digestType: CRC32C password: "" ackQuorumSize: 2\n';
    const metadata = decodeLedgerMetadata(Buffer.from(text));
    expect(metadata.state).to.equal('OPEN');
    expect(metadata.digestType).to.equal('CRC32C');
    expect(metadata.password).to.deep.equal(Buffer.alloc(0));
    expect(metadata.cToken).to.equal(undefined);
  });

  it('reads format v1, closed and in recovery', () => {
    const v1 = (closing: string) =>
      Buffer.from(`BookieMetadataFormatVersion\t1\n2\n3\n300\n0\ta:1\tb:1\tc:1\n10\ta:1\td:1\tc:1\n${closing}`);
    expect(decodeLedgerMetadata(v1('12\tCLOSED\n'))).to.deep.equal({
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      state: 'CLOSED',
      lastEntryId: 12n,
      length: 300n,
      ensembles: [
        [0n, ['a:1', 'b:1', 'c:1']],
        [10n, ['a:1', 'd:1', 'c:1']],
      ],
      customMetadata: new Map(),
    });
    const recovering = decodeLedgerMetadata(v1('-102\tCLOSED\n'));
    expect(recovering.state).to.equal('IN_RECOVERY');
    expect(recovering.lastEntryId).to.equal(-1n);
    expect(decodeLedgerMetadata(v1('')).state).to.equal('OPEN');
  });

  it('rejects what BookKeeper would not read', () => {
    const v2 = 'BookieMetadataFormatVersion\t2\n';
    const bad = [
      'no header',
      'BookieMetadataFormatVersion\t4\nquorumSize: 1',
      'BookieMetadataFormatVersion 3\n',
      `${v2}quorumSize: 2 ensembleSize: 3 length: 0`,
      `${v2}quorumSize: 2 ensembleSize: 3 length: 0 state: OPEN bogus: 1`,
      `${v2}quorumSize: 2 ensembleSize: 3 length: 0 state: GONE`,
      `${v2}quorumSize: 3 ensembleSize: 2 length: 0 state: OPEN segment { ensembleMember: "a" ensembleMember: "b" }`,
      `${v2}quorumSize: 3 ensembleSize: 2 length: 0 state: OPEN segment { ensembleMember: "a" firstEntryId: 0 }`,
      `${v2}quorumSize: 1 ensembleSize: 2 length: 0 state: OPEN segment { ensembleMember: "a" firstEntryId: 0 }`,
      `${v2}password: "unterminated`,
      'BookieMetadataFormatVersion\t1\n2\nthree\n0\n',
    ].map((text) => Buffer.from(text));
    bad.push(Buffer.from(OPEN_LEDGER_ZNODE.subarray(0, 40)));
    for (const data of bad) {
      const expected = { name: 'WireError', code: 'MALFORMED_METADATA' };
      expect(thrown(() => decodeLedgerMetadata(data)), data.toString('latin1')).to.deep.include(expected);
    }
  });

  it('refuses to write inconsistent metadata', () => {
    expect(thrown(() => encodeLedgerMetadata({ ...OPEN_LEDGER, ackQuorumSize: 3 }))).to.deep.include({ code: 'INVALID_ARGUMENT' });
    const tooSmall: EnsembleSegment[] = [[0n, ['a:1']]];
    expect(thrown(() => encodeLedgerMetadata({ ...OPEN_LEDGER, ensembles: tooSmall }))).to.deep.include({ code: 'INVALID_ARGUMENT' });
    expect(thrown(() => encodeLedgerMetadata({ ...OPEN_LEDGER, ensembles: [[5n, BOOKIES], [5n, BOOKIES]] }))).to.deep.include({ code: 'INVALID_ARGUMENT' });
  });
});
