/**
 * The drain's human output: the plan, section by section; replacements that
 * cannot start, as a line while it runs and in the report's section.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DrainResult } from '../../../src/drain/events.js';
import { REASONS, reason, type DrainPlan } from '../../../src/drain/model.js';
import { comparePlans, eventLine, renderPlan, renderResult } from '../../../src/drain/print.js';
import { drainPlan, pdbPlan, podPlan } from '../../support/fake-drain.js';

const unschedulable =
  'Pending, unschedulable: 0/5 nodes are available: ' +
  "1 node(s) were unschedulable, 4 node(s) didn't match pod anti-affinity rules.";

function result(extra: Partial<DrainResult>): DrainResult {
  const plan = drainPlan([podPlan('web-1')]);
  return {
    kind: 'DrainResult',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'drained',
    cordoned: [{ node: 'n1', changed: true }],
    pods: [{ namespace: 'ns', name: 'web-1', uid: 'u', status: 'gone', ms: 1200 }],
    workloads: [],
    replacements: [],
    elapsedMs: 3000,
    requests: 12,
    throttled: 0,
    plan,
    ...extra,
  };
}

test('a stuck replacement is one line while the drain runs', () => {
  assert.equal(
    eventLine({
      type: 'replacement-stuck',
      pod: { namespace: 'ns', name: 'web-2' },
      workload: 'Deployment/web',
      reason: unschedulable,
    }),
    `replacement ns/web-2 of Deployment/web is ${unschedulable}`,
  );
  assert.equal(
    eventLine({ type: 'replacements-unchecked', detail: 'HTTP 403: forbidden' }),
    'could not look at the replacements (the drain goes on): HTTP 403: forbidden',
  );
});

test(
  'the report lists the replacements that cannot start, ' + 'and names them where a workload was not Available in time',
  () => {
    const stuck = [
      { namespace: 'ns', name: 'web-2', workload: 'Deployment/web', reason: unschedulable },
      {
        namespace: 'ns',
        name: 'api-7',
        workload: 'ReplicaSet/api',
        reason: 'ImagePullBackOff: Back-off pulling image "x"',
      },
    ];
    const drained = renderResult(result({ replacements: stuck }), false);
    assert.match(
      drained,
      new RegExp(
        [
          String.raw`^Replacements that cannot start \(the drain's result does not count them\):\n`,
          String.raw` {2}ns\/web-2 of Deployment\/web: Pending, unschedulable: 0\/5 nodes .*\n`,
          String.raw` {2}ns\/api-7 of ReplicaSet\/api: ImagePullBackOff: Back-off pulling image "x"\n`,
          'Result: drained ',
        ].join(''),
        'm',
      ),
    );
    assert.doesNotMatch(renderResult(result({}), false), /Replacements/, 'no section when every replacement can start');

    const waited = renderResult(
      result({
        outcome: 'timed-out',
        replacements: stuck,
        workloads: [
          { namespace: 'ns', workload: 'Deployment/web', available: false },
          { namespace: 'ns', workload: 'Deployment/db', available: true },
        ],
      }),
      false,
    );
    assert.match(waited, /^ns\/Deployment\/web: not Available in time: web-2 is Pending, unschedulable$/m);
    assert.match(waited, /^ns\/Deployment\/db: Available$/m);
  },
);

test('the plan, section by section: nodes, pods, PDBs, findings, notes, permissions, placement, verdict', () => {
  const web = podPlan('web-1', {
    reasons: [reason('PdbSerial', 'info', 'PDB ns/web allows 1'), reason('HostPathData', 'warning', 'hostPath /data')],
    pdbs: ['ns/web'],
    placement: { outcome: 'placed', node: 'n2', order: 0 },
  });
  const db = podPlan('db-0', {
    owners: [{ kind: 'StatefulSet', name: 'db' }],
    workload: 'StatefulSet/db',
    action: 'blocked',
    reasons: [
      reason('WontFit', 'block', '0/2 nodes are available', '--allow-unplaceable'),
      reason('PlacedAfterMove', 'info', 'fits only after ns/web-1 is placed'),
    ],
    placement: { outcome: 'pending', message: '0/2 nodes are available', order: 1 },
  });
  const agent = podPlan('agent-x', {
    owners: [{ kind: 'DaemonSet', name: 'agent' }],
    workload: 'DaemonSet/agent',
    action: 'skip',
    reasons: [reason('DaemonSetPod', 'info', 'managed by DaemonSet agent')],
  });
  const budget = pdbPlan('web', 1, { podsInDrain: 1, healthyInDrain: 1 });
  const plan: DrainPlan = {
    ...drainPlan([web, db, agent], [budget]),
    nodes: [
      {
        name: 'n1',
        exists: true,
        ready: true,
        unschedulable: true,
        reasons: [reason('NodeAlreadyCordoned', 'info', 'spec.unschedulable is already true')],
      },
    ],
    permissions: [
      {
        verb: 'create',
        resource: 'pods',
        subresource: 'eviction',
        group: '',
        namespace: 'ns',
        allowed: false,
        required: true,
      },
      { verb: 'list', resource: 'persistentvolumes', group: '', allowed: false, required: false },
    ],
    summary: { pods: 3, evict: 1, skip: 1, wait: 0, blocked: 1, warnings: 1 },
    verdict: 'blocked',
    blockers: ['WontFit: --allow-unplaceable overrides it', 'MissingPermission: you may not create pods/eviction'],
  };
  const why = (code: keyof typeof REASONS): string => `  ${code}: ${REASONS[code]}`;
  assert.deepEqual(renderPlan(plan, true, false).split('\n'), [
    'Node n1: Ready, already cordoned; 3 pods',
    '  info: NodeAlreadyCordoned: spec.unschedulable is already true',
    '',
    'NAMESPACE   NAME      OWNER             ACTION    REASON                    ' +
      'NODE   REPLACEMENT ON   PDB      OWNER CHAIN',
    'ns          web-1     Deployment/web    evict     PdbSerial,HostPathData    ' +
      'n1     n2               ns/web   ReplicaSet/web-abc > Deployment/web',
    'ns          db-0      StatefulSet/db    blocked   WontFit,PlacedAfterMove   ' +
      'n1     Pending          <none>   StatefulSet/db',
    'ns          agent-x   DaemonSet/agent   skip      DaemonSetPod              ' +
      'n1     <none>           <none>   DaemonSet/agent',
    '',
    'PDB      PODS HERE   HEALTHY   REQUIRED   ALLOWED NOW   VERDICT',
    'ns/web   1           3/3       2          1             one-by-one',
    '',
    'Findings:',
    '  risk  ns/web-1: HostPathData: hostPath /data',
    '  blocks  ns/db-0: WontFit: 0/2 nodes are available (override: --allow-unplaceable)',
    '',
    // Every code the plan shows is explained, info ones included (PdbSerial, DaemonSetPod...), each once.
    'Why it matters:',
    why('NodeAlreadyCordoned'),
    why('PdbSerial'),
    why('HostPathData'),
    why('WontFit'),
    why('PlacedAfterMove'),
    why('DaemonSetPod'),
    '',
    'Placement notes:',
    '  ns/db-0: PlacedAfterMove: fits only after ns/web-1 is placed',
    '',
    'Permissions missing:',
    '  create pods/eviction in ns (required)',
    '  list persistentvolumes',
    '',
    'Placement: 1 of 2 replacements fit on the nodes left; 1 would stay Pending',
    '',
    'Summary: 3 pods: 1 to evict, 1 skipped, 0 already terminating, 1 blocked; 1 risk',
    'Verdict: BLOCKED',
    '  - WontFit: --allow-unplaceable overrides it',
    '  - MissingPermission: you may not create pods/eviction',
    '',
  ]);
  // Without -o wide, the pods' table has five columns; the rest is the same.
  assert.match(renderPlan(plan, false, false), /^NAMESPACE {3}NAME {6}OWNER {13}ACTION {4}REASON\n/m);
  // Several nodes at once: NODE comes first, wide or not, and only once.
  const two: DrainPlan = { ...drainPlan([web, podPlan('api-1', { node: 'n2' })], [], ['n1', 'n2']) };
  assert.match(renderPlan(two, false, false), /^NODE {3}NAMESPACE {3}NAME {4}OWNER {12}ACTION {3}REASON\nn1 {5}ns/m);
  assert.match(renderPlan(two, true, false), /^NODE {3}NAMESPACE .* REASON +REPLACEMENT ON +PDB +OWNER CHAIN\nn1 /m);
  // A plan with no pods and nothing to say.
  assert.equal(
    renderPlan(drainPlan([]), false, false),
    [
      'Node n1: Ready, schedulable; 0 pods',
      '',
      'No pods on the node.',
      '',
      'Summary: 0 pods: 0 to evict, 0 skipped, 0 already terminating, 0 blocked; 0 risks',
      'Verdict: the drain can proceed',
      '',
    ].join('\n'),
  );
});

test('drain plans of many contexts side by side: a row each, CONTEXT first; nothing for one context', () => {
  const proceed = drainPlan([podPlan('web-1'), podPlan('web-2')], [], ['w1', 'w2']);
  const blocked: DrainPlan = { ...drainPlan([podPlan('db-0')]), verdict: 'blocked' };
  blocked.summary = { ...blocked.summary, evict: 0, blocked: 1 };
  const planned = (plan: DrainPlan) => ({ kind: 'planned' as const, plan, dryRun: true });
  const lines = comparePlans([
    { context: 'prod-eu', result: planned(proceed) },
    { context: 'prod-us', result: planned(blocked) },
  ] as Parameters<typeof comparePlans>[0]);
  assert.deepEqual(lines, [
    'The plans side by side:',
    'CONTEXT   NODES    PODS   EVICT   SKIPPED   BLOCKED   RISKS   VERDICT',
    'prod-eu   w1, w2   2      2       0         0         0       proceed',
    'prod-us   n1       1      0       0         1         0       blocked',
  ]);
  assert.deepEqual(
    comparePlans([{ context: 'a', result: planned(proceed) }] as Parameters<typeof comparePlans>[0]),
    [],
  );
});
