import { expect } from 'chai';
import { BookieError } from '../../src/bookie/bookie-error.js';
import { cookieFor, cookieMismatch, encodeCookie, parseCookie } from '../../src/bookie/cookie.js';

const ID = '127.0.0.1:3181';
const INSTANCE = '2c9f2a4e-1b7d-4f0c-9a55-0c6c1d3f8e21';

describe('BookKeeper cookie codec', () => {
  it('writes the layout version line and CookieFormat text, ledger dirs as count and tab-separated paths', () => {
    const c = cookieFor(ID, '/data/journal', ['/disk1/ledgers', '/disk2/ledgers'], INSTANCE);
    expect(encodeCookie(c)).to.equal([
      '5',
      `bookieHost: "${ID}"`,
      'journalDir: "/data/journal"',
      'ledgerDirs: "2\\t/disk1/ledgers\\t/disk2/ledgers"',
      `instanceId: "${INSTANCE}"`,
      '',
    ].join('\n'));
    expect(encodeCookie(cookieFor(ID, '/j', ['/l'], undefined)), 'no instance id line without one').to.equal(
      `5\nbookieHost: "${ID}"\njournalDir: "/j"\nledgerDirs: "1\\t/l"\n`);
  });

  it('escapes quotes, backslashes and non-ASCII bytes (octal UTF-8) and parses them back', () => {
    const c = cookieFor(ID, '/data/"j"\\x', ['/dätä'], INSTANCE);
    const text = encodeCookie(c);
    expect(text).to.contain('journalDir: "/data/\\"j\\"\\\\x"');
    expect(text).to.contain('ledgerDirs: "1\\t/d\\303\\244t\\303\\244"');
    expect(parseCookie(text, 'test')).to.deep.equal(c);
  });

  it('parses version 3 cookies, index dirs, hex escapes and fields in any order', () => {
    expect(parseCookie(`3\n${ID}\n/j\n1\t/l\n`, 'v3')).to.deep.equal({ layoutVersion: 3, bookieHost: ID, journalDirs: '/j', ledgerDirs: '1\t/l' });
    const text = `4\nledgerDirs: "1\\x09/l"\nbookieHost: "${ID}"\njournalDir: "/j"\nindexDirs: "1\\t/i"\ninstanceId: ""\n`;
    expect(parseCookie(text, 'v4')).to.deep.equal({ layoutVersion: 4, bookieHost: ID, journalDirs: '/j', ledgerDirs: '1\t/l', indexDirs: '1\t/i' });
  });

  it('refuses damaged cookies with BOOKIE_CORRUPT naming where they came from', () => {
    for (const [text, reason] of [['', /layout version/], ['x\n', /layout version/], ['5\nbookieHost: unquoted\n', /bad line/],
      [`5\nbookieHost: "${ID}"\njournalDir: "/j"\n`, /no ledgerDirs/], ['5\nbookieHost: "\\q"\n', /unknown escape/]] as const) {
      let caught: unknown;
      try {
        parseCookie(text, '/x/current/VERSION');
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(text)).to.be.instanceOf(BookieError);
      expect((caught as BookieError).code).to.equal('BOOKIE_CORRUPT');
      expect((caught as Error).message).to.contain('/x/current/VERSION').and.match(reason);
    }
  });

  it('verifies as Java does: id, journal dir, ledger dirs (index dirs default to them), instance id', () => {
    const mine = cookieFor(ID, '/j', ['/a', '/b'], INSTANCE);
    expect(cookieMismatch(mine, mine)).to.equal(undefined);
    expect(cookieMismatch(mine, { ...mine, indexDirs: mine.ledgerDirs })).to.equal(undefined);
    expect(cookieMismatch(mine, { ...mine, bookieHost: '127.0.0.1:3182' })).to.match(/bookie 127.0.0.1:3182's/);
    expect(cookieMismatch(mine, { ...mine, bookieHost: '127.0.0.1:3182' }, false), 'id not compared').to.equal(undefined);
    expect(cookieMismatch(mine, { ...mine, journalDirs: '/k' })).to.match(/journal dir is \/k/);
    expect(cookieMismatch(mine, cookieFor(ID, '/j', ['/b', '/a'], INSTANCE))).to.match(/ledger dirs are \/b, \/a, this bookie's are \/a, \/b/);
    expect(cookieMismatch(mine, { ...mine, indexDirs: '1\t/i' })).to.match(/index dirs are \/i/);
    expect(cookieMismatch(mine, { ...mine, instanceId: 'other' })).to.match(/instance id other, this cluster's is 2c9f/);
    expect(cookieMismatch(mine, cookieFor(ID, '/j', ['/a', '/b'], undefined))).to.match(/instance id \(none\)/);
    expect(cookieMismatch(mine, { ...mine, layoutVersion: 2 })).to.match(/too old/);
  });
});
