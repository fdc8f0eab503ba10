// Names of ownership-lock member znodes, byte-compatible with DL's ZKSessionLock:
// `member_<URLEncoder.encode(clientId)>_s<String.format("%10d", sessionId)>_<10-digit sequence>`.

/** Who holds a member node: the lock id (client id, ZooKeeper session id). */
export interface LockId {
  readonly clientId: string;
  readonly sessionId: bigint;
}

const UNRESERVED = /[A-Za-z0-9.*_-]/;

/** java.net.URLEncoder.encode(s, "UTF-8"): form encoding, space as '+', '*' '.' '-' '_' kept. */
export function javaUrlEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    if (UNRESERVED.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** java.net.URLDecoder.decode(s, "UTF-8"); undefined when the escapes are malformed. */
export function javaUrlDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Java's `%10d` of a signed long: right-aligned, space-padded to 10; longer numbers print in full. */
export function formatSessionId(sessionId: bigint): string {
  return BigInt.asIntN(64, sessionId).toString().padStart(10, ' ');
}

/** The member node's name before ZooKeeper appends the sequence: `member_<client>_s<session>_`. */
export function memberPrefix(clientId: string, sessionId: bigint): string {
  return `member_${javaUrlEncode(clientId)}_s${formatSessionId(sessionId)}_`;
}

/** The sequence suffix (ZKSessionLock.parseMemberID); unparsable names sort last. */
export function memberSequence(name: string): number {
  const last = name.slice(name.lastIndexOf('_') + 1);
  return /^-?\d+$/.test(last) ? Number(last) : Number.MAX_SAFE_INTEGER;
}

/** Members in lock order: by sequence suffix, then by name. */
export function sortMembers(names: readonly string[]): string[] {
  return [...names].sort((a, b) => memberSequence(a) - memberSequence(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The lock id encoded in a member name (4 '_'-separated parts, the 3rd `s<session>`), or undefined
 * when the name does not carry one (then read the node's data and ephemeralOwner).
 */
export function parseMemberName(name: string): LockId | undefined {
  const parts = name.split('_');
  if (parts.length !== 4 || parts[2]?.startsWith('s') !== true) return undefined;
  const session = parts[2].slice(1).trim();
  if (!/^-?\d+$/.test(session)) return undefined;
  const clientId = javaUrlDecode(parts[1] ?? '');
  if (clientId === undefined) return undefined;
  return { clientId, sessionId: BigInt.asIntN(64, BigInt(session)) };
}
