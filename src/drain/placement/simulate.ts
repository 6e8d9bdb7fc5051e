/**
 * Where the scheduler would put the pods a drain evicts. The drained nodes
 * are cordoned (with the taint the node lifecycle controller adds), the
 * evicted pods leave them, and the replacements of the ones a controller
 * recreates are placed one by one in the scheduler's order (priority, then
 * creation), each placement changing the snapshot for the next. Pods that
 * fit nowhere are tried again whenever a pass placed something, as the
 * scheduler requeues them on the events that could help, until nothing
 * changes. A pod that fits nowhere gets the scheduler's FailedScheduling
 * words; a pod that fits only because other evicted pods moved first is
 * told which.
 *
 * Scoring only chooses among nodes that fit; the simulation scores much as
 * the default profile does (score.ts) and breaks ties by the order it
 * looked at nodes, where the scheduler picks at random. Pure.
 */
import type { V1Pod } from '@kubernetes/client-node';

import { controllerOf, isMirrorPod } from '../../kube/objects.js';
import {
  AffinityState,
  filterNode,
  helpsPod,
  nodeNamesFromAffinity,
  REASON,
  SpreadState,
  UNSCHEDULABLE_TAINT,
  unmodelledNotes,
  volumeFacts,
  type Attempt,
} from './filters.js';
import type { PlacementRules } from '../rules.js';
import { leastAllocated, scoreNodes } from './score.js';
import {
  addPod,
  cloneSnapshot,
  compilePod,
  PortIndex,
  removePod,
  type NodeState,
  type PodInfo,
  type Snapshot,
} from './snapshot.js';

/** What happens to a pod on a drained node: its controller recreates it, it is deleted for good, or it stays. */
export type PodFate = 'recreate' | 'delete' | 'stay';

/**
 * How to choose among the nodes that fit: as the scheduler scores them
 * (default: the first of the best), the last of the best (the scheduler
 * picks at random among equal scores), or the first, the last, or the
 * fullest one looked at (to test whether a result depends on that choice).
 */
export type Choice = 'score' | 'score-last' | 'first' | 'last' | 'packed';

export interface SimulationOptions {
  /** Default: DaemonSet and mirror pods stay, terminating and unmanaged pods are deleted, the rest recreated. */
  fate?: (pod: V1Pod) => PodFate;
  choice?: Choice;
  /** Nodes cordoned now that the run uncordons after their step (an earlier run of it cordoned them). */
  uncordon?: ReadonlySet<string>;
}

export interface PodPlacement {
  /** The evicted pod (namespace/name) whose replacement this is. */
  pod: string;
  /** Position in the scheduler's queue (0 first). */
  order: number;
  outcome: 'placed' | 'pending';
  node?: string;
  /** For a pending pod: the scheduler's FailedScheduling message (without the preemption part). */
  message?: string;
  /** For a pending pod: each reason with its number of nodes, as in the message. */
  reasons?: Array<{ reason: string; nodes: number }>;
  /** It fits only because these evicted pods (namespace/name) were placed before it. */
  dependsOn?: string[];
  /** What the simulation could not decide for it. */
  notes?: string[];
}

export interface StepResult {
  nodes: string[];
  placements: PodPlacement[];
  /** Evicted pods nothing recreates. */
  deleted: string[];
  /** Pods still pending from earlier steps that this step placed (once their node was back) or tried again. */
  resumed: PodPlacement[];
  pending: number;
}

export interface RunResult {
  steps: StepResult[];
  /** Index of the first step that leaves a pod pending; undefined when every step fits. */
  firstFailure?: number;
}

/**
 * What a drain does to a pod it evicts: a DaemonSet's or a mirror pod stays
 * (unless its DaemonSet is gone: then it is deleted for good), an unmanaged
 * one goes, a terminating one goes (its replacement is already there) unless
 * a StatefulSet's, and a controller recreates the rest.
 */
export function defaultFate(pod: V1Pod, controllerExists?: boolean): PodFate {
  const controller = controllerOf(pod);
  if (isMirrorPod(pod)) return 'stay';
  if (controller?.kind === 'DaemonSet') return controllerExists === false ? 'delete' : 'stay';
  if (!controller || controllerExists === false) return 'delete';
  // A terminating pod's replacement already exists (a ReplicaSet, a Job do not wait), but for a
  // StatefulSet's: it makes the pod of the same name only once the old one is gone.
  if (pod.metadata?.deletionTimestamp) return controller.kind === 'StatefulSet' ? 'recreate' : 'delete';
  return 'recreate';
}

/** The scheduler's numFeasibleNodesToFind with the adaptive default percentage. */
function nodesToFind(all: number): number {
  if (all < 100) return all;
  const pct = Math.max(5, 50 - Math.trunc(all / 125));
  return Math.max(100, Math.trunc((all * pct) / 100));
}

/** The FailedScheduling message of the scheduler's FitError (framework.FitError.Error), without PostFilter's part. */
export function fitErrorMessage(
  total: number,
  rejected: string[][],
  absent = 0,
  preFilter?: string,
): { message: string; reasons: Array<{ reason: string; nodes: number }> } {
  if (preFilter)
    return { message: `0/${total} nodes are available: ${preFilter}.`, reasons: [{ reason: preFilter, nodes: total }] };
  const counts = new Map<string, number>();
  for (const rs of rejected) for (const r of rs) counts.set(r, (counts.get(r) ?? 0) + 1);
  if (absent > 0) counts.set(REASON.nodeAffinityPreFilter, (counts.get(REASON.nodeAffinityPreFilter) ?? 0) + absent);
  const parts = [...counts].map(([reason, nodes]) => ({ reason, nodes, text: `${nodes} ${reason}` }));
  // Go's sort.Strings on "<count> <reason>": byte order, so "10 ..." sorts before "2 ...".
  parts.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const list = parts.length ? ` ${parts.map((p) => p.text).join(', ')}.` : '';
  return {
    message: `0/${total} nodes are available:${list}`,
    reasons: parts.map(({ reason, nodes }) => ({ reason, nodes })),
  };
}

interface AttemptResult {
  feasible: NodeState[];
  rejected: string[][];
  /** Nodes NodeAffinity's PreFilter left out. */
  absent: number;
  preFilter?: string;
  notes: string[];
}

const signatureCache = new WeakMap<PodInfo, { affinity: string; spread: string }>();

const termKey = (t: PodInfo['affinity'][number]): unknown => [
  [...t.namespaces].sort(),
  t.namespaceSelector ?? null,
  t.selector ?? null,
  t.topologyKey,
];

function signatures(pod: PodInfo): { affinity: string; spread: string } {
  let cached = signatureCache.get(pod);
  if (!cached) {
    cached = {
      affinity: JSON.stringify([pod.namespace, pod.labels, pod.affinity.map(termKey), pod.antiAffinity.map(termKey)]),
      spread: JSON.stringify([
        pod.namespace,
        pod.spread,
        pod.nodeSelector ?? null,
        pod.nodeTerms ?? null,
        pod.tolerations,
      ]),
    };
    signatureCache.set(pod, cached);
  }
  return cached;
}

/** A snapshot and the PreFilter states the filters keep up to date as pods come and go. */
class Simulator {
  private readonly affinity = new Map<string, AffinityState>();
  private readonly spread = new Map<string, SpreadState>();
  /** Bound pods with required anti-affinity terms: the only ones InterPodAffinity looks at for a pod without terms. */
  private readonly antiPods = new Map<string, PodInfo>();
  private nextStart = 0;
  moved = 0;

  readonly nsLabels = (ns: string): Record<string, string> => this.snap.namespaces?.get(ns) ?? {};

  constructor(
    readonly snap: Snapshot,
    private readonly choice: Choice,
  ) {
    for (const n of snap.nodes) for (const p of n.pods.values()) if (p.antiAffinity.length) this.antiPods.set(p.key, p);
  }

  add(node: NodeState, pod: PodInfo): void {
    addPod(this.snap, node, pod);
    if (pod.antiAffinity.length) this.antiPods.set(pod.key, pod);
    if (pod.moved) this.moved++;
    for (const state of this.affinity.values()) state.update(pod, node, 1);
    for (const state of this.spread.values()) state.update(pod, node, 1);
  }

  remove(key: string): PodInfo | undefined {
    const node = this.snap.where.get(key);
    const pod = removePod(this.snap, key);
    if (!node || !pod) return undefined;
    this.antiPods.delete(key);
    if (pod.moved) this.moved--;
    for (const state of this.affinity.values()) state.update(pod, node, -1);
    for (const state of this.spread.values()) state.update(pod, node, -1);
    return pod;
  }

  /** Nodes changed (cordoned, back in service): PreFilter states are rebuilt on demand. */
  invalidate(): void {
    this.affinity.clear();
    this.spread.clear();
  }

  /** Pods placed so far become part of the cluster: the next step judges its own moves only. */
  settle(): void {
    for (const n of this.snap.nodes) {
      for (const pod of n.pods.values()) pod.moved = false;
      n.moved = { requested: {}, pods: 0, ports: new PortIndex() };
    }
    this.moved = 0;
    this.invalidate();
  }

  private affinityState(pod: PodInfo): AffinityState | undefined {
    const own = pod.affinity.length > 0 || pod.antiAffinity.length > 0;
    if (!own && this.antiPods.size === 0) return undefined;
    const sig = signatures(pod).affinity;
    let state = this.affinity.get(sig);
    if (!state) {
      state = new AffinityState(pod, this.nsLabels);
      if (own) {
        for (const n of this.snap.nodes) for (const other of n.pods.values()) state.update(other, n, 1);
      } else {
        for (const other of this.antiPods.values()) state.update(other, this.snap.where.get(other.key)!, 1);
      }
      this.affinity.set(sig, state);
    }
    return state.skip() ? undefined : state;
  }

  private spreadState(pod: PodInfo): SpreadState | undefined {
    if (!pod.spread.length) return undefined;
    const sig = signatures(pod).spread;
    let state = this.spread.get(sig);
    if (!state) {
      state = new SpreadState(pod, this.snap.nodes);
      for (const n of this.snap.nodes) for (const other of n.pods.values()) state.update(other, n, 1);
      this.spread.set(sig, state);
    }
    return state;
  }

  /** One scheduling cycle's filtering: PreFilter, then Filter over the nodes until enough fit. */
  attempt(pod: PodInfo, withoutMoved = false): AttemptResult {
    const names = nodeNamesFromAffinity(pod);
    if (names && names.size === 0)
      return { feasible: [], rejected: [], absent: 0, preFilter: 'pod affinity terms conflict', notes: [] };
    const volumes = volumeFacts(pod, this.snap);
    if (volumes.preFilter)
      return { feasible: [], rejected: [], absent: 0, preFilter: volumes.preFilter, notes: volumes.notes };
    const spread = this.spreadState(pod);
    const attempt: Attempt = {
      pod,
      volumes,
      spread,
      spreadMins: spread ? spread.minimums(withoutMoved) : [],
      spreadSelf: spread ? spread.selfMatches(pod) : [],
      affinity: this.affinityState(pod)?.prepare(withoutMoved),
      withoutMoved,
      rules: this.snap.rules,
    };
    const all = this.snap.nodes;
    const nodes = names ? all.filter((n) => names.has(n.name)) : all;
    const want = withoutMoved ? 1 : nodesToFind(nodes.length);
    const feasible: NodeState[] = [];
    const rejected: string[][] = [];
    const start = nodes.length ? this.nextStart % nodes.length : 0;
    for (let i = 0; i < nodes.length && feasible.length < want; i++) {
      const node = nodes[(start + i) % nodes.length]!;
      const reasons = filterNode(attempt, node);
      if (reasons.length) rejected.push(reasons);
      else feasible.push(node);
    }
    if (!withoutMoved && all.length) this.nextStart = (this.nextStart + feasible.length + rejected.length) % all.length;
    return { feasible, rejected, absent: all.length - nodes.length, notes: volumes.notes };
  }

  choose(pod: PodInfo, feasible: NodeState[]): NodeState {
    switch (this.choice) {
      case 'first':
        return feasible[0]!;
      case 'last':
        return feasible.at(-1)!;
      case 'packed':
        return feasible.reduce((best, n) => (leastAllocated(n, pod) < leastAllocated(best, pod) ? n : best));
      default: {
        const scores = scoreNodes(pod, feasible, this.snap.nodes);
        const last = this.choice === 'score-last';
        let best = 0;
        for (let i = 1; i < feasible.length; i++)
          if (scores[i]! > scores[best]! || (last && scores[i] === scores[best])) best = i;
        return feasible[best]!;
      }
    }
  }

  /** Places one pod if it fits anywhere; the placement says where, or why not. */
  place(pod: PodInfo, origin: string, order: number): PodPlacement {
    const tried = this.attempt(pod);
    const out: PodPlacement = { pod: origin, order, outcome: 'pending' };
    const notes = [...tried.notes, ...unmodelledNotes(pod.pod, this.snap.rules)];
    if (!this.snap.namespaces && [...pod.affinity, ...pod.antiAffinity].some((t) => t.namespaceSelector)) {
      notes.push('namespace labels could not be read: its namespaceSelector was matched against none');
    }
    if (notes.length) out.notes = notes;
    if (!tried.feasible.length) {
      const fit = fitErrorMessage(this.snap.nodes.length, tried.rejected, tried.absent, tried.preFilter);
      out.message = fit.message;
      out.reasons = fit.reasons;
      return out;
    }
    const node = this.choose(pod, tried.feasible);
    if (this.moved > 0 && (pod.affinity.length || pod.spread.length) && !this.attempt(pod, true).feasible.length) {
      const helpers: string[] = [];
      for (const n of this.snap.nodes) {
        for (const other of n.pods.values())
          if (other.moved && helpsPod(other, pod, this.nsLabels)) helpers.push(other.key);
      }
      out.dependsOn = helpers.sort();
    }
    this.add(node, pod);
    out.outcome = 'placed';
    out.node = node.name;
    return out;
  }
}

function queueOrder(a: PodInfo, b: PodInfo): number {
  return b.priority - a.priority || a.created - b.created || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * The replacement a controller creates: the same spec, not yet bound. A new
 * pod gets new claims for its ephemeral volumes (the old ones go with the old
 * pod), so the old claims' volumes do not pin it; a pod only waiting to be
 * placed keeps its own.
 */
function replacementOf(pod: PodInfo, rules: PlacementRules, newPod = true): PodInfo {
  const { nodeName: _bound, ...spec } = pod.pod.spec ?? { containers: [] };
  const replacement = compilePod({ ...pod.pod, spec, status: {} }, rules, true, newPod);
  replacement.created = pod.created;
  return replacement;
}

/**
 * Places the queue in the scheduler's order, then tries the pending ones
 * again until a whole pass places nothing.
 */
function placeQueue(sim: Simulator, queue: PodInfo[]): Map<string, PodPlacement> {
  const results = new Map<string, PodPlacement>();
  const sorted = [...queue].sort(queueOrder);
  let pending: PodInfo[] = [];
  sorted.forEach((pod, i) => {
    const placement = sim.place(pod, pod.key, i);
    results.set(pod.key, placement);
    if (placement.outcome === 'pending') pending.push(pod);
  });
  for (let progress = pending.length > 0; progress; ) {
    progress = false;
    const still: PodInfo[] = [];
    for (const pod of pending) {
      const placement = sim.place(pod, pod.key, results.get(pod.key)!.order);
      results.set(pod.key, placement);
      if (placement.outcome === 'placed') progress = true;
      else still.push(pod);
    }
    pending = still;
  }
  return results;
}

/** Back in service: schedulable, without the taint the node lifecycle controller puts on cordoned nodes. */
function uncordonNode(node: NodeState): void {
  node.unschedulable = false;
  node.taints = node.taints.filter(
    (t) => !(t.key === UNSCHEDULABLE_TAINT.key && t.effect === UNSCHEDULABLE_TAINT.effect),
  );
}

/**
 * Drains several steps in sequence on one snapshot: each step's nodes are
 * cordoned and emptied, their evicted pods placed onto the nodes in service
 * (those of earlier steps included, back in service once their step is
 * done). Returns every step and the first that leaves a pod pending.
 */
export function simulateRun(
  snapshot: Snapshot,
  steps: Array<{ nodes: string[] }>,
  options: SimulationOptions = {},
): RunResult {
  const fate = options.fate ?? ((pod: V1Pod) => defaultFate(pod));
  const sim = new Simulator(cloneSnapshot(snapshot), options.choice ?? 'score');
  const snap = sim.snap;
  const results: StepResult[] = [];
  let carried: PodInfo[] = [];
  let restore: Array<() => void> = [];
  let firstFailure: number | undefined;
  steps.forEach((step, index) => {
    for (const undo of restore) undo();
    restore = [];
    sim.settle();
    // Cordon, as the drain does, and taint, as the node lifecycle controller then does.
    for (const name of step.nodes) {
      const node = snap.byName.get(name);
      if (!node) continue;
      if (node.unschedulable) {
        if (options.uncordon?.has(name)) restore.push(() => uncordonNode(node));
        continue;
      }
      const taints = node.taints;
      node.unschedulable = true;
      if (!taints.some((t) => t.key === UNSCHEDULABLE_TAINT.key && t.effect === UNSCHEDULABLE_TAINT.effect))
        node.taints = [...taints, UNSCHEDULABLE_TAINT];
      restore.push(() => {
        node.unschedulable = false;
        node.taints = taints;
      });
    }
    sim.invalidate();
    const deleted: string[] = [];
    const queue: PodInfo[] = [];
    for (const name of step.nodes) {
      const node = snap.byName.get(name);
      if (!node) continue;
      for (const pod of [...node.pods.values()]) {
        const podFate = fate(pod.pod);
        if (podFate === 'stay') continue;
        sim.remove(pod.key);
        if (podFate === 'recreate') queue.push(replacementOf(pod, snap.rules));
        else deleted.push(pod.key);
      }
    }
    const placed = placeQueue(sim, [...queue, ...carried]);
    const own = new Set(queue.map((p) => p.key));
    const placements = [...placed.values()].filter((r) => own.has(r.pod)).sort((a, b) => a.order - b.order);
    const resumed = [...placed.values()].filter((r) => !own.has(r.pod)).sort((a, b) => a.order - b.order);
    const pendingKeys = new Set([...placed.values()].filter((r) => r.outcome === 'pending').map((r) => r.pod));
    carried = [...queue, ...carried].filter((p) => pendingKeys.has(p.key));
    const pending = placements.filter((r) => r.outcome === 'pending').length;
    if (pending > 0 && firstFailure === undefined) firstFailure = index;
    results.push({ nodes: step.nodes, placements, deleted, resumed, pending });
  });
  return firstFailure === undefined ? { steps: results } : { steps: results, firstFailure };
}

/**
 * Places pods that are not bound yet (their nodeName is ignored) onto the
 * snapshot, as the scheduler would take them from its queue.
 */
export function placePods(
  snapshot: Snapshot,
  pods: V1Pod[],
  options: Pick<SimulationOptions, 'choice'> = {},
): PodPlacement[] {
  const sim = new Simulator(cloneSnapshot(snapshot), options.choice ?? 'score');
  const queue = pods.map((pod) => replacementOf(compilePod(pod, snapshot.rules), snapshot.rules, false));
  return [...placeQueue(sim, queue).values()].sort((a, b) => a.order - b.order);
}

/** One drain of these nodes at once. */
export function simulateDrain(snapshot: Snapshot, nodes: string[], options: SimulationOptions = {}): StepResult {
  return simulateRun(snapshot, [{ nodes }], options).steps[0]!;
}
