// Opening a ledger with recovery (bookkeeper.md §7.5): mark it IN_RECOVERY, fence the last ensemble
// until every write quorum is covered (the old writer can then never gather an ack quorum again),
// read forward from the highest LAC reported until W-A+1 bookies say an entry does not exist,
// re-add what was found with RECOVERY_ADD, and close the ledger at the last entry recovered.
// Concurrent recoveries agree: they read the same fenced data; the first close wins and the
// others find the same CLOSED values.
import type { Digest } from '../protocol/digest.js';
import { decodeEntry, type Entry } from '../protocol/bk-entry-envelope.js';
import type { LedgerMetadata } from '../ledger-metadata/ledger-metadata-codec.js';
import { LedgerClientError } from './ledger-client-error.js';
import { LedgerWriter, type WriterContext } from './ledger-writer.js';
import { isCovered } from './quorum-coverage.js';
import { ensembleFor, writeSet } from './write-quorum.js';

export interface RecoveryInput {
  readonly ledgerId: bigint;
  readonly metadata: LedgerMetadata;
  readonly digest: Digest;
  readonly masterKey: Buffer;
  readonly ctx: WriterContext;
}

/** Fences the last ensemble; resolves with the highest LAC the fenced bookies report. */
async function fenceAndReadLac(input: RecoveryInput, metadata: LedgerMetadata): Promise<bigint> {
  const { ledgerId, masterKey, ctx } = input;
  const [firstOfLast = 0n, ensemble = []] = metadata.ensembles.at(-1) ?? [];
  const answered = ensemble.map(() => false);
  let lac = firstOfLast - 1n;
  await new Promise<void>((resolve, reject) => {
    let replies = 0;
    let settled = false;
    const check = (): void => {
      if (settled) return;
      if (isCovered(answered, metadata.writeQuorumSize, metadata.ackQuorumSize)) {
        settled = true;
        resolve();
      } else if (replies === ensemble.length) {
        settled = true;
        reject(new LedgerClientError('BOOKIE_ERROR', `could not fence enough bookies of ledger ${ledgerId} to recover it`));
      }
    };
    ensemble.forEach((bookieId, index) => {
      ctx.pool.get(bookieId).send({ op: 'READ_ENTRY', ledgerId, entryId: -1n, flag: 'FENCE_LEDGER', masterKey, priority: 100 }).then((r) => {
        replies++;
        if (r.op === 'READ_ENTRY' && r.status === 'EUA') {
          settled = true;
          reject(new LedgerClientError('UNAUTHORIZED', `bookie ${bookieId} refused the password of ledger ${ledgerId}`));
          return;
        }
        if (r.op === 'READ_ENTRY' && (r.status === 'EOK' || r.status === 'ENOENTRY' || r.status === 'ENOLEDGER')) {
          answered[index] = true;
          if (r.status === 'EOK' && r.body) {
            try {
              const entry = decodeEntry(input.digest, r.body, { ledgerId });
              if (entry.lastAddConfirmed > lac) lac = entry.lastAddConfirmed;
            } catch {
              answered[index] = false; // a damaged envelope proves nothing about this bookie's data
            }
          }
        }
        check();
      }, () => { replies++; check(); });
    });
  });
  return lac;
}

/** The entry, or undefined once W-A+1 replicas say it does not exist (the end of the ledger). */
function recoveryRead(input: RecoveryInput, metadata: LedgerMetadata, entryId: bigint): Promise<Entry | undefined> {
  const { ledgerId, masterKey, ctx } = input;
  const ensemble = ensembleFor(metadata.ensembles, entryId);
  const replicas = writeSet(entryId, metadata.ensembleSize, metadata.writeQuorumSize).map((i) => ensemble[i] ?? '');
  const missingQuorum = metadata.writeQuorumSize - metadata.ackQuorumSize + 1;
  return new Promise((resolve, reject) => {
    let missing = 0;
    let replies = 0;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    for (const bookieId of replicas) {
      ctx.pool.get(bookieId).send({ op: 'READ_ENTRY', ledgerId, entryId, flag: 'FENCE_LEDGER', masterKey, priority: 100 }).then((r) => {
        replies++;
        if (r.op === 'READ_ENTRY' && r.status === 'EOK' && r.body) {
          try {
            const entry = decodeEntry(input.digest, r.body, { ledgerId, entryId });
            settle(() => { resolve(entry); });
            return;
          } catch {
            // damaged on this replica: another may hold it intact
          }
        } else if (r.op === 'READ_ENTRY' && (r.status === 'ENOENTRY' || r.status === 'ENOLEDGER')) {
          missing++;
        }
        if (missing >= missingQuorum) settle(() => { resolve(undefined); });
        else if (replies === replicas.length) {
          settle(() => { reject(new LedgerClientError('BOOKIE_ERROR', `recovery could not read entry ${entryId} of ledger ${ledgerId}`)); });
        }
      }, () => {
        replies++;
        if (replies === replicas.length) {
          settle(() => { reject(new LedgerClientError('BOOKIE_ERROR', `recovery could not read entry ${entryId} of ledger ${ledgerId}`)); });
        }
      });
    }
  });
}

/** Recovers and closes the ledger; resolves with its CLOSED metadata. */
export async function recoverLedger(input: RecoveryInput): Promise<LedgerMetadata> {
  const { ledgerId, ctx } = input;
  if (input.metadata.state === 'CLOSED') return input.metadata;
  const inRecovery = await ctx.updateMetadata(
    (m) => (m.state === 'CLOSED' ? new LedgerClientError('LEDGER_CLOSED', `ledger ${ledgerId} was closed meanwhile`) : undefined),
    (m) => ({ ...m, state: 'IN_RECOVERY' }),
  ).catch((err: unknown) => {
    if (err instanceof LedgerClientError && err.code === 'LEDGER_CLOSED') return undefined;
    throw err;
  });
  if (inRecovery === undefined) {
    // closed by its writer or another recovery while we started: nothing left to do
    return ctx.updateMetadata(() => undefined, (m) => m);
  }
  const lac = await fenceAndReadLac(input, inRecovery);
  // the length up to the LAC comes from the LAC entry's own envelope
  let length = 0n;
  if (lac >= 0n) {
    const atLac = await recoveryRead(input, inRecovery, lac);
    if (atLac === undefined) throw new LedgerClientError('BOOKIE_ERROR', `entry ${lac} of ledger ${ledgerId}, reported as confirmed, is missing`);
    length = atLac.length;
  }
  const writer = new LedgerWriter(ledgerId, inRecovery, input.digest, input.masterKey, ctx, { recovery: true, lastAddConfirmed: lac, length });
  // each re-add's failure is caught as it happens (the loop may still be reading), and every re-add
  // has settled before recovery returns or throws: none is left failing with nobody listening
  const adds: Promise<void>[] = [];
  let addFailure: { err: unknown } | undefined;
  try {
    for (let entryId = lac + 1n; addFailure === undefined; entryId++) {
      const entry = await recoveryRead(input, writer.metadata, entryId);
      if (entry === undefined) break;
      adds.push(writer.addEntry(entry.payload).then(() => undefined, (err: unknown) => { addFailure ??= { err }; }));
    }
  } finally {
    await Promise.all(adds);
    // a wait for a stalled bookie must not outlive the recovery and act on a finished writer
    writer.stop();
  }
  if (addFailure) throw addFailure.err;
  const lastEntryId = writer.lastAddConfirmed;
  const finalLength = writer.length;
  const ensembles = writer.metadata.ensembles;
  return ctx.updateMetadata(
    (m) => {
      if (m.state !== 'CLOSED') return undefined;
      return m.lastEntryId === lastEntryId && m.length === finalLength ? undefined
        : new LedgerClientError('METADATA_VERSION_CONFLICT', `ledger ${ledgerId} was closed by another recovery at ${m.lastEntryId}, this one found ${lastEntryId}`);
    },
    (m) => (m.state === 'CLOSED' ? m : { ...m, state: 'CLOSED', lastEntryId, length: finalLength, ensembles }),
  );
}
