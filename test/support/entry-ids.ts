/** `n` consecutive entry ids (or txids) from `from`, as bigints: what a test expects to read back. */
export const ids = (n: number, from = 0): bigint[] => Array.from({ length: n }, (_, i) => BigInt(from + i));
