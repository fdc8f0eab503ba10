// PlacementPolicy with a fixed bookie set, an injected clock and injected randomness: distinct
// random ensembles, exclusions, replacements, NOT_ENOUGH_BOOKIES, and error quarantine.
import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import { PlacementPolicy, type PlacementPolicyOptions } from '../../src/ledger/placement-policy.js';
import { seededRandom } from '../support/prng.js';

const BOOKIES = ['b1:3181', 'b2:3181', 'b3:3181', 'b4:3181', 'b5:3181'];

function source(ids: readonly string[]): { writable: () => ReadonlySet<string> } {
  const set = new Set(ids);
  return { writable: () => set };
}


function notEnough(fn: () => unknown): LedgerClientError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(LedgerClientError);
    expect((err as LedgerClientError).code).to.equal('NOT_ENOUGH_BOOKIES');
    return err as LedgerClientError;
  }
  throw new Error('expected NOT_ENOUGH_BOOKIES');
}

describe('PlacementPolicy', () => {
  describe('ensembles', () => {
    it('picks distinct writable bookies, every one of them over many draws', () => {
      const policy = new PlacementPolicy(source(BOOKIES), { random: seededRandom(1) });
      const seen = new Map<string, number>();
      for (let i = 0; i < 1000; i++) {
        const ensemble = policy.newEnsemble(3);
        expect(ensemble).to.have.length(3);
        expect(new Set(ensemble).size).to.equal(3);
        for (const bookie of ensemble) {
          expect(BOOKIES).to.include(bookie);
          seen.set(bookie, (seen.get(bookie) ?? 0) + 1);
        }
      }
      // 3000 picks over 5 bookies: 600 each on average
      for (const bookie of BOOKIES) expect(seen.get(bookie)).to.be.within(500, 700);
    });

    it('is fixed by the injected randomness', () => {
      const draw = (): string[][] => {
        const policy = new PlacementPolicy(source(BOOKIES), { random: seededRandom(7) });
        return Array.from({ length: 5 }, () => policy.newEnsemble(3));
      };
      expect(draw()).to.deep.equal(draw());
    });

    it('never picks an excluded bookie', () => {
      const policy = new PlacementPolicy(source(BOOKIES), { random: seededRandom(2) });
      for (let i = 0; i < 100; i++) {
        expect(policy.newEnsemble(3, { exclude: ['b1:3181', 'b4:3181'] }).sort()).to.deep.equal(['b2:3181', 'b3:3181', 'b5:3181']);
      }
    });

    it('fails with NOT_ENOUGH_BOOKIES naming what it needs and has', () => {
      const policy = new PlacementPolicy(source(BOOKIES.slice(0, 3)));
      const err = notEnough(() => policy.newEnsemble(4));
      expect(err.message).to.match(/an ensemble of 4: need 4, 3 available \(3 writable, 0 of them excluded\)/);
      expect(err.retriable).to.equal(true);
      expect(notEnough(() => policy.newEnsemble(3, { exclude: ['b2:3181', 'x:1'] })).message)
        .to.match(/need 3, 2 available \(3 writable, 1 of them excluded\)/);
      expect(notEnough(() => new PlacementPolicy(source([])).newEnsemble(1)).message).to.match(/need 1, 0 available/);
    });

    it('rejects ensemble sizes that are not positive integers', () => {
      const policy = new PlacementPolicy(source(BOOKIES));
      for (const size of [0, -1, 1.5, Number.NaN]) expect(() => policy.newEnsemble(size)).to.throw(InvalidArgumentError);
    });
  });

  describe('replacements', () => {
    it('picks a writable bookie outside the ensemble and the exclusions', () => {
      const policy = new PlacementPolicy(source(BOOKIES), { random: seededRandom(3) });
      const ensemble = ['b1:3181', 'b2:3181', 'b3:3181'];
      const seen = new Set<string>();
      for (let i = 0; i < 100; i++) seen.add(policy.replaceBookie(ensemble, 1));
      expect([...seen].sort()).to.deep.equal(['b4:3181', 'b5:3181']);
      expect(policy.replaceBookie(ensemble, 0, { exclude: ['b4:3181'] })).to.equal('b5:3181');
    });

    it('fails with NOT_ENOUGH_BOOKIES when no bookie is left', () => {
      const policy = new PlacementPolicy(source(BOOKIES.slice(0, 3)));
      const err = notEnough(() => policy.replaceBookie(['b1:3181', 'b2:3181', 'b3:3181'], 2));
      expect(err.message).to.match(/a replacement for b3:3181: need 1, 0 available \(3 writable, 3 of them excluded\)/);
    });

    it('rejects an index outside the ensemble', () => {
      const policy = new PlacementPolicy(source(BOOKIES));
      expect(() => policy.replaceBookie(['b1:3181'], 1)).to.throw(InvalidArgumentError);
      expect(() => policy.replaceBookie(['b1:3181'], -1)).to.throw(InvalidArgumentError);
    });
  });

  describe('quarantine', () => {
    let now = 0;
    const options: PlacementPolicyOptions = { errorThreshold: 3, errorIntervalMs: 1000, quarantineMs: 5000, now: () => now };

    beforeEach(() => { now = 1_000_000; });

    it('quarantines a bookie with more than errorThreshold errors in one interval, for quarantineMs', () => {
      const policy = new PlacementPolicy(source(BOOKIES), options);
      for (let i = 0; i < 3; i++) policy.recordError('b1:3181');
      expect(policy.isQuarantined('b1:3181')).to.equal(false);
      policy.recordError('b1:3181');
      expect(policy.isQuarantined('b1:3181')).to.equal(true);
      now += 4999;
      expect(policy.isQuarantined('b1:3181')).to.equal(true);
      now += 1;
      expect(policy.isQuarantined('b1:3181')).to.equal(false);
    });

    it('counts errors per interval', () => {
      const policy = new PlacementPolicy(source(BOOKIES), options);
      for (let i = 0; i < 20; i++) {
        for (let j = 0; j < 3; j++) policy.recordError('b1:3181');
        now += 1000; // the next counting window
      }
      expect(policy.isQuarantined('b1:3181')).to.equal(false);
    });

    it('uses BookKeeper\'s defaults: more than 100 errors a minute, 30 minutes out', () => {
      const policy = new PlacementPolicy(source(BOOKIES), { now: () => now });
      for (let i = 0; i < 100; i++) policy.recordError('b1:3181');
      expect(policy.isQuarantined('b1:3181')).to.equal(false);
      now += 60_000;
      for (let i = 0; i < 101; i++) policy.recordError('b1:3181');
      expect(policy.isQuarantined('b1:3181')).to.equal(true);
      now += 1_800_000;
      expect(policy.isQuarantined('b1:3181')).to.equal(false);
    });

    it('leaves quarantined bookies out while there are enough others', () => {
      const policy = new PlacementPolicy(source(BOOKIES), { ...options, random: seededRandom(4) });
      for (let i = 0; i < 4; i++) {
        policy.recordError('b1:3181');
        policy.recordError('b2:3181');
      }
      for (let i = 0; i < 100; i++) {
        expect(policy.newEnsemble(3).sort()).to.deep.equal(['b3:3181', 'b4:3181', 'b5:3181']);
        expect(policy.replaceBookie(['b3:3181', 'b4:3181'], 0)).to.equal('b5:3181');
      }
    });

    it('falls back to quarantined bookies, after all the others, rather than fail', () => {
      const policy = new PlacementPolicy(source(BOOKIES), { ...options, random: seededRandom(5) });
      for (let i = 0; i < 4; i++) {
        policy.recordError('b1:3181');
        policy.recordError('b2:3181');
      }
      for (let i = 0; i < 100; i++) {
        const ensemble = policy.newEnsemble(4);
        expect(ensemble.slice(0, 3).sort()).to.deep.equal(['b3:3181', 'b4:3181', 'b5:3181']);
        expect(['b1:3181', 'b2:3181']).to.include(ensemble[3]);
      }
      expect(['b1:3181', 'b2:3181']).to.include(policy.replaceBookie(['b3:3181', 'b4:3181', 'b5:3181'], 0));
      now += 5000;
      expect(policy.newEnsemble(5)).to.have.length(5);
    });
  });
});
