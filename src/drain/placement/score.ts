/**
 * How the default profile ranks the nodes that fit, to choose among them as
 * the scheduler most likely would: TaintToleration (weight 3, PreferNoSchedule
 * taints), NodeAffinity (2, preferred terms), PodTopologySpread (2, the
 * pod's ScheduleAnyway constraints, or the system defaults of one per node
 * with maxSkew 3 and one per zone with maxSkew 5), NodeResourcesFit (1,
 * least allocated) and NodeResourcesBalancedAllocation (1), each normalized
 * as the plugin does. Approximations: the system default spreading counts
 * the pods of the same controller (the scheduler uses the selectors of the
 * Services and the ReplicaSet or StatefulSet that select the pod);
 * InterPodAffinity's and ImageLocality's scores are left out. Pure.
 */
import type { V1TopologySpreadConstraint } from '@kubernetes/client-node';

import { matchesSelector } from '../../kube/selector.js';
import { controllerOf } from '../../kube/objects.js';
import { hasUntoleratedTaint, nodeSelectorTermsMatch, requiredNodeAffinityMatches, tolerates } from './filters.js';
import type { NodeState, PodInfo } from './snapshot.js';

const MAX = 100;
const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

/** NodeResourcesFit's LeastAllocated score (cpu and memory, weight 1 each, defaults for containers requesting none). */
export function leastAllocated(node: NodeState, pod: PodInfo): number {
  const cpu = node.allocatable.cpu ?? 0;
  const mem = node.allocatable.memory ?? 0;
  let sum = 0;
  let n = 0;
  if (cpu > 0) {
    const req = node.nonZero.cpu + pod.nonZero.cpu;
    sum += req > cpu ? 0 : Math.trunc(((cpu - req) * MAX) / cpu);
    n++;
  }
  if (mem > 0) {
    const req = node.nonZero.memory + pod.nonZero.memory;
    sum += req > mem ? 0 : Math.trunc(((mem - req) * MAX) / mem);
    n++;
  }
  return n ? Math.trunc(sum / n) : 0;
}

function balance(cpuFraction: number, memFraction: number, both: boolean): number {
  const std = both ? Math.abs((Math.min(1, cpuFraction) - Math.min(1, memFraction)) / 2) : 0;
  return Math.trunc((1 - std) * MAX);
}

/** NodeResourcesBalancedAllocation: how much the pod evens out the node's cpu and memory use. */
function balanced(node: NodeState, pod: PodInfo): number {
  const cpu = node.allocatable.cpu ?? 0;
  const mem = node.allocatable.memory ?? 0;
  const both = cpu > 0 && mem > 0;
  const usedCpu = node.requested.cpu ?? 0;
  const usedMem = node.requested.memory ?? 0;
  const withPod = balance(
    cpu ? (usedCpu + (pod.requests.cpu ?? 0)) / cpu : 0,
    mem ? (usedMem + (pod.requests.memory ?? 0)) / mem : 0,
    both,
  );
  const without = balance(cpu ? usedCpu / cpu : 0, mem ? usedMem / mem : 0, both);
  return MAX / 2 + Math.trunc((MAX / 2 + withPod - without) / 2);
}

/** helper.DefaultNormalizeScore: scale to 0..100 by the highest, reversed when fewer is better. */
function normalize(raw: number[], reverse: boolean): number[] {
  const max = Math.max(0, ...raw);
  if (max === 0) return raw.map(() => (reverse ? MAX : 0));
  return raw.map((s) => {
    const v = Math.trunc((MAX * s) / max);
    return reverse ? MAX - v : v;
  });
}

function taintScores(pod: PodInfo, nodes: NodeState[]): number[] {
  const tolerations = pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  return normalize(
    nodes.map((n) => n.taints.filter((t) => t.effect === 'PreferNoSchedule' && !tolerates(t, tolerations)).length),
    true,
  );
}

function nodeAffinityScores(pod: PodInfo, nodes: NodeState[]): number[] | undefined {
  const preferred = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  if (!preferred.length) return undefined;
  return normalize(
    nodes.map((n) =>
      preferred.reduce(
        (sum, t) => sum + (t.weight && nodeSelectorTermsMatch([t.preference], n.labels, n.name) ? t.weight : 0),
        0,
      ),
    ),
    false,
  );
}

interface SoftConstraint {
  key: string;
  maxSkew: number;
  matches: (pod: PodInfo) => boolean;
  honorAffinity: boolean;
  honorTaints: boolean;
}

function softConstraints(pod: PodInfo): { constraints: SoftConstraint[]; requireAll: boolean } {
  const own = pod.pod.spec?.topologySpreadConstraints ?? [];
  if (own.length) {
    const soft = own.filter((c: V1TopologySpreadConstraint) => c.whenUnsatisfiable === 'ScheduleAnyway');
    return {
      requireAll: true,
      constraints: soft.map((c) => ({
        key: c.topologyKey,
        maxSkew: c.maxSkew,
        matches: (other) =>
          other.namespace === pod.namespace && !other.terminating && matchesSelector(c.labelSelector, other.labels),
        honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
        honorTaints: c.nodeTaintsPolicy === 'Honor',
      })),
    };
  }
  const owner = controllerOf(pod.pod);
  if (!owner || !['ReplicaSet', 'StatefulSet', 'ReplicationController'].includes(owner.kind))
    return { constraints: [], requireAll: false };
  const sameController = (other: PodInfo): boolean => {
    const theirs = controllerOf(other.pod);
    return (
      other.namespace === pod.namespace &&
      !other.terminating &&
      theirs?.kind === owner.kind &&
      theirs.name === owner.name
    );
  };
  return {
    requireAll: false,
    constraints: [
      { key: HOSTNAME, maxSkew: 3, matches: sameController, honorAffinity: true, honorTaints: false },
      { key: ZONE, maxSkew: 5, matches: sameController, honorAffinity: true, honorTaints: false },
    ],
  };
}

function count(node: NodeState, constraint: SoftConstraint): number {
  let n = 0;
  for (const pod of node.pods.values()) if (constraint.matches(pod)) n++;
  return n;
}

/** PodTopologySpread's score: fewer matching pods in the node's domains is better. */
function spreadScores(pod: PodInfo, feasible: NodeState[], all: NodeState[]): number[] | undefined {
  const { constraints, requireAll } = softConstraints(pod);
  if (!constraints.length) return undefined;
  const hasAll = (n: NodeState): boolean => constraints.every((c) => n.labels[c.key] !== undefined);
  const scored = feasible.filter((n) => !requireAll || hasAll(n));
  const ignored = new Set(requireAll ? feasible.filter((n) => !hasAll(n)) : []);
  const domainCounts = constraints.map((c) => {
    const m = new Map<string, number>();
    if (c.key === HOSTNAME) return m;
    for (const n of scored) if (n.labels[c.key] !== undefined) m.set(n.labels[c.key]!, 0);
    for (const n of all) {
      const v = n.labels[c.key];
      if (v === undefined || !m.has(v) || (requireAll && !hasAll(n))) continue;
      if (c.honorAffinity && !requiredNodeAffinityMatches(pod, n)) continue;
      if (c.honorTaints && hasUntoleratedTaint(n.taints, pod.tolerations)) continue;
      m.set(v, m.get(v)! + count(n, c));
    }
    return m;
  });
  const weights = constraints.map((c, i) => Math.log((c.key === HOSTNAME ? scored.length : domainCounts[i]!.size) + 2));
  const raw = feasible.map((n) => {
    if (ignored.has(n)) return undefined;
    let score = 0;
    constraints.forEach((c, i) => {
      const v = n.labels[c.key];
      if (v === undefined) return;
      const cnt = c.key === HOSTNAME ? count(n, c) : (domainCounts[i]!.get(v) ?? 0);
      score += cnt * weights[i]! + (c.maxSkew - 1);
    });
    return Math.round(score);
  });
  const valid = raw.filter((s): s is number => s !== undefined);
  const min = Math.min(...valid);
  const max = Math.max(0, ...valid);
  return raw.map((s) => (s === undefined ? 0 : max === 0 ? MAX : Math.trunc((MAX * (max + min - s)) / max)));
}

/** The weighted sum of the default profile's scores, per feasible node (same order). */
export function scoreNodes(pod: PodInfo, feasible: NodeState[], all: NodeState[]): number[] {
  const taints = taintScores(pod, feasible);
  const affinity = nodeAffinityScores(pod, feasible);
  const spread = spreadScores(pod, feasible, all);
  return feasible.map(
    (n, i) =>
      3 * taints[i]! + 2 * (affinity?.[i] ?? 0) + 2 * (spread?.[i] ?? 0) + leastAllocated(n, pod) + balanced(n, pod),
  );
}
