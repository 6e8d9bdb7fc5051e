/**
 * One formatter (Biome) and one linter (oxlint, type-aware through
 * tsgolint), run by the tests: `npm test` fails on unformatted or
 * lint-failing code, and `npm run fix` mends what can be mended.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

function tool(name: string, args: string[], cwd = ROOT): { code: number | null; output: string } {
  const r = spawnSync(path.join(BIN, name), args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', OXLINT_TSGOLINT_PATH: path.join(BIN, 'tsgolint') },
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

test('every file is formatted as the formatter writes it (npm run fix formats)', () => {
  const r = tool('biome', ['format', '--max-diagnostics=20', '.']);
  assert.equal(r.code, 0, `${r.output}\nrun "npm run fix" to format`);
});

test('the linter finds nothing', () => {
  const r = tool('oxlint', ['-f', 'unix', '.']);
  assert.equal(r.code, 0, r.output);
});

test('the linter catches the async and dead-code bugs it is there for', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-lint-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, noEmit: true, lib: ['es2023'], types: [] },
      include: ['*.ts'],
    }),
  );
  writeFileSync(path.join(dir, 'other.ts'), 'export interface Thing {\n  a: number;\n}\n');
  writeFileSync(
    path.join(dir, 'bugs.ts'),
    [
      "import type { Thing } from './other.js';",
      'async function save(): Promise<void> {}',
      'export function floating(): void {',
      '  save();',
      '}',
      'export function misused(xs: number[]): void {',
      '  xs.forEach(async () => {',
      '    await save();',
      '  });',
      '}',
      "type Kind = 'a' | 'b';",
      'export function exhaustive(k: Kind): number {',
      '  switch (k) {',
      "    case 'a':",
      '      return 1;',
      '  }',
      '  return 0;',
      '}',
      'const unused = 1;',
      '',
    ].join('\n'),
  );
  const r = tool('oxlint', ['-c', path.join(ROOT, '.oxlintrc.json'), '-f', 'unix', '.'], dir);
  assert.equal(r.code, 1, r.output);
  const found = [...r.output.matchAll(/^bugs\.ts:(\d+):\d+: .*\[Error\/[a-z]+\(([a-z-]+)\)\]$/gm)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  assert.deepEqual(found.sort(), [
    '1 no-unused-vars',
    '13 switch-exhaustiveness-check',
    '19 no-unused-vars',
    '4 no-floating-promises',
    '7 no-misused-promises',
  ]);
});
