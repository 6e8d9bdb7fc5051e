/**
 * What a pod asks of a node, computed as kube-scheduler computes it
 * (component-helpers resource.PodRequests): the sum of the containers, the
 * restartable init containers (sidecars) added to it, the largest regular
 * init container (with the sidecars started before it) as a floor, pod-level
 * requests in place of the aggregate where set, then the pod overhead.
 * Quantities are summed exactly and rounded up once, as resource.Quantity
 * does. Pure.
 *
 * A pod already on a node is counted by the release's rule
 * (RequestRules.assignedPodRequests): from its spec (1.32), per container
 * the largest of spec, status resources and allocated resources (1.33-1.36),
 * or the largest of the three sums (1.37); a pod being placed has no status,
 * so every rule gives its spec.
 */
import type { V1Container, V1ContainerStatus, V1Node, V1Pod } from '@kubernetes/client-node';

import { nanoToMilli, nanoToValue, parseQuantityNano } from '../../kube/quantity.js';
import { NEWEST_DRAIN_RULES, type PlacementRules } from '../rules.js';

/** The rules of a release that decide how a pod's requests are summed. */
export type RequestRules = Pick<PlacementRules, 'podLevelResources' | 'podLevelStatus' | 'assignedPodRequests'>;

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

/** A container's requests as one rule reads them: from its spec, its status, or none. */
type PickRequests = (container: V1Container, status: V1ContainerStatus | undefined) => NanoList;

function withDefaults(requests: NanoList, nonZero: boolean): NanoList {
  if (nonZero) for (const [k, v] of NON_ZERO_DEFAULTS) if (!requests.has(k)) requests.set(k, v);
  return requests;
}

const fromSpec: PickRequests = (container) => toNano(container.resources?.requests);

/**
 * The sidecar formula over every container, each read by `pick` (its
 * requests, or what its status says): the containers and the sidecars
 * summed, the largest regular init container (with the sidecars before it)
 * as a floor. `statusOfInit` says whether regular init containers are read
 * through `pick` too (1.37) or from their spec (1.33-1.36).
 */
function aggregate(pod: V1Pod, nonZero: boolean, pick: PickRequests = fromSpec, statusOfInit = true): NanoList {
  const statuses = containerStatuses(pod);
  const read = (container: V1Container, useStatus: boolean): NanoList =>
    withDefaults(useStatus ? pick(container, statuses.get(container.name)) : fromSpec(container, undefined), nonZero);
  const result: NanoList = new Map();
  for (const container of pod.spec?.containers ?? []) add(result, read(container, true));
  const sidecars: NanoList = new Map();
  const initFloor: NanoList = new Map();
  for (const container of pod.spec?.initContainers ?? []) {
    if (isSidecar(container)) {
      const requests = read(container, true);
      // A sidecar runs beside everything that starts after it.
      add(result, requests);
      add(sidecars, requests);
      maxInto(initFloor, sidecars);
    } else {
      const during = new Map(read(container, statusOfInit));
      add(during, sidecars);
      maxInto(initFloor, during);
    }
  }
  maxInto(result, initFloor);
  return result;
}

function containerStatuses(pod: V1Pod): Map<string, V1ContainerStatus> {
  const out = new Map<string, V1ContainerStatus>();
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])])
    out.set(cs.name, cs);
  return out;
}

/** A resize the kubelet cannot make (PodResizePending, reason Infeasible): spec is not what runs. */
function resizeInfeasible(pod: V1Pod): boolean {
  return pod.status?.conditions?.find((c) => c.type === 'PodResizePending')?.reason === 'Infeasible';
}

function maxOf(...lists: NanoList[]): NanoList {
  const out: NanoList = new Map();
  for (const list of lists) maxInto(out, list);
  return out;
}

/**
 * 1.33-1.36 (determineContainerReqs): a container whose status carries
 * resources counts the largest of spec, status resources and allocated
 * resources (not spec, when the resize is infeasible).
 */
function containerMax(infeasible: boolean): PickRequests {
  return (container, status) => {
    if (!status?.resources) return fromSpec(container, status);
    const actuated = toNano(status.resources.requests);
    const allocated = toNano(status.allocatedResources);
    return infeasible ? maxOf(actuated, allocated) : maxOf(fromSpec(container, status), actuated, allocated);
  };
}

/** 1.37: what a container was allocated, else (unless the resize is infeasible) its spec. */
function allocatedOf(infeasible: boolean): PickRequests {
  return (container, status) =>
    status?.allocatedResources
      ? toNano(status.allocatedResources)
      : infeasible
        ? new Map()
        : fromSpec(container, status);
}

/** 1.37: what a container runs with, else what it was allocated, else (unless infeasible) its spec. */
function actuatedOf(infeasible: boolean): PickRequests {
  return (container, status) =>
    status?.resources?.requests
      ? toNano(status.resources.requests)
      : status?.allocatedResources
        ? toNano(status.allocatedResources)
        : infeasible
          ? new Map()
          : fromSpec(container, status);
}

/** Pod-level status (InPlacePodLevelResourcesVerticalScaling): not in the client's types yet. */
interface PodLevelStatus {
  resources?: { requests?: Record<string, string> } | null;
  allocatedResources?: Record<string, string> | null;
}

function podLevelStatus(pod: V1Pod): PodLevelStatus {
  return (pod.status ?? {}) as PodLevelStatus;
}

/** The containers' part of the requests, by the release's rule. */
function containersPart(pod: V1Pod, nonZero: boolean, rules: RequestRules): NanoList {
  switch (rules.assignedPodRequests) {
    case 'spec':
      return aggregate(pod, nonZero);
    case 'container-max':
      return aggregate(pod, nonZero, containerMax(resizeInfeasible(pod)), false);
    case 'aggregate-max': {
      const infeasible = resizeInfeasible(pod);
      const spec = aggregate(pod, nonZero);
      const status = podLevelStatus(pod);
      // Pod-level status, when the kubelet reports it, already sums every container.
      const podLevel = rules.podLevelStatus && status.allocatedResources && status.resources?.requests;
      const allocated = podLevel
        ? toNano(status.allocatedResources!)
        : aggregate(pod, nonZero, allocatedOf(infeasible));
      const actuated = podLevel ? toNano(status.resources!.requests) : aggregate(pod, nonZero, actuatedOf(infeasible));
      return infeasible ? maxOf(actuated, allocated) : maxOf(spec, actuated, allocated);
    }
  }
}

const POD_LEVEL = (name: string): boolean => name === 'cpu' || name === 'memory' || name.startsWith('hugepages-');

/**
 * Pod-level requests in place of the containers' sum, for cpu, memory and
 * hugepages, where the release honours them; read with the pod's status
 * where the release does (1.36: for the keys the spec sets; 1.37: for every
 * key of the largest of spec, status and allocated).
 */
function applyPodLevel(pod: V1Pod, result: NanoList, rules: RequestRules): void {
  const spec = toNano(pod.spec?.resources?.requests);
  if (!rules.podLevelResources || ![...spec.keys()].some(POD_LEVEL)) return;
  const status = podLevelStatus(pod);
  if (!rules.podLevelStatus || !status.resources || rules.assignedPodRequests === 'spec') {
    for (const [k, v] of spec) if (POD_LEVEL(k)) result.set(k, v);
    return;
  }
  const infeasible = resizeInfeasible(pod);
  const effective = maxOf(
    infeasible ? new Map() : spec,
    toNano(status.resources.requests),
    toNano(status.allocatedResources ?? undefined),
  );
  const keys = rules.assignedPodRequests === 'aggregate-max' ? [...effective.keys()] : [...spec.keys()];
  for (const k of keys) if (POD_LEVEL(k)) result.set(k, effective.get(k) ?? 0n);
}

function requestsNano(pod: V1Pod, nonZero: boolean, rules: RequestRules): NanoList {
  const result = containersPart(pod, nonZero, rules);
  applyPodLevel(pod, result, rules);
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

/** The pod's requests as NodeResourcesFit counts them, by the release's rules (default: the newest). */
export function podRequests(pod: V1Pod, rules: RequestRules = NEWEST_DRAIN_RULES.placement): Resources {
  return toResources(requestsNano(pod, false, rules));
}

/** cpu and memory with the scheduler's defaults for containers that request none (for scoring only). */
export function podNonZeroRequests(
  pod: V1Pod,
  rules: RequestRules = NEWEST_DRAIN_RULES.placement,
): { cpu: number; memory: number } {
  const requests = toResources(requestsNano(pod, true, rules));
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
