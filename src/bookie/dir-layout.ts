// Which directories belong to one bookie, and in which order (BookKeeper's cookie, kept on disk
// only). Ledgers are spread over the ledger dirs by `ledgerId mod count`, so a ledger is found
// again only if the list has the same length and order on every start. Each dir carries a stamp:
//   <journal dir>/journal-dir.json   {"version":1,"instanceId":"…"}
//   <ledger dir i>/ledger-dir.json   {"version":1,"instanceId":"…","index":i,"count":n}
// A start whose list does not match the stamps is refused with BOOKIE_DIRS_CHANGED, before
// anything is written. A bookie from before the stamps (one ledger dir, no stamp) is stamped on its
// first start with an unchanged layout. The journal stamp is written first, so a crash between
// stamps leaves only ledger dirs without a stamp, which are completed if they hold no data.
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readJsonFile } from '../util/json-file.js';
import { BookieError } from './bookie-error.js';
import { BLOCK_BYTES, needingRoom } from './disk-full.js';

export const JOURNAL_STAMP = 'journal-dir.json';
export const LEDGER_STAMP = 'ledger-dir.json';
const VERSION = 1;

interface Stamp {
  readonly instanceId: string;
  readonly index?: number;
  readonly count?: number;
}

function changed(message: string): BookieError {
  return new BookieError('BOOKIE_DIRS_CHANGED', `${message}; start the bookie with the directory list it was created with`);
}

async function readStamp(dir: string, name: string): Promise<Stamp | undefined> {
  const file = path.join(dir, name);
  const parsed = await readJsonFile(file, (message, cause) => new BookieError('BOOKIE_CORRUPT', `directory stamp ${message}`, { cause }));
  if (parsed === undefined) return undefined;
  const s = parsed as { version?: unknown; instanceId?: unknown; index?: unknown; count?: unknown };
  if (s.version !== VERSION || typeof s.instanceId !== 'string') {
    throw new BookieError('BOOKIE_CORRUPT', `directory stamp ${file} has an unknown format`);
  }
  return { instanceId: s.instanceId, ...(typeof s.index === 'number' ? { index: s.index } : {}), ...(typeof s.count === 'number' ? { count: s.count } : {}) };
}

async function writeStamp(dir: string, name: string, stamp: Stamp): Promise<void> {
  await needingRoom(dir, `its directory stamp ${name}`, BLOCK_BYTES,
    () => writeFileAtomic(dir, name, Buffer.from(`${JSON.stringify({ version: VERSION, ...stamp })}\n`)));
}

/** Ledger storage creates `index/` on its first open: a dir without it has never held ledgers. */
async function holdsLedgers(dir: string): Promise<boolean> {
  try {
    await stat(path.join(dir, 'index'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Checks the dirs against their stamps, writes missing stamps, or throws BOOKIE_DIRS_CHANGED.
 * `ledgerDirs` are distinct real paths in the configured order; the journal dir may be one of them.
 */
export async function checkDirLayout(journalDir: string, ledgerDirs: readonly string[]): Promise<void> {
  const count = ledgerDirs.length;
  const journal = await readStamp(journalDir, JOURNAL_STAMP);
  const ledgers = await Promise.all(ledgerDirs.map((d) => readStamp(d, LEDGER_STAMP)));
  const instanceId = journal?.instanceId ?? ledgers.find((s) => s !== undefined)?.instanceId;

  if (instanceId === undefined) {
    // unstamped: new, or from before stamps, which always had exactly one ledger dir
    if (count > 1) {
      const used = (await Promise.all(ledgerDirs.map(holdsLedgers))).flatMap((has, i) => (has ? [ledgerDirs[i]] : []));
      if (used.length > 0) throw changed(`ledger dir ${used.join(', ')} holds ledgers of a single-dir bookie, which cannot be spread over ${count} dirs`);
    }
  } else {
    if (journal === undefined) throw changed(`journal dir ${journalDir} is not this bookie's journal (no ${JOURNAL_STAMP}, while the ledger dirs have stamps)`);
    for (const [i, s] of ledgers.entries()) {
      const dir = ledgerDirs[i] ?? '';
      if (s === undefined) {
        if (await holdsLedgers(dir)) throw changed(`ledger dir ${dir} holds ledgers but no ${LEDGER_STAMP}`);
        continue;
      }
      if (s.instanceId !== instanceId) throw changed(`ledger dir ${dir} belongs to another bookie (instance ${s.instanceId}, journal ${journalDir} has ${instanceId})`);
      if (s.count !== count || s.index !== i) {
        throw changed(`ledger dir ${dir} was dir ${(s.index ?? 0) + 1} of ${s.count ?? 1}, now it is dir ${i + 1} of ${count}`);
      }
    }
  }
  const id = instanceId ?? randomUUID();
  if (journal === undefined) await writeStamp(journalDir, JOURNAL_STAMP, { instanceId: id });
  for (const [i, s] of ledgers.entries()) {
    if (s === undefined) await writeStamp(ledgerDirs[i] ?? '', LEDGER_STAMP, { instanceId: id, index: i, count });
  }
}
