// Small JSON files the library keeps next to its data (directory stamps, cluster files).
import { readFile } from 'node:fs/promises';

/**
 * The parsed content of `file`, or undefined when it does not exist. Text that is not JSON throws
 * what `invalid` makes of the message (the caller's typed error).
 */
export async function readJsonFile(file: string, invalid: (message: string, cause: unknown) => Error): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalid(`${file} is not valid JSON: ${(err as Error).message}`, err);
  }
}
