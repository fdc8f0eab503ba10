// Two fixes to node-zookeeper-client 1.1.3, applied once per process.
//
// It knows only ZooKeeper 3.4's error codes. For a newer code in a reply
// (3.5+ sends UNKNOWN_SESSION, -12, for requests racing a session close) its Exception.create
// throws "Unknown code" from inside its socket handler: an uncaught exception that would take the
// whole process down. The library calls Exception.create through its module object, so wrapping
// that one function turns the crash into an ordinary error for the request.
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import zookeeper from 'node-zookeeper-client';

const UNKNOWN_SESSION = -12;
const patched = Symbol.for('distributedlog.zk-exception-create-patched');

type Create = (code: number) => unknown;
const exception = zookeeper.Exception as unknown as { create: Create } & Record<symbol, boolean | undefined>;

if (exception[patched] !== true) {
  const create = exception.create;
  exception.create = (code: number) => {
    try {
      return create(code);
    } catch {
      // an unknown session is a session that is gone, whatever the server calls it
      return create(code === UNKNOWN_SESSION ? zookeeper.Exception.SESSION_EXPIRED : zookeeper.Exception.SYSTEM_ERROR);
    }
  };
  exception[patched] = true;
}

// The library keeps one EventEmitter per watched path and adds a listener per watcher, so more than
// ten watchers of one path (ten tailing readers of a log watch its segment list) print Node's
// "possible EventEmitter memory leak" warning. Watchers are one-shot and removed when they fire:
// there is no leak to warn about, so those emitters get no listener limit.
type Register = (this: Record<string, Record<string, EventEmitter | undefined>>, path: string, watcher: unknown) => void;
const watcherManager = createRequire(import.meta.url)('node-zookeeper-client/lib/WatcherManager.js') as {
  prototype: Record<string, Register | boolean | undefined>;
};
const unlimited = Symbol.for('distributedlog.zk-watchers-unlimited');
const proto = watcherManager.prototype as Record<string | symbol, Register | boolean | undefined>;
if (proto[unlimited] !== true) {
  for (const type of ['data', 'child', 'existence'] as const) {
    const name = `register${type[0]?.toUpperCase() ?? ''}${type.slice(1)}Watcher`;
    const register = proto[name] as Register;
    proto[name] = function (this: Record<string, Record<string, EventEmitter | undefined>>, path: string, watcher: unknown): void {
      register.call(this, path, watcher);
      this[`${type}Watchers`]?.[path]?.setMaxListeners(0);
    };
  }
  proto[unlimited] = true;
}
