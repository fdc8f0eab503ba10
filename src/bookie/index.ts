// `distributedlog/bookie`: the storage node, for `dlog bookie` and programs that run their own.
export { startBookie } from './bookie.js';
export type { Bookie, BookieOptions } from './bookie.js';
export { BookieError } from './bookie-error.js';
export type { BookieErrorCode } from './bookie-error.js';
export { JournalError } from './journal-error.js';
export type { JournalErrorCode } from './journal-error.js';
export { StorageError } from './storage-error.js';
export type { StorageErrorCode } from './storage-error.js';
export type { BookieInfo } from './bookie.js';
export type { BookieTlsOptions } from './connection-security.js';
export type { TokenAuthOptions } from '../protocol/auth-plugins.js';
