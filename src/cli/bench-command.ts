// `dlog bench`: lists the benchmarks in the source tree's bench/ and runs one as a child process
// (`node --import tsx bench/<name>.ts`), as `npm run bench:<name>` does. A benchmark is a file
// there whose header shows that command line; the others (stats.ts, bookie-cluster.ts) are helpers.
// With --report, a benchmark that records a BenchRecorder (bench-result.ts) hands its series back
// through a temporary file and the run becomes one self-contained HTML page (bench-report-html.ts).
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_ENV, type BenchResult } from './bench-result.js';
import { renderBenchReport } from './bench-report-html.js';
import { CliError } from './cli-error.js';
import { InvalidArgumentError } from '../errors.js';

export const BENCH_HELP = `Usage: dlog bench [<name> [--report <file.html>] [-- <args>]]

Without a name, lists the benchmarks in bench/ of a source checkout. With one, runs it; the
arguments after the name (or after --) go to the benchmark, e.g. dlog bench log -- --seconds 5.
Benchmarks that use the built library (lib/) need 'npm run build' first.

Options:
  --report <file>       also write the run as one self-contained HTML page: latency
                        histograms and throughput over time per row (benchmarks marked
                        [report] in the list)
  -h, --help            print this help
`;

/** Output of the benchmark kept for the report; beyond it, only the newest output is kept. */
const MAX_OUTPUT = 1 << 20;

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
  /** It records a BenchRecorder, so --report works. */
  readonly reports: boolean;
}

export async function benchCommand(argv: string[]): Promise<number> {
  const [name, ...afterName] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const benchmarks = listBenchmarks();
  if (name === undefined) {
    const width = Math.max(...benchmarks.map((b) => b.name.length));
    const line = (b: Benchmark): string => `  ${b.name.padEnd(width)}  ${b.reports ? '[report] ' : ''}${b.summary}\n`;
    process.stdout.write(`Benchmarks (dlog bench <name> [--report <file.html>] [-- <args>]):\n${benchmarks.map(line).join('')}`);
    return 0;
  }
  const { report, rest } = takeReportOption(afterName);
  if (name.startsWith('-')) throw new InvalidArgumentError(`unknown option ${JSON.stringify(name)}`);
  const bench = benchmarks.find((b) => b.name === name);
  if (bench === undefined) {
    throw new InvalidArgumentError(`unknown benchmark ${JSON.stringify(name)}; benchmarks: ${benchmarks.map((b) => b.name).join(', ')}`);
  }
  const source = readFileSync(bench.file, 'utf8');
  if (source.includes("from '../lib/") && !existsSync(path.join(ROOT, 'lib', 'index.js'))) {
    throw new BenchError(`benchmark ${name} runs the built library: run 'npm run build' in ${ROOT} first`);
  }
  const args = rest[0] === '--' ? rest.slice(1) : rest;
  if (report === undefined) return await run(bench.file, args);
  if (!bench.reports) {
    const able = benchmarks.filter((b) => b.reports).map((b) => b.name).join(', ');
    throw new InvalidArgumentError(`benchmark ${name} records no report; --report works with: ${able}`);
  }
  const unwritable = whyUnwritable(report);
  if (unwritable !== undefined) {
    // one line and exit 2, before the benchmark spends minutes running
    process.stderr.write(`dlog bench: cannot write the report to ${report}: ${unwritable}\n`);
    return 2;
  }
  return await runWithReport(bench, args, report, ['bench', ...argv]);
}

/** `--report F` / `--report=F` among the arguments before `--` (the benchmarks have no such option). */
function takeReportOption(args: readonly string[]): { report: string | undefined; rest: string[] } {
  const end = args.indexOf('--') === -1 ? args.length : args.indexOf('--');
  let report: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (i < end && arg === '--report') {
      report = args[++i];
      if (report === undefined || report.startsWith('-')) throw new InvalidArgumentError('--report needs a file name, e.g. --report out.html');
    } else if (i < end && arg.startsWith('--report=')) {
      report = arg.slice('--report='.length);
    } else {
      rest.push(arg);
    }
  }
  if (report === '') throw new InvalidArgumentError('--report needs a file name, e.g. --report out.html');
  return { report, rest };
}

/** Why the report file cannot be written, or undefined when it can. */
function whyUnwritable(file: string): string | undefined {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  if (!existsSync(dir)) return `no directory ${dir}`;
  if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
  if (existsSync(target) && statSync(target).isDirectory()) return 'it is a directory';
  try {
    accessSync(existsSync(target) ? target : dir, constants.W_OK);
  } catch {
    return `no permission to write ${existsSync(target) ? target : `in ${dir}`}`;
  }
  return undefined;
}

function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  return `${os.hostname()}: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, `
    + `${os.type()} ${os.release()} ${os.arch()}, node ${process.version}, load average at start ${load}`;
}

async function runWithReport(bench: Benchmark, args: readonly string[], report: string, argv: readonly string[]): Promise<number> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlog-bench-'));
  const resultFile = path.join(tmp, 'result.json');
  try {
    const context = { command: `dlog ${argv.join(' ')}`, machine: machine(), started: new Date() };
    let output = '';
    const started = performance.now();
    const code = await run(bench.file, args, { [RESULT_ENV]: resultFile }, (chunk) => {
      output = (output + chunk).slice(-MAX_OUTPUT);
    });
    if (code !== 0) return code;
    if (!existsSync(resultFile)) throw new BenchError(`benchmark ${bench.name} finished without writing its result (${RESULT_ENV})`);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as BenchResult;
    const html = renderBenchReport(result, { ...context, title: `dlog bench ${bench.name}`, elapsedMs: performance.now() - started, output });
    try {
      writeFileSync(report, html);
    } catch (err) {
      process.stderr.write(`dlog bench: cannot write the report to ${report}: ${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`report: ${path.resolve(report)}\n`);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function listBenchmarks(): Benchmark[] {
  if (!existsSync(BENCH_DIR)) {
    throw new BenchError(`no bench/ directory in ${ROOT}: the benchmarks come with a source checkout of distributedlog, not the installed package`);
  }
  const benchmarks: Benchmark[] = [];
  for (const file of readdirSync(BENCH_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    const name = file.slice(0, -'.ts'.length);
    const source = readFileSync(path.join(BENCH_DIR, file), 'utf8');
    if (!headerOf(source).includes(`bench/${file}`)) continue;
    benchmarks.push({ name, file: path.join(BENCH_DIR, file), summary: firstClause(headerOf(source)), reports: source.includes('new BenchRecorder(') });
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

/**
 * Runs the benchmark with our stdio; Ctrl-C reaches it directly, and we wait for it to finish.
 * With `onOutput`, its stdout also goes there (and still to ours).
 */
function run(file: string, args: readonly string[], env: Record<string, string> = {}, onOutput?: (chunk: string) => void): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['inherit', onOutput === undefined ? 'inherit' : 'pipe', 'inherit'],
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    process.stdout.write(chunk);
    onOutput?.(chunk);
  });
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (err) => { reject(new BenchError(`cannot run ${file}: ${err.message}`)); });
    child.once('exit', (code, signal) => { resolve(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal])); });
  }).finally(() => { process.off('SIGINT', ignore); });
}
