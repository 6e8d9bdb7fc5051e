/** study maintain's plan as people read it: the steps, and each step's PDBs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { PdbPlan } from '../../../src/drain/lib.js';
import type { MaintainReport, MaintainStatus } from '../../../src/maintain/model.js';
import { renderPlanSummary, renderStatus } from '../../../src/maintain/print.js';
import { pdbPlan } from '../../support/fake-drain.js';

function pdb(name: string, verdict: PdbPlan['verdict']): PdbPlan {
  return pdbPlan(name, 1, { namespace: 'demo', podsInDrain: 1, healthyInDrain: 1, verdict });
}

function report(order: string[][], pdbs: Array<PdbPlan & { step: number }>): MaintainReport {
  const step = { evict: 1, skip: 0, wait: 0, blocked: 0, movedAgain: 0, pending: [], uncertain: 0 };
  return {
    kind: 'MaintainReport',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'planned',
    nodes: [],
    plan: { order, blocked: [], pdbs, steps: order.map((nodes) => ({ nodes, ...step })) },
    degraded: [],
    warnings: [],
  };
}

test('the PDB table has a STEP column when the run has several steps, and says verdicts as the JSON does', () => {
  const two = renderPlanSummary(
    report(
      [['n1'], ['n2']],
      [
        { step: 1, ...pdb('web', 'at-once') },
        { step: 2, ...pdb('web', 'one-by-one') },
      ],
    ),
    ['n1', 'n2'],
    new Map(),
  );
  assert.match(
    two,
    /^STEP {3}PDB {8}PODS IN STEP .* VERDICT\n1 {6}demo\/web .* at-once\n2 {6}demo\/web .* one-by-one\n/m,
  );
  const one = renderPlanSummary(report([['n1', 'n2']], [{ step: 1, ...pdb('web', 'waits') }]), ['n1', 'n2'], new Map());
  assert.match(one, /^PDB {8}PODS IN STEP .* VERDICT\ndemo\/web .* waits\n/m);
  assert.doesNotMatch(one, /STEP {3}PDB/);
});

test('maintain status for people: the lock, the current run node by node, what it cordoned, its commands, the last runs, what next', () => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  const status: MaintainStatus = {
    kind: 'MaintainStatus',
    apiVersion: 'study.kubectl.io/v1',
    state: 'kube-system/kubectl-study-maintain',
    current: {
      id: 'a1b2',
      nodes: ['n1', 'n2', 'n3'],
      state: 'stopped',
      startedAt: '2026-01-01T00:00:00Z',
      attempt: {
        id: 'c3d4',
        user: 'ops@example.com',
        host: 'runner-7',
        pid: 4242,
        since: '2026-01-01T00:30:00Z',
        outcome: 'failed',
      },
      updatedAt: '2026-01-01T00:50:00Z',
      done: ['n1'],
      working: [
        { node: 'n2', phase: 'running the command (process group 99 on runner-7)', since: '2026-01-01T00:50:00Z' },
      ],
      cordoned: [{ node: 'n2', cordonedNow: true }],
      commands: [
        { node: 'n2', kind: 'command', host: 'runner-7', pgid: 99, startedAt: '2026-01-01T00:50:00Z', log: '/l' },
      ],
      lastError: 'n2: interrupted',
    },
    last: [
      {
        id: 'e5f6',
        nodes: ['n9'],
        nodeCount: 1,
        startedAt: '2025-12-31T00:00:00Z',
        endedAt: '2025-12-31T01:00:00Z',
        outcome: 'done',
        hosts: ['runner-1'],
        users: ['ops'],
      },
    ],
    older: { runs: 3, nodes: 12, firstStartedAt: '2025-12-01T00:00:00Z', lastEndedAt: '2025-12-20T00:00:00Z' },
    next: 'run the same command again',
  };
  const text = renderStatus(status, now);
  assert.match(text, /^State: configmap kube-system\/kubectl-study-maintain \(lock free\)$/m);
  assert.match(
    text,
    /^Current run a1b2: 3 nodes, started 60m ago; stopped \(failed\): ops@example.com on runner-7 \(pid 4242\), since 30m ago$/m,
  );
  assert.match(text, /^NODE {3}PHASE {2,}SINCE {2,}CORDONED BY RUN$/m);
  assert.match(text, /^n2 {5}running the command \(process group 99 on runner-7\) {3}10m ago {3}yes$/m);
  assert.match(text, /^Done: n1; not started: n3$/m);
  assert.match(text, /^The command for n2: started on runner-7 \(process group 99\) 10m ago, output in \/l$/m);
  assert.match(text, /^Last error: n2: interrupted$/m);
  assert.match(text, /^e5f6 +n9 +25h ago +24h ago +done +runner-1 +<none>$/m);
  assert.match(text, /^Older runs: 3 \(12 nodes\), from 2025-12-01T00:00:00Z to 2025-12-20T00:00:00Z$/m);
  assert.match(text, /^Next: run the same command again$/m);
  assert.match(renderStatus({ ...status, current: undefined, last: [] }, now), /^No current run\.$/m);
});

test('a run that did not finish says why in one error line, and what to run next as the hint', async () => {
  const { maintainFailure } = await import('../../../src/maintain/command.js');
  const base = report([['n1']], []);
  assert.equal(maintainFailure({ ...base, outcome: 'done' }), undefined);
  assert.equal(maintainFailure({ ...base, outcome: 'planned' }), undefined);
  assert.deepEqual(maintainFailure({ ...base, outcome: 'blocked', next: 'resolve the blocks' }), {
    message: 'the maintenance run is blocked; nothing was changed (no node was cordoned)',
    hint: 'resolve the blocks',
  });
  const failed: MaintainReport = {
    ...base,
    outcome: 'failed',
    next: 'fix the cause on n1, then run the same command again',
    nodes: [
      {
        node: 'n1',
        status: 'failed',
        phase: 'command',
        cordonedByRun: true,
        cordonedNow: true,
        elapsedMs: 1,
        detail: 'the command exited 2',
      },
    ],
  };
  assert.deepEqual(maintainFailure(failed), {
    message: 'the maintenance run stopped at n1: the command exited 2',
    hint: 'fix the cause on n1, then run the same command again',
  });
  assert.equal(
    maintainFailure({ ...failed, outcome: 'timed-out', nodes: [] })?.message,
    'the maintenance run timed out',
  );
});
