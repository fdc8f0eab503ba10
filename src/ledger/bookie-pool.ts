// One BookieClient (one connection) per bookie, created on first use and shared by every ledger
// handle of a client. Bookie ids that are addresses are resolved once, here, not per request.
import { BookieClient, type BookieClientOptions } from './bookie-client.js';

export class BookiePool {
  readonly #clients = new Map<string, BookieClient>();
  readonly #options: BookieClientOptions;

  constructor(options: BookieClientOptions = {}) {
    this.#options = options;
  }

  get(bookieId: string): BookieClient {
    let client = this.#clients.get(bookieId);
    if (!client) {
      client = new BookieClient(bookieId, this.#options);
      this.#clients.set(bookieId, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
