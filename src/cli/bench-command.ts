// `dlog bench`: lists the benchmarks in the source tree's bench/ and runs one as a child process
// (`node --import tsx bench/<name>.ts`), as `npm run bench:<name>` does. A benchmark is a file
// there whose header shows that command line; the others (stats.ts, bookie-cluster.ts) are helpers.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.js';
import { InvalidArgumentError } from '../errors.js';

export const BENCH_HELP = `Usage: dlog bench [<name> [-- <args>]]

Without a name, lists the benchmarks in bench/ of a source checkout. With one, runs it; the
arguments after the name (or after --) go to the benchmark, e.g. dlog bench log -- --seconds 5.
Benchmarks that use the built library (lib/) need 'npm run build' first.

Options:
  -h, --help            print this help
`;

/** The package root: two levels up from both src/cli/ and lib/cli/. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BENCH_DIR = path.join(ROOT, 'bench');

/** bench/ is missing (an installed package ships lib/ and src/ only) or a benchmark cannot run. */
class BenchError extends CliError {
  constructor(message: string) {
    super('BENCH_FAILED', message);
  }
}

interface Benchmark {
  readonly name: string;
  readonly file: string;
  /** The header comment up to its first sentence or clause break. */
  readonly summary: string;
}

export async function benchCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const benchmarks = listBenchmarks();
  if (name === undefined) {
    const width = Math.max(...benchmarks.map((b) => b.name.length));
    process.stdout.write(`Benchmarks (dlog bench <name> [-- <args>]):\n${benchmarks.map((b) => `  ${b.name.padEnd(width)}  ${b.summary}\n`).join('')}`);
    return 0;
  }
  if (name.startsWith('-')) throw new InvalidArgumentError(`unknown option ${JSON.stringify(name)}`);
  const bench = benchmarks.find((b) => b.name === name);
  if (bench === undefined) {
    throw new InvalidArgumentError(`unknown benchmark ${JSON.stringify(name)}; benchmarks: ${benchmarks.map((b) => b.name).join(', ')}`);
  }
  const source = readFileSync(bench.file, 'utf8');
  if (source.includes("from '../lib/") && !existsSync(path.join(ROOT, 'lib', 'index.js'))) {
    throw new BenchError(`benchmark ${name} runs the built library: run 'npm run build' in ${ROOT} first`);
  }
  return await run(bench.file, rest[0] === '--' ? rest.slice(1) : rest);
}

function listBenchmarks(): Benchmark[] {
  if (!existsSync(BENCH_DIR)) {
    throw new BenchError(`no bench/ directory in ${ROOT}: the benchmarks come with a source checkout of distributedlog, not the installed package`);
  }
  const benchmarks: Benchmark[] = [];
  for (const file of readdirSync(BENCH_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    const name = file.slice(0, -'.ts'.length);
    const header = headerOf(readFileSync(path.join(BENCH_DIR, file), 'utf8'));
    if (!header.includes(`bench/${file}`)) continue;
    benchmarks.push({ name, file: path.join(BENCH_DIR, file), summary: firstClause(header) });
  }
  return benchmarks;
}

/** The leading `//` comment, as text. */
function headerOf(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

function firstClause(header: string): string {
  const text = header.replace(/\s+/g, ' ').trim();
  const end = text.search(/[.:,](\s|$)| \(/);
  return end === -1 ? text : text.slice(0, end);
}

/** Runs the benchmark with our stdio; Ctrl-C reaches it directly, and we wait for it to finish. */
function run(file: string, args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, stdio: 'inherit' });
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (err) => { reject(new BenchError(`cannot run ${file}: ${err.message}`)); });
    child.once('exit', (code, signal) => { resolve(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal])); });
  }).finally(() => { process.off('SIGINT', ignore); });
}
