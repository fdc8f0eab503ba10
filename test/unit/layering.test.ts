// The layering rule (scripts/eslint-layers.mjs) on probe files: upward imports fail lint, downward
// and same-layer ones pass, and the project's eslint config applies the rule to every file in src/.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function lintImport(file: string, source: string): Promise<string[]> {
  const { layersPlugin } = (await import(pathToFileURL(path.join(ROOT, 'scripts/eslint-layers.mjs')).href)) as { layersPlugin: NonNullable<Linter.Config['plugins']>[string] };
  const eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { layers: layersPlugin },
      rules: { 'layers/imports': 'error' },
    }],
  });
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).map((m) => m.message);
}

describe('layering lint rule', () => {
  const upward: Array<[string, string]> = [
    ['src/ledger/probe.ts', "import { Namespace } from '../log/namespace.js';"],
    ['src/bookie/probe.ts', "import { LedgerClient } from '../ledger/ledger-client.js';"],
    ['src/protocol/probe.ts', "export { parseLedgerPath } from '../ledger-metadata/ledger-paths.js';"],
    ['src/metadata/zk/probe.ts', "import { startBookie } from '../../bookie/bookie.js';"],
    ['src/log/format/probe.ts', "import { LogWriter } from '../writer/log-writer.js';"],
    ['src/log/reader/probe.ts', "import { LogWriter } from '../writer/log-writer.js';"],
    ['src/log/metadata/probe.ts', "import { LogReader } from '../reader/log-reader.js';"],
    ['src/log/writer/probe.ts', "const m = await import('../namespace.js');"],
    ['src/log/reader/probe.ts', "import { startBookie } from '../../bookie/bookie.js';"],
  ];
  for (const [file, source] of upward) {
    it(`fails ${file}: ${source}`, async () => {
      const messages = await lintImport(file, source);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(/^layer '[^']+' may not import/);
    });
  }

  const allowed: Array<[string, string]> = [
    ['src/ledger/probe.ts', "import { createDigest } from '../protocol/digest.js';"],
    ['src/log/writer/probe.ts', "import { LogReader } from '../reader/log-reader.js';"],
    ['src/log/probe.ts', "const m = await import('../embedded/embedded-cluster.js');"],
    ['src/log/format/probe.ts', "import { LogError } from '../log-error.js';"],
    ['src/cli/probe.ts', "import { startBookie } from '../bookie/bookie.js';"],
  ];
  for (const [file, source] of allowed) {
    it(`passes ${file}: ${source}`, async () => {
      expect(await lintImport(file, source)).to.deep.equal([]);
    });
  }

  it('is switched on for src/ by the project config', async () => {
    const config = (await new ESLint({ cwd: ROOT }).calculateConfigForFile(path.join(ROOT, 'src/ledger/ledger-client.ts'))) as Linter.Config;
    expect(config.rules?.['layers/imports']).to.deep.equal([2]);
  });
});
