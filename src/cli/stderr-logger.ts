// A small pino-shaped logger for the command line: one line per message on stderr, warnings and
// errors by default, everything with --verbose.
import { format } from 'node:util';
import type { LogFn, Logger } from '../util/logger.js';

function line(level: string, bindings: string): LogFn {
  return (objOrMsg, msg) => {
    const [obj, text] = typeof objOrMsg === 'string' ? [undefined, objOrMsg] : [objOrMsg, msg ?? ''];
    const err = (obj as { err?: unknown } | undefined)?.err;
    const rest = obj === undefined ? '' : ` ${format('%o', { ...obj, err: undefined })}`.replace(/ \{ err: undefined \}$/, '');
    process.stderr.write(`${level} ${bindings}${text}${err instanceof Error ? `: ${err.message}` : ''}${rest === ' {}' ? '' : rest}\n`);
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
