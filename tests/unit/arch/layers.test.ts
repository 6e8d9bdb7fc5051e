/**
 * The layers, kept by reading every import of every file under src/:
 *
 *   bin/ -> src/cli -> src/<job> -> src/kube -> src/base
 *
 * Arrows only point down. src/cli is imported by nothing; a job imports
 * another job only through its library facade (src/drain/lib.ts); src/kube
 * never imports a job; src/base imports nothing of ours.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');
const JOBS = ['ctx', 'drain', 'rollout', 'rbac', 'maintain'];
/** What other jobs may import of a job. */
const FACADES: Record<string, string> = { drain: 'drain/lib.ts' };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const full = path.join(dir, e);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier a file imports, statically or with import(). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

function layerOf(rel: string): string {
  return rel.split(path.sep)[0]!;
}

/** Why an import from `from` (relative to src/) of `to` breaks the layering, or undefined. */
export function violation(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return undefined;
  if (b === 'cli') return 'nothing imports src/cli: it is the top floor';
  if (a === 'base') return 'src/base imports nothing of ours';
  if (a === 'kube' && b !== 'base') return 'src/kube imports only src/base';
  if (JOBS.includes(a) && JOBS.includes(b)) {
    return FACADES[b] === to.split(path.sep).join('/')
      ? undefined
      : `a job imports another job only through its facade (${FACADES[b] ?? 'none'})`;
  }
  return undefined;
}

test('the layering rule itself: up and sideways arrows are found', () => {
  assert.match(violation('kube/client.ts', 'cli/flags.ts') ?? '', /nothing imports src\/cli/);
  assert.match(violation('base/errors.ts', 'kube/url.ts') ?? '', /base imports nothing/);
  assert.match(violation('kube/client.ts', 'drain/model.ts') ?? '', /kube imports only/);
  assert.match(violation('maintain/run.ts', 'drain/run.ts') ?? '', /facade/);
  assert.equal(violation('maintain/run.ts', 'drain/lib.ts'), undefined);
  assert.equal(violation('drain/run.ts', 'kube/client.ts'), undefined);
  assert.equal(violation('cli/main.ts', 'drain/options.ts'), undefined);
  assert.deepEqual(
    importsOf(
      "import a from './x.js';\nexport { b } from '../y.js';\nconst c = await import('../z.js');\nimport type { D } from './d.js';",
    ),
    ['./x.js', '../y.js', './d.js', '../z.js'],
  );
});

test('every import under src/ points down the layers', () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const rel = path.relative(SRC, file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(SRC, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      if (target.startsWith('..')) {
        problems.push(`${rel} imports ${spec}, outside src/`);
        continue;
      }
      const why = violation(rel, target);
      if (why) problems.push(`${rel} imports ${target}: ${why}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('every layer folder is one the rule knows', () => {
  const layers = readdirSync(SRC)
    .filter((e) => statSync(path.join(SRC, e)).isDirectory())
    .sort();
  assert.deepEqual(layers, ['base', 'cli', 'kube', ...JOBS].sort());
});
