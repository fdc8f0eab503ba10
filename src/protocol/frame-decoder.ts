// Splits a TCP byte stream into BookKeeper frames: a 4-byte big-endian signed length N followed by
// N bytes (Netty's LengthFieldBasedFrameDecoder(max, 0, 4, 0, 4) on the Java side).
//
// The loop is pg-protocol's (scan offset/length over the bytes at hand, emit every complete frame),
// with one change to its buffering: the decoder never compacts or reuses memory it has handed out.
// - A frame that lies inside one chunk is emitted as a view of that chunk: no copy.
// - A frame that spans chunks is assembled into a buffer allocated once at its exact size, as soon as
//   its length is known; each of its bytes is copied exactly once. Only the 4 header bytes of a split
//   header go through a small scratch buffer first.
// So an emitted frame (and any view into it, such as a decoded protobuf `bytes` field) stays valid
// after the callback returns. A view keeps its whole chunk (up to 64 KiB) alive: copy small values
// that are cached for long.
import { WireError } from './wire-error.js';

export const FRAME_HEADER_SIZE = 4;
/** BookKeeper's nettyMaxFrameSizeBytes default (client and bookie). */
export const DEFAULT_MAX_FRAME_SIZE = 5 * 1024 * 1024;

export interface FrameDecoderOptions {
  /**
   * Largest accepted frame, counting its 4-byte length prefix as Netty does (so the largest payload is
   * maxFrameSize - 4). Default 5 MiB.
   */
  readonly maxFrameSize?: number;
}

export type FrameHandler = (frame: Buffer) => void;

export class FrameDecoder {
  readonly #maxFrameSize: number;
  readonly #header = Buffer.alloc(FRAME_HEADER_SIZE);
  #headerFilled = 0;
  /** The frame being assembled across chunks, once its length is known. */
  #partial: Buffer | undefined;
  #partialFilled = 0;
  /** Once the stream is corrupt, every later push fails the same way: the connection must go. */
  #failure: WireError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** Bytes received of a frame not yet complete (prefix included); non-zero at end of stream means truncation. */
  get bufferedBytes(): number {
    return this.#partial === undefined ? this.#headerFilled : FRAME_HEADER_SIZE + this.#partialFilled;
  }

  /**
   * Consumes one chunk and calls `onFrame` synchronously for each frame it completes, in order. Throws a
   * WireError (FRAME_TOO_LARGE, MALFORMED_FRAME) on a bad length prefix. If `onFrame` throws, the error
   * propagates and the rest of the chunk is lost: treat either as fatal for the connection.
   */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    if (this.#failure !== undefined) throw this.#failure;
    let pos = 0;
    if (this.#headerFilled > 0 || this.#partial !== undefined) {
      pos = this.#continuePartial(chunk, onFrame);
      if (pos < 0) return;
    }
    const end = chunk.length;
    while (end - pos >= FRAME_HEADER_SIZE) {
      const size = this.#frameSize(chunk.readInt32BE(pos));
      const start = pos + FRAME_HEADER_SIZE;
      if (end - start < size) {
        this.#startPartial(size, chunk, start);
        return;
      }
      pos = start + size;
      onFrame(chunk.subarray(start, pos));
    }
    if (pos < end) {
      chunk.copy(this.#header, 0, pos, end);
      this.#headerFilled = end - pos;
    }
  }

  /** Feeds the frame in progress; returns where whole frames start in `chunk`, or -1 if it was all used. */
  #continuePartial(chunk: Buffer, onFrame: FrameHandler): number {
    if (this.#partial === undefined) {
      const pos = Math.min(FRAME_HEADER_SIZE - this.#headerFilled, chunk.length);
      chunk.copy(this.#header, this.#headerFilled, 0, pos);
      this.#headerFilled += pos;
      if (this.#headerFilled < FRAME_HEADER_SIZE) return -1;
      this.#headerFilled = 0;
      const size = this.#frameSize(this.#header.readInt32BE(0));
      if (chunk.length - pos >= size) {
        onFrame(chunk.subarray(pos, pos + size));
        return pos + size;
      }
      this.#startPartial(size, chunk, pos);
      return -1;
    }
    const partial = this.#partial;
    const take = Math.min(partial.length - this.#partialFilled, chunk.length);
    chunk.copy(partial, this.#partialFilled, 0, take);
    this.#partialFilled += take;
    if (this.#partialFilled < partial.length) return -1;
    this.#partial = undefined;
    this.#partialFilled = 0;
    onFrame(partial);
    return take;
  }

  #startPartial(size: number, chunk: Buffer, start: number): void {
    // allocUnsafe is safe here: the frame is only emitted once every byte has been written.
    const partial = Buffer.allocUnsafe(size);
    this.#partialFilled = chunk.copy(partial, 0, start);
    this.#partial = partial;
  }

  #frameSize(declared: number): number {
    if (declared < 0) {
      this.#failure = new WireError('MALFORMED_FRAME', `negative frame length ${declared}`);
    } else if (declared + FRAME_HEADER_SIZE > this.#maxFrameSize) {
      this.#failure = new WireError(
        'FRAME_TOO_LARGE',
        `frame of ${declared} bytes exceeds the maximum frame size of ${this.#maxFrameSize} bytes`,
      );
    } else {
      return declared;
    }
    throw this.#failure;
  }
}
