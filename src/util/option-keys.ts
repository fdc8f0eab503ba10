// Unknown option keys are a user's typo (`maxEntrybytes`) or an option of another call
// (`openReader({ maxEntryBytes })`): silently ignoring them hides the mistake, so they are refused.
import { InvalidArgumentError } from '../errors.js';

/** Throws INVALID_ARGUMENT naming the first key of `options` that is not in `known`. */
export function checkOptionKeys(options: unknown, known: readonly string[], call: string): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`${call} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`unknown option ${JSON.stringify(key)} of ${call}; known: ${known.join(', ')}`);
    }
  }
}
