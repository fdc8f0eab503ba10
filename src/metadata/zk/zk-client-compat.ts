// node-zookeeper-client 1.1.3 knows only ZooKeeper 3.4's error codes. For a newer code in a reply
// (3.5+ sends UNKNOWN_SESSION, -12, for requests racing a session close) its Exception.create
// throws "Unknown code" from inside its socket handler: an uncaught exception that would take the
// whole process down. The library calls Exception.create through its module object, so wrapping
// that one function turns the crash into an ordinary error for the request.
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
