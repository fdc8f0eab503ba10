// DLSNs on the command line: accepted as DL's base64 string or as the readable `(lssn,entry,slot)`,
// and printed in the readable form (which the commands accept back).
import { InvalidArgumentError } from '../errors.js';
import { DLSN } from '../log/format/dlsn.js';

const TUPLE = /^\(?\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)?$/;

/** `(1,0,0)`, `1,0,0` or base64 like `AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==`; InvalidArgumentError otherwise. */
export function parseDlsnArgument(text: string): DLSN {
  const tuple = TUPLE.exec(text);
  if (tuple !== null) {
    const [, lssn = '', entry = '', slot = ''] = tuple;
    return new DLSN(BigInt(lssn), BigInt(entry), BigInt(slot));
  }
  try {
    return DLSN.deserialize(text);
  } catch {
    throw new InvalidArgumentError(`invalid DLSN ${JSON.stringify(text)}: expected (lssn,entry,slot) or DL's base64 form`);
  }
}

export function formatDlsn(dlsn: DLSN): string {
  return `(${dlsn.logSegmentSequenceNo},${dlsn.entryId},${dlsn.slotId})`;
}
