// One BookieClient (one connection) per bookie, created on first use and shared by every ledger
// handle of a client. Bookie ids that are addresses are resolved once, here, not per request.
// The pool also keeps what reads learnt of each bookie's health, shared by every ledger it serves.
import { BookieClient, type BookieClientOptions } from './bookie-client.js';
import { BookieHealth } from './bookie-health.js';
import type { BookieConnections } from './bookie-transport.js';

export class BookiePool implements BookieConnections {
  readonly health = new BookieHealth();
  readonly #clients = new Map<string, BookieClient>();
  readonly #options: BookieClientOptions;
  #closed = false;

  constructor(options: BookieClientOptions = {}) {
    this.#options = options;
  }

  /** After close(), a closed client: a request still in flight then (a long poll) fails instead of reconnecting. */
  get(bookieId: string): BookieClient {
    if (this.#closed) {
      const closed = new BookieClient(bookieId, this.#options);
      closed.close();
      return closed;
    }
    let client = this.#clients.get(bookieId);
    if (!client) {
      client = new BookieClient(bookieId, this.#options);
      this.#clients.set(bookieId, client);
    }
    return client;
  }

  failBookie(bookieId: string, err: Error): void {
    if (this.#closed) return;
    this.get(bookieId).fail(err);
    this.health.gone(bookieId);
  }

  close(): void {
    this.#closed = true;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
