// Znode names of log segments under <logRoot>/ledgers (BKLogWriteHandler, ZKLogSegmentFilters).
// Name version 1 (current): inprogress_%018d and logrecs_%018d keyed by LSSN. Legacy name version 0:
// inprogress_<firstTxId in hex> and logrecs_%018d_%018d (firstTxId, lastTxId); the filter also
// accepts logrecs_<startTx>_<endTx>_<lssn>_<ledgerId>_<regionId>.
import { InvalidArgumentError } from '../../errors.js';

export const INPROGRESS_PREFIX = 'inprogress';
export const COMPLETED_PREFIX = 'logrecs';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export type LogSegmentName =
  | { readonly kind: 'inprogress'; readonly lssn: bigint }
  | { readonly kind: 'completed'; readonly lssn: bigint }
  | { readonly kind: 'legacy-inprogress'; readonly firstTxId: bigint }
  | { readonly kind: 'legacy-completed'; readonly firstTxId: bigint; readonly lastTxId: bigint }
  | {
      readonly kind: 'legacy-completed-full';
      readonly firstTxId: bigint;
      readonly lastTxId: bigint;
      readonly lssn: bigint;
      readonly ledgerId: bigint;
      readonly regionId: bigint;
    };

/** Java's String.format("%018d", v): zero-padded to 18 characters, the sign counting as one. */
function pad18(v: bigint): string {
  if (v < INT64_MIN || v > INT64_MAX) throw new InvalidArgumentError(`${v} is not a signed 64-bit value`);
  return v < 0n ? `-${(-v).toString().padStart(17, '0')}` : v.toString().padStart(18, '0');
}

export function inprogressName(lssn: bigint): string {
  return `${INPROGRESS_PREFIX}_${pad18(lssn)}`;
}

export function completedName(lssn: bigint): string {
  return `${COMPLETED_PREFIX}_${pad18(lssn)}`;
}

export function legacyInprogressName(firstTxId: bigint): string {
  if (firstTxId < INT64_MIN || firstTxId > INT64_MAX) {
    throw new InvalidArgumentError(`${firstTxId} is not a signed 64-bit value`);
  }
  return `${INPROGRESS_PREFIX}_${firstTxId.toString(16)}`;
}

export function legacyCompletedName(firstTxId: bigint, lastTxId: bigint): string {
  return `${COMPLETED_PREFIX}_${pad18(firstTxId)}_${pad18(lastTxId)}`;
}

function long(text: string, radix: 10 | 16): bigint | undefined {
  const re = radix === 10 ? /^-?[0-9]+$/ : /^-?[0-9a-f]+$/;
  if (!re.test(text)) return undefined;
  const neg = text.startsWith('-');
  const abs = BigInt(radix === 10 ? text.slice(neg ? 1 : 0) : `0x${text.slice(neg ? 1 : 0)}`);
  const v = neg ? -abs : abs;
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/**
 * Classifies a child of /ledgers; undefined for anything that is not a segment name. A name-version-1
 * in-progress suffix always has at least 18 decimal digits, while an unpadded hex long has at most 16,
 * so the two in-progress forms cannot be confused.
 */
export function parseLogSegmentName(name: string): LogSegmentName | undefined {
  const parts = name.split('_');
  const [prefix, a, b, c, d, e] = parts;
  if (a === undefined) return undefined;
  if (prefix === INPROGRESS_PREFIX && parts.length === 2) {
    if (/^[0-9]{18,}$/.test(a)) {
      const lssn = long(a, 10);
      return lssn === undefined ? undefined : { kind: 'inprogress', lssn };
    }
    const firstTxId = a.replace(/^-/, '').length <= 16 ? long(a, 16) : undefined;
    return firstTxId === undefined ? undefined : { kind: 'legacy-inprogress', firstTxId };
  }
  if (prefix !== COMPLETED_PREFIX) return undefined;
  if (parts.length === 2) {
    const lssn = long(a, 10);
    return lssn === undefined ? undefined : { kind: 'completed', lssn };
  }
  const firstTxId = long(a, 10);
  const lastTxId = b === undefined ? undefined : long(b, 10);
  if (firstTxId === undefined || lastTxId === undefined) return undefined;
  if (parts.length === 3) return { kind: 'legacy-completed', firstTxId, lastTxId };
  if (parts.length !== 6 || c === undefined || d === undefined || e === undefined) return undefined;
  const lssn = long(c, 10);
  const ledgerId = long(d, 10);
  const regionId = long(e, 10);
  if (lssn === undefined || ledgerId === undefined || regionId === undefined) return undefined;
  return { kind: 'legacy-completed-full', firstTxId, lastTxId, lssn, ledgerId, regionId };
}
