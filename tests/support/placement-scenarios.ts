/**
 * Seeded scenarios for proving the placement simulation against the real
 * kube-scheduler: simulated nodes of varied capacity, labels, zones and
 * taints, and Deployments whose pods exercise one scheduler filter each
 * (the first scenarios) or several together (the rest).
 *
 * Everything a scenario creates is its own: its nodes carry a pool label
 * and a NoSchedule taint that only its pods select and tolerate, names and
 * label values carry the scenario's id, and topology keys that a spread
 * constraint counts across the whole cluster (nodeAffinityPolicy: Ignore)
 * are the scenario's own. Pure: the same seed gives the same scenarios.
 */
import type {
  V1Container,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1PodSpec,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';

import type { NodeSpec } from '../cluster/cluster.js';

export const POOL_LABEL = 'kstudy.test/placement';
export const GATE = 'kstudy.test/hold';
export const ZONE = 'topology.kubernetes.io/zone';
export const HOSTNAME = 'kubernetes.io/hostname';

export const FEATURES = [
  'taints',
  'nodeAffinity',
  'matchFields',
  'resources',
  'podSlots',
  'gpu',
  'hugepages',
  'ephemeralStorage',
  'sidecars',
  'podLevelResources',
  'overhead',
  'hostPorts',
  'antiAffinity',
  'affinity',
  'existingAntiAffinity',
  'namespaces',
  'matchLabelKeys',
  'spread',
  'minDomains',
  'spreadPolicies',
  'spreadMatchLabelKeys',
  'volumes',
  'priority',
] as const;

export type Feature = (typeof FEATURES)[number];

export interface Workload {
  name: string;
  namespace: string;
  replicas: number;
  /** Placed while every other node is cordoned, so its pods start on the nodes to drain. */
  onTarget: boolean;
  labels: Record<string, string>;
  spec: V1PodSpec;
}

export interface Scenario {
  id: string;
  index: number;
  features: Feature[];
  nodes: NodeSpec[];
  /** How many nodes to drain at once (the first ones). */
  drain: number;
  namespaces: Array<{ name: string; labels: Record<string, string> }>;
  priorityClasses: Array<{ name: string; value: number }>;
  runtimeClass?: { name: string; overhead: Record<string, string> };
  volumes: Array<{ pv: V1PersistentVolume; pvc: V1PersistentVolumeClaim }>;
  workloads: Workload[];
}

/** mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  sample<T>(items: readonly T[], n: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length) out.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]!);
    return out;
  }
}

interface Build {
  id: string;
  d: Dice;
  s: Scenario;
  ns: string;
  other: string;
  zones: string[];
}

function container(cpu: string, memory = '64Mi', extra: Partial<V1Container> = {}): V1Container {
  return { name: 'main', image: 'registry.local/app:1.0', resources: { requests: { cpu, memory } }, ...extra };
}

function baseSpec(b: Build, cpu: string, memory = '64Mi'): V1PodSpec {
  return {
    nodeSelector: { [POOL_LABEL]: b.id },
    tolerations: [{ key: POOL_LABEL, operator: 'Equal', value: b.id, effect: 'NoSchedule' }],
    schedulingGates: [{ name: GATE }],
    terminationGracePeriodSeconds: 1,
    containers: [container(cpu, memory)],
  };
}

function workload(
  b: Build,
  name: string,
  replicas: number,
  onTarget: boolean,
  cpu = '100m',
  memory = '64Mi',
  namespace = b.ns,
): Workload {
  const full = `${b.id}-${name}`;
  return { name: full, namespace, replicas, onTarget, labels: { app: full }, spec: baseSpec(b, cpu, memory) };
}

function tolerate(w: Workload, t: V1Toleration): void {
  w.spec.tolerations = [...(w.spec.tolerations ?? []), t];
}

function requests(w: Workload): Record<string, string> {
  const c = w.spec.containers[0]!;
  c.resources ??= {};
  c.resources.requests ??= {};
  return c.resources.requests;
}

function antiTerm(app: string, topologyKey: string) {
  return { labelSelector: { matchLabels: { app } }, topologyKey };
}

function spreadOver(
  w: Workload,
  topologyKey: string,
  maxSkew: number,
  extra: Partial<V1TopologySpreadConstraint> = {},
): void {
  w.spec.topologySpreadConstraints = [
    ...(w.spec.topologySpreadConstraints ?? []),
    {
      maxSkew,
      topologyKey,
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: w.labels.app! } },
      ...extra,
    },
  ];
}

/** Each feature: the nodes it needs changed and the workloads that exercise it. */
const APPLY: Record<Feature, (b: Build) => void> = {
  taints(b) {
    const { s, d } = b;
    const effects = ['NoSchedule', 'NoExecute', 'NoSchedule', 'PreferNoSchedule'];
    for (const n of s.nodes.slice(1)) {
      if (d.chance(0.75))
        n.taints = [
          ...(n.taints ?? []),
          {
            key: `${b.id}-dedicated`,
            value: d.pick(['a', 'b']),
            effect: d.pick(effects) as 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute',
          },
        ];
    }
    const w = workload(b, 'tol', d.int(2, 4), true);
    const tolerateOne = d.chance(0.5);
    if (tolerateOne)
      tolerate(w, {
        key: `${b.id}-dedicated`,
        operator: 'Equal',
        value: 'a',
        effect: d.pick(['NoSchedule', 'NoExecute']),
      });
    else if (d.chance(0.5)) tolerate(w, { key: `${b.id}-dedicated`, operator: 'Exists' });
    s.workloads.push(w, workload(b, 'plain', d.int(1, 3), true));
  },
  nodeAffinity(b) {
    const { s, d } = b;
    s.nodes.forEach((n, i) => {
      n.labels = {
        ...n.labels,
        [`${b.id}-disk`]: i === 0 || d.chance(0.4) ? 'ssd' : 'hdd',
        [`${b.id}-gen`]: String(d.int(1, 6)),
      };
    });
    const sel = workload(b, 'ssd', d.int(1, 3), true);
    sel.spec.nodeSelector = { ...sel.spec.nodeSelector, [`${b.id}-disk`]: 'ssd' };
    const req = workload(b, 'gen', d.int(1, 3), true);
    const op = d.pick(['Gt', 'Lt', 'NotIn', 'In']);
    const values = op === 'Gt' ? ['2'] : op === 'Lt' ? ['4'] : op === 'NotIn' ? ['hdd'] : ['ssd', 'nvme'];
    const key = op === 'Gt' || op === 'Lt' ? `${b.id}-gen` : `${b.id}-disk`;
    req.spec.affinity = {
      ...req.spec.affinity,
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key, operator: op, values }] }],
        },
      },
    };
    s.workloads.push(sel, req);
  },
  matchFields(b) {
    const { s, d } = b;
    const pinned = workload(b, 'pinned', d.int(1, 2), true);
    const names = [s.nodes[0]!.name, ...(d.chance(0.5) ? [s.nodes[s.nodes.length - 1]!.name] : [])];
    pinned.spec.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: names.map((name) => ({
            matchFields: [{ key: 'metadata.name', operator: 'In', values: [name] }],
          })),
        },
      },
    };
    s.workloads.push(pinned, workload(b, 'free', d.int(1, 3), true));
  },
  resources(b) {
    const { s, d } = b;
    for (const n of s.nodes) {
      n.cpu = d.pick(['1', '1500m', '2']);
      n.memory = d.pick(['2Gi', '3Gi', '4Gi']);
    }
    s.nodes[0]!.cpu = '4';
    s.nodes[0]!.memory = '8Gi';
    s.workloads.push(
      workload(b, 'cpu', d.int(2, 3), true, d.pick(['600m', '900m', '1200m']), '128Mi'),
      workload(b, 'mem', d.int(1, 3), true, '100m', d.pick(['1Gi', '1536Mi', '2Gi'])),
    );
  },
  podSlots(b) {
    const { s, d } = b;
    for (const n of s.nodes) n.pods = String(d.int(1, 3));
    s.nodes[0]!.pods = '8';
    s.workloads.push(workload(b, 'slots', d.int(3, 5), true), workload(b, 'fill', d.int(2, 5), false));
  },
  gpu(b) {
    const { s, d } = b;
    s.nodes.forEach((n, i) => {
      if (i === 0 || d.chance(0.25)) n.resources = { ...n.resources, 'nvidia.com/gpu': i === 0 ? '4' : '1' };
    });
    const w = workload(b, 'gpu', d.int(1, 3), true);
    requests(w)['nvidia.com/gpu'] = String(d.int(1, 2));
    w.spec.containers[0]!.resources!.limits = { 'nvidia.com/gpu': requests(w)['nvidia.com/gpu']! };
    s.workloads.push(w, workload(b, 'cpu-only', d.int(1, 2), true));
  },
  hugepages(b) {
    const { s, d } = b;
    s.nodes.forEach((n, i) => {
      if (i === 0 || d.chance(0.4))
        n.resources = { ...n.resources, 'hugepages-2Mi': i === 0 ? '1Gi' : d.pick(['128Mi', '256Mi']) };
    });
    const w = workload(b, 'huge', d.int(2, 3), true);
    const amount = d.pick(['128Mi', '256Mi']);
    requests(w)['hugepages-2Mi'] = amount;
    w.spec.containers[0]!.resources!.limits = { 'hugepages-2Mi': amount, memory: '64Mi' };
    s.workloads.push(w);
  },
  ephemeralStorage(b) {
    const { s, d } = b;
    s.nodes.forEach((n, i) => {
      n.resources = { ...n.resources, 'ephemeral-storage': i === 0 ? '10Gi' : d.pick(['1Gi', '2Gi', '4Gi']) };
    });
    const w = workload(b, 'scratch', d.int(2, 4), true);
    requests(w)['ephemeral-storage'] = d.pick(['1Gi', '2Gi', '3Gi']);
    s.workloads.push(w);
  },
  sidecars(b) {
    const { s, d } = b;
    for (const n of s.nodes) n.cpu = d.pick(['1', '1500m']);
    s.nodes[0]!.cpu = '4';
    const w = workload(b, 'mesh', d.int(2, 3), true, d.pick(['300m', '500m']));
    w.spec.initContainers = [
      {
        name: 'proxy',
        image: 'registry.local/proxy:1.0',
        restartPolicy: 'Always',
        resources: { requests: { cpu: d.pick(['200m', '400m']) } },
      },
      ...(d.chance(0.5)
        ? [
            {
              name: 'migrate',
              image: 'registry.local/migrate:1.0',
              resources: { requests: { cpu: d.pick(['500m', '900m']) } },
            },
          ]
        : []),
    ];
    s.workloads.push(w);
  },
  podLevelResources(b) {
    const { s, d } = b;
    for (const n of s.nodes) n.cpu = d.pick(['1', '1500m']);
    s.nodes[0]!.cpu = '4';
    const w = workload(b, 'podlevel', d.int(2, 3), true, '100m');
    w.spec.resources = {
      requests: { cpu: d.pick(['700m', '1200m']), memory: '128Mi' },
      limits: { cpu: '2', memory: '256Mi' },
    };
    w.spec.containers.push(container('100m', '32Mi', { name: 'helper' }));
    s.workloads.push(w);
  },
  overhead(b) {
    const { s, d } = b;
    for (const n of s.nodes) n.cpu = d.pick(['1', '1500m']);
    s.nodes[0]!.cpu = '4';
    s.runtimeClass = { name: `${b.id}-rc`, overhead: { cpu: d.pick(['250m', '500m']), memory: '64Mi' } };
    const w = workload(b, 'sandboxed', d.int(2, 3), true, d.pick(['400m', '600m']));
    w.spec.runtimeClassName = s.runtimeClass.name;
    s.workloads.push(w);
  },
  hostPorts(b) {
    const { s, d } = b;
    const port = d.pick([8080, 9090, 53]);
    const holder = workload(b, 'holder', d.int(1, Math.max(1, s.nodes.length - 2)), false);
    holder.spec.containers[0]!.ports = [{ containerPort: port, hostPort: port, protocol: d.pick(['TCP', 'UDP']) }];
    const w = workload(b, 'ported', 1, true);
    w.spec.containers[0]!.ports = [
      {
        containerPort: port,
        hostPort: port,
        protocol: d.pick(['TCP', 'UDP']),
        ...(d.chance(0.3) ? { hostIP: '10.0.0.7' } : {}),
      },
    ];
    const w2 = workload(b, 'ported-b', 1, true);
    w2.spec.containers[0]!.ports = [{ containerPort: port + 1, hostPort: port + 1 }];
    s.workloads.push(holder, w, w2);
  },
  antiAffinity(b) {
    const { s, d } = b;
    const w = workload(b, 'solo', d.int(2, s.nodes.length + 1), false);
    w.spec.affinity = {
      ...w.spec.affinity,
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [antiTerm(w.labels.app!, d.pick([HOSTNAME, HOSTNAME, ZONE]))],
      },
    };
    s.workloads.push(w, workload(b, 'other', d.int(1, 3), true));
  },
  affinity(b) {
    const { s, d } = b;
    const db = workload(b, 'db', d.int(1, 2), d.chance(0.6));
    const app = workload(b, 'app', d.int(1, 3), true);
    app.spec.affinity = {
      ...app.spec.affinity,
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [antiTerm(db.labels.app!, d.pick([HOSTNAME, ZONE]))],
      },
    };
    s.workloads.push(db, app);
  },
  existingAntiAffinity(b) {
    const { s, d } = b;
    const mover = workload(b, 'mover', d.int(2, 3), true);
    const guard = workload(b, 'guard', d.int(1, 2), false);
    guard.spec.affinity = {
      ...guard.spec.affinity,
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [antiTerm(mover.labels.app!, d.pick([HOSTNAME, ZONE]))],
      },
    };
    // The movers go first, onto the nodes to drain; the guard then keeps away from them.
    s.workloads.push(mover, guard);
  },
  namespaces(b) {
    const { s, d } = b;
    s.namespaces.push({ name: b.other, labels: { [`${b.id}-team`]: 'blue' } });
    const anti = d.chance(0.7);
    // Affinity needs its target first; anti-affinity keeps the others away from the nodes to drain.
    const there = workload(b, 'there', d.int(1, 2), !anti, '100m', '64Mi', b.other);
    const here = workload(b, 'here', d.int(2, 3), true);
    const term = d.chance(0.5)
      ? { ...antiTerm(there.labels.app!, d.pick([HOSTNAME, ZONE])), namespaces: [b.other] }
      : {
          ...antiTerm(there.labels.app!, d.pick([HOSTNAME, ZONE])),
          namespaceSelector: { matchLabels: { [`${b.id}-team`]: 'blue' } },
        };
    here.spec.affinity = {
      ...here.spec.affinity,
      [anti ? 'podAntiAffinity' : 'podAffinity']: { requiredDuringSchedulingIgnoredDuringExecution: [term] },
    };
    s.workloads.push(...(anti ? [here, there] : [there, here]));
  },
  matchLabelKeys(b) {
    const { s, d } = b;
    const group = `${b.id}-tenants`;
    const mk = (tenant: string, onTarget: boolean): Workload => {
      const w = workload(b, `tenant-${tenant}`, d.int(1, 2), onTarget);
      w.labels = { ...w.labels, group, tenant };
      w.spec.affinity = {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { group } }, topologyKey: HOSTNAME, mismatchLabelKeys: ['tenant'] },
          ],
        },
      };
      return w;
    };
    s.workloads.push(mk('one', true), mk('two', false));
    if (d.chance(0.5)) {
      const follower = workload(b, 'follower', d.int(1, 2), true);
      follower.labels = { ...follower.labels, tenant: 'one' };
      follower.spec.affinity = {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { group } }, topologyKey: ZONE, matchLabelKeys: ['tenant'] },
          ],
        },
      };
      s.workloads.push(follower);
    }
  },
  spread(b) {
    const { s, d } = b;
    const w = workload(b, 'spread', d.int(3, 6), d.chance(0.5));
    spreadOver(w, d.pick([ZONE, HOSTNAME]), d.int(1, 2));
    s.workloads.push(w, workload(b, 'filler', d.int(1, 2), true));
  },
  minDomains(b) {
    const { s, d } = b;
    const w = workload(b, 'domains', d.int(2, 5), d.chance(0.5));
    spreadOver(w, ZONE, 1, { minDomains: d.int(2, 4) });
    s.workloads.push(w);
  },
  spreadPolicies(b) {
    const { s, d } = b;
    // A key of the scenario's own, so nodeAffinityPolicy: Ignore counts only its nodes.
    const key = `${b.id}-rack`;
    s.nodes.forEach((n, i) => {
      n.labels = { ...n.labels, [key]: `r${i % 2}` };
    });
    s.nodes[s.nodes.length - 1]!.taints = [
      ...(s.nodes[s.nodes.length - 1]!.taints ?? []),
      { key: `${b.id}-maint`, effect: 'NoSchedule' },
    ];
    const w = workload(b, 'policy', d.int(2, 4), d.chance(0.6));
    spreadOver(w, key, 1, {
      nodeAffinityPolicy: d.pick(['Honor', 'Ignore']),
      nodeTaintsPolicy: d.pick(['Honor', 'Ignore']),
    });
    if (d.chance(0.5)) w.spec.nodeSelector = { ...w.spec.nodeSelector, [key]: 'r0' };
    s.workloads.push(w);
  },
  spreadMatchLabelKeys(b) {
    const { s, d } = b;
    const old = workload(b, 'rev', d.int(1, 2), false);
    old.labels = { ...old.labels, revision: 'old' };
    const cur = workload(b, 'rev-new', d.int(2, 4), true);
    cur.labels = { ...cur.labels, app: old.labels.app!, revision: 'new' };
    spreadOver(cur, d.pick([ZONE, HOSTNAME]), 1, d.chance(0.7) ? { matchLabelKeys: ['revision'] } : {});
    s.workloads.push(old, cur);
  },
  volumes(b) {
    const { s, d } = b;
    const pin = s.nodes[d.chance(0.6) ? 0 : 1]!.name;
    const zone = d.pick(b.zones);
    const mk = (name: string, pv: Partial<V1PersistentVolume['spec']>, labels: Record<string, string> = {}): string => {
      const claim = `${b.id}-${name}`;
      s.volumes.push({
        pv: {
          metadata: { name: `${b.id}-${name}`, labels },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: '',
            claimRef: { namespace: b.ns, name: claim },
            persistentVolumeReclaimPolicy: 'Retain',
            ...pv,
          },
        },
        pvc: {
          metadata: { name: claim, namespace: b.ns },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: '',
            volumeName: `${b.id}-${name}`,
            resources: { requests: { storage: '1Gi' } },
          },
        },
      });
      return claim;
    };
    const local = mk('local', {
      local: { path: '/mnt/disk' },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME, operator: 'In', values: [pin] }] }] },
      },
    });
    const zonal = mk('zonal', { hostPath: { path: '/mnt/zonal' } }, { [ZONE]: zone });
    const a = workload(b, 'local', 1, pin === s.nodes[0]!.name);
    a.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: local } }];
    const z = workload(b, 'zonal', d.int(1, 2), zone === b.zones[0]);
    z.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: zonal } }];
    s.workloads.push(a, z);
  },
  priority(b) {
    const { s, d } = b;
    s.priorityClasses.push({ name: `${b.id}-high`, value: 1000 }, { name: `${b.id}-low`, value: 10 });
    for (const n of s.nodes) n.cpu = '1';
    s.nodes[0]!.cpu = '4';
    const hi = workload(b, 'high', d.int(1, 3), true, '600m');
    hi.spec.priorityClassName = `${b.id}-high`;
    const lo = workload(b, 'low', d.int(1, 3), true, '600m');
    lo.spec.priorityClassName = `${b.id}-low`;
    s.workloads.push(lo, hi, workload(b, 'none', 1, true, '600m'));
  },
};

/**
 * count scenarios from seed: the first FEATURES.length exercise one feature
 * each, the rest two or three at once. runTag keeps names unique across runs.
 */
export function generateScenarios(seed: number, count: number, runTag: string): Scenario[] {
  const out: Scenario[] = [];
  for (let index = 0; index < count; index++) {
    const d = new Dice(rng(seed * 7919 + index));
    const id = `kpl${runTag}${index.toString(36)}`;
    const primary = FEATURES[index % FEATURES.length]!;
    const combined = index >= FEATURES.length;
    const features = combined
      ? [
          primary,
          ...d.sample(
            FEATURES.filter((f) => f !== primary),
            d.int(1, 2),
          ),
        ]
      : [primary];
    const zones = ['za', 'zb', 'zc'].slice(0, d.int(2, 3)).map((z) => `${id}-${z}`);
    const nodeCount = d.int(3, 5);
    const s: Scenario = {
      id,
      index,
      features,
      nodes: Array.from({ length: nodeCount }, (_, i) => ({
        name: `${id}-n${i}`,
        cpu: d.pick(['2', '4', '8']),
        memory: d.pick(['4Gi', '8Gi', '16Gi']),
        pods: '110',
        labels: { [POOL_LABEL]: id, [ZONE]: zones[i % zones.length]! },
        taints: [{ key: POOL_LABEL, value: id, effect: 'NoSchedule' as const }],
      })),
      drain: d.chance(0.25) ? 2 : 1,
      namespaces: [{ name: id, labels: {} }],
      priorityClasses: [],
      volumes: [],
      workloads: [],
    };
    const b: Build = { id, d, s, ns: id, other: `${id}-b`, zones };
    for (const f of features) APPLY[f](b);
    // Enough pods on the drained nodes to move: a general workload when the features placed few there.
    const onTarget = s.workloads.filter((w) => w.onTarget).reduce((n, w) => n + w.replicas, 0);
    if (onTarget < 6) s.workloads.push(workload(b, 'bulk', 6 - onTarget + d.int(0, 2), true, d.pick(['100m', '200m'])));
    out.push(s);
  }
  return out;
}
