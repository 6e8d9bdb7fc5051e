/**
 * The placement simulation, filter by filter: each table puts one pod onto
 * a few nodes and names the node it lands on, or the scheduler's words for
 * why it lands nowhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type {
  V1Container,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
  V1Taint,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';

import {
  buildSnapshot,
  fitErrorMessage,
  placePods,
  podRequests,
  simulateDrain,
  simulateRun,
} from '../../../src/drain/placement/index.js';
import { parseQuantityNano } from '../../../src/kube/quantity.js';

interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  zone?: string;
  labels?: Record<string, string>;
  taints?: V1Taint[];
  unschedulable?: boolean;
  extra?: Record<string, string>;
}

function node(name: string, o: NodeOpts = {}): V1Node {
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        ...(o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {}),
        ...o.labels,
      },
    },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '16Gi', pods: o.pods ?? '110', ...o.extra } },
  };
}

interface PodOpts {
  node?: string;
  ns?: string;
  labels?: Record<string, string>;
  cpu?: string;
  requests?: Record<string, string>;
  containers?: V1Container[];
  init?: V1Container[];
  ports?: Array<{ hostPort: number; protocol?: string; hostIP?: string }>;
  tolerations?: V1Toleration[];
  nodeSelector?: Record<string, string>;
  nodeAffinity?: NonNullable<NonNullable<V1Pod['spec']>['affinity']>['nodeAffinity'];
  podAffinity?: NonNullable<NonNullable<V1Pod['spec']>['affinity']>['podAffinity'];
  podAntiAffinity?: NonNullable<NonNullable<V1Pod['spec']>['affinity']>['podAntiAffinity'];
  spread?: V1TopologySpreadConstraint[];
  claims?: string[];
  priority?: number;
  created?: string;
  terminating?: boolean;
  owner?: string;
}

function pod(name: string, o: PodOpts = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'ns',
      labels: o.labels ?? { app: name },
      creationTimestamp: new Date(o.created ?? '2026-01-01T00:00:00Z'),
      deletionTimestamp: o.terminating ? new Date('2026-01-01T01:00:00Z') : undefined,
      ownerReferences:
        o.owner === 'none'
          ? []
          : [{ apiVersion: 'apps/v1', kind: o.owner ?? 'ReplicaSet', name: 'rs', uid: 'rs', controller: true }],
    },
    spec: {
      nodeName: o.node,
      priority: o.priority,
      containers: o.containers ?? [
        {
          name: 'c',
          image: 'i',
          resources: { requests: { cpu: o.cpu ?? '100m', ...o.requests } },
          ports: o.ports?.map((p) => ({ containerPort: p.hostPort, ...p })),
        },
      ],
      initContainers: o.init,
      tolerations: o.tolerations,
      nodeSelector: o.nodeSelector,
      affinity:
        o.nodeAffinity || o.podAffinity || o.podAntiAffinity
          ? { nodeAffinity: o.nodeAffinity, podAffinity: o.podAffinity, podAntiAffinity: o.podAntiAffinity }
          : undefined,
      topologySpreadConstraints: o.spread,
      volumes: o.claims?.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
    },
    status: { phase: 'Running' },
  };
}

interface Extras {
  namespaces?: Array<{ metadata: { name: string; labels: Record<string, string> } }>;
  claims?: V1PersistentVolumeClaim[];
  volumes?: V1PersistentVolume[];
  classes?: V1StorageClass[];
}

/** Where the pod lands (node name) or the scheduler's message. */
function place(nodes: V1Node[], existing: V1Pod[], incoming: V1Pod, extras: Extras = {}): string {
  const r = placePods(buildSnapshot({ nodes, pods: existing, ...extras }), [incoming])[0]!;
  return r.outcome === 'placed' ? r.node! : r.message!;
}

/** The message for these "<count> <reason>" parts (in the scheduler's order: sorted as strings). */
const fail = (total: number, ...parts: string[]): string =>
  `0/${total} nodes are available: ${[...parts].sort().join(', ')}.`;

type Case = [what: string, nodes: V1Node[], existing: V1Pod[], incoming: V1Pod, expected: string, extras?: Extras];

function table(cases: Case[]): void {
  for (const [what, nodes, existing, incoming, expected, extras] of cases)
    assert.equal(place(nodes, existing, incoming, extras), expected, what);
}

const term = (key: string, operator: string, values?: string[]) => ({
  nodeSelectorTerms: [{ matchExpressions: [{ key, operator, values }] }],
});

test('requests are computed as the scheduler computes them', () => {
  const c = (cpu: string, extra: Partial<V1Container> = {}): V1Container => ({
    name: `c${cpu}${extra.restartPolicy ?? ''}`,
    image: 'i',
    resources: { requests: { cpu } },
    ...extra,
  });
  const sidecar = { restartPolicy: 'Always' };
  const cases: Array<[string, V1Pod, Record<string, number>]> = [
    ['containers add up', pod('a', { containers: [c('100m'), c('250m')] }), { cpu: 350 }],
    ['a bigger init container is the floor', pod('a', { containers: [c('100m')], init: [c('1')] }), { cpu: 1000 }],
    ['sidecars add to the containers', pod('a', { containers: [c('100m')], init: [c('200m', sidecar)] }), { cpu: 300 }],
    [
      'an init container after a sidecar runs beside it',
      pod('a', { containers: [c('100m')], init: [c('200m', sidecar), c('1')] }),
      { cpu: 1200 },
    ],
    [
      'an init container before a sidecar runs alone',
      pod('a', { containers: [c('100m')], init: [c('1'), c('200m', sidecar)] }),
      { cpu: 1000 },
    ],
    ['sums are exact, rounded up once', pod('a', { containers: [c('100u'), c('100u')] }), { cpu: 1 }],
    [
      'extended resources and hugepages count; unknown names do not',
      pod('a', { requests: { 'nvidia.com/gpu': '2', 'hugepages-2Mi': '64Mi', memory: '1Gi', bogus: '3' } }),
      { cpu: 100, 'nvidia.com/gpu': 2, 'hugepages-2Mi': 64 * 2 ** 20, memory: 2 ** 30 },
    ],
  ];
  for (const [what, p, expected] of cases) assert.deepEqual(podRequests(p), expected, what);
  const overhead = pod('a');
  overhead.spec!.overhead = { cpu: '250m' };
  assert.deepEqual(podRequests(overhead), { cpu: 350 }, 'overhead is added');
  const podLevel = pod('a', { containers: [c('100m'), c('100m')] });
  podLevel.spec!.resources = { requests: { cpu: '2' } };
  assert.deepEqual(podRequests(podLevel), { cpu: 2000 }, 'pod-level requests replace the aggregate');
  assert.equal(parseQuantityNano('1.5Gi'), 1610612736n * 1_000_000_000n);
  assert.equal(parseQuantityNano('2e-3'), 2_000_000n);
  assert.equal(parseQuantityNano('x'), undefined);
});

test('NodeName, NodeUnschedulable and TaintToleration', () => {
  const t = (key: string, effect: string, value?: string): V1Taint => ({ key, effect, value });
  table([
    ['a replacement is not bound to its old node', [node('a'), node('b')], [], pod('p', { node: 'a' }), 'a'],
    [
      'a cordoned node takes nothing',
      [node('a', { unschedulable: true })],
      [],
      pod('p'),
      fail(1, '1 node(s) were unschedulable'),
    ],
    [
      '...unless the pod tolerates the unschedulable taint',
      [node('a', { unschedulable: true })],
      [],
      pod('p', {
        tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      }),
      'a',
    ],
    [
      'NoSchedule',
      [node('a', { taints: [t('k', 'NoSchedule', 'v')] })],
      [],
      pod('p'),
      fail(1, '1 node(s) had untolerated taint(s)'),
    ],
    [
      'NoExecute',
      [node('a', { taints: [t('k', 'NoExecute')] })],
      [],
      pod('p'),
      fail(1, '1 node(s) had untolerated taint(s)'),
    ],
    ['PreferNoSchedule is no filter', [node('a', { taints: [t('k', 'PreferNoSchedule')] })], [], pod('p'), 'a'],
    [
      'Equal needs the value',
      [node('a', { taints: [t('k', 'NoSchedule', 'v')] })],
      [],
      pod('p', { tolerations: [{ key: 'k', value: 'w' }] }),
      fail(1, '1 node(s) had untolerated taint(s)'),
    ],
    [
      'Equal with the value',
      [node('a', { taints: [t('k', 'NoSchedule', 'v')] })],
      [],
      pod('p', { tolerations: [{ key: 'k', value: 'v' }] }),
      'a',
    ],
    [
      'Exists with no key tolerates all',
      [node('a', { taints: [t('k', 'NoExecute', 'v')] })],
      [],
      pod('p', { tolerations: [{ operator: 'Exists' }] }),
      'a',
    ],
    [
      'the effect must match',
      [node('a', { taints: [t('k', 'NoExecute')] })],
      [],
      pod('p', { tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }] }),
      fail(1, '1 node(s) had untolerated taint(s)'),
    ],
    [
      'Gt is behind a gate that is off',
      [node('a', { taints: [t('k', 'NoSchedule', '5')] })],
      [],
      pod('p', { tolerations: [{ key: 'k', operator: 'Gt', value: '1' }] }),
      fail(1, '1 node(s) had untolerated taint(s)'),
    ],
  ]);
});

test('NodeAffinity: nodeSelector, required terms, matchFields', () => {
  const nodes = [
    node('a', { labels: { disk: 'ssd', gen: '5' } }),
    node('b', { labels: { disk: 'hdd', gen: '3' } }),
    node('c'),
  ];
  const miss = (n: number) => `${n} node(s) didn't match Pod's node affinity/selector`;
  table([
    ['nodeSelector', nodes, [], pod('p', { nodeSelector: { disk: 'hdd' } }), 'b'],
    ['nodeSelector nowhere', nodes, [], pod('p', { nodeSelector: { disk: 'nvme' } }), fail(3, miss(3))],
    [
      'In',
      nodes,
      [],
      pod('p', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('disk', 'In', ['ssd']) } }),
      'a',
    ],
    [
      'NotIn matches a node without the label',
      nodes,
      [],
      pod('p', {
        nodeSelector: { 'kubernetes.io/hostname': 'c' },
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('disk', 'NotIn', ['ssd']) },
      }),
      'c',
    ],
    [
      'DoesNotExist',
      nodes,
      [],
      pod('p', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('disk', 'DoesNotExist') } }),
      'c',
    ],
    [
      'Gt compares integers',
      nodes,
      [],
      pod('p', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('gen', 'Gt', ['4']) } }),
      'a',
    ],
    [
      'Lt never matches a missing label',
      nodes,
      [],
      pod('p', {
        nodeSelector: { disk: 'ssd' },
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('gen', 'Lt', ['4']) },
      }),
      fail(3, miss(3)),
    ],
    [
      'terms are ORed',
      nodes,
      [],
      pod('p', {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'disk', operator: 'In', values: ['nvme'] }] },
              { matchExpressions: [{ key: 'gen', operator: 'In', values: ['3'] }] },
            ],
          },
        },
      }),
      'b',
    ],
    [
      'empty terms match nothing',
      nodes,
      [],
      pod('p', { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{}] } } }),
      fail(3, miss(3)),
    ],
    [
      'matchFields narrows the nodes looked at, in PreFilter',
      [node('a', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), node('b'), node('c')],
      [],
      pod('p', {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }],
          },
        },
      }),
      fail(3, '1 node(s) had untolerated taint(s)', "2 node(s) didn't satisfy plugin(s) [NodeAffinity]"),
    ],
    [
      'matchFields naming no node',
      nodes,
      [],
      pod('p', {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['nope'] }] }],
          },
        },
      }),
      fail(3, "3 node(s) didn't satisfy plugin(s) [NodeAffinity]"),
    ],
    [
      'matchFields terms that conflict',
      nodes,
      [],
      pod('p', {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchFields: [
                  { key: 'metadata.name', operator: 'In', values: ['a'] },
                  { key: 'metadata.name', operator: 'In', values: ['b'] },
                ],
              },
            ],
          },
        },
      }),
      '0/3 nodes are available: pod affinity terms conflict.',
    ],
  ]);
});

test('NodePorts: host port, protocol and address clash as the scheduler says', () => {
  const one = [node('a')];
  const bound = (ports: PodOpts['ports']) => [pod('old', { node: 'a', ports })];
  const taken = fail(1, "1 node(s) didn't have free ports for the requested pod ports");
  table([
    ['same port, TCP', one, bound([{ hostPort: 80 }]), pod('p', { ports: [{ hostPort: 80 }] }), taken],
    [
      'same port, other protocol',
      one,
      bound([{ hostPort: 80, protocol: 'UDP' }]),
      pod('p', { ports: [{ hostPort: 80 }] }),
      'a',
    ],
    [
      '0.0.0.0 against an address',
      one,
      bound([{ hostPort: 80, hostIP: '10.0.0.1' }]),
      pod('p', { ports: [{ hostPort: 80 }] }),
      taken,
    ],
    [
      'an address against 0.0.0.0',
      one,
      bound([{ hostPort: 80 }]),
      pod('p', { ports: [{ hostPort: 80, hostIP: '10.0.0.2' }] }),
      taken,
    ],
    [
      'two addresses',
      one,
      bound([{ hostPort: 80, hostIP: '10.0.0.1' }]),
      pod('p', { ports: [{ hostPort: 80, hostIP: '10.0.0.2' }] }),
      'a',
    ],
    [
      'a terminating pod still holds its port',
      one,
      [pod('old', { node: 'a', ports: [{ hostPort: 80 }], terminating: true })],
      pod('p', { ports: [{ hostPort: 80 }] }),
      taken,
    ],
    [
      "a sidecar's port counts",
      one,
      [
        pod('old', {
          node: 'a',
          init: [{ name: 's', image: 'i', restartPolicy: 'Always', ports: [{ containerPort: 9, hostPort: 9 }] }],
        }),
      ],
      pod('p', { ports: [{ hostPort: 9 }] }),
      taken,
    ],
  ]);
});

test('NodeResourcesFit: every resource, every reason', () => {
  const gpu = node('g', { extra: { 'nvidia.com/gpu': '2', 'hugepages-2Mi': '128Mi', 'ephemeral-storage': '10Gi' } });
  table([
    [
      'cpu',
      [node('a', { cpu: '1' })],
      [pod('x', { node: 'a', cpu: '600m' })],
      pod('p', { cpu: '500m' }),
      fail(1, '1 Insufficient cpu'),
    ],
    [
      'cpu, exactly full',
      [node('a', { cpu: '1' })],
      [pod('x', { node: 'a', cpu: '500m' })],
      pod('p', { cpu: '500m' }),
      'a',
    ],
    [
      'memory',
      [node('a', { memory: '1Gi' })],
      [],
      pod('p', { requests: { memory: '2Gi' } }),
      fail(1, '1 Insufficient memory'),
    ],
    [
      'two resources short on one node count twice',
      [node('a', { cpu: '1', memory: '1Gi' })],
      [],
      pod('p', { cpu: '2', requests: { memory: '2Gi' } }),
      fail(1, '1 Insufficient cpu', '1 Insufficient memory'),
    ],
    ['pod slots', [node('a', { pods: '1' })], [pod('x', { node: 'a' })], pod('p'), fail(1, '1 Too many pods')],
    ['a GPU where there is none', [node('a'), gpu], [], pod('p', { requests: { 'nvidia.com/gpu': '1' } }), 'g'],
    [
      'more GPUs than anywhere',
      [node('a'), gpu],
      [],
      pod('p', { requests: { 'nvidia.com/gpu': '3' } }),
      fail(2, '2 Insufficient nvidia.com/gpu'),
    ],
    [
      'hugepages',
      [gpu],
      [pod('x', { node: 'g', requests: { 'hugepages-2Mi': '100Mi' } })],
      pod('p', { requests: { 'hugepages-2Mi': '64Mi' } }),
      fail(1, '1 Insufficient hugepages-2Mi'),
    ],
    ['ephemeral-storage', [gpu, node('a')], [], pod('p', { requests: { 'ephemeral-storage': '5Gi' } }), 'g'],
    [
      'a finished pod frees its requests',
      [node('a', { cpu: '1' })],
      [{ ...pod('x', { node: 'a', cpu: '1' }), status: { phase: 'Succeeded' } }],
      pod('p', { cpu: '1' }),
      'a',
    ],
    [
      'a sidecar makes a pod bigger than its containers',
      [node('a', { cpu: '1' })],
      [],
      pod('p', {
        containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '800m' } } }],
        init: [{ name: 's', image: 'i', restartPolicy: 'Always', resources: { requests: { cpu: '300m' } } }],
      }),
      fail(1, '1 Insufficient cpu'),
    ],
  ]);
});

test('volumes: a bound volume’s node affinity and zone, unbound claims', () => {
  const nodes = [node('a', { zone: 'z1' }), node('b', { zone: 'z2' })];
  const claim = (name: string, volumeName?: string, storageClassName?: string): V1PersistentVolumeClaim => ({
    metadata: { name, namespace: 'ns' },
    spec: { volumeName, storageClassName },
  });
  const pv = (name: string, o: { zone?: string; host?: string } = {}): V1PersistentVolume => ({
    metadata: { name, labels: o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {} },
    spec: o.host ? { nodeAffinity: { required: term('kubernetes.io/hostname', 'In', [o.host]) } } : {},
  });
  const classes: V1StorageClass[] = [
    { metadata: { name: 'late' }, provisioner: 'x', volumeBindingMode: 'WaitForFirstConsumer' },
    { metadata: { name: 'now' }, provisioner: 'x', volumeBindingMode: 'Immediate' },
  ];
  const extras = (claims: V1PersistentVolumeClaim[], volumes: V1PersistentVolume[]): Extras => ({
    claims,
    volumes,
    classes,
  });
  table([
    [
      'node affinity of a bound volume',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      'b',
      extras([claim('d', 'pv')], [pv('pv', { host: 'b' })]),
    ],
    [
      '...to a node that is gone',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      fail(2, "2 node(s) didn't match PersistentVolume's node affinity"),
      extras([claim('d', 'pv')], [pv('pv', { host: 'x' })]),
    ],
    [
      'zone label of a bound volume',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      'b',
      extras([claim('d', 'pv')], [pv('pv', { zone: 'z2' })]),
    ],
    [
      'zone label nowhere',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      fail(2, '2 node(s) had no available volume zone'),
      extras([claim('d', 'pv')], [pv('pv', { zone: 'z9' })]),
    ],
    [
      'a claim that does not exist',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      '0/2 nodes are available: persistentvolumeclaim "d" not found.',
      extras([], []),
    ],
    [
      'an unbound Immediate claim',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
      extras([claim('d', undefined, 'now')], []),
    ],
    [
      'a bound claim whose volume is gone',
      nodes,
      [],
      pod('p', { claims: ['d'] }),
      fail(2, '2 node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)'),
      extras([claim('d', 'gone')], []),
    ],
  ]);
  const late = placePods(buildSnapshot({ nodes, pods: [], ...extras([claim('d', undefined, 'late')], []) }), [
    pod('p', { claims: ['d'] }),
  ])[0]!;
  assert.equal(late.outcome, 'placed', 'an unbound WaitForFirstConsumer claim is not guessed at');
  assert.match(late.notes?.[0] ?? '', /claim d is unbound \(WaitForFirstConsumer\)/);
  const unread = placePods(buildSnapshot({ nodes, pods: [] }), [pod('p', { claims: ['d'] })])[0]!;
  assert.match(unread.notes?.[0] ?? '', /could not be read/);
});

test('PodTopologySpread: maxSkew, minDomains, inclusion policies, matchLabelKeys', () => {
  const zones = [node('a', { zone: 'z1' }), node('b', { zone: 'z2' }), node('c', { zone: 'z3' })];
  const spread = (o: Partial<V1TopologySpreadConstraint> = {}): V1TopologySpreadConstraint[] => [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: 'w' } },
      ...o,
    },
  ];
  const w = (name: string, n?: string, o: PodOpts = {}) =>
    pod(name, { node: n, labels: { app: 'w' }, spread: spread(), ...o });
  const skew = (n: number) => `${n} node(s) didn't match pod topology spread constraints`;
  const taint = (n: number) => `${n} node(s) had untolerated taint(s)`;
  // z2 is tainted: the pod can only go to z1, but (nodeTaintsPolicy Ignore) z2 still counts as a domain.
  const zt = [node('a', { zone: 'z1' }), node('b', { zone: 'z2', taints: [{ key: 'k', effect: 'NoSchedule' }] })];
  const inZ1 = { nodeSelector: { 'topology.kubernetes.io/zone': 'z1' } };
  table([
    ['goes to the emptiest zone', zones, [w('1', 'a'), w('2', 'b')], w('p'), 'c'],
    ['one more in z1 than the emptiest zone is the most', zt, [], w('p'), 'a'],
    ['two more is too many', zt, [w('1', 'a')], w('p'), fail(2, taint(1), skew(1))],
    ['maxSkew 2 allows it', zt, [w('1', 'a')], w('p', undefined, { spread: spread({ maxSkew: 2 }) }), 'a'],
    [
      'ScheduleAnyway is no filter',
      zt,
      [w('1', 'a'), w('2', 'a')],
      w('p', undefined, { spread: spread({ whenUnsatisfiable: 'ScheduleAnyway' }) }),
      'a',
    ],
    [
      'a node without the key',
      [node('a', { zone: 'z1' }), node('x')],
      [],
      w('p', undefined, { nodeSelector: { 'kubernetes.io/hostname': 'x' } }),
      fail(
        2,
        "1 node(s) didn't match Pod's node affinity/selector",
        "1 node(s) didn't match pod topology spread constraints (missing required label)",
      ),
    ],
    [
      'minDomains: fewer domains than asked count as a global minimum of 0',
      [node('a', { zone: 'z1' }), node('b', { zone: 'z2' })],
      [w('1', 'a'), w('2', 'b')],
      w('p', undefined, { spread: spread({ minDomains: 3 }) }),
      fail(2, skew(2)),
    ],
    [
      '...and enough domains do not',
      zones,
      [w('1', 'a'), w('2', 'b'), w('3', 'c')],
      w('p', undefined, { spread: spread({ minDomains: 3 }) }),
      'a',
    ],
    [
      'nodeAffinityPolicy Honor (default) leaves out zones the pod may not use',
      zones,
      [w('1', 'a'), w('2', 'a')],
      w('p', undefined, { ...inZ1, spread: spread({ maxSkew: 2 }) }),
      'a',
    ],
    [
      'nodeAffinityPolicy Ignore counts them',
      zones,
      [w('1', 'a'), w('2', 'a')],
      w('p', undefined, { ...inZ1, spread: spread({ maxSkew: 2, nodeAffinityPolicy: 'Ignore' }) }),
      fail(3, "2 node(s) didn't match Pod's node affinity/selector", skew(1)),
    ],
    [
      'nodeTaintsPolicy Honor leaves a tainted zone out',
      zt,
      [w('1', 'a')],
      w('p', undefined, { spread: spread({ nodeTaintsPolicy: 'Honor' }) }),
      'a',
    ],
    [
      'without matchLabelKeys every revision counts',
      zt,
      [pod('1', { node: 'a', labels: { app: 'w', rev: 'old' } })],
      w('p', undefined, { labels: { app: 'w', rev: 'new' } }),
      fail(2, taint(1), skew(1)),
    ],
    [
      'matchLabelKeys counts only the same revision',
      zt,
      [pod('1', { node: 'a', labels: { app: 'w', rev: 'old' } })],
      w('p', undefined, { labels: { app: 'w', rev: 'new' }, spread: spread({ matchLabelKeys: ['rev'] }) }),
      'a',
    ],
    ['other namespaces do not count', zt, [w('1', 'a', { ns: 'other' })], w('p'), 'a'],
    ['terminating pods do not count', zt, [w('1', 'a', { terminating: true })], w('p'), 'a'],
    [
      'an empty selector counts nothing',
      zt,
      [w('1', 'a'), w('2', 'a')],
      w('p', undefined, { spread: spread({ labelSelector: {} }) }),
      'a',
    ],
  ]);
});

test('InterPodAffinity: the pod’s own terms and the anti-affinity of pods already there', () => {
  const nodes = [node('a', { zone: 'z1' }), node('b', { zone: 'z1' }), node('c', { zone: 'z2' })];
  const sel = (app: string) => ({ matchLabels: { app } });
  const req = (app: string, topologyKey = 'kubernetes.io/hostname', extra = {}) => ({
    requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: sel(app), topologyKey, ...extra }],
  });
  const anti = "node(s) didn't match pod anti-affinity rules";
  const aff = "node(s) didn't match pod affinity rules";
  const existing = "node(s) didn't satisfy existing pods anti-affinity rules";
  table([
    ['affinity to a pod on a node', nodes, [pod('db', { node: 'b' })], pod('p', { podAffinity: req('db') }), 'b'],
    [
      'affinity to a zone',
      nodes,
      [pod('db', { node: 'c' })],
      pod('p', { podAffinity: req('db', 'topology.kubernetes.io/zone') }),
      'c',
    ],
    [
      'affinity to a pod that is nowhere',
      nodes,
      [pod('x', { node: 'a' })],
      pod('p', { labels: { app: 'p' }, podAffinity: req('db') }),
      fail(3, `3 ${aff}`),
    ],
    [
      'the first pod of a group that selects itself goes anywhere',
      nodes,
      [],
      pod('p', { labels: { app: 'db' }, podAffinity: req('db') }),
      'a',
    ],
    [
      '...but not once one of the group exists',
      [node('a'), node('b', { taints: [{ key: 'k', effect: 'NoSchedule' }] })],
      [pod('db', { node: 'b' })],
      pod('p', { labels: { app: 'db' }, podAffinity: req('db') }),
      fail(2, `1 ${aff}`, '1 node(s) had untolerated taint(s)'),
    ],
    [
      'anti-affinity per node',
      nodes,
      [pod('w1', { node: 'a', labels: { app: 'w' } }), pod('w2', { node: 'b', labels: { app: 'w' } })],
      pod('p', { labels: { app: 'w' }, podAntiAffinity: req('w') }),
      'c',
    ],
    [
      'anti-affinity per zone',
      nodes,
      [pod('w1', { node: 'a', labels: { app: 'w' } }), pod('w2', { node: 'c', labels: { app: 'w' } })],
      pod('p', { labels: { app: 'w' }, podAntiAffinity: req('w', 'topology.kubernetes.io/zone') }),
      fail(3, `3 ${anti}`),
    ],
    [
      'a terminating pod still repels',
      [node('a')],
      [pod('w1', { node: 'a', labels: { app: 'w' }, terminating: true })],
      pod('p', { labels: { app: 'w' }, podAntiAffinity: req('w') }),
      fail(1, `1 ${anti}`),
    ],
    [
      'an existing pod’s anti-affinity',
      nodes,
      [pod('lonely', { node: 'a', podAntiAffinity: req('w', 'topology.kubernetes.io/zone') })],
      pod('p', { labels: { app: 'w' } }),
      'c',
    ],
    [
      '...applies only to pods it selects',
      [node('a')],
      [pod('lonely', { node: 'a', podAntiAffinity: req('w') })],
      pod('p', { labels: { app: 'v' } }),
      'a',
    ],
    [
      '...and keeps the pods it selects off its node',
      [node('a')],
      [pod('lonely', { node: 'a', podAntiAffinity: req('w') })],
      pod('p', { labels: { app: 'w' } }),
      fail(1, `1 ${existing}`),
    ],
    [
      'anti-affinity to another namespace is not matched by default',
      [node('a')],
      [pod('w1', { node: 'a', ns: 'other', labels: { app: 'w' } })],
      pod('p', { labels: { app: 'w' }, podAntiAffinity: req('w') }),
      'a',
    ],
    [
      '...unless it names the namespace',
      [node('a')],
      [pod('w1', { node: 'a', ns: 'other', labels: { app: 'w' } })],
      pod('p', {
        labels: { app: 'w' },
        podAntiAffinity: req('w', 'kubernetes.io/hostname', { namespaces: ['other'] }),
      }),
      fail(1, `1 ${anti}`),
    ],
    [
      '...or selects it by label',
      [node('a')],
      [pod('w1', { node: 'a', ns: 'other', labels: { app: 'w' } })],
      pod('p', {
        labels: { app: 'w' },
        podAntiAffinity: req('w', 'kubernetes.io/hostname', { namespaceSelector: { matchLabels: { team: 'x' } } }),
      }),
      fail(1, `1 ${anti}`),
      {
        namespaces: [{ metadata: { name: 'other', labels: { team: 'x' } } }, { metadata: { name: 'ns', labels: {} } }],
      },
    ],
    [
      "an existing pod's namespaceSelector is matched against the incoming pod's namespace",
      [node('a'), node('b')],
      [
        pod('lonely', {
          node: 'a',
          ns: 'other',
          podAntiAffinity: req('w', 'kubernetes.io/hostname', { namespaceSelector: { matchLabels: { team: 'y' } } }),
        }),
      ],
      pod('p', { labels: { app: 'w' } }),
      'b',
      {
        namespaces: [{ metadata: { name: 'other', labels: {} } }, { metadata: { name: 'ns', labels: { team: 'y' } } }],
      },
    ],
    [
      'mismatchLabelKeys: anti-affinity only against other tenants',
      [node('a'), node('b')],
      [
        pod('t1', { node: 'a', labels: { app: 'w', tenant: 'one' } }),
        pod('t2', { node: 'b', labels: { app: 'w', tenant: 'two' } }),
      ],
      pod('p', {
        labels: { app: 'w', tenant: 'one' },
        podAntiAffinity: req('w', 'kubernetes.io/hostname', { mismatchLabelKeys: ['tenant'] }),
      }),
      'a',
    ],
    [
      'matchLabelKeys: affinity only to the same tenant',
      [node('a'), node('b')],
      [
        pod('t1', { node: 'a', labels: { app: 'w', tenant: 'one' } }),
        pod('t2', { node: 'b', labels: { app: 'w', tenant: 'two' } }),
      ],
      pod('p', {
        labels: { app: 'w', tenant: 'two' },
        podAffinity: req('w', 'kubernetes.io/hostname', { matchLabelKeys: ['tenant'] }),
      }),
      'b',
    ],
  ]);
});

test('the FitError message sorts as Go sorts strings', () => {
  const rejected = [...Array.from({ length: 10 }, () => ['b reason']), ['a reason'], ['a reason']];
  assert.equal(fitErrorMessage(12, rejected).message, '0/12 nodes are available: 10 b reason, 2 a reason.');
});

test('pods are placed in the scheduler’s order: priority, then age; each placement counts for the next', () => {
  const nodes = [node('a', { cpu: '1' })];
  const placements = placePods(buildSnapshot({ nodes, pods: [] }), [
    pod('young', { cpu: '600m', created: '2026-01-02T00:00:00Z' }),
    pod('old', { cpu: '600m', created: '2026-01-01T00:00:00Z' }),
    pod('vip', { cpu: '600m', created: '2026-01-03T00:00:00Z', priority: 1000 }),
  ]);
  assert.deepEqual(
    placements.map((p) => `${p.pod}:${p.node ?? 'pending'}`),
    ['ns/vip:a', 'ns/old:pending', 'ns/young:pending'],
  );
});

test('a drain cordons its nodes, keeps DaemonSet pods, recreates the rest, and explains who depends on whom', () => {
  const nodes = [node('a', { zone: 'z1' }), node('b', { zone: 'z1' }), node('c', { zone: 'z2' })];
  const web = (name: string, n: string) =>
    pod(name, {
      node: n,
      labels: { app: 'web' },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
        ],
      },
    });
  const snap = buildSnapshot({
    nodes,
    pods: [
      web('w1', 'a'),
      web('w2', 'b'),
      web('w3', 'c'),
      pod('agent', { node: 'a', owner: 'DaemonSet' }),
      pod('bare', { node: 'a', owner: 'none' }),
    ],
  });
  const step = simulateDrain(snap, ['a']);
  assert.deepEqual(step.deleted, ['ns/bare']);
  assert.deepEqual(
    step.placements.map((p) => p.pod),
    ['ns/w1'],
  );
  assert.equal(
    step.placements[0]?.message,
    fail(3, '1 node(s) were unschedulable', "2 node(s) didn't match pod anti-affinity rules"),
  );
  assert.equal(snap.byName.get('a')?.unschedulable, false, 'the snapshot given is not changed');

  // cache needs db on its node: it fits only once db has moved.
  const dep = buildSnapshot({
    nodes: [node('a'), node('b')],
    pods: [
      pod('cache', {
        node: 'a',
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      }),
      pod('db', { node: 'a', created: '2026-02-01T00:00:00Z' }),
    ],
  });
  const moved = simulateDrain(dep, ['a']).placements;
  assert.deepEqual(
    moved.map((p) => `${p.pod}:${p.node}:${(p.dependsOn ?? []).join()}`),
    ['ns/cache:b:ns/db', 'ns/db:b:'],
  );
});

test('a run of several steps: nodes come back into service, and the first step that leaves a pod pending is named', () => {
  const nodes = [node('a', { cpu: '2' }), node('b', { cpu: '2' }), node('c', { cpu: '1' })];
  const big = (name: string, n: string) => pod(name, { node: n, cpu: '1500m' });
  const snap = buildSnapshot({ nodes, pods: [big('x', 'a'), big('y', 'b')] });
  // Step 1 drains a: x fits nowhere (b is full, c too small) until a is back; step 2 drains b: y goes to a.
  const run = simulateRun(snap, [{ nodes: ['a'] }, { nodes: ['b'] }]);
  assert.equal(run.firstFailure, 0);
  assert.deepEqual(
    run.steps[0]?.placements.map((p) => `${p.pod}:${p.outcome}`),
    ['ns/x:pending'],
  );
  assert.deepEqual(
    run.steps[1]?.resumed.map((p) => `${p.pod}:${p.node}`),
    ['ns/x:a'],
  );
  assert.deepEqual(
    run.steps[1]?.placements.map((p) => `${p.pod}:${p.outcome}`),
    ['ns/y:pending'],
  );
  // With a node to spare, every step fits, onto nodes already drained and back.
  const roomy = buildSnapshot({ nodes: [...nodes, node('d', { cpu: '2' })], pods: [big('x', 'a'), big('y', 'b')] });
  const ok = simulateRun(roomy, [{ nodes: ['a'] }, { nodes: ['b'] }, { nodes: ['d'] }]);
  assert.equal(ok.firstFailure, undefined, JSON.stringify(ok.steps.map((s) => s.placements)));
  assert.deepEqual(
    ok.steps.map((s) => s.placements.map((p) => p.node).join()),
    ['d', 'a', 'b'],
  );
});

test('among nodes that fit, the choice follows the default profile’s scores', () => {
  const owned = (name: string, n?: string, owner = 'rs') => {
    const p = pod(name, { node: n });
    p.metadata!.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner, controller: true },
    ];
    return p;
  };
  const cases: Case[] = [
    ['the emptier node', [node('a', { cpu: '2' }), node('b', { cpu: '8' })], [], pod('p'), 'b'],
    [
      'away from a replica of the same ReplicaSet, though that node is emptier',
      [node('a', { cpu: '8' }), node('b', { cpu: '2' })],
      [owned('r1', 'a')],
      owned('p'),
      'b',
    ],
    [
      '...which a pod of another ReplicaSet does not count',
      [node('a', { cpu: '8' }), node('b', { cpu: '2' })],
      [owned('r1', 'a', 'other')],
      owned('p'),
      'a',
    ],
    [
      'away from a PreferNoSchedule taint',
      [node('a', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), node('b')],
      [],
      pod('p'),
      'b',
    ],
    [
      'towards a preferred node',
      [node('a'), node('b', { labels: { disk: 'ssd' } })],
      [],
      {
        ...pod('p'),
        spec: {
          ...pod('p').spec!,
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
              ],
            },
          },
        },
      },
      'b',
    ],
  ];
  table(cases);
});
