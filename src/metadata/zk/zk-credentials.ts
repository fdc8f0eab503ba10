// Wrong ZooKeeper digest credentials, found at open rather than at the first write: ZooKeeper's
// digest scheme accepts any user:password when a session adds it, and only the ACL check of a
// later change refuses it (NO_AUTH). A node's ACL is readable by anyone, and a digest ACL id is
// `user:base64(sha1("user:password"))`, so a session can tell whether its credentials are among
// the ones allowed to change a node.
import { createHash } from 'node:crypto';

/** ZooKeeper's permission bits that change a node or its children (WRITE, CREATE, DELETE). */
const CHANGE = 2 | 4 | 8;

export interface AclEntry {
  readonly permission: number;
  readonly id: { readonly scheme: string; readonly id: string };
}

/** The digest ACL id of `user:password`, as ZooKeeper's DigestAuthenticationProvider computes it. */
export function digestId(auth: string): string {
  const user = auth.slice(0, auth.indexOf(':'));
  return `${user}:${createHash('sha1').update(auth).digest('base64')}`;
}

/**
 * Why `auth` cannot change a node with these ACLs, or undefined when it can or when we cannot
 * tell: a world or ip/sasl/x509 entry that may grant changes, or no digest entry at all.
 */
export function credentialProblem(acls: readonly AclEntry[], auth: string, path: string): string | undefined {
  const changers = acls.filter((a) => (a.permission & CHANGE) !== 0);
  if (changers.length === 0 || changers.some((a) => a.id.scheme !== 'digest')) return undefined;
  const ours = digestId(auth);
  if (changers.some((a) => a.id.id === ours)) return undefined;
  const user = auth.slice(0, auth.indexOf(':'));
  const allowed = [...new Set(changers.map((a) => a.id.id.slice(0, a.id.id.indexOf(':'))))].join(', ');
  const sameUser = allowed.split(', ').includes(user);
  return `ZooKeeper credentials for user '${user}' cannot change ${path}: `
    + (sameUser ? `the password does not match the one its ACL was made with` : `its ACL allows changes by digest user(s) ${allowed} only`)
    + ' (check zkAuth / --zk-auth)';
}
