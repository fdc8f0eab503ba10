// The bookie's view of each ledger's last-add-confirmed: the highest LAC piggybacked in the entry
// envelopes it received. Long-poll reads wait here for it to pass a reader's previous LAC.

interface Waiter {
  readonly previous: bigint;
  readonly resolve: (lac: bigint | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

interface LedgerLac {
  lac: bigint | undefined;
  waiters: Waiter[];
}

export class LacTracker {
  readonly #ledgers = new Map<bigint, LedgerLac>();

  /** The known LAC, or undefined when this bookie has seen no entry of the ledger since start. */
  get(ledgerId: bigint): bigint | undefined {
    return this.#ledgers.get(ledgerId)?.lac;
  }

  /** Raises the LAC (never lowers it) and wakes the long polls it satisfies. */
  update(ledgerId: bigint, lac: bigint): void {
    const state = this.#ledgers.get(ledgerId);
    if (!state) {
      this.#ledgers.set(ledgerId, { lac, waiters: [] });
      return;
    }
    if (state.lac !== undefined && lac <= state.lac) return;
    state.lac = lac;
    if (state.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of state.waiters) {
      if (lac > w.previous) {
        clearTimeout(w.timer);
        w.resolve(lac);
      } else {
        still.push(w);
      }
    }
    state.waiters = still;
  }

  /**
   * Resolves with the LAC as soon as it is above `previous`, or with the current LAC (possibly
   * undefined) after `timeoutMs`.
   */
  waitAbove(ledgerId: bigint, previous: bigint, timeoutMs: number): Promise<bigint | undefined> {
    let state = this.#ledgers.get(ledgerId);
    if (!state) {
      state = { lac: undefined, waiters: [] };
      this.#ledgers.set(ledgerId, state);
    }
    if (state.lac !== undefined && state.lac > previous) return Promise.resolve(state.lac);
    const ledger = state;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        previous,
        resolve,
        timer: setTimeout(() => {
          ledger.waiters = ledger.waiters.filter((w) => w !== waiter);
          resolve(ledger.lac);
        }, Math.max(0, timeoutMs)),
      };
      ledger.waiters.push(waiter);
    });
  }

  /** Forgets a ledger (deleted by GC); pending long polls answer now with what was known. */
  forget(ledgerId: bigint): void {
    const state = this.#ledgers.get(ledgerId);
    if (!state) return;
    this.#ledgers.delete(ledgerId);
    for (const w of state.waiters) {
      clearTimeout(w.timer);
      w.resolve(state.lac);
    }
  }

  /** Answers every pending long poll (bookie shutdown). */
  close(): void {
    for (const id of [...this.#ledgers.keys()]) this.forget(id);
  }
}
