/**
 * The README against the command definitions, as kubectl's docs are
 * generated from its commands: every flag of every command is documented
 * in its command's section (or, for the flags every command shares, under
 * the shared conventions), and every flag the README gives one of our
 * commands exists. Also: no sentence runs over ten lines, and the demo's
 * export lines name the files the demo cluster really has.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { Command, type Option } from '@commander-js/extra-typings';

import type { Io } from '../../../src/base/io.js';
import { allNamespacesFlag, connectionFlags, fleetFlags, namespaceFlag, outputFlags } from '../../../src/cli/flags.js';
import { buildProgram } from '../../../src/cli/program.js';
import { stateDir } from '../../cluster/paths.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README's `## ` sections, by heading. */
function sections(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  let heading = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) heading = line.slice(3);
    out.set(heading, `${out.get(heading) ?? ''}${line}\n`);
  }
  return out;
}

/** Which section documents which command (its path under `kubectl study`). */
const SECTION_OF: Record<string, string> = {
  drain: '`kubectl study-drain NODE...`',
  'drain uncordon': '`kubectl study-drain NODE...`',
  maintain: '`kubectl study maintain`',
  'maintain status': '`kubectl study maintain`',
  'rollout status': '`kubectl study-rollout status|history|undo`',
  'rollout history': '`kubectl study-rollout status|history|undo`',
  'rollout undo': '`kubectl study-rollout status|history|undo`',
  whocan: '`kubectl whocan` and `kubectl study-access`',
  access: '`kubectl whocan` and `kubectl study-access`',
  'access why': '`kubectl whocan` and `kubectl study-access`',
  ctx: '`kubectl study-ctx`',
  'ctx check': '`kubectl study-ctx`',
  'ctx show': '`kubectl study-ctx`',
  'ctx use': '`kubectl study-ctx`',
  'ctx namespace': '`kubectl study-ctx`',
};
const SHARED_SECTION = 'Conventions shared by every command';
/** The fleet flags (--contexts...) are documented once, in their own section. */
const FLEET_SECTION = 'Every cluster at once: `--contexts`';

function longFlags(cmd: Command): string[] {
  return (cmd.options as readonly Option[]).map((o) => o.long ?? '').filter(Boolean);
}

/** The flags every command shares (kubectl's connection flags, -n, -A, -o, --verbose, --version). */
function sharedFlags(): Set<string> {
  const flags = [
    ...longFlags(connectionFlags(new Command())),
    ...longFlags(namespaceFlag(new Command())),
    ...longFlags(allNamespacesFlag(new Command())),
    ...longFlags(outputFlags(new Command(), ['table', 'json'])),
  ];
  return new Set([...flags, '--version', '--help']);
}

/** Every command under `kubectl study`, by path, with its long flags. */
function commands(): Map<string, string[]> {
  const io: Io = { stdout: { write: () => true }, stderr: { write: () => true }, stdin: process.stdin, env: {} };
  const emit = Object.assign(() => {}, { io });
  const out = new Map<string, string[]>();
  const walk = (cmd: Command, names: string[]): void => {
    if (names.length && cmd.name() !== 'help' && cmd.name() !== 'version') out.set(names.join(' '), longFlags(cmd));
    for (const sub of cmd.commands) walk(sub as Command, [...names, sub.name()]);
  };
  walk(buildProgram('study', io, emit as never) as unknown as Command, []);
  out.delete('rollout');
  return out;
}

/** The --flags a text mentions: `--flag`, `--flag=value`, `--flag VALUE`. */
function mentionedFlags(text: string): Set<string> {
  return new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]));
}

test('every command has a README section, and every flag of it is documented there', () => {
  const bySection = sections(README);
  const shared = sharedFlags();
  const sharedText = mentionedFlags(bySection.get(SHARED_SECTION) ?? '');
  const fleet = new Set(longFlags(fleetFlags(new Command())));
  const fleetText = mentionedFlags(bySection.get(FLEET_SECTION) ?? '');
  const missing: string[] = [];
  for (const [command, flags] of commands()) {
    const heading = SECTION_OF[command];
    assert.ok(heading, `command "${command}" has no README section in SECTION_OF`);
    const text = bySection.get(heading);
    assert.ok(text, `README has no section "## ${heading}"`);
    const here = mentionedFlags(text);
    for (const flag of flags) {
      if (here.has(flag) || (shared.has(flag) && sharedText.has(flag)) || (fleet.has(flag) && fleetText.has(flag)))
        continue;
      missing.push(`${command} ${flag}`);
    }
  }
  assert.deepEqual(missing, [], 'flags in --help that the README does not document');
});

test('every flag the README gives a command exists', () => {
  const bySection = sections(README);
  const all = commands();
  const unknown: string[] = [];
  for (const heading of new Set(Object.values(SECTION_OF))) {
    const known = new Set([...sharedFlags()]);
    for (const [command, flags] of all) if (SECTION_OF[command] === heading) for (const f of flags) known.add(f);
    for (const flag of mentionedFlags(bySection.get(heading) ?? '')) {
      if (!known.has(flag)) unknown.push(`${heading}: ${flag}`);
    }
  }
  const everyFlag = new Set([...all.values()].flat().concat([...sharedFlags()]));
  for (const flag of mentionedFlags(bySection.get(SHARED_SECTION) ?? '')) {
    if (!everyFlag.has(flag)) unknown.push(`${SHARED_SECTION}: ${flag}`);
  }
  // The commands a newcomer is told to run first.
  for (const line of README.split('\n').filter((l) => /^kubectl (study|whocan)/.test(l))) {
    for (const flag of mentionedFlags(line)) if (!everyFlag.has(flag)) unknown.push(`${line}: ${flag}`);
  }
  assert.deepEqual(unknown, [], 'flags the README documents that no command has');
});

/** The sentences of the README's prose (code blocks and tables left out), with the lines each spans. */
function sentences(markdown: string): Array<{ line: number; lines: number }> {
  const out: Array<{ line: number; lines: number }> = [];
  let inCode = false;
  let start: number | undefined;
  const end = (line: number): void => {
    if (start !== undefined) out.push({ line: start, lines: line - start + 1 });
    start = undefined;
  };
  markdown.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.startsWith('```')) inCode = !inCode;
    if (raw.startsWith('```') || inCode || /^(\||#|<!--)/.test(raw) || !raw.trim()) {
      end(line - 1);
      return;
    }
    // A list item starts a new paragraph.
    if (/^\s*([-*]|\d+\.) /.test(raw)) end(line - 1);
    let rest = raw.trim();
    while (rest) {
      start ??= line;
      const stop = /[.!?](?=\s|$)/.exec(rest);
      if (!stop) break;
      end(line);
      rest = rest.slice(stop.index + 1).trim();
    }
  });
  end(markdown.split('\n').length);
  return out;
}

test('no sentence of the README runs over ten lines', () => {
  const long = sentences(README)
    .filter((s) => s.lines > 10)
    .map((s) => `line ${s.line}: ${s.lines} lines`);
  assert.deepEqual(long, []);
});

test('the sentence counter counts lines', () => {
  const text = ['One sentence', 'over three', 'lines. Then a short one.', '', '- an item.', '```', 'code.', '```'].join(
    '\n',
  );
  assert.deepEqual(
    sentences(text).map((s) => [s.line, s.lines]),
    [
      [1, 3],
      [3, 1],
      [5, 1],
    ],
  );
});

test('the export lines of "Get started" name the demo cluster files', () => {
  const block = /<!-- exports -->\n```sh\n([\s\S]*?)\n```/.exec(README)?.[1];
  assert.ok(block, 'README has no exports block');
  const home = (p: string): string => p.replace(/^~(?=\/)/, homedir());
  const dir = stateDir({});
  const kubeconfig = /^export KUBECONFIG=(\S+)$/m.exec(block)?.[1];
  const demoPath = /^export PATH=([^:]+):\$PWD\/bin:\$PATH$/m.exec(block)?.[1];
  assert.equal(home(kubeconfig ?? ''), path.join(dir, 'admin.kubeconfig'));
  assert.equal(home(demoPath ?? ''), path.join(dir, 'demo-path'));
});

test('README JSON lines parse into fields, nested fields and optional ones', async () => {
  const { parseJsonFields, undocumentedFields } = await import('../../support/readme.js');
  const fields = parseJsonFields('`kind`, `items[]` (`name`, `state: a|b`), `next?`');
  assert.deepEqual([...fields.keys()], ['kind', 'items', 'next']);
  assert.equal(fields.get('items')?.list, true);
  assert.deepEqual([...(fields.get('items')?.fields?.keys() ?? [])], ['name', 'state']);
  assert.equal(fields.get('next')?.optional, true);
  assert.deepEqual(undocumentedFields({ kind: 'X', items: [{ name: 'a', extra: 1 }], warnings: [] }, fields), [
    'items[0].extra',
    'warnings',
  ]);
});

test('sample outputs are compared without what changes from run to run', async () => {
  const { normalize, parseSamples, writeOutputs } = await import('../../support/readme.js');
  assert.equal(
    normalize('demo   web-69977864b4-x6n7j   3m   2.3s   https://127.0.0.1:26443'),
    normalize('demo web-69977864b4-pqqql 12m 14.0s https://127.0.0.1:25443'),
  );
  assert.notEqual(normalize('web-69977864b4-x6n7j evict'), normalize('web-69977864b4-x6n7j blocked'));
  assert.equal(
    normalize('deployment/web: Waiting for 1\ndeployment/web: Waiting for 2\ndeployment/web: done\nNAME'),
    'deployment/web: done\nNAME',
  );
  const md = 'text\n<!-- sample -->\n```console\n$ a\nold\n$ b\n```\n';
  assert.deepEqual(parseSamples(md), [
    {
      line: 4,
      steps: [
        { command: 'a', output: 'old' },
        { command: 'b', output: '' },
      ],
    },
  ]);
  assert.equal(writeOutputs(md, [['new', 'B']]), 'text\n<!-- sample -->\n```console\n$ a\nnew\n$ b\nB\n```\n');
});
