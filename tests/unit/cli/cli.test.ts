import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Command } from 'commander';

import { ExitCode } from '../../../src/cli/errors.js';
import { addKubeFlags, readKubeFlags } from '../../../src/cli/flags.js';
import { pluginFromExecutable, runPlugin } from '../../../src/cli/main.js';
import { renderTable } from '../../../src/cli/table.js';
import { captureIo } from '../../support/io.js';

function parse(args: string[]): Record<string, unknown> {
  const cmd = addKubeFlags(new Command('x'), { allNamespaces: true }).exitOverride();
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

test('the kubectl flag set parses as kubectl does, keeping each --as-group separate', () => {
  const f = readKubeFlags(parse(['--as', 'jane', '--as-group', 'dev', '--as-group', 'ops,qa', '-n', 'web', '--request-timeout', '2m', '--context', 'prod']));
  assert.equal(f.as, 'jane');
  assert.deepEqual(f.asGroups, ['dev', 'ops,qa']);
  assert.equal(f.namespace, 'web');
  assert.equal(f.requestTimeoutMs, 120_000);
  assert.equal(f.context, 'prod');
  assert.equal(readKubeFlags(parse(['--request-timeout', '30'])).requestTimeoutMs, 30_000);
  assert.equal(readKubeFlags(parse([])).requestTimeoutMs, 0);
});

test('bad kubectl flags are usage errors with a hint', () => {
  assert.throws(() => readKubeFlags(parse(['--request-timeout', 'soon'])), /invalid --request-timeout "soon"/);
  assert.throws(() => readKubeFlags(parse(['--as-group', 'dev'])), /--as-group and --as-uid need --as/);
  assert.throws(() => readKubeFlags(parse(['-n', 'a', '-A'])), /cannot be used together/);
});

test('executables map to plugins by name, as kubectl maps plugin names to files', () => {
  assert.equal(pluginFromExecutable('/usr/local/bin/kubectl-study_ctx'), 'study-ctx');
  assert.equal(pluginFromExecutable('kubectl-whocan'), 'whocan');
  assert.equal(pluginFromExecutable('C:\\bin\\kubectl-study_drain.exe'), 'study-drain');
  assert.equal(pluginFromExecutable('/x/kubectl-study'), 'study');
  assert.equal(pluginFromExecutable('/x/node'), undefined);
});

test('a bad flag is one "error:" line plus a hint, exit code 2, no stack trace', async () => {
  const io = captureIo();
  const code = await runPlugin('study-ctx', ['--frobnicate'], { io });
  assert.equal(code, ExitCode.USAGE);
  assert.match(io.err(), /^error: unknown option '--frobnicate'\nhint: see "kubectl study-ctx --help"\n$/);
  assert.equal(io.out(), '');
});

test('an unsupported output format is a usage error', async () => {
  const io = captureIo({ KUBECONFIG: '/nonexistent/kubeconfig' });
  const code = await runPlugin('study', ['ctx', '-o', 'xml'], { io });
  assert.equal(code, ExitCode.USAGE);
  assert.equal(io.err(), 'error: unsupported output format "xml"\nhint: -o takes one of: wide, json, yaml\n');
});

test('an unknown command is a usage error with a suggestion', async () => {
  const io = captureIo();
  const code = await runPlugin('study', ['dran', 'node-1'], { io });
  assert.equal(code, ExitCode.USAGE);
  assert.match(io.err(), /^error: unknown command 'dran'\n\(Did you mean drain\?\)\nhint: see "kubectl study --help"\n$/);
});

test('help and version exit 0 on stdout', async () => {
  const io = captureIo();
  assert.equal(await runPlugin('study', ['--help'], { io }), ExitCode.OK);
  assert.match(io.out(), /Usage: kubectl study \[options\] \[command\]/);
  assert.match(io.out(), /Exit codes: 0 ok/);
  const io2 = captureIo();
  assert.equal(await runPlugin('study', ['version'], { io: io2 }), ExitCode.OK);
  assert.match(io2.out(), /^kubectl-study \S+\n$/);
});

test('tables are kubectl style: upper-case headers, aligned, <none> for empty cells', () => {
  const out = renderTable(['name', 'node', 'reason'], [
    ['web-1', 'n1', ''],
    ['a-much-longer-name', undefined, 'PDB'],
  ]);
  assert.equal(out, 'NAME                 NODE     REASON\nweb-1                n1       <none>\na-much-longer-name   <none>   PDB\n');
});
