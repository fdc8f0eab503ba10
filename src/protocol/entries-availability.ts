// The body of a GET_LIST_OF_ENTRIES_OF_LEDGER response: which entries of a ledger a bookie holds,
// in the serialized form of BookKeeper's AvailabilityOfEntriesOfLedger (big-endian):
//   header (64 bytes): i32 version (0) · i32 group count · zero padding
//   group  (24 bytes): i64 first run start · i64 last run start · i32 run length · i32 period
// A group is runs of `length` consecutive ids starting every `period` ids from first to last start.
// Java's builder only ever closes a group after its first run (a run joins a group when its start
// minus the group's last start equals the period, which is 0 in a one-run group), so every group
// it writes, and every group we write, is one run with period 0; readers accept any period.

const HEADER_SIZE = 64;
const GROUP_SIZE = 24;
const VERSION = 0;
/** Groups that fit in BookKeeper's default 5 MiB frame with room for the response around them. */
export const MAX_GROUPS = Math.floor((5 * 1024 * 1024 - HEADER_SIZE - 1024) / GROUP_SIZE);

export interface EntryRunGroup {
  readonly firstStart: bigint;
  readonly lastStart: bigint;
  readonly length: number;
  readonly period: number;
}

/**
 * Collects entry ids in ascending order (repeats allowed) into runs; `toBuffer()` serializes them.
 * More than `maxGroups` runs throw a RangeError: the answer would not fit in a frame.
 */
export class EntriesAvailabilityBuilder {
  readonly #runs: { start: bigint; length: number }[] = [];
  readonly #maxGroups: number;

  constructor(maxGroups = MAX_GROUPS) {
    this.#maxGroups = maxGroups;
  }

  add(entryId: bigint): void {
    const last = this.#runs.at(-1);
    if (last === undefined || entryId > last.start + BigInt(last.length)) {
      if (this.#runs.length === this.#maxGroups) throw new RangeError(`more than ${this.#maxGroups} runs of entries: the list does not fit in a frame`);
      this.#runs.push({ start: entryId, length: 1 });
    } else if (entryId === last.start + BigInt(last.length)) {
      last.length++;
    } else if (entryId < last.start) {
      throw new RangeError(`entry ids must ascend: ${entryId} after ${last.start}`);
    }
  }

  toBuffer(): Buffer {
    const buf = Buffer.alloc(HEADER_SIZE + GROUP_SIZE * this.#runs.length);
    buf.writeInt32BE(VERSION, 0);
    buf.writeInt32BE(this.#runs.length, 4);
    let pos = HEADER_SIZE;
    for (const run of this.#runs) {
      buf.writeBigInt64BE(run.start, pos);
      buf.writeBigInt64BE(run.start, pos + 8);
      buf.writeInt32BE(run.length, pos + 16);
      buf.writeInt32BE(0, pos + 20);
      pos += GROUP_SIZE;
    }
    return buf;
  }
}

export function encodeEntriesAvailability(entryIds: Iterable<bigint>): Buffer {
  const builder = new EntriesAvailabilityBuilder();
  for (const id of entryIds) builder.add(id);
  return builder.toBuffer();
}

/** The groups of a serialized availability; throws RangeError on a short buffer or an unknown version. */
export function decodeEntriesAvailability(buf: Uint8Array): EntryRunGroup[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < HEADER_SIZE) throw new RangeError(`entries availability of ${b.length} bytes is shorter than its ${HEADER_SIZE}-byte header`);
  const version = b.readInt32BE(0);
  if (version > VERSION) throw new RangeError(`entries availability version ${version} is not supported`);
  const count = b.readInt32BE(4);
  if (count < 0 || b.length < HEADER_SIZE + GROUP_SIZE * count) throw new RangeError(`entries availability announces ${count} groups in ${b.length} bytes`);
  const groups: EntryRunGroup[] = [];
  for (let i = 0, pos = HEADER_SIZE; i < count; i++, pos += GROUP_SIZE) {
    groups.push({ firstStart: b.readBigInt64BE(pos), lastStart: b.readBigInt64BE(pos + 8), length: b.readInt32BE(pos + 16), period: b.readInt32BE(pos + 20) });
  }
  return groups;
}

/** The entry ids the groups name, ascending (for tests and tools: a large ledger names many). */
export function* availableEntryIds(groups: readonly EntryRunGroup[]): Generator<bigint> {
  for (const g of groups) {
    const step = BigInt(g.period);
    for (let start = g.firstStart; start <= g.lastStart; start += step) {
      for (let i = 0n; i < BigInt(g.length); i++) yield start + i;
      if (step === 0n) break;
    }
  }
}
