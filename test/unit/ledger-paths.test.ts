import { expect } from 'chai';
import {
  hobPath,
  idGenPath,
  isReservedLedgerRootChild,
  ledgerIdFromPath,
  ledgerPath,
  longIdGenPath,
  longLedgerId,
  parseHob,
  shortLedgerId,
} from '../../src/ledger-metadata/ledger-paths.js';
import { thrown } from '../support/thrown.js';

describe('ledger paths', () => {
  it('uses the short 2/4/4 form below 2^31-1 in the hierarchical layout', () => {
    expect(ledgerPath('/ledgers', 12345n)).to.equal('/ledgers/00/0001/L2345');
    expect(ledgerPath('/ledgers', 0n)).to.equal('/ledgers/00/0000/L0000');
    expect(ledgerPath('/ledgers', 2147483646n)).to.equal('/ledgers/21/4748/L3646');
  });

  it('switches to the long 3/4/4/4/4 form from 2^31-1', () => {
    expect(ledgerPath('/ledgers', 2147483647n)).to.equal('/ledgers/000/0000/0021/4748/L3647');
    expect(ledgerPath('/ledgers', 2147483653n)).to.equal('/ledgers/000/0000/0021/4748/L3653');
    expect(ledgerPath('/ledgers', (1n << 63n) - 1n)).to.equal('/ledgers/922/3372/0368/5477/L5807');
  });

  it('always uses the long form in the long-hierarchical layout', () => {
    expect(ledgerPath('/ledgers', 12345n, 'long-hierarchical')).to.equal('/ledgers/000/0000/0000/0001/L2345');
    expect(ledgerPath('/bk/ledgers', 1n, 'long-hierarchical')).to.equal('/bk/ledgers/000/0000/0000/0000/L0001');
  });

  it('parses both forms back and ignores everything else', () => {
    for (const id of [0n, 12345n, 2147483646n, 2147483647n, 2147483653n, (1n << 63n) - 1n]) {
      expect(ledgerIdFromPath('/ledgers', ledgerPath('/ledgers', id))).to.equal(id);
      expect(ledgerIdFromPath('/ledgers', ledgerPath('/ledgers', id, 'long-hierarchical'))).to.equal(id);
    }
    for (const path of [
      '/ledgers/00/0001',
      '/ledgers/00/0001/2345',
      '/ledgers/00/001/L2345',
      '/ledgers/0a/0001/L2345',
      '/other/00/0001/L2345',
      '/ledgers/idgen/ID-0000000001',
      '/ledgers/000/0000/0021/4748/L365',
    ]) {
      expect(ledgerIdFromPath('/ledgers', path), path).to.equal(undefined);
    }
  });

  it('refuses ids outside 0..2^63-1', () => {
    expect(thrown(() => ledgerPath('/ledgers', -1n))).to.deep.include({ code: 'INVALID_ARGUMENT' });
    expect(thrown(() => ledgerPath('/ledgers', 1n << 63n))).to.deep.include({ code: 'INVALID_ARGUMENT' });
  });

  it('knows the service znodes under the root', () => {
    const reserved = ['available', 'cookies', 'LAYOUT', 'INSTANCEID', 'underreplication', 'idgen', 'idgen-long'];
    for (const name of [...reserved, 'ID-0000000007']) {
      expect(isReservedLedgerRootChild(name), name).to.equal(true);
    }
    expect(isReservedLedgerRootChild('00')).to.equal(false);
    expect(isReservedLedgerRootChild('000')).to.equal(false);
  });
});

describe('ledger id generation paths', () => {
  it('takes short ids from the idgen sequence until it reaches 2^31-1', () => {
    expect(idGenPath('/ledgers')).to.equal('/ledgers/idgen/ID-');
    expect(shortLedgerId('/ledgers/idgen/ID-0000000123')).to.equal(123n);
    expect(shortLedgerId('/ledgers/idgen/ID-2147483646')).to.equal(2147483646n);
    expect(shortLedgerId('/ledgers/idgen/ID-2147483647')).to.equal(undefined);
    expect(shortLedgerId('/ledgers/idgen/ID--2147483648')).to.equal(undefined);
    expect(thrown(() => shortLedgerId('/ledgers/idgen/XX-0000000001'))).to.deep.include({ code: 'INVALID_ARGUMENT' });
  });

  it('builds long ids as hob << 32 | sequence', () => {
    expect(hobPath('/ledgers', 1)).to.equal('/ledgers/idgen-long/HOB-0000000001');
    expect(longIdGenPath('/ledgers', 1)).to.equal('/ledgers/idgen-long/HOB-0000000001/ID-');
    expect(longLedgerId(1, '/ledgers/idgen-long/HOB-0000000001/ID-0000000005')).to.equal(4294967301n);
    expect(longLedgerId(2, '/ledgers/idgen-long/HOB-0000000002/ID-0000000000')).to.equal(8589934592n);
    expect(longLedgerId(1, '/ledgers/idgen-long/HOB-0000000001/ID--000000005')).to.equal(undefined);
    expect(parseHob('HOB-0000000012')).to.equal(12);
    expect(parseHob('HOB-12')).to.equal(undefined);
    expect(parseHob('ID-0000000012')).to.equal(undefined);
  });
});
