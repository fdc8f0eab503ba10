// The key a writer proves ownership of a ledger with: sent with every add, fencing read and
// WRITE_LAC. Bookies bind a ledger to the first key they see and refuse others with EUA.
import { createHash } from 'node:crypto';

/** BookKeeper's MASTER_KEY_LENGTH: the size of a SHA-1 hash. */
export const MASTER_KEY_LENGTH = 20;

const MASTER_KEY_PREFIX = Buffer.from('ledger', 'latin1');

/** SHA1("ledger" || password), whatever the digest type; an empty password gives SHA1("ledger"). */
export function masterKey(password: Uint8Array): Buffer {
  return createHash('sha1').update(MASTER_KEY_PREFIX).update(password).digest();
}
