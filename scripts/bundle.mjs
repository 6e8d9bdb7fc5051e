// What both bundles (dist/ for the npm route, the single CommonJS file of the
// release binary) share: the version, and the three rules that keep the runtime
// quiet on stderr.
//
// - punycode comes from the npm package, not Node's built-in: tr46 (under
//   node-fetch) requires 'punycode', and Node 22 warns about the built-in
//   (DEP0040) on every start of the code outside node_modules.
// - The optional modules that libraries only try to load (ws: bufferutil and
//   utf-8-validate; debug: supports-color; node-fetch: encoding) are bundled as
//   "not installed", exactly what their try/catch expects. Left as require()
//   calls, the binary's require() (built-ins only) warns on the first one.
// - After the build, every import that stayed outside the bundle must be a
//   Node built-in; anything else fails the build.
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;

const OPTIONAL_ABSENT = ['bufferutil', 'utf-8-validate', 'supports-color', 'encoding'];

const quietRuntime = {
  name: 'quiet-runtime',
  setup(build) {
    const require = createRequire(path.join(root, 'package.json'));
    build.onResolve({ filter: /^punycode$/ }, () => ({ path: require.resolve('punycode/punycode.js') }));
    const absent = new RegExp(`^(${OPTIONAL_ABSENT.join('|')})$`);
    build.onResolve({ filter: absent }, (args) => ({ path: args.path, namespace: 'absent' }));
    build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
    build.onEnd((result) => {
      if (!result.metafile) return undefined;
      /** @type {Set<string>} */
      const outside = new Set();
      for (const input of Object.values(result.metafile.inputs)) {
        for (const imp of input.imports) if (imp.external && !isBuiltin(imp.path)) outside.add(imp.path);
      }
      if (!outside.size) return undefined;
      return {
        errors: [{ text: `the bundle would load modules it does not contain: ${[...outside].sort().join(', ')}` }],
      };
    });
  },
};

/**
 * esbuild options shared by both bundles; metafile is on so the check above can run.
 * STUDY_BUILD_PROFILE=1 leaves the names unminified, for CPU profiles (node --cpu-prof).
 */
export function sharedOptions(target) {
  return {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target,
    minify: !process.env.STUDY_BUILD_PROFILE,
    metafile: true,
    define: { __STUDY_VERSION__: JSON.stringify(version) },
    plugins: [quietRuntime],
    logLevel: 'warning',
  };
}
