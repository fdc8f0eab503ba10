// Checks a command's positional arguments against its usage, so a missing or extra one is a usage
// error (exit 2) naming what was expected.
import { InvalidArgumentError } from '../errors.js';

type Values<R extends readonly string[], O extends readonly string[]> = [...{ [K in keyof R]: string }, ...{ [K in keyof O]: string | undefined }];

/**
 * The `required` positionals, then the `optional` ones (undefined when absent). Names are the
 * usage's placeholders, e.g. ['<log>', '<dlsn>'].
 */
export function positionalArguments<const R extends readonly string[], const O extends readonly string[] = []>(
  positionals: readonly string[],
  required: R,
  optional?: O,
): Values<R, O> {
  const missing = required[positionals.length];
  if (missing !== undefined) throw new InvalidArgumentError(`missing ${missing}`);
  const extra = positionals[required.length + (optional?.length ?? 0)];
  if (extra !== undefined) throw new InvalidArgumentError(`unexpected argument ${JSON.stringify(extra)}`);
  // the checks above guarantee a value for every required name
  return [...required, ...(optional ?? [])].map((_, i) => positionals[i]) as Values<R, O>;
}
