// The history checker every fault test uses. Writers note what they attempted and what was
// acknowledged; readers note what they read, in order; check() then verifies:
// - every acknowledged record is read exactly once by every complete reader (`lost`, `duplicated`);
// - each reader's records come in non-decreasing txid and strictly increasing DLSN order (`outOfOrder`);
// - nothing is read that no writer attempted (`phantom`: garbage, or bytes beyond what was written);
// - no record of a fenced writer is acknowledged after its successor's first acknowledgement, nor
//   read after the successor's first record (`afterFencing`).
// Records are told apart by a key the test chooses (`recordKey` makes one: writer name + sequence).
import { DLSN } from '../../src/log/format/dlsn.js';

export interface Violation {
  readonly kind: 'lost' | 'duplicated' | 'outOfOrder' | 'phantom' | 'afterFencing';
  readonly detail: string;
}

export interface HistoryReport {
  readonly attempted: number;
  readonly acked: number;
  readonly read: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly phantom: number;
  readonly afterFencing: number;
  readonly violations: readonly Violation[];
}

interface Attempt { readonly writer: string; readonly txid: bigint }
/** One acknowledgement: the record's key, its writer and where the log put it. */
export interface Ack { readonly key: string; readonly writer: string; readonly dlsn: DLSN }
interface Read { readonly key: string; readonly txid: bigint; readonly dlsn: DLSN }

/** `w1:42`: the payload a test writes so the checker can name the record it reads back. */
export function recordKey(writer: string, seq: number): string {
  return `${writer}:${seq}`;
}

export function writerOf(key: string): string {
  return key.slice(0, key.lastIndexOf(':'));
}

const MAX_LISTED = 20;

export class History {
  readonly #attempts = new Map<string, Attempt>();
  /** Acks in the order they arrived (one process: the event order is the time order). */
  readonly #acks: Ack[] = [];
  readonly #reads = new Map<string, Read[]>();
  /** fenced writer → the writer that fenced it. */
  readonly #fencedBy = new Map<string, string>();

  attempted(key: string, txid: bigint): void {
    this.#attempts.set(key, { writer: writerOf(key), txid });
  }

  acked(key: string, dlsn: DLSN): void {
    this.#acks.push({ key, writer: writerOf(key), dlsn });
  }

  /** `successor` took the log over from `fenced`. */
  fenced(fenced: string, successor: string): void {
    this.#fencedBy.set(fenced, successor);
  }

  read(reader: string, key: string, txid: bigint, dlsn: DLSN): void {
    let list = this.#reads.get(reader);
    if (!list) this.#reads.set(reader, list = []);
    list.push({ key, txid, dlsn });
  }

  get ackedCount(): number { return this.#acks.length; }

  /** The acknowledgements, in ack order. */
  acks(): readonly Ack[] { return this.#acks; }

  /** The txid `key` was attempted with. */
  txidOf(key: string): bigint | undefined { return this.#attempts.get(key)?.txid; }

  /** Reads of `reader` so far (for tests that wait for a reader to catch up). */
  readCount(reader: string): number { return this.#reads.get(reader)?.length ?? 0; }

  /** `complete`: the readers expected to have read every acknowledged record (default: all). */
  check(complete: readonly string[] = [...this.#reads.keys()]): HistoryReport {
    const violations: Violation[] = [];
    const counts = { lost: 0, duplicated: 0, outOfOrder: 0, phantom: 0, afterFencing: 0 };
    const add = (kind: Violation['kind'], detail: string): void => {
      counts[kind]++;
      if (violations.length < MAX_LISTED) violations.push({ kind, detail });
    };

    const firstAck = new Map<string, number>();
    this.#acks.forEach((a, i) => { if (!firstAck.has(a.writer)) firstAck.set(a.writer, i); });
    for (const [fenced, successor] of this.#fencedBy) {
      const from = firstAck.get(successor);
      if (from === undefined) continue;
      for (const a of this.#acks.slice(from)) {
        if (a.writer === fenced) add('afterFencing', `${a.key} acknowledged at ${a.dlsn.toString()} after ${successor}'s first acknowledgement`);
      }
    }

    for (const [reader, reads] of this.#reads) {
      const seen = new Map<string, number>();
      let prev: Read | undefined;
      const successorsSeen = new Set<string>();
      for (const r of reads) {
        seen.set(r.key, (seen.get(r.key) ?? 0) + 1);
        if (!this.#attempts.has(r.key)) add('phantom', `${reader} read ${r.key}, which no writer attempted`);
        if (prev && (r.txid < prev.txid || r.dlsn.compare(prev.dlsn) <= 0)) {
          add('outOfOrder', `${reader} read ${r.key} (txid ${r.txid}, ${r.dlsn.toString()}) after ${prev.key} (txid ${prev.txid}, ${prev.dlsn.toString()})`);
        }
        const writer = writerOf(r.key);
        const successor = this.#fencedBy.get(writer);
        if (successor !== undefined && successorsSeen.has(successor)) add('afterFencing', `${reader} read ${r.key} of fenced ${writer} after a record of ${successor}`);
        successorsSeen.add(writer);
        prev = r;
      }
      for (const [key, n] of seen) if (n > 1) add('duplicated', `${reader} read ${key} ${n} times`);
      if (complete.includes(reader)) {
        for (const a of this.#acks) if (!seen.has(a.key)) add('lost', `${reader} never read acknowledged ${a.key} (txid ${this.#attempts.get(a.key)?.txid}, ${a.dlsn.toString()})`);
      }
    }
    const read = [...this.#reads.values()].reduce((n, list) => n + list.length, 0);
    return { attempted: this.#attempts.size, acked: this.#acks.length, read, ...counts, violations };
  }
}
