// A pino-compatible logger shape, so users can pass pino (or anything alike) as `logger`.
export type LogFn = (objOrMsg: object | string, msg?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child?: (bindings: Record<string, unknown>) => Logger;
}

const noop: LogFn = () => undefined;

/** The default: logging costs nothing unless the user passes a logger. */
export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child ? logger.child(bindings) : logger;
}
