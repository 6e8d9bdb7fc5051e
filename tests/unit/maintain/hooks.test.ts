/**
 * --before and --after, per node, journaled and crash-safe as --run is:
 * their order across nodes, a failing hook stopping the run at the step
 * boundary saying what has and has not been done, and a hook an earlier
 * run started (its exit marker read) never run twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { BlockedError, ExitCode } from '../../../src/base/errors.js';
import type { JournalEntry } from '../../../src/maintain/journal.js';
import { maintainExitCode, runMaintain } from '../../../src/maintain/run.js';
import type { Work } from '../../../src/maintain/steps.js';
import { parseState, stateData } from '../../../src/maintain/state.js';
import { statusOf } from '../../../src/maintain/status.js';
import { FakeMaintainCluster, fakeWork } from '../../support/fake-maintain.js';
import { context, hooks, options, statuses } from '../../support/maintain-run.js';

/** A hook in memory: logs "NAME NODE", exits as `code` says. */
function hook(log: string[], name: string, code: (node: string) => number = () => 0): Work {
  return {
    label: `running the --${name} hook`,
    async perform(node) {
      log.push(`${name} ${node}`);
      return { code: code(node), stderrTail: code(node) ? 'alertmanager said no' : '' };
    },
  };
}

test('--before and --after across two nodes: before the drain and after the recovery, node after node', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const report = await runMaintain(
    context(),
    options(['n1', 'n2'], { before: './silence.sh', after: './unsilence.sh' }),
    hooks(),
    {
      api: cluster,
      work: fakeWork(cluster.log),
      hooks: { before: hook(cluster.log, 'before'), after: hook(cluster.log, 'after') },
    },
  );
  assert.equal(report.outcome, 'done');
  assert.deepEqual(cluster.log, [
    'lock',
    'before n1',
    'cordon n1',
    'drain n1',
    'work n1',
    'uncordon n1',
    'recover web-n1',
    'after n1',
    'before n2',
    'cordon n2',
    'drain n2',
    'work n2',
    'uncordon n2',
    'recover web-n2',
    'after n2',
    'release',
  ]);
});

test('a failing --before hook stops the run before the drain, saying nothing else was done on the node', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const report = await runMaintain(context(), options(['n1', 'n2'], { before: './silence.sh' }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
    hooks: { before: hook(cluster.log, 'before', () => 3) },
  });
  assert.equal(report.outcome, 'failed');
  assert.equal(maintainExitCode(report), ExitCode.BLOCKED);
  assert.equal(
    report.nodes[0]?.detail,
    'the --before hook failed with exit code 3: alertmanager said no; nothing else was done on n1: it was not drained',
  );
  assert.deepEqual(statuses(report), ['n1 failed', 'n2 not-started']);
  assert.deepEqual(cluster.log, ['lock', 'before n1', 'release']);
  assert.deepEqual(cluster.cordoned, new Set());
});

test('a failing --after hook stops the run saying all else was done; the same command runs the hook alone again', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  let fixed = false;
  const after = hook(cluster.log, 'after', () => (fixed ? 0 : 4));
  const o = { journal: undefined, after: './unsilence.sh' };
  const first = await runMaintain(context(), options(['n1', 'n2'], o), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
    hooks: { after },
  });
  assert.equal(first.outcome, 'failed');
  assert.equal(
    first.nodes[0]?.detail,
    'the --after hook failed with exit code 4: alertmanager said no; all else was done on n1: drained, ' +
      'the command run, Ready, uncordoned, its workloads Available',
  );
  assert.deepEqual(statuses(first), ['n1 failed', 'n2 not-started']);
  assert.deepEqual(cluster.cordoned, new Set(), 'n1 is back in service');
  fixed = true;
  cluster.log.length = 0;
  const second = await runMaintain(context(), options(['n1', 'n2'], o), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
    hooks: { after },
  });
  assert.equal(second.outcome, 'done');
  assert.deepEqual(cluster.log.slice(0, 3), ['lock', 'after n1', 'cordon n2'], 'n1: only its --after hook again');
});

test('a hook an earlier run started on this host and never saw end: its exit marker says it finished, so it is not run again', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-hook-'));
  const marker = path.join(dir, 'before.exit');
  writeFileSync(marker, '0\n');
  const t = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const entries: JournalEntry[] = [
    { time: t(0), run: 'early', node: '', step: 'run', nodes: ['n1'], host: os.hostname(), pid: 1, user: 'ops' },
    {
      time: t(1),
      run: 'early',
      node: 'n1',
      step: 'before-started',
      // A process group that no longer exists here.
      command: {
        kind: 'before',
        pid: 2 ** 22 - 3,
        pgid: 2 ** 22 - 3,
        host: os.hostname(),
        startedAt: t(1),
        marker,
        log: 'l',
      },
    },
  ];
  cluster.configMaps.put(
    'kube-system',
    'kubectl-study-maintain',
    stateData({ current: { id: 'early', nodes: ['n1'], entries }, last: [] }),
  );
  const status = statusOf(
    parseState(cluster.stateData(), 'x'),
    { namespace: 'kube-system', name: 'kubectl-study-maintain' },
    undefined,
    new Set(),
  );
  assert.equal(
    status.current?.working[0]?.phase,
    `running the --before hook (process group ${2 ** 22 - 3} on ${os.hostname()})`,
  );
  assert.equal(status.current?.commands[0]?.kind, 'before');
  const notes: string[] = [];
  const report = await runMaintain(
    context(),
    options(['n1'], { journal: undefined, before: './silence.sh' }),
    hooks(notes),
    {
      api: cluster,
      work: fakeWork(cluster.log),
      hooks: { before: hook(cluster.log, 'before') },
    },
  );
  assert.equal(report.outcome, 'done');
  assert.equal(cluster.log.includes('before n1'), false, 'the hook is not run a second time');
  assert.match(
    notes.join('\n'),
    /the --before hook for n1, started by an earlier run at .* \(process group \d+\), finished \(exit code 0\) after that run stopped; it is not run again/,
  );
});

test('a hook of another host that may still run: refused, naming the host and process group', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  const t = new Date(Date.UTC(2026, 0, 1)).toISOString();
  const entries: JournalEntry[] = [
    { time: t, run: 'a', node: '', step: 'run', nodes: ['n1'], host: 'host-a', pid: 1, user: 'ops' },
    {
      time: t,
      run: 'a',
      node: 'n1',
      step: 'after-started',
      command: { kind: 'after', pid: 77, pgid: 77, host: 'host-a', startedAt: t, marker: '/m', log: '/l' },
    },
  ];
  cluster.configMaps.put(
    'kube-system',
    'kubectl-study-maintain',
    stateData({ current: { id: 'a', nodes: ['n1'], entries }, last: [] }),
  );
  await assert.rejects(
    runMaintain(context(), options(['n1'], { journal: undefined, after: './x' }), hooks(), {
      api: cluster,
      work: fakeWork(cluster.log),
    }),
    (err: unknown) =>
      err instanceof BlockedError &&
      /^the --after hook for n1 was started by an earlier run at .* on host-a \(process group 77\), another host/.test(
        err.message,
      ),
  );
});
