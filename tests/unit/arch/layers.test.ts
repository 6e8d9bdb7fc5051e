/**
 * The layers, kept by reading every import of every file under src/:
 *
 *   bin/ -> src/cli -> src/<job> -> src/kube -> src/base
 *
 * Arrows only point down. src/cli is imported by nothing; a job imports
 * another job only through its library facade (src/drain/lib.ts); src/kube
 * never imports a job; src/base imports nothing of ours. And no file reaches
 * itself through its imports (type-only and dynamic ones included): a cycle
 * is a type or a function in the wrong file.
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

/** Every file under src/, with each relative import: its specifier and the file it names (paths relative to src/). */
function importGraph(): Map<string, Array<{ spec: string; target: string }>> {
  const graph = new Map<string, Array<{ spec: string; target: string }>>();
  for (const file of files(SRC)) {
    const imports = importsOf(readFileSync(file, 'utf8'))
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({
        spec,
        target: path.relative(SRC, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))),
      }));
    graph.set(path.relative(SRC, file), imports);
  }
  return graph;
}

/**
 * The import cycles of a graph (file -> the files it imports; names outside
 * the graph are ignored): one per strongly connected component (Tarjan), as
 * the shortest path from its first file, in name order, back to itself.
 */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.includes(v)) components.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components
    .map((component) => shortestLoop(graph, component[0]!, new Set(component)))
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The shortest path from `start` back to itself inside `within` (breadth first). */
function shortestLoop(graph: ReadonlyMap<string, readonly string[]>, start: string, within: Set<string>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const loop = [start];
        for (let at = v; at !== start; at = cameFrom.get(at)!) loop.unshift(at);
        return [start, ...loop];
      }
      if (within.has(w) && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
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
      [
        "import a from './x.js';",
        "export { b } from '../y.js';",
        "const c = await import('../z.js');",
        "import type { D } from './d.js';",
        "export * from './e.js';",
        'import {',
        '  F,',
        '  type G,',
        "} from './f.js';",
      ].join('\n'),
    ),
    ['./x.js', '../y.js', './d.js', './e.js', './f.js', '../z.js'],
  );
});

test('every import under src/ points down the layers', () => {
  const problems: string[] = [];
  for (const [rel, imports] of importGraph()) {
    for (const { spec, target } of imports) {
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

test("a job's facade gives other jobs none of its command, options or run", () => {
  const problems: string[] = [];
  const graph = importGraph();
  for (const [job, facade] of Object.entries(FACADES)) {
    for (const { target } of graph.get(facade) ?? []) {
      const own = ['command.ts', 'options.ts', 'run.ts'].map((f) => path.join(job, f));
      if (own.includes(target)) problems.push(`${facade} re-exports ${target}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the cycle finder itself: every cycle, once, as its shortest loop', () => {
  const graph = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));
  assert.deepEqual(importCycles(graph({ a: ['b', 'c'], b: ['c'], c: [] })), []);
  // An import of something outside the graph (a package) is no edge.
  assert.deepEqual(importCycles(graph({ a: ['node:fs'], b: ['a'] })), []);
  assert.deepEqual(importCycles(graph({ d: ['a'], a: ['b'], b: ['c'], c: ['a'] })), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(importCycles(graph({ y: ['x'], x: ['y'], z: ['z'], w: ['x'] })), [
    ['x', 'y', 'x'],
    ['z', 'z'],
  ]);
  // One component with two loops through its first file: the shorter one names it.
  assert.deepEqual(importCycles(graph({ a: ['b', 'd'], b: ['c'], c: ['a'], d: ['a'] })), [['a', 'd', 'a']]);
});

test('no import cycle under src/, type-only and dynamic imports included', () => {
  const graph = new Map([...importGraph()].map(([rel, imports]) => [rel, imports.map((i) => i.target)]));
  assert.deepEqual(
    importCycles(graph).map((loop) => loop.join(' -> ')),
    [],
  );
});

test('every layer folder is one the rule knows', () => {
  const layers = readdirSync(SRC)
    .filter((e) => statSync(path.join(SRC, e)).isDirectory())
    .sort();
  assert.deepEqual(layers, ['base', 'cli', 'kube', ...JOBS].sort());
});
