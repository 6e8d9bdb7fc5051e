/**
 * The cluster as kube-scheduler sees it when it places a pod: every node
 * with the pods bound to it (terminating ones included, finished ones not),
 * their requests, host ports and required anti-affinity, plus what the
 * filters look up (namespace labels, claims, volumes, storage classes).
 * Built from plain API objects; changed only through addPod/removePod so
 * the simulation's indexes stay right. Pure.
 */
import type {
  V1LabelSelector,
  V1Node,
  V1NodeSelectorTerm,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
  V1Taint,
  V1Toleration,
} from '@kubernetes/client-node';

import { isTerminal } from '../../kube/objects.js';
import { NEWEST_DRAIN_RULES, type PlacementRules } from '../rules.js';
import {
  addResources,
  isScalarResource,
  nodeAllocatable,
  podNonZeroRequests,
  podRequests,
  type Resources,
} from './requests.js';

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** A required pod (anti-)affinity term, as the scheduler reads it (framework.AffinityTerm). */
export interface AffinityTerm {
  /** Namespaces named, or the pod's own when none is named and no selector is set. */
  namespaces: Set<string>;
  /** undefined selects no namespace; {} selects every one. */
  namespaceSelector: V1LabelSelector | undefined;
  /** undefined selects no pod; {} selects every one. */
  selector: V1LabelSelector | undefined;
  topologyKey: string;
}

/** A DoNotSchedule topology spread constraint, with the scheduler's defaults filled in. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  selector: V1LabelSelector | undefined;
  /** The scheduler counts no pod for an empty selector ({}), though the pod itself matches it. */
  countsNothing: boolean;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorTaints: boolean;
}

/** A pod compiled once for the filters. */
export interface PodInfo {
  pod: V1Pod;
  key: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  priority: number;
  /** Creation time (ms), for the scheduling order. */
  created: number;
  terminating: boolean;
  requests: Resources;
  /** The requests NodeResourcesFit checks beyond cpu, memory and ephemeral-storage (extended, hugepages). */
  scalars: Array<{ name: string; want: number }>;
  nonZero: { cpu: number; memory: number };
  ports: HostPort[];
  tolerations: V1Toleration[];
  nodeSelector: Record<string, string> | undefined;
  /** Required node affinity terms; undefined when the pod sets none. */
  nodeTerms: V1NodeSelectorTerm[] | undefined;
  affinity: AffinityTerm[];
  antiAffinity: AffinityTerm[];
  spread: SpreadConstraint[];
  /** Names of the PersistentVolumeClaims the pod mounts (ephemeral volumes included, but for a new pod). */
  claims: string[];
  /** A new pod's ephemeral volumes: each gets a new claim, which nothing here can judge. */
  newEphemeral: string[];
  /** Placed by this simulation (a replacement), not found on the node. */
  moved: boolean;
}

export interface NodeState {
  name: string;
  node: V1Node;
  labels: Record<string, string>;
  taints: V1Taint[];
  unschedulable: boolean;
  allocatable: Resources;
  podsAllowed: number;
  requested: Resources;
  nonZero: { cpu: number; memory: number };
  pods: Map<string, PodInfo>;
  ports: PortIndex;
  /** What pods placed by this simulation add, so a placement can be judged without them. */
  moved: { requested: Resources; pods: number; ports: PortIndex };
}

export interface Volumes {
  claims: Map<string, V1PersistentVolumeClaim>;
  volumes: Map<string, V1PersistentVolume>;
  classes: Map<string, V1StorageClass>;
}

export interface Snapshot {
  /** In name order: the order the simulation looks at them. */
  nodes: NodeState[];
  byName: Map<string, NodeState>;
  /** Where each bound pod is, by key. */
  where: Map<string, NodeState>;
  /** Namespace name -> labels; undefined when they could not be read. */
  namespaces: Map<string, Record<string, string>> | undefined;
  /** undefined when claims and volumes could not be read (or no pod needs them). */
  volumes: Volumes | undefined;
  /** The scheduler's rules of the server's release. */
  rules: PlacementRules;
}

export interface SnapshotInput {
  nodes: V1Node[];
  /** Bound pods; finished ones (Succeeded, Failed) are left out, as the scheduler leaves them out. */
  pods: V1Pod[];
  namespaces?: Array<{ metadata?: { name?: string; labels?: Record<string, string> } }>;
  claims?: V1PersistentVolumeClaim[];
  volumes?: V1PersistentVolume[];
  classes?: V1StorageClass[];
  /** The scheduler's rules of the server's release (default: the newest modelled). */
  rules?: PlacementRules;
}

function used(m: Map<string, number>, key: string, minus: Map<string, number> | undefined): boolean {
  return (m.get(key) ?? 0) - (minus?.get(key) ?? 0) > 0;
}

/** Host ports in use on a node, counted so removing one pod frees only its own. */
export class PortIndex {
  private byIp = new Map<string, number>();
  private byPort = new Map<string, number>();

  private change(port: HostPort, delta: number): void {
    const key = `${port.protocol}/${port.port}`;
    const ipKey = `${port.ip}|${key}`;
    this.byIp.set(ipKey, (this.byIp.get(ipKey) ?? 0) + delta);
    this.byPort.set(key, (this.byPort.get(key) ?? 0) + delta);
  }

  add(ports: HostPort[], sign = 1): void {
    for (const port of ports) this.change(port, sign);
  }

  /** framework.HostPortInfo.CheckConflict: 0.0.0.0 clashes with any address, any address with 0.0.0.0. */
  conflicts(port: HostPort, minus?: PortIndex): boolean {
    const key = `${port.protocol}/${port.port}`;
    if (port.ip === '0.0.0.0') return used(this.byPort, key, minus?.byPort);
    return used(this.byIp, `0.0.0.0|${key}`, minus?.byIp) || used(this.byIp, `${port.ip}|${key}`, minus?.byIp);
  }

  clone(): PortIndex {
    const copy = new PortIndex();
    copy.byIp = new Map(this.byIp);
    copy.byPort = new Map(this.byPort);
    return copy;
  }
}

function time(t: Date | string | undefined): number {
  return t ? new Date(t).getTime() : 0;
}

/**
 * Host ports as the scheduler collects them: hostPort > 0, TCP and 0.0.0.0 by
 * default, of the containers, and of the sidecars where the release counts them.
 */
function hostPorts(pod: V1Pod, rules: PlacementRules): HostPort[] {
  const containers = [
    ...(rules.sidecarHostPorts ? (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always') : []),
    ...(pod.spec?.containers ?? []),
  ];
  return containers.flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => (p.hostPort ?? 0) > 0)
      .map((p) => ({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort! })),
  );
}

/**
 * matchLabelKeys / mismatchLabelKeys merged into the selector as `key in (value)` /
 * `key notin (value)`, as the API server does when it creates the pod. Pods
 * read back from the API already carry the merge; merging again changes nothing.
 */
function mergeLabelKeys(
  selector: V1LabelSelector | undefined,
  labels: Record<string, string>,
  match: string[] | undefined,
  mismatch?: string[],
): V1LabelSelector | undefined {
  if (!selector || (!match?.length && !mismatch?.length)) return selector;
  const extra = [
    ...(match ?? []).filter((k) => k in labels).map((key) => ({ key, operator: 'In', values: [labels[key]!] })),
    ...(mismatch ?? []).filter((k) => k in labels).map((key) => ({ key, operator: 'NotIn', values: [labels[key]!] })),
  ];
  return extra.length ? { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...extra] } : selector;
}

function affinityTerms(pod: V1Pod, anti: boolean): AffinityTerm[] {
  const affinity = pod.spec?.affinity;
  const list =
    (anti ? affinity?.podAntiAffinity : affinity?.podAffinity)?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  const ns = pod.metadata?.namespace ?? '';
  const labels = pod.metadata?.labels ?? {};
  return list.map((t) => ({
    namespaces: new Set(!t.namespaces?.length && !t.namespaceSelector ? [ns] : (t.namespaces ?? [])),
    namespaceSelector: t.namespaceSelector,
    selector: mergeLabelKeys(t.labelSelector, labels, t.matchLabelKeys, t.mismatchLabelKeys),
    topologyKey: t.topologyKey,
  }));
}

function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  return (
    !!selector && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

function spreadConstraints(pod: V1Pod): SpreadConstraint[] {
  const labels = pod.metadata?.labels ?? {};
  return (pod.spec?.topologySpreadConstraints ?? [])
    .filter((c) => c.whenUnsatisfiable === 'DoNotSchedule')
    .map((c) => {
      const selector = mergeLabelKeys(c.labelSelector, labels, c.matchLabelKeys);
      return {
        maxSkew: c.maxSkew,
        topologyKey: c.topologyKey,
        selector,
        countsNothing: isEmptySelector(selector),
        minDomains: c.minDomains ?? 1,
        honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
        honorTaints: (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor',
      };
    });
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/**
 * Claims a pod mounts: persistentVolumeClaim volumes, and the <pod>-<volume>
 * claims of ephemeral volumes, unless the pod is a new one (a replacement),
 * whose ephemeral volumes get new claims.
 */
export function podClaims(pod: V1Pod, newPod = false): string[] {
  return (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim
      ? [v.persistentVolumeClaim.claimName]
      : v.ephemeral && !newPod
        ? [`${pod.metadata?.name ?? ''}-${v.name}`]
        : [],
  );
}

function scalarRequests(requests: Resources): Array<{ name: string; want: number }> {
  return Object.keys(requests)
    .filter((name) => isScalarResource(name) && requests[name]! > 0)
    .map((name) => ({ name, want: requests[name]! }));
}

/**
 * A pod as the filters read it, by the release's rules. A pod already on a
 * node is counted as that release counts it (with its status, from 1.33); a
 * replacement has no status yet, so the same rules count its spec.
 */
export function compilePod(
  pod: V1Pod,
  rules: PlacementRules = NEWEST_DRAIN_RULES.placement,
  moved = false,
  newPod = false,
): PodInfo {
  const spec = pod.spec;
  const requests = podRequests(pod, rules);
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return {
    pod,
    key: podKey(pod),
    name: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? '',
    labels: pod.metadata?.labels ?? {},
    priority: spec?.priority ?? 0,
    created: time(pod.metadata?.creationTimestamp),
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    requests,
    scalars: scalarRequests(requests),
    nonZero: podNonZeroRequests(pod, rules),
    ports: hostPorts(pod, rules),
    tolerations: spec?.tolerations ?? [],
    nodeSelector: spec?.nodeSelector && Object.keys(spec.nodeSelector).length ? spec.nodeSelector : undefined,
    nodeTerms: required ? (required.nodeSelectorTerms ?? []) : undefined,
    affinity: affinityTerms(pod, false),
    antiAffinity: affinityTerms(pod, true),
    spread: spreadConstraints(pod),
    claims: podClaims(pod, newPod),
    newEphemeral: newPod ? (spec?.volumes ?? []).filter((v) => v.ephemeral).map((v) => v.name) : [],
    moved,
  };
}

/** The taint the node lifecycle controller adds to a cordoned node (and removes once it is uncordoned). */
export const UNSCHEDULABLE_TAINT: V1Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/**
 * A node's taints as the scheduler will soon see them: on a node no longer
 * cordoned, the unschedulable taint is one the node lifecycle controller has
 * yet to remove (just after an uncordon), not a reason to stay away.
 */
function liveTaints(node: V1Node): V1Taint[] {
  const taints = node.spec?.taints ?? [];
  if (node.spec?.unschedulable === true) return taints;
  return taints.filter((t) => !(t.key === UNSCHEDULABLE_TAINT.key && t.effect === UNSCHEDULABLE_TAINT.effect));
}

function nodeState(node: V1Node): NodeState {
  const alloc = nodeAllocatable(node);
  return {
    name: node.metadata?.name ?? '',
    node,
    labels: node.metadata?.labels ?? {},
    taints: liveTaints(node),
    unschedulable: node.spec?.unschedulable === true,
    allocatable: alloc.resources,
    podsAllowed: alloc.pods,
    requested: {},
    nonZero: { cpu: 0, memory: 0 },
    pods: new Map(),
    ports: new PortIndex(),
    moved: { requested: {}, pods: 0, ports: new PortIndex() },
  };
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const nodes = input.nodes.map(nodeState).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const snap: Snapshot = {
    nodes,
    byName: new Map(nodes.map((n) => [n.name, n])),
    where: new Map(),
    namespaces: input.namespaces
      ? new Map(input.namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]))
      : undefined,
    volumes:
      input.claims && input.volumes
        ? {
            claims: new Map(input.claims.map((c) => [`${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`, c])),
            volumes: new Map(input.volumes.map((v) => [v.metadata?.name ?? '', v])),
            classes: new Map((input.classes ?? []).map((c) => [c.metadata?.name ?? '', c])),
          }
        : undefined,
    rules: input.rules ?? NEWEST_DRAIN_RULES.placement,
  };
  for (const pod of input.pods) {
    const node = snap.byName.get(pod.spec?.nodeName ?? '');
    if (!node || isTerminal(pod)) continue;
    addPod(snap, node, compilePod(pod, snap.rules));
  }
  return snap;
}

export function addPod(snap: Snapshot, node: NodeState, info: PodInfo, sign: 1 | -1 = 1): void {
  if (sign > 0) {
    node.pods.set(info.key, info);
    snap.where.set(info.key, node);
  } else {
    node.pods.delete(info.key);
    snap.where.delete(info.key);
  }
  addResources(node.requested, info.requests, sign);
  node.nonZero.cpu += sign * info.nonZero.cpu;
  node.nonZero.memory += sign * info.nonZero.memory;
  node.ports.add(info.ports, sign);
  if (info.moved) {
    addResources(node.moved.requested, info.requests, sign);
    node.moved.pods += sign;
    node.moved.ports.add(info.ports, sign);
  }
}

export function removePod(snap: Snapshot, key: string): PodInfo | undefined {
  const node = snap.where.get(key);
  const info = node?.pods.get(key);
  if (!node || !info) return undefined;
  addPod(snap, node, info, -1);
  return info;
}

/** A copy whose nodes and pod placement can change without touching the original. */
export function cloneSnapshot(snap: Snapshot): Snapshot {
  const nodes = snap.nodes.map((n) => ({
    ...n,
    labels: n.labels,
    taints: [...n.taints],
    requested: { ...n.requested },
    nonZero: { ...n.nonZero },
    pods: new Map(n.pods),
    ports: n.ports.clone(),
    moved: { requested: { ...n.moved.requested }, pods: n.moved.pods, ports: n.moved.ports.clone() },
  }));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const where = new Map<string, NodeState>();
  for (const n of nodes) for (const k of n.pods.keys()) where.set(k, n);
  return { nodes, byName, where, namespaces: snap.namespaces, volumes: snap.volumes, rules: snap.rules };
}
