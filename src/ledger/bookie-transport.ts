// The seam between the ledger client and the bookies: what LedgerWriter, LedgerReader, entry
// fetches and recovery need from a connection. BookiePool (TCP) is the real one; tests inject an
// in-memory one to script delays, failures and reordering without processes.
import type { Response } from '../protocol/protocol-types.js';
import type { OutgoingRequest } from './bookie-client.js';
import type { BookieHealth } from './bookie-health.js';

/** Requests to one bookie. */
export interface BookieTransport {
  /** Resolves with the bookie's response whatever its status; rejects when no answer came (retriable). */
  send(request: OutgoingRequest, timeoutMs?: number): Promise<Response>;
}

/** One transport per bookie id, shared by every ledger handle of a client. */
export interface BookieConnections {
  get(bookieId: string): BookieTransport;
  /** What reads learnt of each bookie (slow, failing), shared by every ledger of the client. */
  readonly health: BookieHealth;
  /**
   * The bookie is gone for good: what is in flight to it fails with `err` now, later requests at
   * once, and reads ask it last (BookieHealth.gone). Connections that never lose a bookie for
   * good (the benches' null bookies) may leave it out.
   */
  failBookie?(bookieId: string, err: Error): void;
  /** Fails what is in flight and refuses later requests. */
  close(): void;
}
