// readLastRecord against real (in-process) bookies: segments written by LogSegmentWriter (ending
// with a control record, an EOS record or a record set), empty ledgers, and hand-made entries
// (non-enveloped, long runs of control records) to check the backward scan's read sizes.
import { expect } from 'chai';
import type { LedgerClient } from '../../src/ledger/ledger-client.js';
import type { LedgerHandle } from '../../src/ledger/ledger-handle.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeEnvelopedEntry } from '../../src/log/format/dl-entry-envelope.js';
import { readLastRecord } from '../../src/log/reader/last-record-scan.js';
import { controlRecord, encodeLogRecord, endOfStreamRecord, MAX_TXID, RecordFlags, userRecord } from '../../src/log/format/log-record.js';
import { LogRecordSetWriter } from '../../src/log/format/log-record-set.js';
import { newInProgressSegment, type LogSegmentMetadata, type LogSegmentMetadataVersion } from '../../src/log/metadata/log-segment-metadata.js';
import { LogSegmentWriter } from '../../src/log/writer/segment-writer.js';
import { startBookieCluster, type BookieCluster } from '../support/bookie-cluster.js';
import { appendRecord } from '../support/segment-append.js';
import { rejection } from '../support/rejection.js';

const LSSN = 3n;

describe('readLastRecord with real bookies', function () {
  this.timeout(60_000);
  let cluster: BookieCluster;
  let client: LedgerClient;

  const segmentOf = (ledger: LedgerHandle, version: LogSegmentMetadataVersion = 5): LogSegmentMetadata =>
    newInProgressSegment({ logSegmentId: ledger.id, firstTxId: 1n, logSegmentSequenceNo: LSSN, version });

  /** The ledger reopened read-only, as recovery or getLastLogRecord would see it. */
  const reopen = (ledger: LedgerHandle): Promise<LedgerHandle> => client.openLedger(ledger.id, { recover: false });

  /** Counts the entries of each readEntries call on `handle`. */
  const spyReads = (handle: LedgerHandle): Array<[bigint, bigint]> => {
    const reads: Array<[bigint, bigint]> = [];
    const read = handle.readEntries.bind(handle);
    handle.readEntries = (first, last) => {
      reads.push([first, last]);
      return read(first, last);
    };
    return reads;
  };

  before(async function () {
    cluster = await startBookieCluster(this, 'lastrecord');
    client = await cluster.client();
  });

  after(async () => {
    await cluster.close();
  });

  it('finds the last user record, or the trailing control record when asked', async () => {
    const ledger = await client.createLedger();
    const writer = new LogSegmentWriter(ledger, LSSN);
    const dlsns = [];
    for (let i = 0; i < 7; i++) dlsns.push(await appendRecord(writer, userRecord(BigInt(10 + i), Buffer.from(`r${i}`))));
    const done = await writer.close();
    const handle = await reopen(ledger);
    const segment = segmentOf(ledger);

    const user = await readLastRecord(handle, segment, { includeControl: false });
    expect(user).to.not.equal(undefined);
    expect(user!.dlsn.equals(dlsns[6]!)).to.equal(true);
    expect([user!.txid, user!.position, user!.flags]).to.deep.equal([16n, 7, 0]);
    expect([user!.entryId, user!.slotId]).to.deep.equal([dlsns[6]!.entryId, dlsns[6]!.slotId]);

    const any = await readLastRecord(handle, segment, { includeControl: true });
    // the writer follows data with a commit record: that is what recovery completes with
    expect(any!.flags).to.equal(RecordFlags.CONTROL);
    expect([any!.entryId, any!.slotId]).to.deep.equal([done.lastEntryId, done.lastSlotId]);
    expect(any!.dlsn.compare(user!.dlsn)).to.be.greaterThan(0);
    expect([any!.txid, any!.position]).to.deep.equal([16n, 7]);
  });

  it('skips EOS and control records unless asked', async () => {
    const ledger = await client.createLedger();
    const writer = new LogSegmentWriter(ledger, LSSN);
    const last = await appendRecord(writer, userRecord(5n, Buffer.from('last')));
    const eos = await writer.markEndOfStream();
    await writer.close();
    const handle = await reopen(ledger);
    const user = await readLastRecord(handle, segmentOf(ledger), { includeControl: false });
    expect(user!.dlsn.equals(last)).to.equal(true);
    // the commit record after EOS inherits its txid
    const withControl = await readLastRecord(handle, segmentOf(ledger), { includeControl: true });
    expect(withControl!.dlsn.compare(eos)).to.be.greaterThan(0);
    expect([withControl!.flags, withControl!.txid, withControl!.position]).to.deep.equal([RecordFlags.CONTROL, MAX_TXID, 1]);
  });

  it('returns an EOS record packed after user records with includeControl', async () => {
    const ledger = await client.createLedger();
    await ledger.addEntry(encodeEnvelopedEntry(Buffer.concat([
      encodeLogRecord(userRecord(5n, Buffer.from('a'), 1)),
      encodeLogRecord(userRecord(6n, Buffer.from('b'), 2)),
      encodeLogRecord(endOfStreamRecord(2)),
    ])));
    await ledger.close();
    const handle = await reopen(ledger);
    const withControl = await readLastRecord(handle, segmentOf(ledger), { includeControl: true });
    expect([withControl!.entryId, withControl!.slotId, withControl!.flags]).to.deep.equal([0n, 2n, RecordFlags.END_OF_STREAM]);
    expect([withControl!.txid, withControl!.position]).to.deep.equal([MAX_TXID, 2]);
    const user = await readLastRecord(handle, segmentOf(ledger), { includeControl: false });
    expect([user!.entryId, user!.slotId, user!.txid, user!.position]).to.deep.equal([0n, 1n, 6n, 2]);
  });

  it('returns undefined for an empty ledger, open or closed', async () => {
    const ledger = await client.createLedger();
    expect(await readLastRecord(ledger, segmentOf(ledger), { includeControl: true })).to.equal(undefined);
    await ledger.close();
    const handle = await reopen(ledger);
    expect(handle.lastAddConfirmed).to.equal(-1n);
    expect(await readLastRecord(handle, segmentOf(ledger), { includeControl: true })).to.equal(undefined);
    expect(await readLastRecord(handle, segmentOf(ledger), { includeControl: false })).to.equal(undefined);
  });

  it('takes the last inner record of a record set, with its own slot and position', async () => {
    const ledger = await client.createLedger();
    const writer = new LogSegmentWriter(ledger, LSSN);
    await appendRecord(writer, userRecord(1n, Buffer.from('single')));
    const set = new LogRecordSetWriter();
    for (let i = 0; i < 5; i++) set.append(Buffer.from(`inner-${i}`));
    const first = await appendRecord(writer, set.toLogRecord(2n));
    await writer.close();
    const user = await readLastRecord(await reopen(ledger), segmentOf(ledger), { includeControl: false });
    expect([user!.entryId, user!.slotId]).to.deep.equal([first.entryId, first.slotId + 4n]);
    expect([user!.txid, user!.position, user!.flags]).to.deep.equal([2n, 6, 0]);
  });

  it('scans back past long runs of control entries, 2 entries first, then doubling up to 16', async () => {
    const ledger = await client.createLedger();
    const entry = (...records: Parameters<typeof encodeLogRecord>[0][]): Buffer =>
      encodeEnvelopedEntry(Buffer.concat(records.map((r) => encodeLogRecord(r))));
    await ledger.addEntry(entry(userRecord(7n, Buffer.from('a'), 1), userRecord(8n, Buffer.from('b'), 2)));
    for (let i = 0; i < 40; i++) await ledger.addEntry(entry(controlRecord(8n, 2)));
    await ledger.close();
    const handle = await reopen(ledger);
    const reads = spyReads(handle);
    const user = await readLastRecord(handle, segmentOf(ledger), { includeControl: false });
    expect([user!.entryId, user!.slotId, user!.txid, user!.position]).to.deep.equal([0n, 1n, 8n, 2]);
    expect(reads).to.deep.equal([[39n, 40n], [35n, 38n], [27n, 34n], [11n, 26n], [0n, 10n]]);

    reads.length = 0;
    const any = await readLastRecord(handle, segmentOf(ledger), { includeControl: true });
    expect([any!.entryId, any!.slotId, any!.flags]).to.deep.equal([40n, 0n, RecordFlags.CONTROL]);
    expect(reads).to.deep.equal([[39n, 40n]]);
  });

  it('reads non-enveloped entries of pre-V4 segments', async () => {
    const ledger = await client.createLedger();
    await ledger.addEntry(Buffer.concat([encodeLogRecord(userRecord(3n, Buffer.from('x'), 1)), encodeLogRecord(userRecord(4n, Buffer.from('y'), 2))]));
    await ledger.addEntry(encodeLogRecord(controlRecord(4n, 2)));
    await ledger.close();
    const user = await readLastRecord(await reopen(ledger), segmentOf(ledger, 3), { includeControl: false });
    expect([user!.entryId, user!.slotId, user!.txid, user!.position]).to.deep.equal([0n, 1n, 4n, 2]);
    expect(user!.dlsn.logSegmentSequenceNo).to.equal(LSSN);
  });

  it('refuses a handle of another ledger', async () => {
    const a = await client.createLedger();
    const b = await client.createLedger();
    await rejection(readLastRecord(a, segmentOf(b), { includeControl: true }), InvalidArgumentError);
    await a.close();
    await b.close();
  });
});
