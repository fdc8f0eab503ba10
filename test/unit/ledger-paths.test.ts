import assert from 'node:assert/strict';
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

describe('ledger paths', () => {
  it('uses the short 2/4/4 form below 2^31-1 in the hierarchical layout', () => {
    assert.equal(ledgerPath('/ledgers', 12345n), '/ledgers/00/0001/L2345');
    assert.equal(ledgerPath('/ledgers', 0n), '/ledgers/00/0000/L0000');
    assert.equal(ledgerPath('/ledgers', 2147483646n), '/ledgers/21/4748/L3646');
  });

  it('switches to the long 3/4/4/4/4 form from 2^31-1', () => {
    assert.equal(ledgerPath('/ledgers', 2147483647n), '/ledgers/000/0000/0021/4748/L3647');
    assert.equal(ledgerPath('/ledgers', 2147483653n), '/ledgers/000/0000/0021/4748/L3653');
    assert.equal(ledgerPath('/ledgers', (1n << 63n) - 1n), '/ledgers/922/3372/0368/5477/L5807');
  });

  it('always uses the long form in the long-hierarchical layout', () => {
    assert.equal(ledgerPath('/ledgers', 12345n, 'long-hierarchical'), '/ledgers/000/0000/0000/0001/L2345');
    assert.equal(ledgerPath('/bk/ledgers', 1n, 'long-hierarchical'), '/bk/ledgers/000/0000/0000/0000/L0001');
  });

  it('parses both forms back and ignores everything else', () => {
    for (const id of [0n, 12345n, 2147483646n, 2147483647n, 2147483653n, (1n << 63n) - 1n]) {
      assert.equal(ledgerIdFromPath('/ledgers', ledgerPath('/ledgers', id)), id);
      assert.equal(ledgerIdFromPath('/ledgers', ledgerPath('/ledgers', id, 'long-hierarchical')), id);
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
      assert.equal(ledgerIdFromPath('/ledgers', path), undefined, path);
    }
  });

  it('refuses ids outside 0..2^63-1', () => {
    assert.throws(() => ledgerPath('/ledgers', -1n), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => ledgerPath('/ledgers', 1n << 63n), { code: 'INVALID_ARGUMENT' });
  });

  it('knows the service znodes under the root', () => {
    const reserved = ['available', 'cookies', 'LAYOUT', 'INSTANCEID', 'underreplication', 'idgen', 'idgen-long'];
    for (const name of [...reserved, 'ID-0000000007']) {
      assert.equal(isReservedLedgerRootChild(name), true, name);
    }
    assert.equal(isReservedLedgerRootChild('00'), false);
    assert.equal(isReservedLedgerRootChild('000'), false);
  });
});

describe('ledger id generation paths', () => {
  it('takes short ids from the idgen sequence until it reaches 2^31-1', () => {
    assert.equal(idGenPath('/ledgers'), '/ledgers/idgen/ID-');
    assert.equal(shortLedgerId('/ledgers/idgen/ID-0000000123'), 123n);
    assert.equal(shortLedgerId('/ledgers/idgen/ID-2147483646'), 2147483646n);
    assert.equal(shortLedgerId('/ledgers/idgen/ID-2147483647'), undefined);
    assert.equal(shortLedgerId('/ledgers/idgen/ID--2147483648'), undefined);
    assert.throws(() => shortLedgerId('/ledgers/idgen/XX-0000000001'), { code: 'INVALID_ARGUMENT' });
  });

  it('builds long ids as hob << 32 | sequence', () => {
    assert.equal(hobPath('/ledgers', 1), '/ledgers/idgen-long/HOB-0000000001');
    assert.equal(longIdGenPath('/ledgers', 1), '/ledgers/idgen-long/HOB-0000000001/ID-');
    assert.equal(longLedgerId(1, '/ledgers/idgen-long/HOB-0000000001/ID-0000000005'), 4294967301n);
    assert.equal(longLedgerId(2, '/ledgers/idgen-long/HOB-0000000002/ID-0000000000'), 8589934592n);
    assert.equal(longLedgerId(1, '/ledgers/idgen-long/HOB-0000000001/ID--000000005'), undefined);
    assert.equal(parseHob('HOB-0000000012'), 12);
    assert.equal(parseHob('HOB-12'), undefined);
    assert.equal(parseHob('ID-0000000012'), undefined);
  });
});
