import { MetadataError } from '../errors.js';

/** Rejects anything ZooKeeper would reject as a path, with BAD_ARGUMENTS. */
/** Paths made only of these characters need no per-segment check ('.' is excluded, so no '.' or '..'). */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_\-:@=+,]+)+$/;

export function validatePath(path: string): void {
  if (PLAIN_PATH.test(path)) return;
  const bad = (why: string): never => {
    throw new MetadataError('BAD_ARGUMENTS', `invalid path ${JSON.stringify(path)}: ${why}`, { path });
  };
  if (typeof path !== 'string' || path.length === 0) bad('empty');
  if (!path.startsWith('/')) bad('must start with /');
  if (path === '/') return;
  if (path.endsWith('/')) bad('must not end with /');
  for (const part of path.slice(1).split('/')) {
    if (part.length === 0) bad('empty segment');
    if (part === '.' || part === '..') bad('relative segment');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(part)) bad('invalid character');
  }
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

/** The suffix ZooKeeper appends to sequential nodes: the counter, zero-padded to 10 digits. */
export function sequentialSuffix(counter: number): string {
  return String(counter).padStart(10, '0');
}
