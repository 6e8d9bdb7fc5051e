/**
 * Can the evicted pods run elsewhere? A first-fit of their requests against
 * the free allocatable cpu, memory and pod slots of the other schedulable
 * Ready nodes, honouring nodeSelector, required node affinity, taints and
 * tolerations. Pure. (Not modelled: inter-pod affinity and topology
 * spread, volume limits, ports; the scheduler may still say no.)
 */
import type { V1Node, V1NodeSelectorRequirement, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';

import { isNodeReady } from '../kube/objects.js';
import { formatCpu, formatMemory, parseQuantity } from '../kube/quantity.js';

export interface Resources {
  cpu: number;
  memory: number;
  pods: number;
}

export interface Capacity {
  name: string;
  labels: Record<string, string>;
  taints: V1Taint[];
  free: Resources;
}

function sumContainers(list: Array<{ resources?: { requests?: Record<string, string> } }> | undefined): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of list ?? []) {
    cpu += parseQuantity(c.resources?.requests?.cpu) ?? 0;
    memory += parseQuantity(c.resources?.requests?.memory) ?? 0;
  }
  return { cpu, memory };
}

/** Requests as the scheduler counts them: containers, the largest init container, overhead. */
export function podRequests(pod: V1Pod): { cpu: number; memory: number } {
  const main = sumContainers(pod.spec?.containers);
  let cpu = main.cpu;
  let memory = main.memory;
  for (const init of pod.spec?.initContainers ?? []) {
    const r = sumContainers([init]);
    cpu = Math.max(cpu, r.cpu);
    memory = Math.max(memory, r.memory);
  }
  cpu += parseQuantity(pod.spec?.overhead?.cpu) ?? 0;
  memory += parseQuantity(pod.spec?.overhead?.memory) ?? 0;
  return { cpu, memory };
}

export function isTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}


/** Free capacity of each candidate node: schedulable, Ready, not being drained. */
export function capacities(nodes: V1Node[], podsByNode: Map<string, V1Pod[]>, exclude: Set<string>): Capacity[] {
  const out: Capacity[] = [];
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    if (exclude.has(name) || node.spec?.unschedulable || !isNodeReady(node)) continue;
    const alloc = node.status?.allocatable ?? {};
    const free: Resources = {
      cpu: parseQuantity(alloc.cpu) ?? 0,
      memory: parseQuantity(alloc.memory) ?? 0,
      pods: parseQuantity(alloc.pods) ?? 0,
    };
    for (const pod of podsByNode.get(name) ?? []) {
      if (isTerminal(pod)) continue;
      const r = podRequests(pod);
      free.cpu -= r.cpu;
      free.memory -= r.memory;
      free.pods -= 1;
    }
    out.push({ name, labels: node.metadata?.labels ?? {}, taints: node.spec?.taints ?? [], free });
  }
  return out;
}

export function tolerates(taint: V1Taint, tolerations: V1Toleration[] | undefined): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchesRequirement(req: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

/** Why the pod cannot go to this node ignoring resources, or undefined when it can. */
export function placementConflict(pod: V1Pod, node: Pick<Capacity, 'name' | 'labels' | 'taints'>): string | undefined {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (node.labels[k] !== v) return `nodeSelector ${k}=${v}`;
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0) {
    const ok = terms.some(
      (term) =>
        (term.matchExpressions ?? []).every((r) => matchesRequirement(r, node.labels[r.key])) &&
        (term.matchFields ?? []).every((r) => r.key === 'metadata.name' && matchesRequirement(r, node.name)),
    );
    if (!ok) return 'required node affinity';
  }
  for (const taint of node.taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerates(taint, pod.spec?.tolerations)) return `taint ${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
  }
  return undefined;
}

export interface FitResult {
  node?: string;
  /** Why nowhere, when node is undefined. */
  why?: string;
}

/**
 * Places pods first-fit, largest cpu request first, consuming capacity as it
 * goes (so two pods cannot both take the last slot). Returns one result per
 * pod, keyed by index.
 */
export function firstFit(pods: V1Pod[], nodes: Capacity[]): FitResult[] {
  const free = nodes.map((n) => ({ ...n, free: { ...n.free } }));
  const order = pods
    .map((pod, i) => ({ pod, i, r: podRequests(pod) }))
    .sort((a, b) => b.r.cpu - a.r.cpu || b.r.memory - a.r.memory);
  const results: FitResult[] = new Array(pods.length);
  for (const { pod, i, r } of order) {
    if (free.length === 0) {
      results[i] = { why: 'no other node is schedulable and Ready' };
      continue;
    }
    const candidates = free.filter((n) => !placementConflict(pod, n));
    if (candidates.length === 0) {
      const conflicts = new Set(free.map((n) => placementConflict(pod, n)));
      results[i] = { why: `no other node matches its ${[...conflicts].join(' / ')}` };
      continue;
    }
    const target = candidates.find((n) => n.free.cpu >= r.cpu && n.free.memory >= r.memory && n.free.pods >= 1);
    if (!target) {
      const best = candidates.reduce((a, b) => (b.free.cpu > a.free.cpu ? b : a));
      results[i] = {
        why: `not enough room: needs cpu ${formatCpu(r.cpu)}, memory ${formatMemory(r.memory)}, 1 pod slot; the roomiest node, ${best.name}, has cpu ${formatCpu(Math.max(0, best.free.cpu))}, memory ${formatMemory(Math.max(0, best.free.memory))}, ${Math.max(0, best.free.pods)} pod slots`,
      };
      continue;
    }
    target.free.cpu -= r.cpu;
    target.free.memory -= r.memory;
    target.free.pods -= 1;
    results[i] = { node: target.name };
  }
  return results;
}
