/**
 * Placement simulation benchmark (pure, no cluster): 10,000 pods onto 1,000
 * nodes in 10 zones that already carry 2,000 pods. The pods come from 200
 * workloads of 50 replicas; every workload spreads over zones (maxSkew 1,
 * DoNotSchedule); half also keep one replica per node with required pod
 * anti-affinity, the other half spread over nodes (maxSkew 2).
 *
 *   node --import tsx bench/placement.ts      BENCH_PODS=10000 BENCH_NODES=1000
 *
 * Not a test: nothing here fails on a number. The aim is under 2 s.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';

import { buildSnapshot, placePods } from '../src/drain/placement/index.js';

const PODS = Number(process.env.BENCH_PODS || 10_000);
const NODES = Number(process.env.BENCH_NODES || 1_000);
const EXISTING = Number(process.env.BENCH_EXISTING || 2_000);
const ZONES = 10;
const REPLICAS = 50;

function node(i: number): V1Node {
  const name = `node-${String(i).padStart(4, '0')}`;
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'topology.kubernetes.io/zone': `zone-${i % ZONES}`,
        pool: i % 4 === 0 ? 'big' : 'general',
      },
    },
    spec: {},
    status: { allocatable: { cpu: '16', memory: '64Gi', pods: '110' } },
  };
}

function pod(name: string, app: string, o: { nodeName?: string; anti?: boolean; cpu?: string } = {}): V1Pod {
  const selector = { matchLabels: { app } };
  return {
    metadata: {
      name,
      namespace: `ns-${Number(app.slice(4)) % 20}`,
      labels: { app },
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, Number(name.split('-').at(-1)) % 60)),
    },
    spec: {
      nodeName: o.nodeName,
      containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: o.cpu ?? '200m', memory: '256Mi' } } }],
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: selector,
        },
        ...(o.anti
          ? []
          : [
              {
                maxSkew: 2,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: selector,
              },
            ]),
      ],
      affinity: o.anti
        ? {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: selector, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          }
        : undefined,
    },
    status: { phase: 'Running' },
  };
}

const nodes = Array.from({ length: NODES }, (_, i) => node(i));
const existing = Array.from({ length: EXISTING }, (_, i) =>
  pod(`old-${i}`, `old-${i % 40}`, { nodeName: nodes[(i * 7) % NODES]!.metadata!.name!, cpu: '500m' }),
);
const workloads = Math.ceil(PODS / REPLICAS);
const incoming = Array.from({ length: PODS }, (_, i) => {
  const w = i % workloads;
  return pod(`app-${w}-${Math.floor(i / workloads)}`, `app-${w}`, { anti: w % 2 === 0 });
});

const t0 = performance.now();
const snapshot = buildSnapshot({ nodes, pods: existing });
const t1 = performance.now();
const placements = placePods(snapshot, incoming);
const t2 = performance.now();

const pending = placements.filter((p) => p.outcome === 'pending');
const perNode = new Map<string, number>();
for (const p of placements) if (p.node) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
const rss = process.memoryUsage().rss;
process.stdout.write(
  [
    `placement: ${PODS} pods (${workloads} workloads, zone spread; half with per-node anti-affinity, half spread per node) onto ${NODES} nodes in ${ZONES} zones holding ${EXISTING} pods`,
    `snapshot built in ${(t1 - t0).toFixed(0)} ms`,
    `placed ${placements.length - pending.length}, pending ${pending.length}, on ${perNode.size} nodes, in ${(t2 - t1).toFixed(0)} ms (${(((t2 - t1) * 1000) / PODS).toFixed(0)} us per pod)`,
    `peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
    pending.length ? `first pending: ${pending[0]!.pod}: ${pending[0]!.message}` : '',
  ]
    .filter(Boolean)
    .join('\n') + '\n',
);
