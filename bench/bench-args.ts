// The benches' command-line flags (`--name value`), declared by their defaults: a number makes a
// number flag, an array of numbers a comma-separated list of positive numbers (a 0 in it is dropped,
// so `--readers 0` means none), a string a string flag, null a string flag that may be absent.
// An unknown flag, or a value that is not a number where one is wanted, is refused naming the flag.
import { parseArgs } from 'node:util';

type Default = number | readonly number[] | string | null;
type Parsed<T extends Record<string, Default>> = {
  [K in keyof T]: T[K] extends null ? string | undefined : T[K] extends number ? number : T[K] extends readonly number[] ? number[] : string;
};

function toNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag} takes a number, not '${text}'`);
  return n;
}

export function benchArgs<const T extends Record<string, Default>>(defaults: T, args: readonly string[] = process.argv.slice(2)): Parsed<T> {
  const options: Record<string, { type: 'string'; default?: string }> = {};
  for (const [flag, d] of Object.entries(defaults)) {
    options[flag] = d === null ? { type: 'string' } : { type: 'string', default: Array.isArray(d) ? d.join(',') : String(d) };
  }
  const { values } = parseArgs({ args: [...args], options });
  const parsed: Record<string, unknown> = {};
  for (const [flag, d] of Object.entries(defaults)) {
    const text = values[flag];
    if (d === null || typeof d === 'string' || text === undefined) parsed[flag] = text;
    else if (typeof d === 'number') parsed[flag] = toNumber(flag, text);
    else parsed[flag] = text.split(',').filter((s) => s !== '').map((s) => toNumber(flag, s)).filter((n) => n > 0);
  }
  return parsed as Parsed<T>;
}
