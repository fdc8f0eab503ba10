// The arena chunks of one ledger storage's write caches, recycled: a cache cleared after a flush
// hands its chunks back here instead of leaving them to the GC. Dropped chunks are external memory
// that V8 frees only at a full collection, so under sustained adds the process ran hundreds of MiB
// ahead of its live data; recycled, the write caches cost at most their capacity plus this pool.
//
// A Buffer that the cache handed out by get() is a view into a chunk and stays valid until that
// chunk is reused. A request consumes such a view within the event-loop turn that took it (the
// response is encoded from it in promise continuations), so released chunks rest until the next
// release, a whole flush (entry log write, fsync, index commit) later, before they are reused.
export class ChunkPool {
  readonly chunkSize: number;
  readonly #maxChunks: number;
  #free: Buffer[] = [];
  #resting: Buffer[] = [];
  #allocated = 0;

  /** Keeps at most `maxChunks` chunks (free and resting); more are left to the GC. */
  constructor(chunkSize: number, maxChunks: number) {
    this.chunkSize = chunkSize;
    this.#maxChunks = maxChunks;
  }

  /** Chunks allocated so far (a recycled chunk is not counted again). */
  get allocated(): number {
    return this.#allocated;
  }

  /** Bytes the pool holds for reuse. */
  get retainedBytes(): number {
    return (this.#free.length + this.#resting.length) * this.chunkSize;
  }

  take(): Buffer {
    const chunk = this.#free.pop();
    if (chunk !== undefined) return chunk;
    this.#allocated++;
    return Buffer.allocUnsafeSlow(this.chunkSize);
  }

  /** The chunks of a cleared cache: reusable after the next release. */
  release(chunks: readonly Buffer[]): void {
    this.#free.push(...this.#resting);
    this.#resting = chunks.slice(0, Math.max(0, this.#maxChunks - this.#free.length));
    if (this.#free.length > this.#maxChunks) this.#free.length = this.#maxChunks;
  }
}
