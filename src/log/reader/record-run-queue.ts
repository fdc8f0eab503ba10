// The unread records of one log reader, held as the runs the read-ahead delivered (one per entry,
// the same array for every reader of that entry). With a thousand readers of one log, a record
// buffered and taken per reader cost a push, a count and an object walk each (10M a second at 10k
// records/s): here a reader pays per entry, and taking records copies array slots (slice/concat)
// instead of walking them. Runs are never modified: a partly taken run keeps an offset.
import { LOG_RECORD_HEADER_SIZE } from '../format/log-record.js';
import type { LogRecordRun, LogRecordWithDLSN } from './log-read-ahead.js';

interface Slot {
  readonly run: LogRecordRun;
  /** Index of the first unread record of the run. */
  from: number;
  /** Bytes of the unread records of the run. */
  bytes: number;
}

/** Record bytes (payload + header each) of whole runs, computed once for all readers of a run. */
const runBytes = new WeakMap<LogRecordRun, number>();

function bytesOf(run: LogRecordRun, from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += (run[i] as LogRecordWithDLSN).payload.length + LOG_RECORD_HEADER_SIZE;
  return bytes;
}

function wholeRunBytes(run: LogRecordRun): number {
  let bytes = runBytes.get(run);
  if (bytes === undefined) {
    bytes = bytesOf(run, 0, run.length);
    runBytes.set(run, bytes);
  }
  return bytes;
}

/** Slots taken before the array is compacted (taking from the front is O(1) until then). */
const COMPACT_AFTER = 1024;

export class RecordRunQueue {
  #slots: Slot[] = [];
  #head = 0;
  #bytes = 0;

  /** Bytes of unread records (payload + header each). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries with unread records. */
  get entries(): number {
    return this.#slots.length - this.#head;
  }

  get isEmpty(): boolean {
    return this.#head === this.#slots.length;
  }

  /** Queues a non-empty run, which the queue only reads. */
  push(run: LogRecordRun): void {
    const bytes = wholeRunBytes(run);
    this.#slots.push({ run, from: 0, bytes });
    this.#bytes += bytes;
  }

  /** Removes and returns up to `max` records, oldest first, as a new array the caller owns. */
  take(max: number): LogRecordWithDLSN[] {
    const parts: LogRecordRun[] = [];
    let taken = 0;
    while (taken < max && this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head] as Slot;
      const count = Math.min(slot.run.length - slot.from, max - taken);
      const to = slot.from + count;
      if (to === slot.run.length) {
        parts.push(slot.from === 0 ? slot.run : slot.run.slice(slot.from));
        this.#bytes -= slot.bytes;
        this.#head++;
      } else {
        parts.push(slot.run.slice(slot.from, to));
        const bytes = bytesOf(slot.run, slot.from, to);
        slot.bytes -= bytes;
        this.#bytes -= bytes;
        slot.from = to;
      }
      taken += count;
    }
    if (this.#head === this.#slots.length) this.clear();
    else if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
    return parts.length === 1 ? (parts[0] as LogRecordRun).slice() : ([] as LogRecordWithDLSN[]).concat(...parts);
  }

  clear(): void {
    this.#slots = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
