/**
 * Windows and pacing in a run, on a clock that moves only when the run
 * waits on it (or the test sets it): a step starts only inside a window,
 * outside one the run waits (saying until when) or stops cleanly, a pause
 * comes between steps, and a resumed run keeps the schedule in its state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ExitCode } from '../../../src/base/errors.js';
import { renderPlanSummary } from '../../../src/maintain/print.js';
import { maintainExitCode, runMaintain } from '../../../src/maintain/run.js';
import { parseState } from '../../../src/maintain/state.js';
import { statusOf } from '../../../src/maintain/status.js';
import { FakeMaintainCluster, fakeWork, manualClock } from '../../support/fake-maintain.js';
import { context, hooks, options, statuses } from '../../support/maintain-run.js';

const at = (iso: string): number => Date.parse(iso);
/** Windows every night 22:00-23:00 UTC. */
const NIGHTLY = '22:00-23:00 UTC';

test('a window that closes mid-run: the step under way finishes, the next waits until the next window opens, saying until when', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const clock = manualClock(at('2026-01-05T22:30:00Z'));
  // n1's command takes the clock past the window's close.
  const work = fakeWork(cluster.log, (node) => {
    if (node === 'n1') clock.set(at('2026-01-05T23:30:00Z'));
    return 0;
  });
  const phases: string[] = [];
  const report = await runMaintain(context(), options(['n1', 'n2'], { window: [NIGHTLY] }), hooks([], phases), {
    api: cluster,
    work,
    clock,
  });
  assert.equal(report.outcome, 'done');
  assert.deepEqual(statuses(report), ['n1 done', 'n2 done']);
  assert.ok(
    phases.includes('n2: outside the maintenance windows: waiting until Tue 2026-01-06 22:00 UTC (22:00-23:00 UTC)'),
    phases.join('\n'),
  );
  assert.equal(clock.now() >= at('2026-01-06T22:00:00Z'), true, 'n2 started in the next window');
  assert.ok(
    clock.slept.every((ms) => ms <= 30_000),
    'it looks again at least every 30 s of its clock',
  );
  assert.deepEqual(report.schedule, {
    windows: [NIGHTLY],
    pauseBetweenMs: 0,
    outsideWindow: 'wait',
    open: true,
    until: 'Mon 2026-01-05 23:00 UTC',
  });
});

test('--outside-window stop: no step starts outside a window; the run stops cleanly (exit 1) saying when the next opens, nothing touched', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  const o = options(['n1'], { window: ['Mon-Fri 22:00-06:00 Europe/Berlin'], outsideWindow: 'stop' });
  const report = await runMaintain(context(), o, hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
    // Saturday noon in Berlin.
    clock: manualClock(at('2026-01-10T11:00:00Z')),
  });
  assert.equal(report.outcome, 'outside-window');
  assert.equal(maintainExitCode(report), ExitCode.NEGATIVE);
  assert.deepEqual(statuses(report), ['n1 not-started']);
  assert.deepEqual(cluster.log, ['lock', 'release']);
  assert.equal(
    report.next,
    'no maintenance window is open (--outside-window stop): run the same command again once one is; ' +
      'the next opens Mon 2026-01-12 22:00 Europe/Berlin (Mon-Fri 22:00-06:00 Europe/Berlin)',
  );
  const text = renderPlanSummary(report, ['n1'], new Map());
  assert.match(
    text,
    /^ {2}Schedule: windows Mon-Fri 22:00-06:00 Europe\/Berlin \(none open now; the next opens Mon 2026-01-12 22:00 Europe\/Berlin, and --outside-window stop stops the run before it\)$/m,
  );
});

test('a resumed run keeps the windows and the pause in its state: without the flags it still waits, from any machine', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const clock = manualClock(at('2026-01-05T22:10:00Z'));
  const work = fakeWork(cluster.log, (node) => {
    if (node === 'n1') clock.set(at('2026-01-05T23:10:00Z'));
    return 0;
  });
  const first = await runMaintain(
    context(),
    options(['n1', 'n2'], { journal: undefined, window: [NIGHTLY], outsideWindow: 'stop', pauseBetween: '10m' }),
    hooks(),
    { api: cluster, work, clock },
  );
  assert.equal(first.outcome, 'outside-window');
  assert.deepEqual(statuses(first), ['n1 done', 'n2 not-started']);
  assert.equal(
    clock.slept.reduce((a, b) => a + b, 0),
    600_000,
    'the pause first, then the window is looked at',
  );
  const state = parseState(cluster.stateData(), 'x');
  const status = statusOf(
    state,
    { namespace: 'kube-system', name: 'kubectl-study-maintain' },
    undefined,
    new Set(),
    clock.now(),
  );
  assert.deepEqual(status.current?.schedule, { windows: [NIGHTLY], pauseBetweenMs: 600_000, outsideWindow: 'stop' });
  assert.match(status.next ?? '', /no window of the run is open: its next step waits until Tue 2026-01-06 22:00 UTC/);

  // Another machine, no schedule flags: still outside, still stopped.
  const notes: string[] = [];
  cluster.log.length = 0;
  const second = await runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(notes), {
    api: cluster,
    work,
    clock,
  });
  assert.equal(second.outcome, 'outside-window');
  assert.ok(
    notes.includes('warning: the run keeps the schedule in its state: windows 22:00-23:00 UTC, 10m0s between steps'),
    notes.join('\n'),
  );
  assert.deepEqual(cluster.log, ['lock', 'release']);

  // In the next window: n2, after the pause counted from n1's end.
  clock.set(at('2026-01-06T22:00:00Z'));
  clock.slept.length = 0;
  const third = await runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(), {
    api: cluster,
    work,
    clock,
  });
  assert.equal(third.outcome, 'done');
  assert.deepEqual(clock.slept, [], 'the pause after n1 was over long ago');
});

test('--pause-between: each step after the first waits that long after the one before; interrupted while it waits, the run stops there', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2', 'n3']);
  const clock = manualClock(at('2026-01-05T12:00:00Z'));
  const report = await runMaintain(context(), options(['n1', 'n2', 'n3'], { pauseBetween: '5m' }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
    clock,
  });
  assert.equal(report.outcome, 'done');
  assert.equal(
    clock.slept.reduce((a, b) => a + b, 0),
    2 * 300_000,
    'two pauses of 5m, between three steps',
  );

  const stop = new AbortController();
  const later = new FakeMaintainCluster(['n1', 'n2']);
  const interrupting = manualClock(at('2026-01-05T12:00:00Z'));
  interrupting.sleep = async (_ms, signal) => {
    stop.abort();
    throw signal?.reason ?? new Error('aborted');
  };
  const interrupted = await runMaintain(context(stop.signal), options(['n1', 'n2'], { pauseBetween: '5m' }), hooks(), {
    api: later,
    work: fakeWork(later.log),
    clock: interrupting,
  });
  assert.equal(interrupted.outcome, 'interrupted');
  assert.equal(maintainExitCode(interrupted), ExitCode.INTERRUPTED);
  assert.deepEqual(statuses(interrupted), ['n1 done', 'n2 not-started']);
  assert.equal(later.log.includes('cordon n2'), false);
});
