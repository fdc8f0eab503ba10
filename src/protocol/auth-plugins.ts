// Names carried in the AUTH operation's authPluginName, and the certificate roles both sides of a
// TLS connection agree on. BookKeeper's bookie answers AUTH with AuthDisabledPlugin when it runs no
// plugin; our shared-token plugin has a name of its own so a Java bookie refuses it by name.
import { InvalidArgumentError } from '../errors.js';

export const AUTH_DISABLED_PLUGIN = 'AuthDisabledPlugin';
export const TOKEN_AUTH_PLUGIN = 'distributedlog-token';

/** The auth plugins a bookie or client can be configured with (`--auth-plugin`). */
export const AUTH_PLUGINS = ['token'] as const;
export type AuthPlugin = (typeof AUTH_PLUGINS)[number];

/** Shared-token authentication between clients and bookies. */
export interface TokenAuthOptions {
  readonly plugin: AuthPlugin;
  /** The shared secret; compared in constant time. */
  readonly token: string;
}

/** InvalidArgumentError for an unknown plugin or an empty token. */
export function checkTokenAuth(auth: TokenAuthOptions): void {
  if (!(AUTH_PLUGINS as readonly string[]).includes(auth.plugin)) {
    throw new InvalidArgumentError(`unknown auth plugin '${auth.plugin as string}' (known: ${AUTH_PLUGINS.join(', ')})`);
  }
  if (typeof auth.token !== 'string' || auth.token === '') throw new InvalidArgumentError('the auth token must be a non-empty string');
}

/**
 * Roles in a certificate subject's OU, as BookKeeper's CertUtils reads them: `0:role1,role2;1:cluster`
 * (code 0 lists the roles). An OU without codes yields nothing.
 */
export function rolesFromOu(ou: string | readonly string[] | undefined): string[] {
  const values = ou === undefined ? [] : typeof ou === 'string' ? [ou] : ou;
  const roles: string[] = [];
  for (const value of values) {
    for (const part of value.split(';')) {
      const sep = part.indexOf(':');
      if (sep < 0 || part.slice(0, sep).trim() !== '0') continue;
      for (const role of part.slice(sep + 1).split(',')) if (role.trim() !== '') roles.push(role.trim());
    }
  }
  return roles;
}
