// `--log-format json`: one JSON object per line on stderr with pino's fields (level as a number,
// time in ms, pid, hostname, msg, bindings and the object's fields; errors as {type, message, stack}).
import os from 'node:os';
import type { LogFn, Logger } from '../util/logger.js';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

function plain(value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack, ...('code' in value ? { code: value.code } : {}) };
  return value;
}

function serialise(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : plain(value)));
}

export function jsonLogger(verbose: boolean, bindings: Record<string, unknown> = {}): Logger {
  const hostname = os.hostname();
  const level = (name: keyof typeof LEVELS): LogFn => (objOrMsg, msg) => {
    const [obj, text] = typeof objOrMsg === 'string' ? [{}, objOrMsg] : [objOrMsg, msg];
    process.stderr.write(`${serialise({ level: LEVELS[name], time: Date.now(), pid: process.pid, hostname, ...bindings, ...obj, ...(text === undefined ? {} : { msg: text }) })}\n`);
  };
  const off: LogFn = () => undefined;
  return {
    debug: verbose ? level('debug') : off,
    info: level('info'),
    warn: level('warn'),
    error: level('error'),
    child: (more) => jsonLogger(verbose, { ...bindings, ...more }),
  };
}
