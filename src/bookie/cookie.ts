// BookKeeper's cookie: which bookie, directories and cluster a bookie's data belongs to. Written
// to `<dir>/current/VERSION` in the journal dir and every ledger dir and to
// `<ledgersRoot>/cookies/<bookieId>` in the metadata store (whose children are what Java's
// `listbookies -a` lists). The text is a layout version line, then (version 4 and up) the
// CookieFormat message in protobuf text format, one `field: "escaped string"` line per field in
// field-number order; version 3 had four plain lines. Directory lists: the journal dirs joined by
// ',', the ledger (and index) dirs as `<count>\t<dir>\t<dir>...`.
import { BookieError } from './bookie-error.js';

/** The layout version Java writes (Cookie.CURRENT_COOKIE_LAYOUT_VERSION). */
export const COOKIE_LAYOUT_VERSION = 5;

export interface Cookie {
  readonly layoutVersion: number;
  readonly bookieHost: string;
  readonly journalDirs: string;
  readonly ledgerDirs: string;
  readonly instanceId?: string;
  readonly indexDirs?: string;
}

/** CookieFormat's fields in field-number order (DataFormats.proto). */
const FIELDS = ['bookieHost', 'journalDir', 'ledgerDirs', 'instanceId', 'indexDirs'] as const;

/** The cookie Java builds from a bookie's configuration (Cookie.generateCookie + instance id). */
export function cookieFor(bookieId: string, journalDir: string, ledgerDirs: readonly string[], instanceId: string | undefined): Cookie {
  return {
    layoutVersion: COOKIE_LAYOUT_VERSION,
    bookieHost: bookieId,
    journalDirs: journalDir,
    ledgerDirs: [String(ledgerDirs.length), ...ledgerDirs].join('\t'),
    ...(instanceId === undefined ? {} : { instanceId }),
  };
}

const SIMPLE_ESCAPES: Record<number, string> = {
  0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v', 0x5c: '\\\\', 0x27: "\\'", 0x22: '\\"',
};

/** Protobuf text-format string escaping of the UTF-8 bytes: C escapes, octal for the rest. */
function escape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const simple = SIMPLE_ESCAPES[byte];
    if (simple !== undefined) out += simple;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}

const UNESCAPE: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63 };

/** The bytes of a quoted text-format string body (quotes stripped), as UTF-8 text. */
function unescape(body: string, where: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body[++i] ?? '';
    const octal = /^[0-7]{1,3}/.exec(body.slice(i));
    const hex = /^x([0-9a-fA-F]{1,2})/.exec(body.slice(i));
    if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += octal[0].length - 1;
    } else if (hex) {
      bytes.push(parseInt(hex[1] as string, 16));
      i += hex[0].length - 1;
    } else if (UNESCAPE[next] !== undefined) {
      bytes.push(UNESCAPE[next]);
    } else {
      throw corrupt(where, `unknown escape \\${next}`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function corrupt(where: string, reason: string): BookieError {
  return new BookieError('BOOKIE_CORRUPT', `cookie ${where} cannot be parsed: ${reason}`);
}

/** The text Java writes for a cookie (always the current layout version). */
export function encodeCookie(c: Cookie): string {
  const values: Record<(typeof FIELDS)[number], string | undefined> = {
    bookieHost: c.bookieHost, journalDir: c.journalDirs, ledgerDirs: c.ledgerDirs, instanceId: c.instanceId, indexDirs: c.indexDirs,
  };
  let text = `${COOKIE_LAYOUT_VERSION}\n`;
  for (const field of FIELDS) {
    const value = values[field];
    if (value !== undefined) text += `${field}: "${escape(value)}"\n`;
  }
  return text;
}

/** Parses a cookie; `where` (file or znode) goes into the BOOKIE_CORRUPT error. */
export function parseCookie(text: string, where: string): Cookie {
  const lines = text.split('\n');
  const layoutVersion = Number((lines[0] ?? '').trim());
  if (!Number.isInteger(layoutVersion) || (lines[0] ?? '').trim() === '') throw corrupt(where, `bad layout version line ${JSON.stringify(lines[0])}`);
  if (layoutVersion === 3) {
    if (lines.length < 4) throw corrupt(where, 'a version 3 cookie has four lines');
    return { layoutVersion, bookieHost: lines[1] ?? '', journalDirs: lines[2] ?? '', ledgerDirs: lines[3] ?? '' };
  }
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const m = /^\s*(\w+)\s*:\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(line);
    if (!m) throw corrupt(where, `bad line ${JSON.stringify(line)}`);
    fields.set(m[1] as string, unescape(m[2] as string, where));
  }
  const required = (name: string): string => {
    const v = fields.get(name);
    if (v === undefined) throw corrupt(where, `no ${name}`);
    return v;
  };
  const instanceId = fields.get('instanceId');
  const indexDirs = fields.get('indexDirs');
  return {
    layoutVersion,
    bookieHost: required('bookieHost'),
    journalDirs: required('journalDir'),
    ledgerDirs: required('ledgerDirs'),
    ...(instanceId === undefined || instanceId === '' ? {} : { instanceId }),
    ...(indexDirs === undefined || indexDirs === '' ? {} : { indexDirs }),
  };
}

/**
 * Why `found` does not belong to the bookie described by `expected` (Java's Cookie.verify), or
 * undefined when it does. `checkHost` false skips the bookie id (one chosen by the OS per start).
 */
export function cookieMismatch(expected: Cookie, found: Cookie, checkHost = true): string | undefined {
  if (found.layoutVersion < 3) return `its layout version ${found.layoutVersion} is too old`;
  if (checkHost && found.bookieHost !== expected.bookieHost) return `it is bookie ${found.bookieHost}'s, this is ${expected.bookieHost}`;
  if (found.journalDirs !== expected.journalDirs) return `its journal dir is ${found.journalDirs}, this bookie's is ${expected.journalDirs}`;
  const dirs = (c: Cookie, of: 'ledgerDirs' | 'indexDirs'): string => (c[of] ?? c.ledgerDirs).split('\t').slice(1).join(', ');
  if (found.ledgerDirs !== expected.ledgerDirs) return `its ledger dirs are ${dirs(found, 'ledgerDirs')}, this bookie's are ${dirs(expected, 'ledgerDirs')}`;
  if ((found.indexDirs ?? found.ledgerDirs) !== (expected.indexDirs ?? expected.ledgerDirs)) return `its index dirs are ${dirs(found, 'indexDirs')}, this bookie's are ${dirs(expected, 'indexDirs')}`;
  if (found.instanceId !== expected.instanceId) {
    return `it belongs to the cluster with instance id ${found.instanceId ?? '(none)'}, this cluster's is ${expected.instanceId ?? '(none)'}`;
  }
  return undefined;
}
