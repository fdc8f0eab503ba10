// What every `dlog` command that works on a namespace shares: the --uri default, opening the
// namespace with a stderr logger, and integer options checked with a clear message.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { Namespace } from '../log/namespace.js';
import { stderrLogger } from './stderr-logger.js';

export const DEFAULT_URI = 'local:./dlog-data';

/** The help lines of the options every namespace command takes. */
export const COMMON_OPTIONS_HELP = `  --uri <uri>           namespace: local:<dir> (embedded) or zk://host:port[,host:port]/path
                        (ZooKeeper + bookies); default $DLOG_URI, else ${DEFAULT_URI}
  --verbose             log to stderr, and stack traces on errors
  -h, --help            print this help
`;

/** parseArgs option definitions for COMMON_OPTIONS_HELP. */
export const COMMON_OPTIONS = {
  uri: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function integerOption(name: string, value: string | undefined, min = Number.MIN_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new InvalidArgumentError(`--${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The contents of a file an option names; a missing or unreadable file is a bad option (exit 2). */
export async function readOptionFile(name: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new InvalidArgumentError(`--${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** --uri, else the DLOG_URI environment variable, else local:./dlog-data. */
export function namespaceUri(values: { uri?: string | undefined }): string {
  const env = process.env.DLOG_URI;
  return values.uri ?? (env === undefined || env === '' ? DEFAULT_URI : env);
}

/** Opens the namespace named by namespaceUri(); the caller closes it. */
export function openNamespace(values: { uri?: string | undefined; verbose?: boolean | undefined }, command: string): Promise<Namespace> {
  return Namespace.open(namespaceUri(values), { logger: stderrLogger(values.verbose === true, command) });
}
