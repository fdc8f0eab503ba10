// Log name validation (DLUtils.validateAndNormalizeName). A leading '/' is stripped; names may be
// hierarchical (a/b/c) and follow ZooKeeper's path rules (PathUtils.validatePath); '<', '>' and
// spaces are rejected too, and names starting with '.' or '<' are reserved for the namespace.
import { InvalidArgumentError } from '../../errors.js';

/** Characters ZooKeeper refuses in a path, plus DL's own '<', '>' and space. */
function badCharacter(c: number): string | undefined {
  if (c === 0) return 'a null character';
  if (c === 0x3c || c === 0x3e) return `'${String.fromCharCode(c)}'`;
  if (c === 0x20) return 'a space';
  if ((c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) {
    return `the invalid character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

/** Returns the normalized name (no leading '/'), or throws InvalidArgumentError saying why. */
export function validateLogName(name: string): string {
  const invalid = (why: string): InvalidArgumentError =>
    new InvalidArgumentError(`invalid log name ${JSON.stringify(name)}: ${why}`);
  const normalized = name.startsWith('/') ? name.slice(1) : name;
  if (normalized.length === 0) throw invalid('it is empty');
  if (normalized.startsWith('.') || normalized.startsWith('<')) {
    throw invalid(`names starting with '.' or '<' are reserved`);
  }
  for (let i = 0; i < normalized.length; i++) {
    const why = badCharacter(normalized.charCodeAt(i));
    if (why !== undefined) throw invalid(`${why} at index ${i}`);
  }
  if (normalized.endsWith('/')) throw invalid(`it ends with '/'`);
  for (const component of normalized.split('/')) {
    if (component === '') throw invalid(`it contains an empty component ('//')`);
    if (component === '.' || component === '..') throw invalid(`it contains a '${component}' component`);
  }
  return normalized;
}
