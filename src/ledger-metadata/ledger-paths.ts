// Where BookKeeper keeps ledgers in ZooKeeper (default root /ledgers), and how ledger ids are drawn
// from sequential znodes. Layouts follow BookKeeper's StringUtils:
//   hierarchical (hybrid): id < 2^31-1 -> %010d split 2/4/4   12345      -> /ledgers/00/0001/L2345
//                          otherwise   -> the long form below
//   long-hierarchical:     always %019d split 3/4/4/4/4       2147483653 -> /ledgers/000/0000/0021/4748/L3653
// Ids: EPHEMERAL_SEQUENTIAL <root>/idgen/ID- gives the id as its 10-digit suffix while it is below
// 2^31-1; past that, <root>/idgen-long/HOB-<hi %010d>/ID- gives id = hi << 32 | lo.
import { InvalidArgumentError } from '../errors.js';

export type LedgerLayout = 'hierarchical' | 'long-hierarchical';

/** Java's Integer.MAX_VALUE: the first id (and sequence) that no longer takes the short form. */
const INT_MAX = 0x7fffffffn;
const LONG_MAX = (1n << 63n) - 1n;

export const IDGEN_NODE = 'idgen';
export const IDGEN_LONG_NODE = 'idgen-long';
const ID_PREFIX = 'ID-';
const HOB_PREFIX = 'HOB-';

/** Children of the ledgers root that are not ledger directories. */
const RESERVED_CHILDREN: ReadonlySet<string> = new Set([
  'available',
  'cookies',
  'LAYOUT',
  'INSTANCEID',
  'underreplication',
  IDGEN_NODE,
  IDGEN_LONG_NODE,
]);

export function ledgerPath(root: string, ledgerId: bigint, layout: LedgerLayout = 'hierarchical'): string {
  if (ledgerId < 0n || ledgerId > LONG_MAX) throw new InvalidArgumentError(`ledger id ${ledgerId} is out of range`);
  const base = root === '/' ? '' : root;
  if (layout === 'hierarchical' && ledgerId < INT_MAX) {
    const s = ledgerId.toString().padStart(10, '0');
    return `${base}/${s.slice(0, 2)}/${s.slice(2, 6)}/L${s.slice(6)}`;
  }
  const s = ledgerId.toString().padStart(19, '0');
  return `${base}/${s.slice(0, 3)}/${s.slice(3, 7)}/${s.slice(7, 11)}/${s.slice(11, 15)}/L${s.slice(15)}`;
}

/** The ledger id of a ledger znode path in either form, or undefined if `path` is not one. */
export function ledgerIdFromPath(root: string, path: string): bigint | undefined {
  const prefix = root === '/' ? '/' : `${root}/`;
  if (!path.startsWith(prefix)) return undefined;
  const parts = path.slice(prefix.length).split('/');
  const widths = parts.length === 3 ? [2, 4, 4] : parts.length === 5 ? [3, 4, 4, 4, 4] : undefined;
  if (widths === undefined) return undefined;
  const last = parts.length - 1;
  let digits = '';
  for (const [i, part] of parts.entries()) {
    const text = i === last ? (part.startsWith('L') ? part.slice(1) : '') : part;
    if (text.length !== widths[i] || !/^\d+$/.test(text)) return undefined;
    digits += text;
  }
  return BigInt(digits);
}

/** Whether a child of the ledgers root is one of BookKeeper's service znodes rather than a ledger directory. */
export function isReservedLedgerRootChild(name: string): boolean {
  return RESERVED_CHILDREN.has(name) || name.startsWith(ID_PREFIX);
}

/** The path to create EPHEMERAL_SEQUENTIAL for a short (31-bit) ledger id. */
export function idGenPath(root: string): string {
  return `${root === '/' ? '' : root}/${IDGEN_NODE}/${ID_PREFIX}`;
}

/** The path to create EPHEMERAL_SEQUENTIAL for the low bits of a long ledger id under high-order bits `hob`. */
export function longIdGenPath(root: string, hob: number): string {
  return `${hobPath(root, hob)}/${ID_PREFIX}`;
}

export function hobPath(root: string, hob: number): string {
  return `${root === '/' ? '' : root}/${IDGEN_LONG_NODE}/${HOB_PREFIX}${hob.toString().padStart(10, '0')}`;
}

/** The high-order bits a child of idgen-long stands for, or undefined if it is not a HOB-<n> node. */
export function parseHob(name: string): number | undefined {
  const match = /^HOB-(\d{10})$/.exec(name);
  if (match?.[1] === undefined) return undefined;
  const hob = Number(match[1]);
  return hob <= 0x7fffffff ? hob : undefined;
}

/**
 * The ledger id a created idgen node stands for: its sequence number, or undefined once the
 * sequence has reached 2^31-1 (or wrapped negative), when the generator must switch to idgen-long.
 */
export function shortLedgerId(createdPath: string): bigint | undefined {
  return validLowBits(sequenceOf(createdPath));
}

/** hob << 32 | sequence for a node created under HOB-<hob>; undefined once that sequence overflowed. */
export function longLedgerId(hob: number, createdPath: string): bigint | undefined {
  const low = validLowBits(sequenceOf(createdPath));
  return low === undefined ? undefined : (BigInt(hob) << 32n) | low;
}

function validLowBits(sequence: bigint): bigint | undefined {
  return sequence >= 0n && sequence < INT_MAX ? sequence : undefined;
}

/** ZooKeeper appends a signed 32-bit counter as %010d ("-000000005" after it wraps). */
function sequenceOf(createdPath: string): bigint {
  const name = createdPath.slice(createdPath.lastIndexOf('/') + 1);
  const match = /^ID-(-?\d{1,10})$/.exec(name);
  if (match?.[1] === undefined) throw new InvalidArgumentError(`${createdPath} is not a sequential ID- node`);
  return BigInt(match[1]);
}
