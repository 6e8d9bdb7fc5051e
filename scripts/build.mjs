// Bundles src/ into dist/ with esbuild: one small entry chunk (commander and
// the command table), and separate chunks loaded only by the command that
// runs (client-node among them), so --help never pays for the API client.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  define: { __STUDY_VERSION__: JSON.stringify(pkg.version) },
  // Some bundled CommonJS packages call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __studyCreateRequire } from 'node:module'; const require = __studyCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const outputs = Object.entries(result.metafile.outputs)
  .filter(([f]) => f.endsWith('.js'))
  .map(([f, o]) => `${path.relative('dist', f)} ${(o.bytes / 1024).toFixed(0)} KiB`);
if (process.env.STUDY_BUILD_VERBOSE) console.error(outputs.join('\n'));
