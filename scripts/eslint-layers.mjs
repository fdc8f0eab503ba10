// The layering of src/ as an ESLint rule: each file belongs to a layer (its folder under src/, or
// log/<part>), and may import only from its own layer and the layers listed for it. An import that
// points up (ledger/ -> log/, log/format/ -> log/writer/, ...) fails lint, so CI fails on it.
import path from 'node:path';

/** Layer -> the layers it may import. Read bottom-up: it is the architecture (docs/architecture.md). */
export const LAYERS = {
  errors: [],
  util: ['errors'],
  proto: ['errors'],
  protocol: ['proto', 'util', 'errors'],
  'ledger-metadata': ['protocol', 'proto', 'util', 'errors'],
  metadata: ['util', 'errors'],
  bookie: ['ledger-metadata', 'protocol', 'proto', 'metadata', 'util', 'errors'],
  ledger: ['ledger-metadata', 'protocol', 'proto', 'metadata', 'util', 'errors'],
  embedded: ['bookie', 'metadata', 'util', 'errors'],
  'log/log-error': ['errors'],
  'log/log-metrics': ['util', 'errors'],
  'log/format': ['log/log-error', 'util', 'errors'],
  'log/log-config': ['log/format', 'log/log-error', 'protocol', 'util', 'errors'],
  'log/metadata': ['log/format', 'log/log-error', 'metadata', 'util', 'errors'],
  'log/reader': ['log/metadata', 'log/format', 'log/log-metrics', 'log/log-config', 'log/log-error', 'ledger', 'ledger-metadata', 'protocol', 'metadata', 'util', 'errors'],
  'log/writer': ['log/reader', 'log/metadata', 'log/format', 'log/log-metrics', 'log/log-config', 'log/log-error', 'ledger', 'ledger-metadata', 'protocol', 'metadata', 'util', 'errors'],
  // the namespace and the log handle; embedded/ is imported lazily, for `local:` only
  log: ['log/writer', 'log/reader', 'log/metadata', 'log/format', 'log/log-metrics', 'log/log-config', 'log/log-error', 'embedded', 'ledger', 'ledger-metadata', 'protocol', 'metadata', 'util', 'errors'],
  index: ['log', 'log/writer', 'log/reader', 'log/metadata', 'log/format', 'log/log-metrics', 'log/log-config', 'log/log-error', 'ledger', 'ledger-metadata', 'protocol', 'metadata', 'util', 'errors'],
  cli: ['index', 'log', 'log/writer', 'log/reader', 'log/metadata', 'log/format', 'log/log-metrics', 'log/log-config', 'log/log-error', 'embedded', 'bookie', 'ledger', 'ledger-metadata', 'protocol', 'proto', 'metadata', 'util', 'errors'],
};

/** The layer of a path relative to src/, or undefined outside src/. */
export function layerOf(relative) {
  const parts = relative.split(path.sep);
  if (parts[0] === '..' || parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0].replace(/\.[cm]?[jt]s$/, '');
  if (parts[0] !== 'log') return parts[0];
  if (parts.length > 2) return `log/${parts[1]}`;
  const file = parts[1].replace(/\.[cm]?[jt]s$/, '');
  return file === 'log-error' || file === 'log-config' || file === 'log-metrics' ? `log/${file}` : 'log';
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports go down the layers of src/ only' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
    messages: {
      upward: "layer '{{from}}' may not import '{{spec}}' (layer '{{to}}'); it may import: {{allowed}}",
      unknown: "file in unknown layer '{{from}}': add it to LAYERS in scripts/eslint-layers.mjs",
    },
  },
  create(context) {
    const root = path.resolve(context.options[0]?.root ?? context.cwd, 'src');
    const file = context.physicalFilename;
    const from = layerOf(path.relative(root, file));
    if (from === undefined) return {};
    const allowed = LAYERS[from];
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const to = layerOf(path.relative(root, path.resolve(path.dirname(file), spec)));
      if (to === undefined || to === from || allowed.includes(to)) return;
      context.report({ node, messageId: 'upward', data: { from, to, spec, allowed: allowed.join(', ') || 'nothing' } });
    };
    return {
      Program(node) {
        if (allowed === undefined) context.report({ node, messageId: 'unknown', data: { from } });
      },
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => check(node, node.source?.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source.value : undefined),
    };
  },
};

export const layersPlugin = { rules: { imports: rule } };
