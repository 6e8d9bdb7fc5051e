// Bundles src/ into dist/ with esbuild: one small entry chunk (commander and
// the command table), and separate chunks loaded only by the command that
// runs (client-node among them), so --help never pays for the API client.
import { rmSync } from 'node:fs';
import path from 'node:path';

import { build } from 'esbuild';

import { root, sharedOptions } from './bundle.mjs';

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const result = await build({
  ...sharedOptions('node20'),
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist',
  splitting: true,
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  // Some bundled CommonJS packages call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __studyCreateRequire } from 'node:module'; const require = __studyCreateRequire(import.meta.url);",
  },
});
const outputs = Object.entries(result.metafile.outputs)
  .filter(([f]) => f.endsWith('.js'))
  .map(([f, o]) => `${path.relative('dist', f)} ${(o.bytes / 1024).toFixed(0)} KiB`);
if (process.env.STUDY_BUILD_VERBOSE) console.error(outputs.join('\n'));
