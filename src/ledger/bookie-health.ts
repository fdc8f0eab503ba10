// What the client recently saw of each bookie, to order read replicas as BookKeeper's
// reorderReadSequence does: healthy bookies first, then slow ones (a read that outlived the
// speculative timeout), then failed ones (an error). A mark lasts `expiryMs` (BookKeeper's
// bookieFailureHistoryExpirationMSec, 60 s): a hung bookie is asked again about once a minute,
// not once per entry. A timely answer clears the slow mark at once. A bookie gone for good
// (BookieConnections.failBookie) is asked last for ever: one mark per such bookie.
const HEALTHY = 0;
const SLOW = 1;
const FAILED = 2;
const GONE = 3;

export class BookieHealth {
  readonly #expiryMs: number;
  /** bookie id → [state, until]. */
  readonly #marks = new Map<string, [number, number]>();

  constructor(expiryMs = 60_000) {
    this.#expiryMs = expiryMs;
  }

  slow(bookieId: string): void {
    this.#mark(bookieId, SLOW);
  }

  failed(bookieId: string): void {
    this.#mark(bookieId, FAILED);
  }

  /** Gone for good: ordered last from now on, whatever it is marked later. */
  gone(bookieId: string): void {
    this.#marks.set(bookieId, [GONE, Infinity]);
  }

  /** A timely answer: the bookie is healthy again. */
  answered(bookieId: string): void {
    if (this.#marks.get(bookieId)?.[0] !== GONE) this.#marks.delete(bookieId);
  }

  /** Whether the bookie is marked slow or failed now. */
  isSuspect(bookieId: string): boolean {
    return this.#state(bookieId, Date.now()) !== HEALTHY;
  }

  /** `replicas` reordered, healthy first; equal states keep their order (the write set's, or sticky). */
  order(replicas: readonly string[]): string[] {
    if (this.#marks.size === 0) return [...replicas];
    const now = Date.now();
    return replicas
      .map((id, i) => ({ id, i, s: this.#state(id, now) }))
      .sort((a, b) => a.s - b.s || a.i - b.i)
      .map((r) => r.id);
  }

  #mark(bookieId: string, state: number): void {
    const now = Date.now();
    // a failure is not downgraded to slow while it lasts
    const current = this.#state(bookieId, now);
    if (current === GONE) return;
    this.#marks.set(bookieId, [Math.max(current, state), now + this.#expiryMs]);
  }

  #state(bookieId: string, now: number): number {
    const mark = this.#marks.get(bookieId);
    if (mark === undefined) return HEALTHY;
    if (mark[1] <= now) {
      this.#marks.delete(bookieId);
      return HEALTHY;
    }
    return mark[0];
  }
}
