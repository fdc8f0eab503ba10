// The Java side of the interop suite: finds JDK 17 and Maven, compiles the harness in
// test/interop/java once per BookKeeper version and run (cached classpath file), and runs
// Java programs as child processes: the line-protocol harness (Harness.java) and real Java
// bookies (org.apache.bookkeeper.server.Main --conf FILE).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Context } from 'mocha';
import { freePort } from '../../../src/cli/zookeeper-server.js';
import { skipWithout } from '../../support/skip.js';
import type { MetadataStore } from '../../../src/metadata/metadata-store.js';

const JAVA_DIR = fileURLToPath(new URL('../java/', import.meta.url));

/** BookKeeper / DistributedLog versions under test (pom.xml profiles); DLOG_INTEROP_BK narrows them. */
export const BK_VERSIONS: readonly { version: string; profile: string }[] = [
  { version: '4.18.2', profile: 'bk418' },
  { version: '4.17.3', profile: 'bk417' },
].filter((v) => process.env.DLOG_INTEROP_BK === undefined || process.env.DLOG_INTEROP_BK.split(',').includes(v.version));

/** JVM flags BookKeeper's own scripts pass on Java 17 (netty reflective access). */
const JVM_FLAGS = [
  '--add-opens', 'java.base/java.nio=ALL-UNNAMED', '--add-opens', 'java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-opens', 'java.base/java.io=ALL-UNNAMED', '--add-opens', 'java.base/java.util.zip=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true', '-Djava.net.preferIPv4Stack=true',
];
/** Short-lived test JVMs on a shared 2-core machine: small heap, C1 only, quick start. */
const TEST_JVM_FLAGS = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
/** Benchmarks: the JVM as deployed (full JIT, default GC), heap sized as for a small bookie. */
const BENCH_JVM_FLAGS = ['-Xmx1g'];

/** The JDK 17 `java` binary when both it and Maven are installed, else null. */
export function findJavaToolchain(): string | null {
  const java = findJava();
  return java !== null && hasMaven() ? java : null;
}

function findJava(): string | null {
  const candidates = [process.env.JAVA17_HOME, process.env.JAVA_HOME, '/usr/lib/jvm/java-17-openjdk-amd64']
    .filter((d): d is string => d !== undefined && d !== '')
    .map((d) => path.join(d, 'bin/java'));
  if (existsSync('/usr/lib/jvm')) {
    for (const d of readdirSync('/usr/lib/jvm')) if (/17/.test(d)) candidates.push(path.join('/usr/lib/jvm', d, 'bin/java'));
  }
  return candidates.find((c) => existsSync(c)) ?? null;
}

function hasMaven(): boolean {
  try {
    execFileSync('mvn', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let toolchain: { java: string } | null | undefined;

/**
 * The JDK 17 `java` binary, or skips the calling test loudly when Java or Maven is missing
 * (under CI=true a missing toolchain is a failure).
 */
export function requireJava(ctx: Context): string {
  if (toolchain === undefined) {
    const java = findJavaToolchain();
    toolchain = java === null ? null : { java };
  }
  if (toolchain !== null) return toolchain.java;
  const message = 'JDK 17 and Maven (mvn) not found: install openjdk-17-jdk-headless and maven, or set JAVA17_HOME';
  return skipWithout(ctx, message, 'the Java interop tests');
}

const classpaths = new Map<string, string>();

function newestSourceMtime(): number {
  let newest = statSync(path.join(JAVA_DIR, 'pom.xml')).mtimeMs;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(path.join(JAVA_DIR, 'src'));
  return newest;
}

/**
 * The classpath of the harness built against one BookKeeper version: `mvn compile` runs only when
 * the cached classpath file is missing or older than the Java sources (so once per run at most).
 */
export function harnessClasspath(version: string): string {
  const cached = classpaths.get(version);
  if (cached !== undefined) return cached;
  const profile = BK_VERSIONS.find((v) => v.version === version)?.profile ?? version;
  const target = path.join(JAVA_DIR, 'target', version);
  const cpFile = path.join(target, 'classpath.txt');
  if (!existsSync(cpFile) || statSync(cpFile).mtimeMs < newestSourceMtime()) {
    mkdirSync(target, { recursive: true });
    try {
      execFileSync('mvn', ['-B', '-q', '-P', profile, 'compile', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`],
        { cwd: JAVA_DIR, stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      // Maven reports compile and resolution errors on stdout
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      throw new Error(`mvn compile of the interop harness (${profile}) failed:\n${stdout}${stderr}`, { cause: err });
    }
  }
  const cp = `${path.join(target, 'classes')}:${readFileSync(cpFile, 'utf8').trim()}`;
  classpaths.set(version, cp);
  return cp;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function spawnJava(java: string, version: string, args: string[], bench = false): ChildProcess {
  const flags = [...JVM_FLAGS, ...(bench ? BENCH_JVM_FLAGS : TEST_JVM_FLAGS)];
  const child = spawn(java, [...flags, '-cp', harnessClasspath(version), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Keeps the last 32 KiB of the child's stderr; DLOG_INTEROP_JAVA_LOG=FILE also appends all of it there. */
function tail(buf: { text: string }, child: ChildProcess): void {
  const log = process.env.DLOG_INTEROP_JAVA_LOG;
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    buf.text = (buf.text + chunk).slice(-32768);
    if (log !== undefined) appendFileSync(log, chunk);
  });
}

/** A failure the Java side reported: `err <ExceptionClass> <message>`. */
export class JavaError extends Error {
  constructor(readonly javaClass: string, message: string) {
    super(`${javaClass}: ${message}`);
    this.name = 'JavaError';
  }
}

/** The line-protocol harness (Harness.java): one request line in, one `ok ...`/`err ...` line out. */
export class JavaHarness {
  readonly #child: ChildProcess;
  readonly #stderr = { text: '' };
  readonly #waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  #exited = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    tail(this.#stderr, child);
    createInterface({ input: child.stdout! }).on('line', (line) => { this.#waiting.shift()?.resolve(line); });
    child.once('exit', (code, signal) => {
      this.#exited = true;
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`Java harness exited (${code ?? signal}); stderr:\n${this.#stderr.text}`));
    });
  }

  /** `bench`: the JVM as deployed (full JIT), for the side-by-side benchmark. */
  static async start(java: string, version: string, bench = false): Promise<JavaHarness> {
    const h = new JavaHarness(spawnJava(java, version, ['dlinterop.Harness'], bench));
    const first = await h.#next();
    if (first !== 'ready') throw new Error(`Java harness said ${first}`);
    return h;
  }

  get stderr(): string { return this.#stderr.text; }
  get pid(): number | undefined { return this.#child.pid; }

  #next(): Promise<string> {
    if (this.#exited) return Promise.reject(new Error(`Java harness has exited; stderr:\n${this.#stderr.text}`));
    return new Promise((resolve, reject) => { this.#waiting.push({ resolve, reject }); });
  }

  /** Sends one command; resolves with the text after `ok ` or rejects with a JavaError. */
  async call(...args: (string | number | bigint)[]): Promise<string> {
    const answer = this.#next();
    this.#child.stdin!.write(`${args.join(' ')}\n`);
    const line = await answer;
    if (line.startsWith('ok')) return line.slice(3);
    const m = /^err (\S+) ?(.*)$/.exec(line);
    throw m ? new JavaError(m[1]!, m[2]!) : new Error(`unexpected harness answer: ${line}`);
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exit = new Promise((r) => this.#child.once('exit', r));
    this.#child.stdin!.end('quit\n');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 30_000);
    await exit;
    clearTimeout(timer);
  }
}

export interface JavaBookieOptions {
  /** `zk+hierarchical://127.0.0.1:PORT/ledgers-root`. */
  readonly metadataServiceUri: string;
  readonly dir: string;
  /** Default: the interleaved (SortedLedgerStorage) default; 'db' = DbLedgerStorage. */
  readonly storage?: 'default' | 'db';
  readonly port?: number;
  /** Run the JVM as deployed (full JIT) rather than tuned for a quick test start. */
  readonly bench?: boolean;
}

/** A real Java bookie process. */
export class JavaBookie {
  readonly #options: JavaBookieOptions;
  readonly #java: string;
  readonly #version: string;
  readonly port: number;
  readonly #stderr = { text: '' };
  #child: ChildProcess | undefined;
  #exit: Promise<unknown> = Promise.resolve();

  private constructor(java: string, version: string, options: JavaBookieOptions, port: number) {
    this.#java = java;
    this.#version = version;
    this.#options = options;
    this.port = port;
  }

  /** Starts the bookie and resolves once it is registered as writable under `<root>/available/`. */
  static async start(java: string, version: string, store: MetadataStore, ledgersRoot: string, options: JavaBookieOptions): Promise<JavaBookie> {
    const b = new JavaBookie(java, version, options, options.port ?? await freePort());
    await b.#launch(store, ledgersRoot);
    return b;
  }

  get bookieId(): string { return `127.0.0.1:${this.port}`; }
  get running(): boolean { return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null; }
  get stderr(): string { return this.#stderr.text; }
  get pid(): number | undefined { return this.#child?.pid; }

  async #launch(store: MetadataStore, ledgersRoot: string): Promise<void> {
    const { dir } = this.#options;
    const previousOwner = (await store.exists(`${ledgersRoot}/available/${this.bookieId}`))?.ephemeralOwner;
    mkdirSync(path.join(dir, 'journal'), { recursive: true });
    mkdirSync(path.join(dir, 'ledgers'), { recursive: true });
    const conf = [
      `bookiePort=${this.port}`,
      'allowLoopback=true',
      'advertisedAddress=127.0.0.1',
      `metadataServiceUri=${this.#options.metadataServiceUri}`,
      `journalDirectories=${path.join(dir, 'journal')}`,
      `ledgerDirectories=${path.join(dir, 'ledgers')}`,
      'zkTimeout=4000',
      'httpServerEnabled=false',
      // temp volumes on CI machines are small and shared: do not go read-only at 95 %
      'diskUsageThreshold=0.999', 'diskUsageWarnThreshold=0.998', 'readOnlyModeOnAnyDiskFullEnabled=false',
      'journalSyncData=true',
      ...(this.#options.storage === 'db'
        ? ['ledgerStorageClass=org.apache.bookkeeper.bookie.storage.ldb.DbLedgerStorage',
          'dbStorage_writeCacheMaxSizeMb=16', 'dbStorage_readAheadCacheMaxSizeMb=16', 'dbStorage_rocksDB_blockCacheSize=8388608']
        : []),
    ];
    const confFile = path.join(dir, 'bk_server.conf');
    writeFileSync(confFile, `${conf.join('\n')}\n`);
    const child = spawnJava(this.#java, this.#version, ['org.apache.bookkeeper.server.Main', '--conf', confFile], this.#options.bench === true);
    child.stdout?.resume();
    tail(this.#stderr, child);
    this.#child = child;
    this.#exit = new Promise((r) => child.once('exit', r));
    const node = `${ledgersRoot}/available/${this.bookieId}`;
    const deadline = Date.now() + 90_000;
    // registered = ready (the bookie registers after its server socket is up); a node left by a
    // killed previous incarnation does not count
    const registered = async (): Promise<boolean> => {
      const stat = await store.exists(node);
      return stat !== null && stat.ephemeralOwner !== previousOwner;
    };
    while (!this.running || !(await registered())) {
      if (!this.running) throw new Error(`Java bookie ${this.bookieId} exited before registering; stderr:\n${this.#stderr.text}`);
      if (Date.now() > deadline) throw new Error(`Java bookie ${this.bookieId} not registered in 90 s; stderr:\n${this.#stderr.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.#child!.kill(signal);
    await this.#exit;
  }

  async restart(store: MetadataStore, ledgersRoot: string): Promise<void> {
    await this.kill();
    await this.#launch(store, ledgersRoot);
  }
}
