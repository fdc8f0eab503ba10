// Starts a real ZooKeeper server (for tests, benchmarks and the sandbox): standalone, bound to 127.0.0.1 on a free port, with a
// temporary data dir. Found in ZOOKEEPER_HOME, /usr/share/zookeeper or /usr/share/java.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ZooKeeperServer {
  readonly connectString: string;
  readonly port: number;
  /** SIGTERM, wait for exit, remove the data dir. */
  stop(): Promise<void>;
  /** SIGKILL, keep the data dir (a later `restart()` finds the sessions and data again). */
  kill(): Promise<void>;
  /** Start again on the same port and data dir after `kill()`. */
  restart(): Promise<void>;
}

function jarsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.jar')).map((f) => path.join(dir, f));
}

/** The Java classpath of an installed ZooKeeper server, or null when there is none. */
export function findZooKeeperClasspath(): string | null {
  const home = process.env.ZOOKEEPER_HOME;
  const candidates: string[][] = [];
  if (home) candidates.push([...jarsIn(home), ...jarsIn(path.join(home, 'lib'))]);
  for (const dir of ['/usr/share/zookeeper', '/usr/share/zookeeper/lib']) candidates.push(jarsIn(dir));
  // Debian's package: zookeeper.jar's manifest names its dependencies in /usr/share/java
  if (existsSync('/usr/share/java/zookeeper.jar')) candidates.push(['/usr/share/java/zookeeper.jar']);
  for (const jars of candidates) {
    if (jars.some((j) => /zookeeper(-\d[\w.-]*)?\.jar$/.test(path.basename(j)))) return jars.join(path.delimiter);
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => { resolve(port); });
    });
  });
}

/** Sends a four-letter word; resolves with the reply or '' when nothing answers. */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => socket.end(word));
    socket.on('data', (d: Buffer) => { reply += d.toString(); });
    socket.on('close', () => { resolve(reply); });
    socket.on('error', () => { /* reported as an empty reply via 'close' */ });
  });
}

async function waitUntilServing(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`ZooKeeper exited with ${child.exitCode}:\n${log()}`);
    if ((await fourLetterWord(port, 'ruok')) === 'imok') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ZooKeeper did not answer on 127.0.0.1:${port} within 60 s:\n${log()}`);
}

export interface ZooKeeperServerOptions {
  /** Default 200 ms; sessions may be as short as two ticks. */
  tickTimeMs?: number;
  /** fsync ZooKeeper's transaction log (default true). Tests turn it off: they check our fsyncs, not ZooKeeper's. */
  forceSync?: boolean;
  /** Client port on 127.0.0.1; default a free one. A port in use fails with a clear message. */
  port?: number;
  /** Config and data directory, kept on stop (the sandbox restarts on it); default a temporary one, deleted on stop. */
  dir?: string;
  /** Own process group, so a Ctrl-C to the caller's terminal does not reach it and the caller can stop it last. */
  detached?: boolean;
}

function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is in use (another ZooKeeper?)`) : err);
    });
    server.listen(port, '127.0.0.1', () => server.close(() => { resolve(); }));
  });
}

export async function startZooKeeper(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  const classpath = findZooKeeperClasspath();
  if (classpath === null) throw new Error('no ZooKeeper server found: install it (Debian: apt-get install zookeeper) or set ZOOKEEPER_HOME');
  let port: number;
  if (options.port === undefined) {
    port = await freePort();
  } else {
    port = options.port;
    await checkPortFree(port);
  }
  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'dlog-zk-'));
  mkdirSync(dir, { recursive: true });
  const removeTemporary = (): void => { if (temporary) rmSync(dir, { recursive: true, force: true }); };
  const cfg = path.join(dir, 'zoo.cfg');
  const tick = options.tickTimeMs ?? 200;
  writeFileSync(cfg, [
    `tickTime=${tick}`,
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    // min 2 ticks: lets tests use short session timeouts
    `minSessionTimeout=${2 * tick}`,
    'maxSessionTimeout=60000',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat',
    `forceSync=${options.forceSync === false ? 'no' : 'yes'}`,
  ].join('\n'));

  let child: ChildProcess | undefined;
  let output = '';
  const launch = async (): Promise<void> => {
    output = '';
    const proc = spawn('java', ['-Xmx256m', '-cp', classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached === true,
    });
    child = proc;
    const keep = (d: Buffer): void => { output = (output + d.toString()).slice(-8192); };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    await waitUntilServing(port, proc, () => output);
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(sig);
    await exited;
  };
  try {
    await launch();
  } catch (err) {
    await signal('SIGKILL');
    removeTemporary();
    throw err;
  }
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    stop: async () => { await signal('SIGTERM'); removeTemporary(); },
    kill: () => signal('SIGKILL'),
    restart: launch,
  };
}
