/**
 * study maintain's new flags, from argv: --journal optional, the volume
 * wait, windows and pacing, hooks, and `maintain status` beside the node
 * arguments; each bad value a usage error naming the flag, with a hint.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { UsageError } from '../../../src/base/errors.js';
import type { Operation } from '../../../src/cli/operations.js';
import { parseArgs } from '../../../src/cli/program.js';
import type { MaintainOptions, MaintainStatusOptions } from '../../../src/maintain/options.js';
import { captureIo } from '../../support/io.js';

function parse(argv: string[]): Operation {
  const parsed = parseArgs('study', argv, captureIo());
  assert.equal(parsed.kind, 'run', argv.join(' '));
  return (parsed as { operation: Operation }).operation;
}

const maintain = (argv: string[]): MaintainOptions => parse(['maintain', ...argv]).options as MaintainOptions;

test('a real run needs no --journal (the cluster keeps its state); the new flags are bound once', () => {
  const o = maintain([
    'n1',
    '--run',
    './up.sh',
    '--before',
    './silence.sh',
    '--after',
    './unsilence.sh',
    '--window',
    'Mon-Fri 22:00-06:00 Europe/Berlin',
    '--window',
    'Sat,Sun 00:00-24:00',
    '--pause-between',
    '10m',
    '--outside-window',
    'stop',
    '--volume-detach-timeout',
    '90s',
  ]);
  assert.equal(o.journal, undefined);
  assert.equal(o.before, './silence.sh');
  assert.equal(o.after, './unsilence.sh');
  assert.deepEqual(
    o.schedule.windows?.map((w) => w.text),
    ['Mon-Fri 22:00-06:00 Europe/Berlin', 'Sat,Sun 00:00-24:00'],
  );
  assert.equal(o.schedule.pauseBetweenMs, 600_000);
  assert.equal(o.schedule.outsideWindow, 'stop');
  assert.deepEqual(o.volumeDetach, { wait: true, timeoutMs: 90_000 });
  const plain = maintain(['n1', '--run', 'x']);
  assert.deepEqual(plain.schedule, {}, 'none given: the run keeps its own from its state');
  assert.deepEqual(plain.volumeDetach, { wait: true, timeoutMs: 300_000 });
  assert.deepEqual(maintain(['n1', '--run', 'x', '--skip-volume-detach-wait']).volumeDetach.wait, false);
});

test('maintain status is a subcommand beside the node arguments, with --lock-namespace and -o', () => {
  const op = parse(['maintain', 'status', '--lock-namespace', 'ops', '-o', 'json']);
  assert.equal(op.command, 'maintain status');
  assert.equal(op.output, 'json');
  assert.equal((op.options as MaintainStatusOptions).lockNamespace, 'ops');
  assert.equal((parse(['maintain', 'status']).options as MaintainStatusOptions).lockNamespace, 'kube-system');
});

test('each bad new flag is a usage error naming it, with a hint', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--window', 'Mon-Fru 22:00-06:00'], /^--window "Mon-Fru 22:00-06:00": "Fru" is not a day/],
    [['--window', 'whenever'], /^--window "whenever": it has no hours/],
    [['--pause-between', 'soon'], /^invalid --pause-between "soon"/],
    [['--outside-window', 'maybe'], /^--outside-window takes wait or stop, not "maybe"/],
    [['--volume-detach-timeout', '0'], /^invalid --volume-detach-timeout "0"/],
    [['--volume-detach-timeout', '2m', '--skip-volume-detach-wait'], /cannot be used together/],
    [['--before', ' '], /^--before was given an empty command/],
    [['--after', ''], /^--after was given an empty command/],
  ];
  for (const [flags, want] of cases) {
    assert.throws(
      () => parseArgs('study', ['maintain', 'n1', '--run', 'x', ...flags], captureIo()),
      (err: unknown) => err instanceof UsageError && want.test(err.message) && Boolean(err.hint),
      flags.join(' '),
    );
  }
  assert.throws(
    () => parseArgs('study', ['maintain', 'status', '--lock-namespace', 'Not_A_Namespace'], captureIo()),
    /"Not_A_Namespace" is not a valid namespace name \(--lock-namespace\)/,
  );
});
