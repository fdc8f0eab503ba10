// Mutations of valid inputs for the decoder property tests: bytes flipped, cut short, extended,
// a random run spliced in. Seeded (prng.ts), so a failing case can be replayed.
import { seededRandom } from './prng.js';

export function mutator(seed: number): (input: Buffer) => Buffer {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  return (input) => {
    const out = Buffer.from(input);
    switch (int(4)) {
      case 0: // flip a few bytes
        for (let i = 0, n = 1 + int(4); i < n && out.length > 0; i++) out[int(out.length)] = int(256);
        return out;
      case 1: // cut short
        return out.subarray(0, int(out.length));
      case 2: { // extend with random bytes
        const extra = Buffer.alloc(1 + int(16));
        for (let i = 0; i < extra.length; i++) extra[i] = int(256);
        return Buffer.concat([out, extra]);
      }
      default: { // splice a random run inside
        const at = int(out.length + 1);
        const run = Buffer.alloc(1 + int(8), int(256));
        return Buffer.concat([out.subarray(0, at), run, out.subarray(at)]);
      }
    }
  };
}
