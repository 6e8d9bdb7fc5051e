/**
 * kube-scheduler's filter plugins (default profile), one function per
 * plugin, each answering for one pod and one node with the scheduler's own
 * failure reasons, in the order the default profile runs them: NodeName and
 * NodeUnschedulable (in the order of the release: NodeName first from
 * 1.37), TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
 * VolumeBinding, VolumeZone, PodTopologySpread, InterPodAffinity. The first
 * plugin that rejects a node is its only reason, as in the scheduler. What
 * differs between releases comes in as data (PlacementRules, drain/rules.ts).
 *
 * What the scheduler computes once per pod (PreFilter) lives in the state
 * classes below, kept up to date as pods are added and removed, so placing
 * thousands of pods does not rescan the cluster for each one.
 *
 * Not modelled: VolumeRestrictions (ReadWriteOncePod and inline-disk
 * conflicts), NodeVolumeLimits (CSI attach limits), DynamicResources and
 * NodeDeclaredFeatures (a pod they would judge is flagged instead:
 * unmodelledNotes), extenders, preemption. Pure.
 */
import type {
  V1Container,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
  V1Taint,
  V1Toleration,
} from '@kubernetes/client-node';

import { matchesSelector } from '../../kube/selector.js';
import type { NodeFeature, PlacementRules } from '../rules.js';
import { UNSCHEDULABLE_TAINT, type AffinityTerm, type NodeState, type PodInfo, type Snapshot } from './snapshot.js';

/** The scheduler's words, one per way a node can fail (framework statuses' reasons). */
export const REASON = {
  nodeName: "node(s) didn't match the requested node name",
  unschedulable: 'node(s) were unschedulable',
  taint: 'node(s) had untolerated taint(s)',
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  nodeAffinityPreFilter: "node(s) didn't satisfy plugin(s) [NodeAffinity]",
  ports: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: 'Too many pods',
  pvAffinity: "node(s) didn't match PersistentVolume's node affinity",
  pvMissing: 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)',
  volumeZone: 'node(s) had no available volume zone',
  spread: "node(s) didn't match pod topology spread constraints",
  spreadLabel: "node(s) didn't match pod topology spread constraints (missing required label)",
  affinity: "node(s) didn't match pod affinity rules",
  antiAffinity: "node(s) didn't match pod anti-affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
} as const;

export const insufficient = (resource: string): string => `Insufficient ${resource}`;

/** TaintToleration's words until 1.34.1: the first untolerated taint, by key and value. */
export const untoleratedTaint = (taint: V1Taint): string =>
  `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
const INSUFFICIENT_CPU = insufficient('cpu');
const INSUFFICIENT_MEMORY = insufficient('memory');

// ---------------------------------------------------------------- node selectors

function requirementMatches(requirement: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      // labels.Requirement: both sides must parse as 64-bit integers (strconv.ParseInt(v, 10, 64)).
      const a = int64(value);
      const b = values.length === 1 ? int64(values[0]) : undefined;
      if (a === undefined || b === undefined) return false;
      return requirement.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A label value as Go's strconv.ParseInt(v, 10, 64) reads it, or undefined where that fails. */
function int64(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function termMatches(term: V1NodeSelectorTerm, labels: Record<string, string>, name: string | undefined): boolean {
  for (const r of term.matchExpressions ?? []) if (!requirementMatches(r, labels[r.key])) return false;
  // A volume's node affinity is matched against labels only (no fields), as CheckNodeAffinity does.
  if (name !== undefined) {
    for (const r of term.matchFields ?? []) {
      if (r.key !== 'metadata.name' || (r.values ?? []).length !== 1) return false;
      if (r.operator === 'In' ? name !== r.values![0] : r.operator === 'NotIn' ? name === r.values![0] : true)
        return false;
    }
  }
  return true;
}

/** OR of the terms; empty terms are skipped, and no term left matches nothing. */
export function nodeSelectorTermsMatch(
  terms: V1NodeSelectorTerm[],
  labels: Record<string, string>,
  name?: string,
): boolean {
  return terms.some(
    (t) => ((t.matchExpressions ?? []).length > 0 || (t.matchFields ?? []).length > 0) && termMatches(t, labels, name),
  );
}

/** nodeSelector and required node affinity together (nodeaffinity.RequiredNodeAffinity). */
export function requiredNodeAffinityMatches(pod: PodInfo, node: NodeState): boolean {
  if (pod.nodeSelector) for (const [k, v] of Object.entries(pod.nodeSelector)) if (node.labels[k] !== v) return false;
  return pod.nodeTerms === undefined || nodeSelectorTermsMatch(pod.nodeTerms, node.labels, node.name);
}

/**
 * NodeAffinity's PreFilter: terms that pin metadata.name with In narrow the
 * nodes looked at. undefined: every node; an empty set: the terms conflict.
 */
export function nodeNamesFromAffinity(pod: PodInfo): Set<string> | undefined {
  if (!pod.nodeTerms?.length) return undefined;
  let union: Set<string> | undefined;
  for (const t of pod.nodeTerms) {
    let names: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
      const s = new Set(r.values ?? []);
      names = names ? new Set([...names].filter((n) => s.has(n))) : s;
    }
    if (!names) return undefined;
    union = new Set([...(union ?? []), ...names]);
  }
  return union;
}

// ---------------------------------------------------------------- taints

/** Toleration.ToleratesTaint (the Lt/Gt operators are behind a feature gate that is off). */
export function tolerates(taint: V1Taint, tolerations: V1Toleration[]): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.key && t.key !== taint.key) return false;
    if (!t.operator || t.operator === 'Equal') return (t.value ?? '') === (taint.value ?? '');
    return t.operator === 'Exists';
  });
}

/** The first NoSchedule or NoExecute taint the tolerations do not tolerate (FindMatchingUntoleratedTaint). */
export function firstUntoleratedTaint(taints: V1Taint[], tolerations: V1Toleration[]): V1Taint | undefined {
  return taints.find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(t, tolerations));
}

export function hasUntoleratedTaint(taints: V1Taint[], tolerations: V1Toleration[]): boolean {
  return firstUntoleratedTaint(taints, tolerations) !== undefined;
}

export { UNSCHEDULABLE_TAINT } from './snapshot.js';

// ---------------------------------------------------------------- affinity terms

export function termMatchesPod(term: AffinityTerm, pod: PodInfo, nsLabels: Record<string, string>): boolean {
  if (
    !term.namespaces.has(pod.namespace) &&
    !(term.namespaceSelector && matchesSelector(term.namespaceSelector, nsLabels))
  )
    return false;
  return matchesSelector(term.selector, pod.labels);
}

function bump(m: Map<string, Map<string, number>>, key: string, value: string, d: number): void {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  const v = (inner.get(value) ?? 0) + d;
  if (v === 0) inner.delete(value);
  else inner.set(value, v);
}

/**
 * Pods counted per topology pair (key, value), kept twice: everything, and
 * the part that pods placed by this simulation contribute.
 */
class Counts {
  private readonly all = new Map<string, Map<string, number>>();
  private readonly moved = new Map<string, Map<string, number>>();
  private total = 0;
  private totalMoved = 0;

  add(key: string, value: string, d: number, moved: boolean): void {
    bump(this.all, key, value, d);
    this.total += d;
    if (moved) {
      bump(this.moved, key, value, d);
      this.totalMoved += d;
    }
  }

  get(key: string, value: string, withoutMoved: boolean): number {
    const n = this.all.get(key)?.get(value) ?? 0;
    return withoutMoved ? n - (this.moved.get(key)?.get(value) ?? 0) : n;
  }

  /** Whether any pair is counted at all. */
  any(withoutMoved: boolean): boolean {
    return (withoutMoved ? this.total - this.totalMoved : this.total) > 0;
  }

  /** The topology keys counted. */
  keys(): IterableIterator<string> {
    return this.all.keys();
  }
}

/**
 * InterPodAffinity's PreFilter state for one pod shape: per topology pair,
 * how many pods match all its affinity terms, how many match each of its
 * anti-affinity terms, and how many existing pods' anti-affinity terms
 * match it.
 */
export class AffinityState {
  readonly affinity = new Counts();
  readonly antiAffinity = new Counts();
  readonly existingAnti = new Counts();

  constructor(
    readonly pod: PodInfo,
    private readonly nsLabels: (ns: string) => Record<string, string>,
  ) {}

  /** An existing pod `q` on `node` was added (sign 1) or removed (-1). */
  update(other: PodInfo, node: NodeState, sign: number): void {
    const pod = this.pod;
    if (pod.affinity.length && pod.affinity.every((t) => termMatchesPod(t, other, this.nsLabels(other.namespace)))) {
      for (const t of pod.affinity) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined) this.affinity.add(t.topologyKey, v, sign, other.moved);
      }
    }
    for (const t of pod.antiAffinity) {
      const v = node.labels[t.topologyKey];
      if (v !== undefined && termMatchesPod(t, other, this.nsLabels(other.namespace)))
        this.antiAffinity.add(t.topologyKey, v, sign, other.moved);
    }
    if (other.antiAffinity.length) {
      const ns = this.nsLabels(pod.namespace);
      for (const t of other.antiAffinity) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined && termMatchesPod(t, pod, ns)) this.existingAnti.add(t.topologyKey, v, sign, other.moved);
      }
    }
  }

  /** Nothing to check: the scheduler skips the plugin. */
  skip(): boolean {
    return !this.pod.affinity.length && !this.pod.antiAffinity.length && !this.existingAnti.any(false);
  }

  /** What the filter needs of the counts as a whole, once per attempt. */
  prepare(withoutMoved: boolean): AffinityCheck {
    const pod = this.pod;
    const affinityAny = this.affinity.any(withoutMoved);
    return {
      state: this,
      withoutMoved,
      selfAffinityAllowed:
        !affinityAny && pod.affinity.every((t) => termMatchesPod(t, pod, this.nsLabels(pod.namespace))),
      antiAny: this.antiAffinity.any(withoutMoved),
      existingKeys: this.existingAnti.any(withoutMoved) ? [...this.existingAnti.keys()] : [],
    };
  }

  filter(node: NodeState, check: AffinityCheck): string | undefined {
    const pod = this.pod;
    const without = check.withoutMoved;
    if (pod.affinity.length) {
      let podsExist = true;
      for (const t of pod.affinity) {
        const v = node.labels[t.topologyKey];
        if (v === undefined) return REASON.affinity;
        if (this.affinity.get(t.topologyKey, v, without) <= 0) podsExist = false;
      }
      // The first pod of a group that selects itself may go anywhere, as long as no matching pod exists at all.
      if (!podsExist && !check.selfAffinityAllowed) return REASON.affinity;
    }
    if (check.antiAny) {
      for (const t of pod.antiAffinity) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined && this.antiAffinity.get(t.topologyKey, v, without) > 0) return REASON.antiAffinity;
      }
    }
    for (const k of check.existingKeys) {
      const v = node.labels[k];
      if (v !== undefined && this.existingAnti.get(k, v, without) > 0) return REASON.existingAntiAffinity;
    }
    return undefined;
  }
}

export interface AffinityCheck {
  state: AffinityState;
  withoutMoved: boolean;
  selfAffinityAllowed: boolean;
  antiAny: boolean;
  existingKeys: string[];
}

function shift(hist: Map<number, number>, count: number, d: number): void {
  const n = (hist.get(count) ?? 0) + d;
  if (n === 0) hist.delete(count);
  else hist.set(count, n);
}

/**
 * Matching pods per domain of one spread constraint, everything and without
 * the pods this simulation placed, with the smallest count kept up to date
 * as counts move by one (a histogram of counts), so no attempt rescans the
 * domains.
 */
class DomainCounts {
  private readonly counts = [new Map<string, number>(), new Map<string, number>()];
  private readonly hist = [new Map<number, number>(), new Map<number, number>()];
  private readonly min: number[];

  constructor(domains: Set<string>) {
    for (const h of this.hist) if (domains.size) h.set(0, domains.size);
    this.min = [0, 0];
  }

  private move(which: number, domain: string, d: number): void {
    const counts = this.counts[which]!;
    const hist = this.hist[which]!;
    const old = counts.get(domain) ?? 0;
    const now = old + d;
    counts.set(domain, now);
    shift(hist, old, -1);
    shift(hist, now, 1);
    if (d > 0 ? old === this.min[which] && !hist.has(old) : now < this.min[which]!) this.min[which] = now;
  }

  add(domain: string, d: number, moved: boolean): void {
    this.move(0, domain, d);
    if (!moved) this.move(1, domain, d);
  }

  get(domain: string, withoutMoved: boolean): number {
    return this.counts[withoutMoved ? 1 : 0]!.get(domain) ?? 0;
  }

  minimum(withoutMoved: boolean): number {
    return this.min[withoutMoved ? 1 : 0]!;
  }
}

/**
 * PodTopologySpread's PreFilter state for one pod shape: for each
 * DoNotSchedule constraint, the matching pods per domain over the nodes the
 * constraint counts (every constraint's key present, node affinity and
 * taints honoured as its policies say).
 */
export class SpreadState {
  /** Per node: whether each constraint counts it. */
  private readonly eligible = new Map<string, boolean[]>();
  private readonly domains: DomainCounts[];
  /** Domains with an eligible node, per constraint (their count may be 0). */
  private readonly domainSets: Array<Set<string>>;

  constructor(
    readonly pod: PodInfo,
    nodes: NodeState[],
  ) {
    const cs = pod.spread;
    this.domainSets = cs.map(() => new Set());
    for (const node of nodes) {
      const hasKeys = cs.every((c) => node.labels[c.topologyKey] !== undefined);
      const flags = cs.map(
        (c) =>
          hasKeys &&
          (!c.honorNodeAffinity || requiredNodeAffinityMatches(pod, node)) &&
          (!c.honorTaints || !hasUntoleratedTaint(node.taints, pod.tolerations)),
      );
      this.eligible.set(node.name, flags);
      flags.forEach((ok, i) => {
        if (ok) this.domainSets[i]!.add(node.labels[cs[i]!.topologyKey]!);
      });
    }
    this.domains = this.domainSets.map((set) => new DomainCounts(set));
  }

  update(other: PodInfo, node: NodeState, sign: number): void {
    if (other.namespace !== this.pod.namespace || other.terminating) return;
    const flags = this.eligible.get(node.name);
    if (!flags) return;
    this.pod.spread.forEach((c, i) => {
      if (flags[i] && !c.countsNothing && matchesSelector(c.selector, other.labels))
        this.domains[i]!.add(node.labels[c.topologyKey]!, sign, other.moved);
    });
  }

  /** The smallest count over the domains, per constraint (0 below minDomains), for one attempt. */
  minimums(withoutMoved: boolean): number[] {
    return this.pod.spread.map((c, i) =>
      this.domainSets[i]!.size < c.minDomains ? 0 : this.domains[i]!.minimum(withoutMoved),
    );
  }

  /**
   * Whether the pod being placed counts for each of its own constraints: its
   * own labels, not those of the pod that made this (shared) state.
   */
  selfMatches(pod: PodInfo): number[] {
    return this.pod.spread.map((c) => (matchesSelector(c.selector, pod.labels) ? 1 : 0));
  }

  filter(node: NodeState, mins: number[], self: number[], withoutMoved: boolean): string | undefined {
    const cs = this.pod.spread;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      const v = node.labels[c.topologyKey];
      if (v === undefined) return REASON.spreadLabel;
      if (this.domains[i]!.get(v, withoutMoved) + self[i]! - mins[i]! > c.maxSkew) return REASON.spread;
    }
    return undefined;
  }
}

// ---------------------------------------------------------------- volumes

/** What VolumeBinding and VolumeZone need of a pod's claims, looked up once. */
export interface VolumeFacts {
  /** A PreFilter failure: the whole pod is unschedulable, in these words. */
  preFilter?: string;
  /** Required node affinity of each bound volume. */
  nodeAffinity: V1NodeSelectorTerm[][];
  /** A bound claim's volume does not exist. */
  missingVolume: boolean;
  /** Zone and region labels of the bound volumes. */
  zones: Array<{ key: string; values: Set<string> }>;
  /** Things the simulation does not decide (unbound WaitForFirstConsumer claims, unread volumes). */
  notes: string[];
}

const ZONE_LABELS = [
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
];

const GA_LABEL: Record<string, string> = {
  'failure-domain.beta.kubernetes.io/zone': 'topology.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region': 'topology.kubernetes.io/region',
};

export function volumeFacts(pod: PodInfo, snap: Snapshot): VolumeFacts {
  const facts: VolumeFacts = { nodeAffinity: [], missingVolume: false, zones: [], notes: [] };
  for (const v of pod.newEphemeral)
    facts.notes.push(`ephemeral volume ${v} gets a new claim: where a volume can be provisioned for it is not checked`);
  if (!pod.claims.length) return facts;
  const vols = snap.volumes;
  if (!vols) {
    facts.notes.push(`claims ${pod.claims.join(', ')} not checked: PersistentVolumeClaims could not be read`);
    return facts;
  }
  for (const name of pod.claims) {
    const claim = vols.claims.get(`${pod.namespace}/${name}`);
    if (!claim) {
      facts.preFilter = `persistentvolumeclaim "${name}" not found`;
      return facts;
    }
    if (claim.metadata?.deletionTimestamp) {
      facts.preFilter = `persistentvolumeclaim "${name}" is being deleted`;
      return facts;
    }
    const pvName = claim.spec?.volumeName;
    if (!pvName) {
      // storagehelpers.GetPersistentVolumeClaimClass: the beta annotation wins over the field.
      const className =
        claim.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? claim.spec?.storageClassName ?? '';
      const cls = vols.classes.get(className);
      if (cls?.volumeBindingMode === 'WaitForFirstConsumer') {
        facts.notes.push(
          `claim ${name} is unbound (WaitForFirstConsumer): ` +
            'where a volume can be provisioned or bound for it is not checked',
        );
        continue;
      }
      facts.preFilter = 'pod has unbound immediate PersistentVolumeClaims';
      return facts;
    }
    const pv = vols.volumes.get(pvName);
    if (!pv) {
      facts.missingVolume = true;
      continue;
    }
    const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
    if (terms) facts.nodeAffinity.push(terms);
    for (const key of ZONE_LABELS) {
      const value = pv.metadata?.labels?.[key];
      if (value === undefined) continue;
      const values = value.split('__').map((z) => z.trim());
      if (values.some((z) => !z)) continue;
      facts.zones.push({ key, values: new Set(values) });
    }
  }
  return facts;
}

function volumeBindingFilter(facts: VolumeFacts, node: NodeState): string | undefined {
  for (const terms of facts.nodeAffinity) if (!nodeSelectorTermsMatch(terms, node.labels)) return REASON.pvAffinity;
  if (facts.missingVolume) return REASON.pvMissing;
  return undefined;
}

function volumeZoneFilter(facts: VolumeFacts, node: NodeState): string | undefined {
  if (!facts.zones.length || !ZONE_LABELS.some((k) => node.labels[k] !== undefined)) return undefined;
  for (const z of facts.zones) {
    const v = node.labels[z.key] ?? node.labels[GA_LABEL[z.key] ?? z.key];
    if (v === undefined || !z.values.has(v)) return REASON.volumeZone;
  }
  return undefined;
}

// ---------------------------------------------------------------- resources

const NO_REASONS: string[] = Object.freeze([]) as unknown as string[];
const single = new Map<string, string[]>();

/** One reason, as a shared array (nodes that fail are many; their reasons are few). */
function only(reason: string): string[] {
  let shared = single.get(reason);
  if (!shared) single.set(reason, (shared = Object.freeze([reason]) as unknown as string[]));
  return shared;
}

function short(reasons: string[], reason: string): string[] {
  return reasons.length ? [...reasons, reason] : only(reason);
}

function resourcesFilter(pod: PodInfo, node: NodeState, withoutMoved: boolean): string[] {
  let out = NO_REASONS;
  const used = node.requested;
  const moved = withoutMoved ? node.moved.requested : undefined;
  if (node.pods.size - (moved ? node.moved.pods : 0) + 1 > node.podsAllowed) out = only(REASON.tooManyPods);
  const requests = pod.requests;
  if (requests.cpu && requests.cpu > (node.allocatable.cpu ?? 0) - (used.cpu ?? 0) + (moved?.cpu ?? 0))
    out = short(out, INSUFFICIENT_CPU);
  if (requests.memory && requests.memory > (node.allocatable.memory ?? 0) - (used.memory ?? 0) + (moved?.memory ?? 0))
    out = short(out, INSUFFICIENT_MEMORY);
  const eph = requests['ephemeral-storage'];
  if (
    eph &&
    eph >
      (node.allocatable['ephemeral-storage'] ?? 0) -
        (used['ephemeral-storage'] ?? 0) +
        (moved?.['ephemeral-storage'] ?? 0)
  ) {
    out = short(out, insufficient('ephemeral-storage'));
  }
  for (const { name, want } of pod.scalars) {
    if (want > (node.allocatable[name] ?? 0) - (used[name] ?? 0) + (moved?.[name] ?? 0))
      out = short(out, insufficient(name));
  }
  return out;
}

/** What one placement attempt computed up front (the scheduler's PreFilter). */
export interface Attempt {
  pod: PodInfo;
  volumes: VolumeFacts;
  affinity: AffinityCheck | undefined;
  spread: SpreadState | undefined;
  spreadMins: number[];
  spreadSelf: number[];
  /** Judge the node as if the pods this simulation placed were not there. */
  withoutMoved: boolean;
  rules: PlacementRules;
}

function nodeNameFilter(pod: PodInfo, node: NodeState): string | undefined {
  return pod.pod.spec?.nodeName && pod.pod.spec.nodeName !== node.name ? REASON.nodeName : undefined;
}

function unschedulableFilter(pod: PodInfo, node: NodeState): string | undefined {
  return node.unschedulable && !tolerates(UNSCHEDULABLE_TAINT, pod.tolerations) ? REASON.unschedulable : undefined;
}

/** The reasons the node rejects the pod (empty: it fits), from the first plugin that rejects it. */
export function filterNode(attempt: Attempt, node: NodeState): string[] {
  const { pod, rules } = attempt;
  const first = rules.nodeNameFirst
    ? (nodeNameFilter(pod, node) ?? unschedulableFilter(pod, node))
    : (unschedulableFilter(pod, node) ?? nodeNameFilter(pod, node));
  if (first) return only(first);
  const taint = firstUntoleratedTaint(node.taints, pod.tolerations);
  if (taint) return only(rules.taintMessage === 'generic' ? REASON.taint : untoleratedTaint(taint));
  if (!requiredNodeAffinityMatches(pod, node)) return only(REASON.nodeAffinity);
  if (pod.ports.some((port) => node.ports.conflicts(port, attempt.withoutMoved ? node.moved.ports : undefined)))
    return only(REASON.ports);
  const lacking = resourcesFilter(pod, node, attempt.withoutMoved);
  if (lacking !== NO_REASONS) return lacking;
  const vol = volumeBindingFilter(attempt.volumes, node) ?? volumeZoneFilter(attempt.volumes, node);
  if (vol) return only(vol);
  const spread = attempt.spread?.filter(node, attempt.spreadMins, attempt.spreadSelf, attempt.withoutMoved);
  if (spread) return only(spread);
  const affinity = attempt.affinity?.state.filter(node, attempt.affinity);
  if (affinity) return only(affinity);
  return NO_REASONS;
}

/** The selectors of a pod's constraints that other pods can satisfy, for explaining a dependency. */
export function helpsPod(helper: PodInfo, pod: PodInfo, nsLabels: (ns: string) => Record<string, string>): boolean {
  if (pod.affinity.length && pod.affinity.every((t) => termMatchesPod(t, helper, nsLabels(helper.namespace))))
    return true;
  return (
    helper.namespace === pod.namespace &&
    pod.spread.some((c) => !c.countsNothing && matchesSelector(c.selector, helper.labels))
  );
}

/** What NodeDeclaredFeatures reads of a container; bind mount options (1.37) are not in the client's types yet. */
interface FeatureFields {
  restartPolicyRules?: Array<{ action?: string }>;
  volumeMounts?: Array<{ bindMountOptions?: unknown[] }>;
}

/** Whether the pod's spec makes NodeDeclaredFeatures require this node feature (component-helpers' inference). */
const NEEDS: Record<NodeFeature, (spec: NonNullable<V1Pod['spec']>, all: FeatureFields[]) => boolean> = {
  RestartAllContainersOnContainerExits: (_spec, all) =>
    all.some((c) => (c.restartPolicyRules ?? []).some((r) => r.action === 'RestartAllContainers')),
  UserNamespacesHostNetworkSupport: (spec) => spec.hostNetwork === true && spec.hostUsers === false,
  VolumeBindMountOptions: (_spec, all) =>
    all.some((c) => (c.volumeMounts ?? []).some((m) => (m.bindMountOptions ?? []).length > 0)),
};

/**
 * What decides where a replacement can run that the simulation does not
 * judge, by the release's rules: device claims (DynamicResources, or a
 * server before 1.34 that kept them, its gate on), pod-level resources on a
 * server that does not honour them by default (before 1.34), node features
 * NodeDeclaredFeatures requires (1.36+). A note each: the plan flags the
 * pod rather than guess.
 */
export function unmodelledNotes(pod: V1Pod, rules: PlacementRules): string[] {
  const spec = pod.spec;
  if (!spec) return [];
  const notes: string[] = [];
  const claims = (spec.resourceClaims ?? []).map((c) => c.name);
  if (claims.length && rules.dynamicResources)
    notes.push(
      `it claims devices (resourceClaims ${claims.join(', ')}): kube-scheduler's DynamicResources filter decides ` +
        'which nodes can run it, which the plan does not simulate',
    );
  else if (claims.length)
    notes.push(
      `it has resourceClaims (${claims.join(', ')}), which Kubernetes before 1.34 drops unless ` +
        'DynamicResourceAllocation (off by default) is on: the server kept them, so where its DynamicResources ' +
        'filter lets the pod run is not simulated',
    );
  const podLevel = [...Object.keys(spec.resources?.requests ?? {}), ...Object.keys(spec.resources?.limits ?? {})].some(
    (k) => k === 'cpu' || k === 'memory' || k.startsWith('hugepages-'),
  );
  if (podLevel && !rules.podLevelResources)
    notes.push(
      'it sets pod-level resources (spec.resources), which Kubernetes before 1.34 drops unless PodLevelResources ' +
        '(alpha, off by default) is on: the server kept them, so whether its scheduler counts them is not known; ' +
        "planned from the containers' requests",
    );
  const containers: V1Container[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const features = rules.nodeDeclaredFeatures.filter((f) => NEEDS[f](spec, containers as FeatureFields[]));
  if (features.length)
    notes.push(
      `it needs node ${features.length === 1 ? 'feature' : 'features'} ${features.join(', ')} ` +
        "(kube-scheduler's NodeDeclaredFeatures filter): which nodes declare them is not checked",
    );
  return notes;
}
