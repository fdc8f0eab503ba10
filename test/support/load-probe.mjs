// Child process for the entry-point test: imports one package specifier (argv[2]) with plain Node
// and prints, as JSON, every module URL that import loaded and every shared object the process mapped.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

const log = path.join(mkdtempSync(path.join(os.tmpdir(), 'dlog-load-')), 'urls');
appendFileSync(log, '');
// the hook runs on the loader thread; it appends synchronously, so the file is complete once import() returns
const hook = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
await import(process.argv[2]);
const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean);
const sharedObjects = process.report.getReport().sharedObjects;
process.stdout.write(JSON.stringify({ modules, sharedObjects }));
