// A small pino-shaped logger for the command line: one line per message on stderr, warnings and
// errors by default, everything with --verbose.
import { format } from 'node:util';
import type { LogFn, Logger } from '../util/logger.js';

function line(level: string, bindings: string): LogFn {
  return (objOrMsg, msg) => {
    const [obj, text] = typeof objOrMsg === 'string' ? [{}, objOrMsg] : [objOrMsg, msg ?? ''];
    // the error goes into the text as its message; the other fields follow, without an `err` key
    const { err, ...fields } = obj as { err?: unknown };
    const reason = err === undefined ? '' : `: ${err instanceof Error ? err.message : format('%o', err)}`;
    const rest = Object.keys(fields).length === 0 ? '' : ` ${format('%o', fields)}`;
    process.stderr.write(`${level} ${bindings}${text}${reason}${rest}\n`);
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
