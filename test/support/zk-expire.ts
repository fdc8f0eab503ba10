// Forces a REAL ZooKeeper session expiry (the server ends the session; no local shortcut), the way Curator's KillSession does:
// a second connection attaches to the session (same id and password) and closes it.
import net from 'node:net';
import type { ZkMetadataStore } from '../../src/metadata/zk/zk-metadata-store.js';

function frame(body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/**
 * Sends ConnectRequest(session) and closeSession in ONE write, without waiting for the connect response. Attaching makes the
 * server drop the store's connection and the closeSession is already queued behind it, so the store's immediate reconnect
 * rarely wins the session back first (measured: 1 in 30; with node-zookeeper-client as the second client, 1 in 3). When it
 * does, the store emits 'suspended' and 'connected' with the OLD id before 'expired': listeners must not take the first
 * 'connected' for the new session.
 */
function attachAndClose(connectString: string, sessionId: bigint, password: Buffer): Promise<void> {
  const [host = '127.0.0.1', port = '2181'] = (connectString.split(',')[0] ?? '').split('/')[0]!.split(':');
  const connect = Buffer.alloc(4 + 8 + 4 + 8 + 4 + password.length + 1);
  let at = connect.writeInt32BE(0, 0); // protocol version
  at = connect.writeBigInt64BE(0n, at); // last zxid seen
  at = connect.writeInt32BE(30_000, at); // session timeout
  at = connect.writeBigInt64BE(sessionId, at);
  at = connect.writeInt32BE(password.length, at);
  at += password.copy(connect, at);
  connect.writeUInt8(0, at); // not read-only
  const closeSession = Buffer.alloc(8);
  closeSession.writeInt32BE(1, 0); // xid
  closeSession.writeInt32BE(-11, 4); // OpCode.closeSession
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host);
    const timer = setTimeout(() => { socket.destroy(new Error(`forceExpire: no answer from ${host}:${port}`)); }, 10_000);
    let failure: Error | undefined;
    socket.on('connect', () => { socket.write(Buffer.concat([frame(connect), frame(closeSession)])); });
    socket.on('data', () => undefined); // the server answers both, then closes the connection
    socket.on('error', (err) => { failure = err; });
    socket.on('close', () => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve();
    });
  });
}

/**
 * Expires `store`'s current session on the server and resolves once the store has emitted 'expired' for it and then
 * 'connected' with its new session. Tries again if the session survived (the store's reconnect won the race).
 */
export async function forceExpire(store: ZkMetadataStore, connectString: string, timeoutMs = 30_000): Promise<void> {
  const oldId = store.sessionId;
  const password = store.sessionPassword;
  if (password === undefined || store.state !== 'connected') throw new Error(`forceExpire: the store is ${store.state}`);

  const seen = { expired: false }; // an object: TypeScript does not see the listener's write to a `let`
  let wake: (() => void) | undefined;
  const onExpired = (id: bigint): void => { if (id === oldId) { seen.expired = true; wake?.(); } };
  const onConnected = (id: bigint): void => { if (seen.expired && id !== oldId) wake?.(); };
  store.on('expired', onExpired);
  store.on('connected', onConnected);
  const deadline = Date.now() + timeoutMs;
  const until = async (condition: () => boolean, ms: number): Promise<void> => {
    const end = Math.min(Date.now() + ms, deadline);
    while (!condition() && Date.now() < end) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(0, Math.min(100, end - Date.now())));
      });
    }
  };
  try {
    while (!seen.expired) {
      if (Date.now() >= deadline) throw new Error(`forceExpire: session 0x${oldId.toString(16)} did not expire`);
      await attachAndClose(connectString, oldId, password);
      await until(() => seen.expired, 2000);
    }
    await until(() => store.state === 'connected' && store.sessionId !== oldId, timeoutMs);
    if (store.sessionId === oldId) throw new Error('forceExpire: the store did not open a new session');
  } finally {
    store.off('expired', onExpired);
    store.off('connected', onConnected);
  }
}
