/**
 * Edges of the placement simulation an independent review found: each test
 * names the upstream rule it holds the simulation to.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';

import { nodeSelectorTermsMatch } from '../../../src/drain/placement/filters.js';
import { buildSnapshot, defaultFate, placePods, simulateDrain } from '../../../src/drain/placement/index.js';

const node = (name: string, zone: string, taints?: V1Taint[]): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone } },
  spec: taints ? { taints } : {},
  status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' } },
});

const spreadW = [
  {
    maxSkew: 1,
    topologyKey: 'topology.kubernetes.io/zone',
    whenUnsatisfiable: 'DoNotSchedule',
    labelSelector: { matchLabels: { app: 'w' } },
  },
];

function spreadPod(name: string, labels: Record<string, string>, o: { node?: string; priority?: number } = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      labels,
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true }],
    },
    spec: {
      ...(o.node ? { nodeName: o.node } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100m' } } }],
      topologySpreadConstraints: spreadW,
    },
    status: { phase: 'Running' },
  };
}

// PodTopologySpread's Filter counts the incoming pod by its own labels (selfMatchNum), whichever pod came before it.
test('topology spread counts the pod being placed by its own labels, after a pod with other labels and the same constraints', () => {
  // z2's only node is tainted (nodeTaintsPolicy Ignore: still a domain, with 0 pods); z1 has one app=w pod.
  const snap = buildSnapshot({
    nodes: [node('a', 'z1'), node('b', 'z2', [{ key: 'k', effect: 'NoSchedule' }])],
    pods: [spreadPod('w1', { app: 'w' }, { node: 'a' })],
  });
  assert.equal(placePods(snap, [spreadPod('other', { app: 'x' })])[0]!.node, 'a', 'alone: 1 + 0 - 0 <= 1');
  const after = placePods(snap, [
    spreadPod('first', { app: 'w' }, { priority: 10 }),
    spreadPod('other', { app: 'x' }),
  ]).find((p) => p.pod === 'ns/other')!;
  assert.deepEqual([after.outcome, after.node], ['placed', 'a'], after.message);
  const matching = placePods(snap, [
    spreadPod('first', { app: 'x' }, { priority: 10 }),
    spreadPod('second', { app: 'w' }),
  ]).find((p) => p.pod === 'ns/second')!;
  assert.equal(
    matching.outcome,
    'pending',
    `1 matching + itself - min 0 = 2 > maxSkew 1, yet placed on ${matching.node}`,
  );
});

// A generic ephemeral volume's claim is <pod>-<volume>, owned by the pod: a replacement gets a new one.
test("a replacement's ephemeral volume is a new claim: the old claim's volume on the drained node does not pin it", () => {
  const pod: V1Pod = {
    metadata: {
      name: 'web-abc12',
      namespace: 'ns',
      uid: 'p1',
      labels: { app: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-6d4', uid: 'rs', controller: true }],
    },
    spec: {
      nodeName: 'a',
      containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100m' } } }],
      volumes: [
        {
          name: 'scratch',
          ephemeral: {
            volumeClaimTemplate: {
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: 'local',
                resources: { requests: { storage: '1Gi' } },
              },
            },
          },
        },
      ],
    },
    status: { phase: 'Running' },
  };
  const extras = {
    claims: [
      {
        metadata: {
          name: 'web-abc12-scratch',
          namespace: 'ns',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-abc12', uid: 'p1', controller: true }],
        },
        spec: { storageClassName: 'local', volumeName: 'pv-a' },
      },
    ],
    volumes: [
      {
        metadata: { name: 'pv-a' },
        spec: {
          local: { path: '/mnt' },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['a'] }] },
              ],
            },
          },
        },
      },
    ],
    classes: [
      { metadata: { name: 'local' }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' },
    ],
  };
  const snap = buildSnapshot({ nodes: [node('a', 'z1'), node('b', 'z1')], pods: [pod], ...extras });
  const p = simulateDrain(snap, ['a']).placements[0]!;
  assert.deepEqual([p.outcome, p.node], ['placed', 'b'], p.message);
  // A pod only waiting to be placed keeps its own claim, and with it the volume's node.
  const waiting = placePods(buildSnapshot({ nodes: [node('a', 'z1'), node('b', 'z1')], pods: [], ...extras }), [
    pod,
  ])[0]!;
  assert.equal(waiting.node, 'a');
});

// labels.Requirement.Matches parses both sides of Gt/Lt with strconv.ParseInt(v, 10, 64).
test('Gt and Lt compare 64-bit integers: a value beyond int64 matches nothing', () => {
  const gt = [{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['5'] }] }];
  assert.equal(nodeSelectorTermsMatch(gt, { gen: '6' }), true);
  assert.equal(nodeSelectorTermsMatch(gt, { gen: '9223372036854775807' }), true);
  assert.equal(nodeSelectorTermsMatch(gt, { gen: '9223372036854775808' }), false);
  assert.equal(nodeSelectorTermsMatch(gt, { gen: '99999999999999999999' }), false);
  assert.equal(
    nodeSelectorTermsMatch([{ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['-9223372036854775809'] }] }], {
      gen: '-1',
    }),
    false,
  );
});

// A ReplicaSet replaces a terminating pod at once; a StatefulSet makes the same-named pod only once the old one is gone.
test("a terminating StatefulSet pod's successor is placed by the plan; a terminating ReplicaSet pod's is already there", () => {
  const owned = (name: string, kind: string, cpu: string, nodeName: string, terminating = false): V1Pod => ({
    metadata: {
      name,
      namespace: 'ns',
      uid: name,
      ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'x', uid: 'x', controller: true }],
      ...(terminating ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}),
    },
    spec: { nodeName, containers: [{ name: 'c', image: 'i', resources: { requests: { cpu } } }] },
    status: { phase: 'Running' },
  });
  assert.equal(defaultFate(owned('db-0', 'StatefulSet', '1', 'a', true)), 'recreate');
  assert.equal(defaultFate(owned('web-1', 'ReplicaSet', '1', 'a', true)), 'delete');
  // b has 4 cpu, 3.5 taken: the successor of db-0 (1 cpu) fits nowhere.
  const snap = buildSnapshot({
    nodes: [node('a', 'z1'), node('b', 'z1')],
    pods: [owned('db-0', 'StatefulSet', '1', 'a', true), owned('big', 'ReplicaSet', '3500m', 'b')],
  });
  const r = simulateDrain(snap, ['a']);
  const db = r.placements.find((p) => p.pod === 'ns/db-0');
  assert.equal(db?.outcome, 'pending', JSON.stringify(r.placements));
  assert.match(db?.message ?? '', /Insufficient cpu/);
});

// The node lifecycle controller adds node.kubernetes.io/unschedulable:NoSchedule to a cordoned node and
// removes it a moment after the uncordon: a plan made in that moment must not count the node out.
test('a node just uncordoned, its unschedulable taint not yet removed, takes replacements; a cordoned one does not', () => {
  const pod: V1Pod = {
    metadata: {
      name: 'web-1',
      namespace: 'ns',
      uid: 'w1',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs', controller: true }],
    },
    spec: { nodeName: 'a', containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100m' } } }] },
    status: { phase: 'Running' },
  };
  const lingering = node('b', 'z1', [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);
  const placed = simulateDrain(buildSnapshot({ nodes: [node('a', 'z1'), lingering], pods: [pod] }), ['a'])
    .placements[0]!;
  assert.deepEqual([placed.outcome, placed.node], ['placed', 'b'], placed.message);
  const cordoned = { ...lingering, spec: { ...lingering.spec, unschedulable: true } };
  const pending = simulateDrain(buildSnapshot({ nodes: [node('a', 'z1'), cordoned], pods: [pod] }), ['a'])
    .placements[0]!;
  assert.equal(pending.outcome, 'pending');
  assert.match(pending.message ?? '', /unschedulable/);
});
