// Property tests of the decoders of received and stored bytes: valid inputs, mutated at random
// (bytes flipped, cut short, extended, spliced), must decode or throw a typed DLogError, never a
// TypeError, RangeError or a hang. Seeded: a failure names the seed and case to replay. Sizes are
// CI-sized (the bookie protocol gets 100k mutated frames).
import { expect } from 'chai';
import { DLogError } from '../../src/errors.js';
import { decodeLedgerMetadata } from '../../src/ledger-metadata/ledger-metadata-codec.js';
import { DLSN } from '../../src/log/format/dlsn.js';
import { decodeEnvelopedEntry, encodeEnvelopedEntry } from '../../src/log/format/dl-entry-envelope.js';
import { EntryRecordWriter, readEntryRecords } from '../../src/log/format/entry-records.js';
import { userRecord } from '../../src/log/format/log-record.js';
import { decodeEntry, encodeEntry } from '../../src/protocol/bk-entry-envelope.js';
import { createDigest } from '../../src/protocol/digest.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/protocol-codec.js';
import { OPEN_LEDGER_ZNODE } from '../support/ledger-metadata-fixture.js';
import { mutator } from '../support/mutator.js';

const SEED = 15;

/** Runs `decode` over `count` mutations of the samples; any non-DLogError fails with its case. */
function fuzz(name: string, samples: readonly Buffer[], count: number, decode: (input: Buffer) => unknown): void {
  const mutate = mutator(SEED);
  for (let i = 0; i < count; i++) {
    const input = mutate(samples[i % samples.length] as Buffer);
    try {
      decode(input);
    } catch (err) {
      if (!(err instanceof DLogError)) {
        expect.fail(`${name}: case ${i} (seed ${SEED}) threw ${String(err)} for ${input.toString('hex')}`);
      }
    }
  }
}

describe('decoders under mutated input (property tests)', function () {
  this.timeout(60_000);
  const digest = createDigest('CRC32C', Buffer.from('pw'));

  it('bookie protocol requests and responses: 100k mutated frames, typed errors only', () => {
    const requests = [
      encodeRequest({ op: 'READ_ENTRY', ledgerId: 1n, entryId: 2n, txnId: 3n }),
      encodeRequest({ op: 'READ_ENTRY', ledgerId: 1n, entryId: -1n, txnId: 3n, flag: 'ENTRY_PIGGYBACK', previousLAC: 4n, timeOut: 1000n }),
      encodeRequest({ op: 'ADD_ENTRY', ledgerId: 1n, entryId: 2n, txnId: 3n, masterKey: Buffer.alloc(20, 1), body: encodeEntry(digest, { ledgerId: 1n, entryId: 2n, lastAddConfirmed: 1n, length: 10n }, Buffer.from('x')) }),
      encodeRequest({ op: 'READ_LAC', ledgerId: 1n, txnId: 3n }),
      encodeRequest({ op: 'WRITE_LAC', ledgerId: 1n, lac: 0n, masterKey: Buffer.alloc(20), body: Buffer.alloc(16), txnId: 9n }),
    ].map((frame) => frame.subarray(4)); // decodeRequest takes the payload after the length prefix
    fuzz('decodeRequest', requests, 100_000, decodeRequest);
    const responses = [
      encodeResponse({ op: 'READ_ENTRY', txnId: 3n, status: 'EOK', ledgerId: 1n, entryId: 2n, body: Buffer.from('entry bytes') }),
      encodeResponse({ op: 'ADD_ENTRY', txnId: 3n, status: 'EOK', ledgerId: 1n, entryId: 2n }),
    ].map((frame) => frame.subarray(4));
    fuzz('decodeResponse', responses, 20_000, decodeResponse);
    fuzz('FrameDecoder', [Buffer.concat(requests.map((r) => { const h = Buffer.alloc(4); h.writeInt32BE(r.length); return Buffer.concat([h, r]); }))], 20_000, (bytes) => {
      new FrameDecoder({ maxFrameSize: 1 << 16 }).push(bytes, () => undefined);
    });
  });

  it('BookKeeper entry envelopes, ledger metadata znodes, DLSNs: typed errors only', () => {
    const entries = [encodeEntry(digest, { ledgerId: 5n, entryId: 6n, lastAddConfirmed: 5n, length: 100n }, Buffer.from('payload'))];
    fuzz('decodeEntry', entries, 20_000, (b) => decodeEntry(digest, b, { ledgerId: 5n, entryId: 6n }));
    fuzz('decodeLedgerMetadata', [OPEN_LEDGER_ZNODE], 20_000, decodeLedgerMetadata);
    fuzz('DLSN.fromBytes', [new DLSN(3n, 4n, 5n).toBytes()], 10_000, (b) => DLSN.fromBytes(b));
    fuzz('DLSN.deserialize', [Buffer.from(new DLSN(3n, 4n, 5n).serialize())], 10_000, (b) => DLSN.deserialize(b.toString('latin1')));
  });

  it('DL enveloped entries and their records (none and lz4): typed errors only', () => {
    const writer = new EntryRecordWriter();
    for (let i = 0; i < 5; i++) writer.append(userRecord(BigInt(i), Buffer.from(`record ${i}`)));
    const records = writer.toBuffer();
    const entries = [encodeEnvelopedEntry(records, 'none'), encodeEnvelopedEntry(records, 'lz4')];
    fuzz('decodeEnvelopedEntry + readEntryRecords', entries, 20_000, (b) => {
      let n = 0;
      for (const r of readEntryRecords(decodeEnvelopedEntry(b))) n += r.payload.length;
      return n;
    });
  });
});
