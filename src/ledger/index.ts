// `distributedlog/ledger`: the BookKeeper ledger client (create, write, open with recovery, read).
export { LedgerClient } from './ledger-client.js';
export type { CreateLedgerOptions, LedgerClientOptions, OpenLedgerOptions } from './ledger-client.js';
export type { LedgerHandle } from './ledger-handle.js';
export type { BookieConnections, BookieTransport } from './bookie-transport.js';
export { LedgerClientError } from './ledger-client-error.js';
export type { LedgerClientErrorCode } from './ledger-client-error.js';
export { BookieClientError } from './bookie-client-error.js';
export type { BookieClientErrorCode } from './bookie-client-error.js';
export type { LedgerMetadata, LedgerState } from '../ledger-metadata/ledger-metadata-codec.js';
export type { DigestType } from '../protocol/digest.js';
export type { Entry } from '../protocol/bk-entry-envelope.js';
export { WireError } from '../protocol/wire-error.js';
export type { WireErrorCode } from '../protocol/wire-error.js';
export type { ClientTlsOptions } from './connection-setup.js';
export type { TokenAuthOptions } from '../protocol/auth-plugins.js';
export { ENSEMBLE_CHANGE_CHANNEL, FENCED_CHANNEL } from './ledger-metrics.js';
