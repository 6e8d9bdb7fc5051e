/**
 * The drain's rules by release (src/drain/rules.ts): for every rule, the
 * same pods planned under two releases give two answers, each the one that
 * release's kube-scheduler or kubectl drain gives; and what did not change
 * between 1.32 and 1.37 gives the same answer under every release.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1Container, V1Node, V1Pod, V1PodDisruptionBudget, V1Taint } from '@kubernetes/client-node';

import { controllerLookup } from '../../../src/drain/controllers.js';
import { controllerKey, type ControllerInfo, type PlanInputs } from '../../../src/drain/model.js';
import { filterNode, type Attempt } from '../../../src/drain/placement/filters.js';
import { buildSnapshot, placePods, podRequests, type PodPlacement } from '../../../src/drain/placement/index.js';
import { compilePod } from '../../../src/drain/placement/snapshot.js';
import { buildPlan } from '../../../src/drain/plan.js';
import { DRAIN_RULES, drainRules, type DrainRules } from '../../../src/drain/rules.js';
import { releaseOf, type Release } from '../../../src/kube/release.js';

import { PLAN_OPTIONS } from '../../support/fake-drain.js';

/** The rules at "1.33.6" (a patch) or "1.34" (its first patch). */
const at = (release: string): DrainRules => drainRules(releaseOf(release));
/** Every row of the table, and the newest patch of every minor. */
const EVERY_RELEASE: Release[] = [
  ...DRAIN_RULES.map(([since]) => releaseOf(since)),
  ...[32, 33, 34, 35, 36, 37].map((minor) => ({ minor, patch: Number.POSITIVE_INFINITY })),
];

function node(
  name: string,
  o: { cpu?: string; zone?: string; taints?: V1Taint[]; unschedulable?: boolean } = {},
): V1Node {
  return {
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, ...(o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {}) },
    },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '4', memory: '16Gi', pods: '110' } },
  };
}

function container(name: string, cpu: string, more: Partial<V1Container> = {}): V1Container {
  return { name, image: 'i', resources: { requests: { cpu } }, ...more };
}

function pod(name: string, spec: Partial<NonNullable<V1Pod['spec']>>, more: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: name,
      labels: { app: name },
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs', controller: true }],
    },
    spec: { containers: [container('c', '100m')], ...spec },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    ...more,
  };
}

/** Where the pod lands under a release's rules: its node, or the scheduler's message; with the notes it got. */
function placeUnder(release: string, nodes: V1Node[], existing: V1Pod[], incoming: V1Pod): PodPlacement {
  const snapshot = buildSnapshot({ nodes, pods: existing, rules: at(release).placement });
  return placePods(snapshot, [incoming])[0]!;
}

function where(p: PodPlacement): string {
  return p.outcome === 'placed' ? p.node! : p.message!;
}

test('the table: each rule changes where the notes say, and every release 1.32-1.37 has rules', () => {
  const row = (release: string): string => {
    const { placement: p, kubectl } = at(release);
    return [
      p.sidecarHostPorts ? 'sidecar-ports' : '-',
      p.podLevelResources ? 'pod-level' : '-',
      p.podLevelStatus ? 'pod-level-status' : '-',
      p.assignedPodRequests,
      p.dynamicResources ? 'dra' : '-',
      p.nodeDeclaredFeatures.length,
      p.nodeNameFirst ? 'nodename-first' : '-',
      p.taintMessage,
      kubectl.daemonSetAnyGroup ? 'ds-any-group' : '-',
    ].join(' ');
  };
  assert.deepEqual(
    ['1.31.0', '1.32.13', '1.33.5', '1.33.6', '1.34.1', '1.34.2', '1.35.4', '1.36.3', '1.37.2'].map((r) =>
      row(r === '1.31.0' ? '1.32' : r),
    ),
    [
      '- - - spec - 0 - first-taint ds-any-group',
      '- - - spec - 0 - first-taint ds-any-group',
      '- - - container-max - 0 - first-taint ds-any-group',
      'sidecar-ports - - container-max - 0 - first-taint ds-any-group',
      'sidecar-ports pod-level - container-max dra 0 - first-taint -',
      'sidecar-ports pod-level - container-max dra 0 - generic -',
      'sidecar-ports pod-level - container-max dra 0 - generic -',
      'sidecar-ports pod-level pod-level-status container-max dra 2 - generic -',
      'sidecar-ports pod-level pod-level-status aggregate-max dra 3 nodename-first generic -',
    ],
  );
  for (const release of EVERY_RELEASE) assert.ok(drainRules(release), JSON.stringify(release));
});

test('NodePorts counts a sidecar’s hostPort from 1.33.6 and 1.34, not on 1.32 or 1.33.0-1.33.5', () => {
  const sidecar: V1Container = container('proxy', '10m', {
    restartPolicy: 'Always',
    ports: [{ containerPort: 9000, hostPort: 9000 }],
  });
  const onNode = pod('with-sidecar', { nodeName: 'n1', initContainers: [sidecar] });
  const incoming = pod('wants-9000', {
    containers: [container('c', '100m', { ports: [{ containerPort: 9000, hostPort: 9000 }] })],
  });
  const busy = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.";
  for (const [release, expected] of [
    ['1.32', 'n1'],
    ['1.33.5', 'n1'],
    ['1.33.6', busy],
    ['1.34', busy],
    ['1.37', busy],
  ] as const)
    assert.equal(where(placeUnder(release, [node('n1')], [onNode], incoming)), expected, release);
  // The pod being placed: its own sidecar's hostPort against a container's on the node.
  const plain = pod('plain-9000', {
    nodeName: 'n1',
    containers: [container('c', '100m', { ports: [{ containerPort: 9000, hostPort: 9000 }] })],
  });
  const replacement = pod('sidecar-9000', { initContainers: [sidecar] });
  assert.equal(where(placeUnder('1.33.5', [node('n1')], [plain], replacement)), 'n1');
  assert.equal(where(placeUnder('1.33.6', [node('n1')], [plain], replacement)), busy);
});

test('pod-level resources count from 1.34; before, a pod that sets them is flagged and planned from its containers', () => {
  // 2 cpu used of 4; the pod's containers ask 1 cpu, its pod-level requests 3.
  const used = pod('used', { nodeName: 'n1', containers: [container('c', '2')] });
  const podLevel = pod('pod-level', {
    containers: [container('a', '500m'), container('b', '500m')],
    resources: { requests: { cpu: '3' }, limits: { cpu: '3' } },
  });
  assert.deepEqual(podRequests(podLevel, at('1.33').placement).cpu, 1000);
  assert.deepEqual(podRequests(podLevel, at('1.34').placement).cpu, 3000);
  const before = placeUnder('1.33.13', [node('n1')], [used], podLevel);
  assert.equal(where(before), 'n1');
  assert.match(
    before.notes?.join('\n') ?? '',
    /pod-level resources \(spec\.resources\), which Kubernetes before 1\.34 drops/,
  );
  const after = placeUnder('1.34', [node('n1')], [used], podLevel);
  assert.equal(where(after), '0/1 nodes are available: 1 Insufficient cpu.');
  assert.equal(after.notes, undefined, 'honoured: nothing to flag');
  // A pod already on the node with pod-level requests is counted by them, too, from 1.34.
  const onNode = pod('pod-level-on-node', {
    nodeName: 'n1',
    containers: [container('c', '500m')],
    resources: { requests: { cpu: '3' } },
  });
  const small = pod('small', { containers: [container('c', '1500m')] });
  assert.equal(where(placeUnder('1.33', [node('n1')], [onNode], small)), 'n1');
  assert.equal(
    where(placeUnder('1.34', [node('n1')], [onNode], small)),
    '0/1 nodes are available: 1 Insufficient cpu.',
  );
});

/** A pod on n1 in the middle of a resize: each container's spec, what it runs with, what it was allocated. */
function resizing(
  containers: Array<[name: string, spec: string, actual: string, allocated: string]>,
  infeasible = false,
): V1Pod {
  const p = pod('resizing', { nodeName: 'n1', containers: containers.map(([n, spec]) => container(n, spec)) });
  p.status = {
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: 'True' },
      ...(infeasible ? [{ type: 'PodResizePending', status: 'True', reason: 'Infeasible' }] : []),
    ],
    containerStatuses: containers.map(([name, , actual, allocated]) => ({
      name,
      image: 'i',
      imageID: '',
      ready: true,
      restartCount: 0,
      resources: { requests: { cpu: actual } },
      allocatedResources: { cpu: allocated },
    })),
  };
  return p;
}

test('a pod already on the node mid-resize: 1.32 counts its spec, 1.33-1.36 each container’s largest, 1.37 the largest sum', () => {
  // One container grows (1 -> 2 cpu) while the other shrinks (2 -> 1): spec 3, per-container max 4, sums 3.
  const both = resizing([
    ['grows', '1', '2', '2'],
    ['shrinks', '2', '1', '1'],
  ]);
  const cpu = (release: string): number => compilePod(both, at(release).placement).requests.cpu!;
  assert.deepEqual(['1.32', '1.33', '1.36', '1.37'].map(cpu), [3000, 4000, 4000, 3000]);
  const oneCpu = pod('one-cpu', { containers: [container('c', '1')] });
  const full = '0/1 nodes are available: 1 Insufficient cpu.';
  assert.deepEqual(
    ['1.32', '1.33', '1.35', '1.36', '1.37'].map((r) => where(placeUnder(r, [node('n1')], [both], oneCpu))),
    ['n1', full, full, full, 'n1'],
  );
  // A resize the kubelet cannot make (Infeasible): from 1.33 what runs counts, not the spec asked for.
  const stuck = resizing([['c', '3', '1', '1']], true);
  const twoCpu = pod('two-cpu', { containers: [container('c', '2')] });
  assert.deepEqual(
    ['1.32', '1.33', '1.37'].map((r) => where(placeUnder(r, [node('n1')], [stuck], twoCpu))),
    [full, 'n1', 'n1'],
  );
});

test('a pod with device claims is flagged on every release, in the words of its release', () => {
  const claims = pod('gpu', { resourceClaims: [{ name: 'gpu', resourceClaimTemplateName: 'one-gpu' }] });
  const old = placeUnder('1.33', [node('n1')], [], claims);
  assert.match(
    old.notes!.join(),
    /resourceClaims \(gpu\), which Kubernetes before 1\.34 drops unless DynamicResourceAllocation/,
  );
  const now = placeUnder('1.34', [node('n1')], [], claims);
  assert.match(
    now.notes!.join(),
    /claims devices \(resourceClaims gpu\): kube-scheduler's DynamicResources filter decides/,
  );
  assert.equal(placeUnder('1.34', [node('n1')], [], pod('plain', {})).notes, undefined);
});

test('a pod that needs a node feature is flagged where NodeDeclaredFeatures runs (1.36+), with 1.37’s bind mount options', () => {
  const restartAll = pod('restart-all', {
    containers: [
      {
        ...container('c', '100m'),
        restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }],
      } as V1Container,
    ],
  });
  assert.equal(placeUnder('1.35', [node('n1')], [], restartAll).notes, undefined);
  assert.match(
    placeUnder('1.36', [node('n1')], [], restartAll).notes!.join(),
    /node feature RestartAllContainersOnContainerExits/,
  );
  // Bind mount options (1.37) are not in the client's types yet: the pod as the server would send it.
  const mounted = {
    ...container('c', '100m'),
    volumeMounts: [{ name: 'v', mountPath: '/v', bindMountOptions: ['ro'] }],
  };
  const bindMount = pod('bind-mount', { containers: [mounted as V1Container] });
  assert.equal(placeUnder('1.36', [node('n1')], [], bindMount).notes, undefined);
  assert.match(placeUnder('1.37', [node('n1')], [], bindMount).notes!.join(), /node feature VolumeBindMountOptions/);
});

test('the first filter that fails names the node: NodeUnschedulable before NodeName until 1.36, NodeName first in 1.37', () => {
  const snapshot = (release: string) =>
    buildSnapshot({ nodes: [node('cordoned', { unschedulable: true })], pods: [], rules: at(release).placement });
  const pinned = pod('pinned', { nodeName: 'elsewhere' });
  const reason = (release: string): string[] => {
    const snap = snapshot(release);
    const attempt: Attempt = {
      pod: compilePod(pinned, snap.rules),
      volumes: { nodeAffinity: [], missingVolume: false, zones: [], notes: [] },
      affinity: undefined,
      spread: undefined,
      spreadMins: [],
      spreadSelf: [],
      withoutMoved: false,
      rules: snap.rules,
    };
    return filterNode(attempt, snap.nodes[0]!);
  };
  assert.deepEqual(reason('1.36'), ['node(s) were unschedulable']);
  assert.deepEqual(reason('1.37'), ["node(s) didn't match the requested node name"]);
});

test('TaintToleration names the first untolerated taint until 1.34.1, and says "taint(s)" from 1.34.2', () => {
  const tainted = node('n1', {
    taints: [
      { key: 'soft', value: 'x', effect: 'PreferNoSchedule' },
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: 'other', effect: 'NoExecute' },
    ],
  });
  const plain = pod('plain', {});
  assert.equal(
    where(placeUnder('1.34.1', [tainted], [], plain)),
    '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.',
  );
  assert.equal(where(placeUnder('1.33', [tainted], [], plain)), where(placeUnder('1.34.1', [tainted], [], plain)));
  assert.equal(
    where(placeUnder('1.34.2', [tainted], [], plain)),
    '0/1 nodes are available: 1 node(s) had untolerated taint(s).',
  );
});

test('topology spread with matchLabelKeys: the same answer on every release', () => {
  const spread = [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: 'w' } },
      matchLabelKeys: ['pod-template-hash'],
    },
  ];
  const w = (name: string, hash: string, nodeName?: string): V1Pod => {
    const p = pod(name, { ...(nodeName ? { nodeName } : {}), topologySpreadConstraints: spread });
    p.metadata!.labels = { app: 'w', 'pod-template-hash': hash };
    return p;
  };
  // z2's only node does not take the new pod (a taint), so it must go to z1, where two pods of the old revision are.
  const nodes = [node('a', { zone: 'z1' }), node('b', { zone: 'z2', taints: [{ key: 'k', effect: 'NoSchedule' }] })];
  const existing = [w('old-1', 'old', 'a'), w('old-2', 'old', 'a')];
  for (const release of EVERY_RELEASE) {
    const snapshot = buildSnapshot({ nodes, pods: existing, rules: drainRules(release).placement });
    assert.equal(placePods(snapshot, [w('new', 'new')])[0]!.node, 'a', JSON.stringify(release));
  }
});

/** One drain of n1 by a release's rules: a few nodes, these pods, these PDBs and controllers. */
function planInputs(
  release: Release,
  drainPods: V1Pod[],
  more: { pdbs?: V1PodDisruptionBudget[]; controllers?: Array<[string, ControllerInfo | null]> } = {},
): PlanInputs {
  return {
    nodeNames: ['n1'],
    nodes: [node('n1'), node('n2'), node('n3')],
    podsByNode: new Map([['n1', drainPods]]),
    drainPods,
    pdbs: more.pdbs ?? [],
    controllers: new Map(
      more.controllers ?? [
        [controllerKey('ns', 'ReplicaSet', 'rs'), { kind: 'ReplicaSet', name: 'rs', replicas: 3, readyReplicas: 3 }],
      ],
    ),
    permissions: [],
    now: new Date('2026-06-01T00:00:00Z'),
    options: { ...PLAN_OPTIONS },
    skipWaitForDeleteTimeoutSeconds: 0,
    release: { serverRelease: `v1.${release.minor}.0`, rules: `1.${release.minor}` },
    rules: drainRules(release),
  };
}

test('an unready pod under a PDB, with and without unhealthyPodEvictionPolicy AlwaysAllow: the same plan on every release', () => {
  const unready = pod(
    'unready',
    { nodeName: 'n1' },
    { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } },
  );
  const pdb = (policy?: string): V1PodDisruptionBudget => ({
    metadata: { name: 'budget', namespace: 'ns' },
    spec: {
      selector: { matchLabels: { app: 'unready' } },
      minAvailable: 1,
      ...(policy ? { unhealthyPodEvictionPolicy: policy } : {}),
    },
    status: { currentHealthy: 0, desiredHealthy: 1, expectedPods: 1, disruptionsAllowed: 0 },
  });
  for (const release of EVERY_RELEASE) {
    const plan = (policy?: string): string => {
      const row = buildPlan(planInputs(release, [unready], { pdbs: [pdb(policy)] })).pods[0]!;
      return `${row.action}: ${row.reasons.map((r) => r.code).join(', ')}`;
    };
    // IfHealthyBudget: the budget is not met, so the unready pod needs one, and none is allowed: it waits.
    assert.equal(plan(), 'evict: PdbAllowsNone', JSON.stringify(release));
    // AlwaysAllow: an unready pod goes without using the budget.
    assert.equal(plan('AlwaysAllow'), 'evict: ', JSON.stringify(release));
  }
});

test('kubectl drain before 1.34 takes any kind DaemonSet for an apps/v1 one; from 1.34 only apps/v1', () => {
  const kruise = pod('kruise-agent', { nodeName: 'n1' });
  kruise.metadata!.ownerReferences = [
    { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'DaemonSet', name: 'agent', uid: 'k', controller: true },
  ];
  // kubectl 1.33 looks it up as an apps/v1 DaemonSet, and there is none.
  assert.equal(
    controllerLookup({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'DaemonSet' }, at('1.33').kubectl)?.resource,
    'daemonsets',
  );
  assert.equal(
    controllerLookup({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'DaemonSet' }, at('1.34').kubectl),
    undefined,
  );
  const controllers: Array<[string, ControllerInfo | null]> = [[controllerKey('ns', 'DaemonSet', 'agent'), null]];
  const row = (release: string, force = false) => {
    const input = planInputs(releaseOf(release), [kruise], { controllers });
    const plan = buildPlan({ ...input, options: { ...input.options, force } });
    const r = plan.pods[0]!;
    return `${r.action}: ${r.reasons.map((x) => `${x.code}/${x.severity}`).join(', ')}`;
  };
  assert.equal(row('1.33'), 'blocked: OrphanedDaemonSetPod/block');
  assert.equal(row('1.33', true), 'evict: OrphanedDaemonSetPod/warning');
  assert.match(
    buildPlan(planInputs(releaseOf('1.33'), [kruise], { controllers })).pods[0]!.reasons[0]!.message,
    /apps\.kruise\.io\/v1alpha1 DaemonSet agent, which kubectl before 1\.34 looks up as an apps\/v1 DaemonSet/,
  );
  assert.equal(row('1.34'), 'evict: ');
  assert.equal(row('1.37'), 'evict: ');
});

test('a plan says which server it was made for and by which release’s rules', () => {
  const plan = buildPlan(planInputs(releaseOf('1.33.6'), [pod('a', { nodeName: 'n1' })]));
  assert.deepEqual([plan.serverRelease, plan.rules], ['v1.33.0', '1.33']);
});
