// Who may use a bookie connection: TLS (START_TLS, then a TLS handshake on the same socket, with
// an optional client-certificate role check like BookKeeper's BookieAuthZFactory) and the AUTH
// operation (shared-token plugin). A connection that has not passed what the bookie requires gets
// EUA for everything but START_TLS and AUTH.
import { timingSafeEqual, createHash } from 'node:crypto';
import tls from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import {
  AUTH_DISABLED_PLUGIN, checkTokenAuth, rolesFromOu, TOKEN_AUTH_PLUGIN, type TokenAuthOptions,
} from '../protocol/auth-plugins.js';
import type { AuthRequest, AuthResponse } from '../protocol/protocol-types.js';

export interface BookieTlsOptions {
  /** PEM certificate chain the bookie presents. */
  readonly cert: string | Buffer;
  /** PEM private key of `cert`. */
  readonly key: string | Buffer;
  /** PEM CA(s) client certificates must chain to; set it to require client certificates (mutual TLS). */
  readonly ca?: string | Buffer;
  /** Serve no add, read or other data request on a connection that did not start TLS. Default false. */
  readonly required?: boolean;
  /** Client certificates must carry one of these roles (subject OU `0:role,...`). Needs `ca`; implies `required`. */
  readonly allowedRoles?: readonly string[];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The bookie-wide part: certificates loaded once, the token hashed once. */
export class SecurityPolicy {
  /** For the bookie's TLS server; undefined without TLS. */
  readonly serverOptions: tls.TlsOptions | undefined;
  readonly #tls: BookieTlsOptions | undefined;
  readonly #token: Buffer | undefined;

  /** Throws InvalidArgumentError for an unusable key or certificate or an unknown plugin: nothing half-starts. */
  constructor(tlsOptions: BookieTlsOptions | undefined, auth: TokenAuthOptions | undefined) {
    if (tlsOptions !== undefined) {
      if (tlsOptions.allowedRoles !== undefined && tlsOptions.ca === undefined) {
        throw new InvalidArgumentError('tls.allowedRoles needs tls.ca: roles come from client certificates, which only a CA can vouch for');
      }
      const verify = tlsOptions.ca !== undefined;
      const pem = { cert: tlsOptions.cert, key: tlsOptions.key, ...(verify ? { ca: tlsOptions.ca } : {}) };
      try {
        // loads them now, so a bad file fails the start rather than the first handshake
        tls.createSecureContext(pem);
      } catch (err) {
        throw new InvalidArgumentError(`bookie TLS: unusable certificate or key: ${(err as Error).message}`, { cause: err });
      }
      this.serverOptions = { ...pem, requestCert: verify, rejectUnauthorized: verify };
    }
    if (auth !== undefined) {
      checkTokenAuth(auth);
      this.#token = digest(auth.token);
    }
    this.#tls = tlsOptions;
  }

  session(): ConnectionSecurity {
    return new ConnectionSecurity(this.#tls, this.#token);
  }
}

/** One connection's state. */
export class ConnectionSecurity {
  readonly #tls: BookieTlsOptions | undefined;
  readonly #token: Buffer | undefined;
  #secure = false;
  /** Why the TLS side refuses this connection, if it does. */
  #tlsRefusal: string | undefined;
  #authenticated: boolean;

  constructor(tlsOptions: BookieTlsOptions | undefined, token: Buffer | undefined) {
    this.#tls = tlsOptions;
    this.#token = token;
    this.#authenticated = token === undefined;
    // allowed roles imply TLS: a plaintext connection has no certificate to take roles from
    const required = tlsOptions?.required === true || tlsOptions?.allowedRoles !== undefined;
    this.#tlsRefusal = required ? 'this bookie requires TLS (START_TLS)' : undefined;
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** May this connection add, read and so on. */
  get authorized(): boolean {
    return this.#authenticated && this.#tlsRefusal === undefined;
  }

  /** Why not, for the AUTH answer and the log. */
  get refusal(): string | undefined {
    return this.#tlsRefusal ?? (this.#authenticated ? undefined : `this bookie requires authentication (${TOKEN_AUTH_PLUGIN})`);
  }

  /** After the TLS handshake: the role check on the client's certificate. */
  secured(socket: tls.TLSSocket): void {
    this.#secure = true;
    this.#tlsRefusal = undefined;
    const allowed = this.#tls?.allowedRoles;
    if (allowed === undefined) return;
    const subject = socket.getPeerCertificate().subject as Record<string, string | string[] | undefined> | undefined;
    const roles = rolesFromOu(subject?.OU);
    if (!roles.some((role) => allowed.includes(role))) {
      this.#tlsRefusal = `client certificate role(s) [${roles.join(', ')}] not among the allowed roles [${allowed.join(', ')}]`;
    }
  }

  /** Answers AUTH: EOK when the connection may proceed, EUA with the reason as payload otherwise. */
  auth(req: AuthRequest): AuthResponse {
    const name = this.#token === undefined ? AUTH_DISABLED_PLUGIN : TOKEN_AUTH_PLUGIN;
    if (this.#token !== undefined && req.authPluginName === TOKEN_AUTH_PLUGIN) {
      this.#authenticated = timingSafeEqual(digest(req.payload.toString('utf8')), this.#token);
      if (!this.#authenticated) return this.#refuse(req, name, 'wrong auth token');
    } else if (this.#token !== undefined) {
      return this.#refuse(req, name, `auth plugin '${req.authPluginName}' is not ${TOKEN_AUTH_PLUGIN}, the one this bookie requires`);
    }
    const refusal = this.refusal;
    if (refusal !== undefined) return this.#refuse(req, name, refusal);
    return { op: 'AUTH', txnId: req.txnId, status: 'EOK', authPluginName: name, payload: Buffer.alloc(0) };
  }

  #refuse(req: AuthRequest, name: string, reason: string): AuthResponse {
    return { op: 'AUTH', txnId: req.txnId, status: 'EUA', authPluginName: name, payload: Buffer.from(reason) };
  }
}
