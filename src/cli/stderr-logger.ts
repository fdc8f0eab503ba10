// A small pino-shaped logger for the command line: one line per message on stderr, warnings and
// errors by default, everything with --verbose.
import { format } from 'node:util';
import type { LogFn, Logger } from '../util/logger.js';

/** `: message [CODE]` for an error of any shape, '' for none: the real error, never `undefined`. */
function describe(err: unknown): string {
  if (err === undefined || err === null) return '';
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `: ${err.message}${typeof code === 'string' || typeof code === 'number' ? ` [${code}]` : ''}`;
  }
  return `: ${typeof err === 'string' ? err : format('%o', err)}`;
}

function line(level: string, bindings: string): LogFn {
  return (objOrMsg, msg) => {
    const [obj, text] = typeof objOrMsg === 'string' ? [{}, objOrMsg] : [objOrMsg as Record<string, unknown>, msg ?? ''];
    const { err, ...fields } = obj as { err?: unknown } & Record<string, unknown>;
    const rest = Object.keys(fields).length === 0 ? '' : ` ${format('%o', fields)}`;
    process.stderr.write(`${level} ${bindings}${text}${describe(err)}${rest}\n`);
  };
}

export function stderrLogger(verbose: boolean, bindings = ''): Logger {
  const off: LogFn = () => undefined;
  const prefix = bindings === '' ? '' : `[${bindings}] `;
  return {
    debug: verbose ? line('debug', prefix) : off,
    info: verbose ? line('info', prefix) : off,
    warn: line('warn', prefix),
    error: line('error', prefix),
    child: (b) => stderrLogger(verbose, [bindings, ...Object.values(b).map(String)].filter((x) => x !== '').join(' ')),
  };
}
