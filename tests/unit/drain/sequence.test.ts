/**
 * Plans of a run of drains (study maintain) on plain objects: one
 * simulation of the whole run, each step planned as its own drain.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1Node, V1Pod } from '@kubernetes/client-node';

import { batches } from '../../../src/drain/lib.js';
import { controllerKey, type ControllerInfo, type PlanInputs, type PlanOptions } from '../../../src/drain/model.js';
import { buildRunPlan } from '../../../src/drain/sequence.js';
import { NEWEST_DRAIN_RULES } from '../../../src/drain/rules.js';
import { PLAN_OPTIONS } from '../../support/fake-drain.js';

const OPTS: PlanOptions = PLAN_OPTIONS;

function node(name: string, cpu = '4'): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: { allocatable: { cpu, memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  } as V1Node;
}

interface PodOpts {
  app: string;
  node: string;
  cpu?: string;
  priority?: number;
  antiAffinity?: boolean;
}

function pod(name: string, o: PodOpts): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: { app: o.app },
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${o.app}-1`, uid: 'rs', controller: true }],
    },
    spec: {
      nodeName: o.node,
      priority: o.priority ?? 0,
      containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: o.cpu ?? '100m', memory: '64Mi' } } }],
      affinity: o.antiAffinity
        ? {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { app: o.app } }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          }
        : undefined,
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  } as V1Pod;
}

function inputs(nodes: V1Node[], pods: V1Pod[], run: string[]): PlanInputs {
  const apps = [...new Set(pods.map((p) => p.metadata!.labels!.app!))];
  const controllers = new Map<string, ControllerInfo>(
    apps.flatMap(
      (a): Array<[string, ControllerInfo]> => [
        [
          controllerKey('ns', 'ReplicaSet', `${a}-1`),
          { kind: 'ReplicaSet', name: `${a}-1`, replicas: 9, readyReplicas: 9 },
        ],
      ],
    ),
  );
  const byNode = new Map<string, V1Pod[]>();
  for (const p of pods) byNode.set(p.spec!.nodeName!, [...(byNode.get(p.spec!.nodeName!) ?? []), p]);
  return {
    nodeNames: run,
    nodes,
    podsByNode: byNode,
    drainPods: pods.filter((p) => run.includes(p.spec!.nodeName!)),
    pdbs: [],
    controllers,
    permissions: [],
    now: new Date('2026-06-01T00:00:00Z'),
    options: OPTS,
    skipWaitForDeleteTimeoutSeconds: 0,
    release: { serverRelease: 'v1.37.2', rules: '1.37' },
    rules: NEWEST_DRAIN_RULES,
  };
}

test(
  'replicas that may not share a node: two at a time leaves one Pending in step 1, ' +
    'one at a time fits, and the plan says so',
  () => {
    const nodes = ['n1', 'n2', 'n3', 'spare'].map((n) => node(n));
    const pods = ['n1', 'n2', 'n3'].map((n, i) => pod(`solo-${i}`, { app: 'solo', node: n, antiAffinity: true }));
    const input = inputs(nodes, pods, ['n1', 'n2', 'n3']);

    const two = buildRunPlan(input, batches(['n1', 'n2', 'n3'], 2), 2);
    assert.equal(two.firstUnplaceable, 0);
    assert.equal(two.maxUnavailableThatFits, 1);
    assert.equal(two.steps[0]?.pending.length, 1);
    assert.match(two.steps[0]?.pending[0]?.message ?? '', /didn't match pod anti-affinity rules/);
    assert.equal(two.steps[0]?.plan.verdict, 'blocked');
    assert.equal(two.steps[1]?.pending.length, 0, 'step 2 runs with both nodes of step 1 back');
    assert.ok(two.blocked.some((b) => b.blockers.includes('WontFit: --allow-unplaceable overrides it')));

    const one = buildRunPlan(input, batches(['n1', 'n2', 'n3'], 1), 1);
    assert.equal(one.firstUnplaceable, undefined);
    assert.deepEqual(
      one.steps.map((s) => s.pending.length),
      [0, 0, 0],
    );
    assert.deepEqual(one.blocked, []);
    // Step 1's replacement goes to the spare node; step 2's to n1, back in service; step 3's to n2.
    assert.deepEqual(
      one.steps.map((s) => s.plan.pods[0]?.placement?.node),
      ['spare', 'n1', 'n2'],
    );

    const allowed = buildRunPlan(
      { ...input, options: { ...OPTS, allowUnplaceable: true } },
      batches(['n1', 'n2', 'n3'], 2),
      2,
    );
    assert.deepEqual(allowed.blocked, [], '--allow-unplaceable lets it run');
    assert.equal(allowed.firstUnplaceable, 0, 'and still says where');
  },
);

test('a replacement moved by an earlier step that then finds no node blocks the node it was moved to', () => {
  // q (1 cpu) leaves a for b in step 1; in step 2, b's own p (higher priority) takes a's only cpu first.
  const nodes = [node('a', '1'), node('b', '2'), node('c', '500m')];
  const pods = [
    pod('q', { app: 'q', node: 'a', cpu: '1' }),
    pod('p', { app: 'p', node: 'b', cpu: '1', priority: 1000 }),
  ];
  const run = buildRunPlan(inputs(nodes, pods, ['a', 'b']), [['a'], ['b']], 1);
  assert.equal(run.steps[0]?.pending.length, 0);
  assert.deepEqual(
    run.steps[0]?.plan.pods.map((p) => p.placement?.node),
    ['b'],
  );
  assert.equal(run.steps[1]?.movedAgain, 1);
  assert.deepEqual(
    run.steps[1]?.pending.map((p) => [p.pod, p.movedAgain]),
    [['ns/q', true]],
  );
  assert.equal(run.firstUnplaceable, 1);
  assert.deepEqual(
    run.blocked.map((b) => b.node),
    ['b'],
  );
  assert.match(
    run.blocked[0]?.blockers[0] ?? '',
    /^WontFit: the replacement of ns\/q, moved here by an earlier step, would stay Pending: 0\/3 nodes are available: /,
  );
  // Steps in the other order: b's p goes to a... and q then has room nowhere but b, which is back: it fits.
  const reversed = buildRunPlan(inputs(nodes, pods, ['a', 'b']), [['b'], ['a']], 1);
  assert.equal(
    reversed.firstUnplaceable,
    0,
    'p fits on no node while b is out (a and c are too small for it with q on a)',
  );
});

test(
  'a node an interrupted run cordoned is back in service after its step, ' + 'as the resumed run will uncordon it',
  () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    nodes[0]!.spec = {
      unschedulable: true,
      taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
    };
    const pods = ['n2', 'n3'].map((n, i) => pod(`solo-${i}`, { app: 'solo', node: n, antiAffinity: true }));
    const input = inputs(nodes, pods, ['n1', 'n2', 'n3']);
    const order = [['n1'], ['n2'], ['n3']];
    const cordonedBefore = buildRunPlan(input, order, 1);
    assert.equal(
      cordonedBefore.firstUnplaceable,
      1,
      "a node cordoned before the run stays cordoned: n2's replacement has nowhere to go",
    );
    const resumed = buildRunPlan(input, order, 1, new Set(['n1']));
    assert.equal(resumed.firstUnplaceable, undefined);
    assert.deepEqual(
      resumed.steps.map((s) => s.plan.pods.map((p) => p.placement?.node)),
      [[], ['n1'], ['n2']],
    );
  },
);

test(
  'the --max-unavailable search: nearest below the one asked for first, ' + 'never past the number of nodes, bounded',
  () => {
    const nodes = ['n1', 'n2', 'n3', 'spare'].map((n) => node(n));
    const pods = ['n1', 'n2', 'n3'].map((n, i) => pod(`solo-${i}`, { app: 'solo', node: n, antiAffinity: true }));
    const input = inputs(nodes, pods, ['n1', 'n2', 'n3']);
    for (const asked of [2, 3, 20, 4294967301]) {
      const run = buildRunPlan(input, batches(['n1', 'n2', 'n3'], Math.min(asked, 3)), asked);
      assert.equal(run.maxUnavailableThatFits, 1, `asked ${asked}`);
    }
  },
);
