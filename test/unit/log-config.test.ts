import { expect } from 'chai';
import { InvalidArgumentError } from '../../src/errors.js';
import { DEFAULT_LOG_CONFIG, resolveLogConfig } from '../../src/log/log-config.js';

describe('log config', () => {
  it('has the documented defaults: E3 W3 A2, adaptive batching with a 5 ms backstop, both rolling policies, explicit truncation', () => {
    const c = resolveLogConfig();
    expect(c).to.include({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, flushIntervalMs: 5, lockTimeoutMs: 0 });
    expect(c.maxSegmentBytes).to.equal(256 * 1024 * 1024);
    expect(c.rollingIntervalMs).to.equal(2 * 60 * 60 * 1000);
    expect(c.explicitTruncation).to.equal(true);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it('merges overrides over a base and ignores undefined values', () => {
    const base = resolveLogConfig({ maxEntryBytes: 4096 });
    const c = resolveLogConfig({ lockTimeoutMs: -1, readAheadEntries: undefined } as never, base);
    expect(c).to.include({ maxEntryBytes: 4096, lockTimeoutMs: -1, readAheadEntries: DEFAULT_LOG_CONFIG.readAheadEntries });
  });

  for (const [bad, pattern] of [
    [{ nosuch: 1 }, /unknown log option "nosuch"/],
    [{ maxEntryBytes: 0 }, /maxEntryBytes must be an integer in \[1, 1044480\]/],
    [{ maxEntryBytes: 2_000_000 }, /maxEntryBytes/],
    [{ lockTimeoutMs: -2 }, /lockTimeoutMs/],
    [{ flushIntervalMs: 1.5 }, /flushIntervalMs/],
    [{ maxPendingBytes: 1000 }, /maxPendingBytes/],
    [{ ackQuorumSize: 3, writeQuorumSize: 2 }, /ackQuorumSize <= writeQuorumSize <= ensembleSize/],
    [{ digest: 'MD5' }, /digest must be one of/],
    [{ compression: 'zstd' }, /compression must be one of/],
    [{ explicitTruncation: 'yes' }, /explicitTruncation must be a boolean/],
    [{ ledgerPassword: 'pw' }, /ledgerPassword must be a Uint8Array/],
  ] as const) {
    it(`rejects ${JSON.stringify(bad)} with a clear InvalidArgumentError`, () => {
      expect(() => resolveLogConfig(bad as never)).to.throw(InvalidArgumentError, pattern);
    });
  }
});
