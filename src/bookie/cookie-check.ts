// The start-up cookie check, after BookKeeper's LegacyCookieValidation: the cookie under
// `<ledgersRoot>/cookies/<bookieId>` and the one in each directory must match this bookie's id,
// directories and the cluster's INSTANCEID, or the bookie refuses to start (BOOKIE_COOKIE_MISMATCH):
// directories of another cluster, another bookie's directories, a moved directory, or a wiped
// directory of a bookie the cluster knows (its ledgers would count on entries it no longer has).
// A bookie without any cookie (new, or from before cookies) is stamped once it has bound its port.
// Two leniencies Java does not have: a bookie on an OS-chosen port (port 0, no bookieId) has no
// stable id, so its id is not compared and its cookies follow the port; and directory cookies that
// match in every field but have no metadata-store cookie (a start that stopped between writing
// them) get theirs re-created, with a warning.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MetadataError } from '../errors.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { joinPath } from '../metadata/path.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Logger } from '../util/logger.js';
import { BookieError } from './bookie-error.js';
import { BLOCK_BYTES, needingRoom } from './disk-full.js';
import { cookieFor, cookieMismatch, encodeCookie, parseCookie, type Cookie } from './cookie.js';

export interface CookieCheckOptions {
  readonly store: MetadataStore;
  readonly ledgersRoot: string;
  /** Real paths, as the bookie uses them. */
  readonly journalDir: string;
  readonly ledgerDirs: readonly string[];
  /** Undefined when the OS picks the port at bind time (port 0 without a bookieId). */
  readonly bookieId: string | undefined;
  readonly logger: Logger;
}

export interface CookieStamp {
  /** Writes the cookies that are missing or (OS-chosen id) out of date: directories first, then the store. */
  stamp(bookieId: string): Promise<void>;
}

const versionFile = (dir: string): string => path.join(dir, 'current', 'VERSION');

async function readDirCookie(dir: string): Promise<Cookie | undefined> {
  const file = versionFile(dir);
  try {
    return parseCookie(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readNode(store: MetadataStore, at: string): Promise<string | undefined> {
  try {
    return (await store.get(at)).data.toString('utf8');
  } catch (err) {
    if (err instanceof MetadataError && err.code === 'NO_NODE') return undefined;
    throw err;
  }
}

function mismatch(where: string, why: string, hint: string): BookieError {
  return new BookieError('BOOKIE_COOKIE_MISMATCH', `the cookie in ${where} is not this bookie's: ${why}; ${hint}`);
}

/** The cluster's instance id: the ledgers root must be formatted (registration.ts) first. */
export async function clusterInstanceId(store: MetadataStore, ledgersRoot: string): Promise<string | undefined> {
  return readNode(store, joinPath(ledgersRoot, 'INSTANCEID'));
}

/** Verifies every cookie there is, refusing a mismatch; resolves with what to write once bound. */
export async function checkCookies(o: CookieCheckOptions): Promise<CookieStamp> {
  const { store, ledgersRoot, journalDir, ledgerDirs, bookieId, logger } = o;
  const instanceId = await clusterInstanceId(store, ledgersRoot);
  const expected = (id: string): Cookie => cookieFor(id, journalDir, ledgerDirs, instanceId);
  const master = expected(bookieId ?? '');
  const checkHost = bookieId !== undefined;
  const dirs = [...new Set([journalDir, ...ledgerDirs])];
  const found = await Promise.all(dirs.map(readDirCookie));
  const cookiePath = (id: string): string => joinPath(ledgersRoot, `cookies/${id}`);

  const hint = 'start the bookie with the id and directories it was created with, in the cluster it was created in '
    + '(use empty directories for a new bookie)';
  for (const [i, cookie] of found.entries()) {
    const why = cookie === undefined ? undefined : cookieMismatch(master, cookie, checkHost);
    if (why !== undefined) throw mismatch(versionFile(dirs[i] ?? ''), why, hint);
  }
  const registeredText = bookieId === undefined ? undefined : await readNode(store, cookiePath(bookieId));
  const missing = dirs.filter((_, i) => found[i] === undefined);
  if (bookieId !== undefined && registeredText !== undefined) {
    const at = cookiePath(bookieId);
    const why = cookieMismatch(master, parseCookie(registeredText, at));
    if (why !== undefined) throw mismatch(at, why, hint);
    if (missing.length > 0) {
      throw new BookieError('BOOKIE_COOKIE_MISMATCH', `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no cookie while the cluster has one for bookie ${bookieId} (${at}): `
        + 'the directory was wiped or replaced, and the bookie must not rejoin without the entries its ledgers count on; '
        + 'give it its old directories, or decommission it and start it under a new id');
    }
  } else if (bookieId !== undefined && missing.length < dirs.length) {
    logger.warn({ cookie: cookiePath(bookieId) }, 'the directories have matching cookies but the metadata store has none: re-creating it');
  }

  return {
    stamp: async (id) => {
      const cookie = expected(id);
      const text = encodeCookie(cookie);
      for (const [i, dir] of dirs.entries()) {
        const have = found[i];
        if (have !== undefined && encodeCookie(have) === text) continue;
        await needingRoom(dir, 'its cookie current/VERSION', 2 * BLOCK_BYTES, async () => {
          await mkdir(path.join(dir, 'current'), { recursive: true, mode: 0o700 });
          await writeFileAtomic(path.join(dir, 'current'), 'VERSION', Buffer.from(text));
        });
      }
      const at = cookiePath(id);
      const registered = await readNode(store, at);
      if (registered === text) return;
      if (registered === undefined) await store.create(at, Buffer.from(text), { createParents: true });
      else await store.set(at, Buffer.from(text));
      logger.info({ cookie: at, instanceId: cookie.instanceId }, 'bookie cookie written');
    },
  };
}
