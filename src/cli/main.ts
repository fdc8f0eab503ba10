#!/usr/bin/env node
// The `dlog` command. Commands arrive with the issues that build them; for now: help and version.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const HELP = `dlog ${version}: distributedlog command line

Usage: dlog [--help] [--version]

Options:
  -h, --help     print this help
  -v, --version  print the version
`;

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    process.stderr.write(`dlog: ${(err as Error).message}\nRun 'dlog --help' for usage.\n`);
    return 2;
  }
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  process.stdout.write(HELP);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
