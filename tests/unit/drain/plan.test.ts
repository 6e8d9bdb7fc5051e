import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import { controllerKey, type ControllerInfo, type PlanInputs, type PlanOptions } from '../../../src/drain/model.js';
import { controllerType } from '../../../src/drain/controllers.js';
import { pdbBudgetAfter } from '../../../src/drain/pdb.js';
import { buildPlan } from '../../../src/drain/plan.js';
import { NEWEST_DRAIN_RULES } from '../../../src/drain/rules.js';
import { matchesSelector } from '../../../src/kube/selector.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const OPTS: PlanOptions = {
  force: false,
  ignoreDaemonSets: false,
  deleteEmptyDirData: false,
  disableEviction: false,
  ignoreOptOuts: false,
  strict: false,
};

interface PodSpec {
  name: string;
  node?: string;
  owner?: [string, string];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  phase?: string;
  ready?: boolean;
  deleting?: string;
  emptyDir?: boolean;
  hostPath?: string;
  cpu?: string;
  memory?: string;
  scheduler?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Pod['spec'] extends infer S ? (S extends { tolerations?: infer T } ? T : never) : never;
}

function pod(s: PodSpec): V1Pod {
  const volumes = [];
  if (s.emptyDir) volumes.push({ name: 'scratch', emptyDir: {} });
  if (s.hostPath) volumes.push({ name: 'host', hostPath: { path: s.hostPath } });
  return {
    metadata: {
      name: s.name,
      namespace: 'ns',
      uid: `uid-${s.name}`,
      labels: s.labels ?? {},
      annotations: s.annotations ?? {},
      ownerReferences: s.owner
        ? [
            {
              apiVersion:
                s.owner[0] === 'DaemonSet' || s.owner[0] === 'ReplicaSet' || s.owner[0] === 'StatefulSet'
                  ? 'apps/v1'
                  : 'batch/v1',
              kind: s.owner[0],
              name: s.owner[1],
              uid: 'x',
              controller: true,
            },
          ]
        : [],
      deletionTimestamp: s.deleting ? new Date(s.deleting) : undefined,
    },
    spec: {
      nodeName: s.node ?? 'n1',
      containers: [
        {
          name: 'c',
          image: 'i',
          resources: { requests: { ...(s.cpu ? { cpu: s.cpu } : {}), ...(s.memory ? { memory: s.memory } : {}) } },
        },
      ],
      volumes,
      schedulerName: s.scheduler ?? 'default-scheduler',
      nodeSelector: s.nodeSelector,
      tolerations: s.tolerations,
    },
    status: {
      phase: s.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True' }],
    },
  } as V1Pod;
}

function node(
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    pods?: string;
    unschedulable?: boolean;
    ready?: boolean;
    labels?: Record<string, string>;
    taints?: V1Node['spec'] extends infer S ? (S extends { taints?: infer T } ? T : never) : never;
  } = {},
): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: { unschedulable: opts.unschedulable, taints: opts.taints },
    status: {
      allocatable: { cpu: opts.cpu ?? '4', memory: opts.memory ?? '16Gi', pods: opts.pods ?? '110' },
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  } as V1Node;
}

function pdb(
  name: string,
  selector: Record<string, string>,
  status: { healthy: number; desired: number; expected: number; allowed: number },
  policy?: string,
): V1PodDisruptionBudget {
  return {
    metadata: { name, namespace: 'ns', generation: 1 },
    spec: { selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: policy },
    status: {
      currentHealthy: status.healthy,
      desiredHealthy: status.desired,
      expectedPods: status.expected,
      disruptionsAllowed: status.allowed,
      observedGeneration: 1,
    },
  } as V1PodDisruptionBudget;
}

const rs = (name: string, deploy: string, ready: number): Array<[string, ControllerInfo]> => [
  [controllerKey('ns', 'ReplicaSet', name), { kind: 'ReplicaSet', name, owner: { kind: 'Deployment', name: deploy } }],
  [
    controllerKey('ns', 'Deployment', deploy),
    { kind: 'Deployment', name: deploy, replicas: ready, readyReplicas: ready },
  ],
];

function inputs(pods: V1Pod[], extra: Partial<PlanInputs> = {}): PlanInputs {
  return {
    nodeNames: ['n1'],
    nodes: [node('n1'), node('n2'), node('n3')],
    podsByNode: new Map(),
    drainPods: pods,
    pdbs: [],
    controllers: new Map([
      ...rs('web-1', 'web', 3),
      ...rs('solo-1', 'solo', 1),
      [controllerKey('ns', 'DaemonSet', 'agent'), { kind: 'DaemonSet', name: 'agent' }],
      [controllerKey('ns', 'StatefulSet', 'db'), { kind: 'StatefulSet', name: 'db', replicas: 3, readyReplicas: 3 }],
      [controllerKey('ns', 'ReplicaSet', 'gone'), null],
      [controllerKey('ns', 'DaemonSet', 'gone-ds'), null],
    ]),
    permissions: [],
    now: NOW,
    options: OPTS,
    skipWaitForDeleteTimeoutSeconds: 0,
    release: { serverRelease: 'v1.37.2', rules: '1.37' },
    rules: NEWEST_DRAIN_RULES,
    ...extra,
  };
}

function classify(p: V1Pod, options: Partial<PlanOptions> = {}, extra: Partial<PlanInputs> = {}): string {
  const plan = buildPlan(inputs([p], { ...extra, options: { ...OPTS, ...options } }));
  const row = plan.pods[0]!;
  return `${row.action}:${row.reasons.map((r) => `${r.code}/${r.severity}`).join(',')}`;
}

test("kubectl drain's filters, in kubectl's order, with and without their override flags", () => {
  const cases: Array<[string, V1Pod, Partial<PlanOptions>, string]> = [
    ['replicated', pod({ name: 'a', owner: ['ReplicaSet', 'web-1'] }), {}, 'evict:'],
    ['daemonset, no flag', pod({ name: 'a', owner: ['DaemonSet', 'agent'] }), {}, 'blocked:DaemonSetPod/block'],
    [
      'daemonset, --ignore-daemonsets',
      pod({ name: 'a', owner: ['DaemonSet', 'agent'] }),
      { ignoreDaemonSets: true },
      'skip:DaemonSetPod/info',
    ],
    [
      'orphaned daemonset pod',
      pod({ name: 'a', owner: ['DaemonSet', 'gone-ds'] }),
      { ignoreDaemonSets: true },
      'blocked:OrphanedDaemonSetPod/block',
    ],
    [
      'orphaned daemonset pod, --force',
      pod({ name: 'a', owner: ['DaemonSet', 'gone-ds'] }),
      { force: true },
      'evict:OrphanedDaemonSetPod/warning',
    ],
    [
      'finished daemonset pod',
      pod({ name: 'a', owner: ['DaemonSet', 'agent'], phase: 'Succeeded' }),
      {},
      'evict:Finished/info',
    ],
    ['mirror pod', pod({ name: 'a', annotations: { 'kubernetes.io/config.mirror': 'x' } }), {}, 'skip:MirrorPod/info'],
    ['emptyDir', pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], emptyDir: true }), {}, 'blocked:LocalStorage/block'],
    [
      'emptyDir, --delete-emptydir-data',
      pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], emptyDir: true }),
      { deleteEmptyDirData: true },
      'evict:LocalStorage/warning',
    ],
    ['finished emptyDir pod', pod({ name: 'a', emptyDir: true, phase: 'Failed' }), {}, 'evict:Finished/info'],
    ['bare pod', pod({ name: 'a' }), {}, 'blocked:Unmanaged/block'],
    ['bare pod, --force', pod({ name: 'a' }), { force: true }, 'evict:Unmanaged/warning'],
    [
      'bare emptyDir pod needs both flags',
      pod({ name: 'a', emptyDir: true }),
      { force: true },
      'blocked:LocalStorage/block',
    ],
    ['finished bare pod', pod({ name: 'a', phase: 'Succeeded' }), {}, 'evict:Finished/info'],
    [
      'terminating',
      pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], deleting: '2026-06-01T11:59:50Z' }),
      {},
      'wait:Terminating/info',
    ],
    // kubectl applies its filters to terminating pods too.
    [
      'terminating daemonset pod, no flag',
      pod({ name: 'a', owner: ['DaemonSet', 'agent'], deleting: '2026-06-01T11:59:50Z' }),
      {},
      'blocked:DaemonSetPod/block',
    ],
    [
      'terminating daemonset pod, --ignore-daemonsets: never waited for',
      pod({ name: 'a', owner: ['DaemonSet', 'agent'], deleting: '2026-06-01T11:59:50Z' }),
      { ignoreDaemonSets: true },
      'skip:DaemonSetPod/info',
    ],
    [
      'terminating emptyDir pod',
      pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], emptyDir: true, deleting: '2026-06-01T11:59:50Z' }),
      {},
      'blocked:LocalStorage/block',
    ],
    [
      'terminating emptyDir pod, --delete-emptydir-data',
      pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], emptyDir: true, deleting: '2026-06-01T11:59:50Z' }),
      { deleteEmptyDirData: true },
      'wait:LocalStorage/warning,Terminating/info',
    ],
    ['terminating bare pod', pod({ name: 'a', deleting: '2026-06-01T11:59:50Z' }), {}, 'blocked:Unmanaged/block'],
    ['controller gone', pod({ name: 'a', owner: ['ReplicaSet', 'gone'] }), {}, 'blocked:ControllerMissing/block'],
    [
      'controller gone, --force',
      pod({ name: 'a', owner: ['ReplicaSet', 'gone'] }),
      { force: true },
      'evict:ControllerMissing/warning',
    ],
    [
      'safe-to-evict false',
      pod({
        name: 'a',
        owner: ['ReplicaSet', 'web-1'],
        annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
      }),
      {},
      'blocked:SafeToEvictFalse/block',
    ],
    [
      'do-not-disrupt',
      pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], annotations: { 'karpenter.sh/do-not-disrupt': 'true' } }),
      { ignoreOptOuts: true },
      'evict:DoNotDisrupt/warning',
    ],
    [
      'hostPath',
      pod({ name: 'a', owner: ['StatefulSet', 'db'], hostPath: '/var/lib/db' }),
      {},
      'evict:HostPathData/warning',
    ],
    [
      'custom scheduler',
      pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], scheduler: 'volcano' }),
      {},
      'evict:CustomScheduler/warning',
    ],
  ];
  for (const [what, p, options, expected] of cases) assert.equal(classify(p, options), expected, what);
});

test('--skip-wait-for-delete-timeout skips pods terminating for longer', () => {
  const p = pod({ name: 'a', owner: ['ReplicaSet', 'web-1'], deleting: '2026-06-01T11:50:00Z' });
  assert.equal(classify(p, {}, { skipWaitForDeleteTimeoutSeconds: 60 }), 'skip:Terminating/info');
  assert.equal(classify(p, {}, { skipWaitForDeleteTimeoutSeconds: 0 }), 'wait:Terminating/info');
  assert.equal(
    classify(p, {}, { skipWaitForDeleteTimeoutSeconds: 600 }),
    'wait:Terminating/info',
    'exactly the timeout is not longer than it',
  );
  const bareDs = pod({ name: 'b', owner: ['DaemonSet', 'agent'], deleting: '2026-06-01T11:50:00Z' });
  assert.equal(
    classify(bareDs, {}, { skipWaitForDeleteTimeoutSeconds: 60 }),
    'skip:Terminating/info',
    'skipped before any other filter, as in kubectl',
  );
});

test(
  'a DaemonSet of another API group is not a DaemonSet to kubectl (kind and apiVersion apps/v1), ' +
    'nor looked for among apps/v1 DaemonSets',
  () => {
    const p = pod({ name: 'a', owner: ['DaemonSet', 'gone-ds'] });
    p.metadata!.ownerReferences![0]!.apiVersion = 'apps.kruise.io/v1alpha1';
    // kubectl 1.37 evicts it like any controlled pod; that no apps/v1 DaemonSet has its name says nothing.
    assert.equal(classify(p), 'evict:');
    assert.equal(classify(p, { ignoreDaemonSets: true }), 'evict:');
    const rsOfAnotherGroup = pod({ name: 'b', owner: ['ReplicaSet', 'gone'] });
    rsOfAnotherGroup.metadata!.ownerReferences![0]!.apiVersion = 'example.com/v1';
    assert.equal(classify(rsOfAnotherGroup), 'evict:');
  },
);

test('a single-replica workload, or one whose ready replicas are all here, is an outage', () => {
  assert.equal(classify(pod({ name: 'a', owner: ['ReplicaSet', 'solo-1'] })), 'evict:WorkloadOutage/warning');
  const three = ['a', 'b', 'c'].map((n) => pod({ name: n, owner: ['StatefulSet', 'db'] }));
  const plan = buildPlan(inputs(three));
  assert.ok(plan.pods.every((p) => p.reasons.some((r) => r.code === 'WorkloadOutage')));
  assert.equal(plan.pods[0]?.workload, 'StatefulSet/db');
  const two = buildPlan(inputs(three.slice(0, 2)));
  assert.ok(two.pods.every((p) => !p.reasons.some((r) => r.code === 'WorkloadOutage')));
});

test('owners are followed up to the workload', () => {
  const plan = buildPlan(inputs([pod({ name: 'a', owner: ['ReplicaSet', 'web-1'] })]));
  assert.deepEqual(plan.pods[0]?.owners, [
    { kind: 'ReplicaSet', name: 'web-1', apiVersion: 'apps/v1' },
    { kind: 'Deployment', name: 'web' },
  ]);
  assert.equal(plan.pods[0]?.workload, 'Deployment/web');
});

test('PDB budgets are counted across every pod of the drain', () => {
  const web = (n: string, ready = true): V1Pod =>
    pod({ name: n, owner: ['ReplicaSet', 'web-1'], labels: { app: 'web' }, ready });
  // 3 replicas, minAvailable 2: one may go now; evicting two means one at a time.
  const budget = pdb('web', { app: 'web' }, { healthy: 3, desired: 2, expected: 3, allowed: 1 });
  assert.equal(pdbBudgetAfter(budget, [web('a')]).verdict, 'at-once');
  assert.equal(pdbBudgetAfter(budget, [web('a'), web('b')]).verdict, 'one-by-one');
  const plan = buildPlan(inputs([web('a'), web('b')], { pdbs: [budget] }));
  assert.deepEqual(
    plan.pods.map((p) => p.reasons.map((r) => r.code)),
    [['PdbSerial'], ['PdbSerial']],
  );
  assert.equal(plan.verdict, 'proceed');
  assert.equal(plan.pdbs[0]?.healthyInDrain, 2);
  // minAvailable equal to replicas: can never allow one.
  const never = pdb('web', { app: 'web' }, { healthy: 3, desired: 3, expected: 3, allowed: 0 });
  const blocked = buildPlan(inputs([web('a')], { pdbs: [never] }));
  assert.equal(blocked.pods[0]?.action, 'blocked');
  assert.equal(blocked.pods[0]?.reasons[0]?.code, 'PdbNeverAllows');
  assert.match(
    blocked.pods[0]?.reasons[0]?.message ?? '',
    /PDB ns\/web allows 0 disruptions \(3 healthy, 3 required of 3\)/,
  );
  assert.equal(blocked.verdict, 'blocked');
  assert.deepEqual(blocked.blockers, ['PdbNeverAllows: --disable-eviction overrides it']);
  assert.equal(
    buildPlan(inputs([web('a')], { pdbs: [never], options: { ...OPTS, disableEviction: true } })).pods[0]?.reasons[0]
      ?.code,
    'EvictionDisabled',
  );
  // Budget exhausted now, but not for ever: the drain waits.
  const now0 = pdb('web', { app: 'web' }, { healthy: 2, desired: 2, expected: 3, allowed: 0 });
  assert.equal(classify(web('a'), {}, { pdbs: [now0] }), 'evict:PdbAllowsNone/warning');
  // An unhealthy pod under AlwaysAllow needs no budget; under IfHealthyBudget it waits while the budget is not met.
  const short = pdb('web', { app: 'web' }, { healthy: 1, desired: 2, expected: 3, allowed: 0 });
  assert.equal(pdbBudgetAfter(short, [web('a', false)]).verdict, 'waits');
  assert.equal(
    pdbBudgetAfter({ ...short, spec: { ...short.spec, unhealthyPodEvictionPolicy: 'AlwaysAllow' } }, [web('a', false)])
      .verdict,
    'at-once',
  );
  // A never-allowing PDB does not block an unready pod under AlwaysAllow: it needs no budget.
  assert.equal(
    classify(
      web('a', false),
      {},
      { pdbs: [pdb('web', { app: 'web' }, { healthy: 2, desired: 3, expected: 3, allowed: 0 }, 'AlwaysAllow')] },
    ),
    'evict:',
  );
  // Under IfHealthyBudget it needs budget (2 healthy of the 3 required): a wait, not a block, since a
  // crash-looping pod flaps Ready and is let go while the PDB's status still counts it (kubectl drain
  // evicts it in the twin test).
  const all = pdb('web', { app: 'web' }, { healthy: 2, desired: 3, expected: 3, allowed: 0 });
  assert.equal(pdbBudgetAfter(all, [web('a', false)]).verdict, 'waits');
  assert.equal(classify(web('a', false), {}, { pdbs: [all] }), 'evict:PdbAllowsNone/warning');
  assert.equal(pdbBudgetAfter(all, [web('a', true)]).verdict, 'never');
  // Two PDBs over one pod: the API server refuses the eviction.
  const two = classify(
    web('a'),
    {},
    { pdbs: [budget, pdb('web2', { app: 'web' }, { healthy: 3, desired: 1, expected: 3, allowed: 2 })] },
  );
  assert.equal(two, 'blocked:MultiplePdbs/block');
  // ... but a Pending pod is deleted without looking at any PDB (kubectl's eviction of it succeeds).
  const pending = web('p', false);
  pending.status!.phase = 'Pending';
  assert.equal(
    classify(
      pending,
      {},
      { pdbs: [budget, pdb('web2', { app: 'web' }, { healthy: 3, desired: 1, expected: 3, allowed: 2 })] },
    ),
    'evict:',
  );
});

test(
  'a PDB that requires 0 healthy pods and has none refuses its unready pods, ' +
    'as the API server answers (429 "needs 0 and has 0")',
  () => {
    const web = (n: string, ready = true): V1Pod =>
      pod({ name: n, owner: ['ReplicaSet', 'web-1'], labels: { app: 'web' }, ready });
    const zero = pdb('web', { app: 'web' }, { healthy: 0, desired: 0, expected: 2, allowed: 0 });
    assert.equal(pdbBudgetAfter(zero, [web('a', false)]).verdict, 'waits');
    assert.equal(pdbBudgetAfter(zero, [web('a', false)]).unhealthyNeedBudget, 1);
    const plan = buildPlan(inputs([web('a', false)], { pdbs: [zero] }));
    const r = plan.pods[0]?.reasons.find((x) => x.code === 'PdbAllowsNone');
    assert.match(r?.message ?? '', /needs 0 healthy pods and has 0.*until one is Ready/);
    // With healthy pods elsewhere the budget allows them, unready or not.
    const some = pdb('web', { app: 'web' }, { healthy: 2, desired: 0, expected: 3, allowed: 2 });
    assert.equal(pdbBudgetAfter(some, [web('a', false)]).verdict, 'at-once');
    // Under AlwaysAllow the unready pod needs no budget at all.
    assert.equal(
      pdbBudgetAfter({ ...zero, spec: { ...zero.spec, unhealthyPodEvictionPolicy: 'AlwaysAllow' } }, [web('a', false)])
        .verdict,
      'at-once',
    );
    // A met budget that requires some pods lets unready pods go without budget.
    const met = pdb('web', { app: 'web' }, { healthy: 2, desired: 2, expected: 3, allowed: 0 });
    assert.equal(pdbBudgetAfter(met, [web('a', false)]).verdict, 'at-once');
  },
);

test(
  'replacements go where the scheduler would put them; ' + 'one that fits nowhere blocks unless --allow-unplaceable',
  () => {
    const p = (name: string, cpu: string, extra: Partial<PodSpec> = {}): V1Pod =>
      pod({ name, cpu, memory: '1Gi', owner: ['ReplicaSet', 'web-1'], ...extra });
    const notReady = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const };
    const nodes = [
      node('n1'),
      node('n2', { cpu: '2' }),
      node('n3', { cpu: '1', unschedulable: true }),
      node('n4', { ready: false, taints: [notReady] }),
    ];
    // In the scheduler's order (same priority and age: by name): a takes 1500m of n2, b finds 500m left, c fits.
    const plan = buildPlan(inputs([p('a', '1500m'), p('b', '1'), p('c', '100m')], { nodes }));
    const codes = (x: (typeof plan.pods)[number]): string =>
      `${x.action}:${x.reasons
        .map((r) => r.code)
        .filter((c) => c !== 'WorkloadOutage')
        .join(',')}`;
    assert.deepEqual(plan.pods.map(codes), ['evict:', 'blocked:WontFit', 'evict:']);
    assert.deepEqual(
      plan.pods.map((x) => x.placement?.node ?? x.placement?.outcome),
      ['n2', 'pending', 'n2'],
    );
    assert.equal(
      plan.pods[1]?.reasons.find((r) => r.code === 'WontFit')?.message,
      '0/4 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s), 2 node(s) were unschedulable.',
    );
    assert.equal(plan.verdict, 'blocked');
    assert.deepEqual(plan.blockers, ['WontFit: --allow-unplaceable overrides it']);
    const allowed = buildPlan(
      inputs([p('a', '1500m'), p('b', '1'), p('c', '100m')], { nodes, options: { ...OPTS, allowUnplaceable: true } }),
    );
    assert.equal(allowed.verdict, 'proceed');
    assert.equal(allowed.pods[1]?.reasons.find((r) => r.code === 'WontFit')?.severity, 'warning');
    // Pods already on a candidate node use its capacity.
    const busy = new Map([['n2', [p('x', '1900m', { node: 'n2' })]]]);
    assert.equal(
      buildPlan(inputs([p('c', '200m')], { nodes, podsByNode: busy })).pods[0]?.placement?.outcome,
      'pending',
    );
    // nodeSelector and taints, in the scheduler's words.
    const tainted = [node('n1'), node('n2', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })];
    assert.match(
      buildPlan(inputs([p('d', '100m')], { nodes: tainted })).pods[0]?.reasons[0]?.message ?? '',
      /1 node\(s\) had untolerated taint\(s\)/,
    );
    const tolerant = p('e', '100m', {
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    });
    assert.deepEqual(buildPlan(inputs([tolerant], { nodes: tainted })).pods[0]?.reasons, []);
    assert.match(
      buildPlan(inputs([p('f', '100m', { nodeSelector: { disk: 'ssd' } })])).pods[0]?.reasons[0]?.message ?? '',
      /2 node\(s\) didn't match Pod's node affinity\/selector/,
    );
    // The last schedulable node.
    const alone = buildPlan(inputs([p('g', '100m')], { nodes: [node('n1'), node('n2', { unschedulable: true })] }));
    assert.deepEqual(
      alone.nodes[0]?.reasons.map((r) => r.code),
      ['LastSchedulableNode'],
    );
    assert.equal(alone.pods[0]?.reasons[0]?.message, '0/2 nodes are available: 2 node(s) were unschedulable.');
    // Nothing recreates a bare pod: nothing to place.
    assert.equal(
      buildPlan(inputs([pod({ name: 'h' })], { options: { ...OPTS, force: true } })).pods[0]?.placement,
      undefined,
    );
  },
);

test('a PDB that waits for a replacement that cannot be placed never recovers', () => {
  const web = (n: string, cpu = '100m'): V1Pod =>
    pod({ name: n, cpu, owner: ['ReplicaSet', 'web-1'], labels: { app: 'web' } });
  const budget = pdb('web', { app: 'web' }, { healthy: 3, desired: 2, expected: 3, allowed: 1 });
  const nodes = [node('n1'), node('n2', { cpu: '1' })];
  const plan = buildPlan(inputs([web('a', '2'), web('b')], { nodes, pdbs: [budget] }));
  const codes = plan.pods.map((p) =>
    p.reasons
      .map((r) => r.code)
      .sort()
      .join('+'),
  );
  assert.deepEqual(codes, ['PdbSerial+WontFit', 'PdbNeverRecovers+PdbSerial']);
  assert.match(
    plan.pods[1]?.reasons.find((r) => r.code === 'PdbNeverRecovers')?.message ?? '',
    /replacement of ns\/a cannot be placed/,
  );
  assert.deepEqual(plan.blockers.sort(), [
    'PdbNeverRecovers: --allow-unplaceable overrides it',
    'WontFit: --allow-unplaceable overrides it',
  ]);
  // At once (the budget allows both): the budget is not waited on.
  const roomy = pdb('web', { app: 'web' }, { healthy: 3, desired: 1, expected: 3, allowed: 2 });
  assert.deepEqual(
    buildPlan(inputs([web('a', '2'), web('b')], { nodes, pdbs: [roomy] })).pods.map((p) =>
      p.reasons.map((r) => r.code).join('+'),
    ),
    ['WontFit', ''],
  );
});

test('a pod that fits only once another evicted pod has moved is told so', () => {
  const aff = {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  };
  const db = pod({ name: 'db', owner: ['ReplicaSet', 'web-1'], labels: { app: 'db' } });
  const cache = pod({ name: 'cache', owner: ['ReplicaSet', 'web-1'], labels: { app: 'cache' } });
  cache.spec!.affinity = aff;
  const plan = buildPlan(inputs([cache, db]));
  const row = plan.pods.find((p) => p.name === 'cache')!;
  assert.deepEqual(row.placement?.dependsOn, ['ns/db']);
  assert.equal(row.placement?.node, plan.pods.find((p) => p.name === 'db')?.placement?.node);
  assert.deepEqual(
    row.reasons.map((r) => `${r.code}/${r.severity}: ${r.message}`),
    ['PlacedAfterMove/info: fits only after ns/db is placed'],
  );
  assert.equal(plan.verdict, 'proceed');
});

test('a replacement that fits or not depending on the scheduler’s random tie-breaking is marked uncertain', () => {
  // a (1 cpu) goes first: the scheduler prefers the emptier n2, and then b (1500m) fits nowhere;
  // had a gone to n3, b would fit on n2.
  const a = pod({ name: 'a', cpu: '1', owner: ['ReplicaSet', 'web-1'] });
  const b = pod({ name: 'b', cpu: '1500m', owner: ['ReplicaSet', 'solo-1'] });
  const plan = buildPlan(inputs([a, b], { nodes: [node('n1'), node('n2', { cpu: '2' }), node('n3', { cpu: '1' })] }));
  assert.deepEqual(
    plan.pods.map((p) => `${p.name}:${p.placement?.node ?? p.placement?.outcome}:${p.placement?.uncertain ?? false}`),
    ['a:n2:false', 'b:pending:true'],
  );
  const row = plan.pods[1]!;
  assert.deepEqual(
    row.reasons.map((r) => `${r.code}/${r.severity}`).filter((c) => !c.startsWith('WorkloadOutage')),
    ['WontFit/block', 'PlacementUncertain/warning'],
  );
  assert.equal(
    row.reasons.find((r) => r.code === 'PlacementUncertain')?.message,
    "0 to 1 of its workload's 1 replacements stay Pending, depending on where the scheduler puts the ones before",
  );
  // Room for both whatever the order: nothing uncertain.
  const roomy = buildPlan(inputs([a, b], { nodes: [node('n1'), node('n2', { cpu: '4' }), node('n3', { cpu: '1' })] }));
  assert.ok(roomy.pods.every((p) => p.placement?.outcome === 'placed' && !p.placement.uncertain));
});

test('local volumes pin pods; --strict turns warnings into blocks', () => {
  const p = pod({ name: 'a', owner: ['StatefulSet', 'db'] });
  p.spec!.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data-a' } }];
  const volumes = {
    claims: [{ metadata: { name: 'data-a', namespace: 'ns' }, spec: { volumeName: 'local-pv-1' } }],
    volumes: [
      {
        metadata: { name: 'local-pv-1' },
        spec: {
          local: { path: '/mnt' },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] },
              ],
            },
          },
        },
      },
    ],
    classes: [],
  };
  const pinned = buildPlan(inputs([p], { volumes }));
  assert.equal(pinned.pods[0]?.reasons[0]?.code, 'PinnedByLocalVolume');
  assert.equal(
    pinned.pods[0]?.reasons[0]?.message,
    'local PersistentVolume local-pv-1: 0/3 nodes are available: ' +
      "1 node(s) were unschedulable, 2 node(s) didn't match PersistentVolume's node affinity.",
  );
  assert.equal(pinned.verdict, 'blocked');
  const hostPath = pod({ name: 'b', owner: ['StatefulSet', 'db'], hostPath: '/var/lib/db' });
  assert.equal(buildPlan(inputs([hostPath])).verdict, 'proceed');
  const strict = buildPlan(inputs([hostPath], { options: { ...OPTS, strict: true } }));
  assert.equal(strict.pods[0]?.action, 'blocked');
  assert.equal(strict.verdict, 'blocked');
});

test('missing write permissions and unknown nodes block the plan', () => {
  const plan = buildPlan(
    inputs([pod({ name: 'a', owner: ['ReplicaSet', 'web-1'] })], {
      nodeNames: ['n1', 'nope'],
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
        { verb: 'list', resource: 'poddisruptionbudgets', group: 'policy', allowed: false, required: false },
      ],
    }),
  );
  assert.equal(plan.verdict, 'blocked');
  assert.deepEqual(plan.blockers, [
    'MissingPermission: you may not create pods/eviction in namespace ns: ' +
      'ask for that permission (the drain changes nothing until you have it)',
    'node nope does not exist',
  ]);
});

test('selectors follow the API', () => {
  assert.equal(matchesSelector({}, { a: 'b' }), true);
  assert.equal(matchesSelector(undefined, { a: 'b' }), false);
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }, { tier: 'b' }),
    true,
  );
  assert.equal(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }, {}), true);
  assert.equal(
    matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, { tier: 'x' }),
    false,
  );
});

test(
  'controllers are looked up by API group and kind; ' +
    "another group's DaemonSet is a controller like any other, as in kubectl 1.37",
  () => {
    assert.equal(controllerType({ apiVersion: 'apps/v1', kind: 'StatefulSet' })?.resource, 'statefulsets');
    assert.equal(controllerType({ apiVersion: 'apps.kruise.io/v1beta1', kind: 'StatefulSet' }), undefined);
    assert.equal(controllerType({ apiVersion: 'batch/v1', kind: 'Job' })?.group, 'batch');
    assert.equal(controllerType({ apiVersion: 'example.com/v1', kind: 'Job' }), undefined);
    assert.equal(controllerType({ apiVersion: 'v1', kind: 'ReplicationController' })?.group, '');
    assert.equal(controllerType({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'DaemonSet' }), undefined);
    assert.equal(controllerType({ apiVersion: 'apps/v1', kind: 'DaemonSet' })?.resource, 'daemonsets');
    assert.equal(controllerType({ apiVersion: 'example.com/v1', kind: 'Widget' }), undefined);
    // A controller whose existence is not known (not looked up) is not ControllerMissing.
    const kruise = pod({ name: 'k', owner: ['StatefulSet', 'web'] });
    kruise.metadata!.ownerReferences![0]!.apiVersion = 'apps.kruise.io/v1beta1';
    const plan = buildPlan(inputs([kruise], { controllers: new Map() }));
    assert.equal(plan.pods[0]?.action, 'evict');
    assert.ok(!plan.pods[0]?.reasons.some((r) => r.code === 'ControllerMissing'));
  },
);

test('a PDB that waits names the pods it counts as not healthy, and why (a crash loop waits for ever)', () => {
  const web = (n: string, ready = true): V1Pod =>
    pod({ name: n, owner: ['ReplicaSet', 'web-1'], labels: { app: 'web' }, ready });
  const looping = web('c', false);
  looping.spec!.nodeName = 'n2';
  looping.status!.containerStatuses = [
    {
      name: 'c',
      image: 'i',
      imageID: '',
      ready: false,
      restartCount: 7,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' } },
    },
  ];
  const budget = pdb('web', { app: 'web' }, { healthy: 2, desired: 2, expected: 3, allowed: 0 });
  const pending = web('p', false);
  delete pending.spec!.nodeName;
  pending.status = {
    phase: 'Pending',
    conditions: [
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' },
    ],
  };
  const both = buildPlan(
    inputs([web('a')], { pdbs: [budget], podsByNode: new Map([['n2', [looping]]]), unscheduled: [pending] }),
  );
  assert.deepEqual(
    both.pdbs[0]?.notHealthy?.map((x) => x.split(':')[0]),
    ['c is CrashLoopBackOff', 'p is Pending, unschedulable'],
  );
  const plan = buildPlan(inputs([web('a')], { pdbs: [budget], podsByNode: new Map([['n2', [looping]]]) }));
  const r = plan.pods[0]?.reasons.find((x) => x.code === 'PdbAllowsNone');
  assert.match(r?.message ?? '', /; not healthy: c is CrashLoopBackOff: back-off 5m0s/);
  assert.deepEqual(plan.pdbs[0]?.notHealthy, ['c is CrashLoopBackOff: back-off 5m0s restarting failed container']);
  // A budget that does not wait does not list them.
  const roomy = pdb('web', { app: 'web' }, { healthy: 2, desired: 1, expected: 3, allowed: 1 });
  assert.equal(
    buildPlan(inputs([web('a')], { pdbs: [roomy], podsByNode: new Map([['n2', [looping]]]) })).pdbs[0]?.notHealthy,
    undefined,
  );
});
