// Ledger recovery's bookkeeping of its re-adds, against a scripted bookie pool (a fast unit test of
// the loop; the real recovery runs against bookie processes in the integration tests): a recovery
// read that fails mid-loop must not leave re-adds whose failure nobody awaits.
import { expect } from 'chai';
import { recoverLedger } from '../../src/ledger/ledger-recovery.js';
import type { BookiePool } from '../../src/ledger/bookie-pool.js';
import { LedgerClientError } from '../../src/ledger/ledger-client-error.js';
import type { OutgoingRequest } from '../../src/ledger/bookie-client.js';
import { createDigest } from '../../src/protocol/digest.js';
import { encodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import type { Response } from '../../src/protocol/protocol-types.js';
import { noopLogger } from '../../src/util/logger.js';
import { OPEN_LEDGER } from '../support/ledger-metadata-fixture.js';
import type { LedgerMetadata } from '../../src/ledger-metadata/ledger-metadata-codec.js';

const digest = createDigest('CRC32C', Buffer.from('pw'));
const LEDGER = 7n;

/** Entries 0..2 are readable, reading entry 3 fails on every bookie, adds are refused (EUA) a little later. */
function scriptedPool(): BookiePool {
  const answer = (request: OutgoingRequest): Promise<Response> => {
    const base = { txnId: 0n, ledgerId: LEDGER } as const;
    if (request.op === 'ADD_ENTRY') {
      return new Promise((resolve) => setTimeout(() => { resolve({ ...base, op: 'ADD_ENTRY', status: 'EUA', entryId: request.entryId }); }, 20));
    }
    if (request.op !== 'READ_ENTRY') return Promise.reject(new Error(`unexpected ${request.op}`));
    if (request.entryId === -1n) return Promise.resolve({ ...base, op: 'READ_ENTRY', status: 'ENOENTRY', entryId: -1n } as Response);
    if (request.entryId >= 3n) return new Promise((_, reject) => setTimeout(() => { reject(new Error('connection lost')); }, 40));
    const body = encodeEntry(digest, { ledgerId: LEDGER, entryId: request.entryId, lastAddConfirmed: -1n, length: 0n }, Buffer.from('x'));
    return Promise.resolve({ ...base, op: 'READ_ENTRY', status: 'EOK', entryId: request.entryId, body } as Response);
  };
  return { get: () => ({ send: answer }) } as unknown as BookiePool;
}

describe('ledger recovery', () => {
  it('a recovery read failing mid-loop rejects the recovery and leaves no unhandled re-add failure', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
    process.on('unhandledRejection', onUnhandled);
    try {
      let metadata: LedgerMetadata = OPEN_LEDGER;
      let thrown: unknown;
      await recoverLedger({
        ledgerId: LEDGER, metadata, digest, masterKey: Buffer.alloc(20),
        ctx: {
          pool: scriptedPool(),
          replaceBookie: () => { throw new LedgerClientError('NOT_ENOUGH_BOOKIES', 'none spare'); },
          recordBookieError: () => undefined,
          updateMetadata: (check, transform) => {
            const err = check(metadata);
            if (err) return Promise.reject(err);
            metadata = transform(metadata);
            return Promise.resolve(metadata);
          },
          logger: noopLogger,
        },
      }).catch((err: unknown) => { thrown = err; });
      expect(thrown).to.be.instanceOf(LedgerClientError);
      // every re-add has settled by now; one event-loop turn lets Node report any stray
      await new Promise((r) => setImmediate(r));
      expect(unhandled.map(String)).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
