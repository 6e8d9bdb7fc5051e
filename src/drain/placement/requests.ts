/**
 * What a pod asks of a node, computed as kube-scheduler computes it
 * (component-helpers resource.PodRequests): the sum of the containers, the
 * restartable init containers (sidecars) added to it, the largest regular
 * init container (with the sidecars started before it) as a floor, pod-level
 * requests in place of the aggregate where set, then the pod overhead.
 * Quantities are summed exactly and rounded up once, as resource.Quantity
 * does. Pure.
 */
import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';

import { nanoToMilli, nanoToValue, parseQuantityNano } from '../../kube/quantity.js';

/** cpu in millicores; memory, ephemeral-storage and every scalar resource in whole units. */
export type Resources = Record<string, number>;

type NanoList = Map<string, bigint>;

const NATIVE_NAMESPACE = 'kubernetes.io/';

/**
 * Resources the scheduler checks besides cpu, memory and ephemeral-storage:
 * extended resources (vendor.example/thing), hugepages-*, prefixed native
 * resources and attachable volumes.
 */
export function isScalarResource(name: string): boolean {
  if (name.startsWith('hugepages-') || name.startsWith('attachable-volumes-') || name.includes(NATIVE_NAMESPACE))
    return true;
  return name.includes('/') && !name.startsWith('requests.');
}

function isCounted(name: string): boolean {
  return name === 'cpu' || name === 'memory' || name === 'ephemeral-storage' || isScalarResource(name);
}

function toNano(list: Record<string, string | number> | undefined): NanoList {
  const out: NanoList = new Map();
  for (const [name, q] of Object.entries(list ?? {})) {
    const n = parseQuantityNano(q);
    if (n !== undefined) out.set(name, n);
  }
  return out;
}

function add(into: NanoList, from: NanoList): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0n) + v);
}

function maxInto(into: NanoList, from: NanoList): void {
  for (const [k, v] of from) if (!into.has(k) || into.get(k)! < v) into.set(k, v);
}

const isSidecar = (c: V1Container): boolean => c.restartPolicy === 'Always';

/** Defaults the scheduler's scoring puts in for a container that requests no cpu or memory. */
const NON_ZERO_DEFAULTS: NanoList = new Map([
  ['cpu', 100_000_000n],
  ['memory', 200n * 1024n * 1024n * 1_000_000_000n],
]);

function containerRequests(container: V1Container, nonZero: boolean): NanoList {
  const requests = toNano(container.resources?.requests);
  if (nonZero) for (const [k, v] of NON_ZERO_DEFAULTS) if (!requests.has(k)) requests.set(k, v);
  return requests;
}

function aggregate(pod: V1Pod, nonZero: boolean): NanoList {
  const result: NanoList = new Map();
  for (const container of pod.spec?.containers ?? []) add(result, containerRequests(container, nonZero));
  const sidecars: NanoList = new Map();
  const initFloor: NanoList = new Map();
  for (const container of pod.spec?.initContainers ?? []) {
    const requests = containerRequests(container, nonZero);
    if (isSidecar(container)) {
      // A sidecar runs beside everything that starts after it.
      add(result, requests);
      add(sidecars, requests);
      maxInto(initFloor, sidecars);
    } else {
      const during = new Map(requests);
      add(during, sidecars);
      maxInto(initFloor, during);
    }
  }
  maxInto(result, initFloor);
  return result;
}

const POD_LEVEL = (name: string): boolean => name === 'cpu' || name === 'memory' || name.startsWith('hugepages-');

function requestsNano(pod: V1Pod, nonZero: boolean): NanoList {
  const result = aggregate(pod, nonZero);
  const podLevel = toNano(pod.spec?.resources?.requests);
  if ([...podLevel.keys()].some(POD_LEVEL)) {
    for (const [k, v] of podLevel) if (POD_LEVEL(k)) result.set(k, v);
  }
  add(result, toNano(pod.spec?.overhead));
  return result;
}

function toResources(list: NanoList): Resources {
  const out: Resources = {};
  for (const [name, n] of list) {
    if (!isCounted(name)) continue;
    out[name] = name === 'cpu' ? nanoToMilli(n) : nanoToValue(n);
  }
  return out;
}

/** The pod's requests as NodeResourcesFit checks them. */
export function podRequests(pod: V1Pod): Resources {
  return toResources(requestsNano(pod, false));
}

/** cpu and memory with the scheduler's defaults for containers that request none (for scoring only). */
export function podNonZeroRequests(pod: V1Pod): { cpu: number; memory: number } {
  const requests = toResources(requestsNano(pod, true));
  return { cpu: requests.cpu ?? 0, memory: requests.memory ?? 0 };
}

/** What a node offers: its allocatable resources, and how many pods it takes. */
export function nodeAllocatable(node: V1Node): { resources: Resources; pods: number } {
  const list = toNano(node.status?.allocatable);
  const pods = list.get('pods');
  return { resources: toResources(list), pods: pods === undefined ? 0 : nanoToValue(pods) };
}

export function addResources(into: Resources, from: Resources, sign = 1): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + sign * v;
}
