/**
 * The drain plan: from what the API returned (plain objects) to what the
 * drain would do with each pod and why. Pure: no I/O, no clock of its own.
 *
 * What the plan learns about each pod (its controllers, its PDBs counted
 * across the whole drain, outages, where its replacement can run) goes
 * through the drain's filters (filters.ts), which decide what happens to it.
 */
import type { V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import { plural } from '../base/text.js';
import { releaseFields } from '../kube/release.js';
import { controllerOf, isNodeReady, isPodReady, isTerminal, podWaitReason } from '../kube/objects.js';
import { classifyPod, type PodFacts } from './filters.js';
import { podKey, podRequests, type PodPlacement } from './placement/index.js';
import {
  controllerKey,
  permissionText,
  reason,
  type ControllerInfo,
  type Placement,
  type PlanInputs,
  type DrainPlan,
  type NodePlan,
  type OwnerRef,
  type PdbPlan,
  type PermissionCheck,
  type PlanOptions,
  type PodAction,
  type PodPlan,
  type Reason,
} from './model.js';
import { describeBudget, pdbBudgetAfter, pdbKey, pdbsCovering } from './pdb.js';
import { controllerExistsIn, placeSteps, type StepPlacements } from './replacements.js';

/**
 * The plan of one drain of input.nodeNames at once. `placements` are where
 * the replacements go when the caller simulated them (a step of a run);
 * otherwise this drain alone is simulated.
 */
export function buildPlan(input: PlanInputs, placements?: StepPlacements): DrainPlan {
  const { options } = input;
  const drainSet = new Set(input.nodeNames);
  const nodesByName = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n]));
  const others = input.nodes.filter((n) => !drainSet.has(n.metadata?.name ?? ''));
  const nodes = input.nodeNames.map((name) => nodePlan(name, nodesByName.get(name), others));
  const chains = new Map(input.drainPods.map((p) => [podKey(p), ownerChain(p, input.controllers)]));
  const { covering, plans: pdbPlans } = pdbFindings(input);
  const placed = placements ?? placeSteps(input, [input.nodeNames])[0]!;
  const context: PlanContext = {
    input,
    drainSet,
    chains,
    outageOf: outages(input.drainPods, chains, input.controllers),
    covering,
    pdbPlans,
    placements: placed,
    neverRecovers: pdbsNeverRecovering(input.drainPods, covering, pdbPlans, placed),
    controllerExists: controllerExistsIn(input),
  };
  const pods = input.drainPods.map((pod) => podRow(pod, context));
  const blockers = planBlockers(nodes, pods, input.permissions, options);
  const warnings = (reasons: Reason[]): number => reasons.filter((r) => r.severity === 'warning').length;
  const summary = {
    pods: pods.length,
    evict: pods.filter((p) => p.action === 'evict').length,
    skip: pods.filter((p) => p.action === 'skip').length,
    wait: pods.filter((p) => p.action === 'wait').length,
    blocked: pods.filter((p) => p.action === 'blocked').length,
    warnings: pods.reduce((n, p) => n + warnings(p.reasons), 0) + warnings(nodes.flatMap((n) => n.reasons)),
  };
  return {
    kind: 'DrainPlan',
    apiVersion: 'study.kubectl.io/v1',
    ...releaseFields(input.release),
    nodes,
    pods,
    pdbs: [...pdbPlans.values()],
    permissions: input.permissions,
    summary,
    verdict: blockers.length ? 'blocked' : 'proceed',
    blockers,
    options,
  };
}

function nodePlan(name: string, node: V1Node | undefined, others: V1Node[]): NodePlan {
  if (!node) return { name, exists: false, ready: false, unschedulable: false, reasons: [] };
  const ready = isNodeReady(node);
  const unschedulable = node.spec?.unschedulable === true;
  const reasons: Reason[] = [];
  if (!ready) reasons.push(reason('NodeNotReady', 'warning', 'Ready condition is not True'));
  if (unschedulable) reasons.push(reason('NodeAlreadyCordoned', 'info', 'spec.unschedulable is already true'));
  if (!others.some((n) => isNodeReady(n) && !n.spec?.unschedulable)) {
    reasons.push(reason('LastSchedulableNode', 'warning', 'no other node is both Ready and schedulable'));
  }
  return { name, exists: true, ready, unschedulable, reasons };
}

/** The controller chain of a pod, followed as far as the plan knows it. */
export function ownerChain(pod: V1Pod, controllers: Map<string, ControllerInfo | null>): OwnerRef[] {
  const chain: OwnerRef[] = [];
  const ns = pod.metadata?.namespace ?? '';
  let ref: { kind: string; name: string; apiVersion?: string } | undefined = controllerOf(pod);
  for (let depth = 0; ref && depth < 5; depth++) {
    chain.push(
      ref.apiVersion
        ? { kind: ref.kind, name: ref.name, apiVersion: ref.apiVersion }
        : { kind: ref.kind, name: ref.name },
    );
    const info = controllers.get(controllerKey(ns, ref.kind, ref.name));
    ref = info?.owner;
  }
  return chain;
}

/** PDBs, counted across every pod of this drain: which cover each pod, and how each fares. */
function pdbFindings(input: PlanInputs): {
  covering: Map<string, V1PodDisruptionBudget[]>;
  plans: Map<string, PdbPlan>;
} {
  const covering = new Map(input.drainPods.map((p) => [podKey(p), pdbsCovering(p, input.pdbs)]));
  const podsPerPdb = new Map<string, V1Pod[]>();
  for (const pod of input.drainPods) {
    for (const pdb of covering.get(podKey(pod)) ?? [])
      podsPerPdb.set(pdbKey(pdb), [...(podsPerPdb.get(pdbKey(pdb)) ?? []), pod]);
  }
  const plans = new Map<string, PdbPlan>();
  const everyPod = [...input.podsByNode.values()].flat().concat(input.unscheduled ?? []);
  for (const pdb of input.pdbs) {
    const pods = podsPerPdb.get(pdbKey(pdb));
    if (!pods) continue;
    const plan = pdbBudgetAfter(pdb, pods);
    // A budget that waits: the pods it counts as not healthy say for how long (a crash loop: for ever).
    if (plan.verdict === 'waits') plan.notHealthy = notHealthy(pdb, everyPod);
    plans.set(pdbKey(pdb), plan);
  }
  return { covering, plans };
}

/** The pods a PDB selects that are not Ready, each with why ("web-2 is CrashLoopBackOff: ..."). */
function notHealthy(pdb: V1PodDisruptionBudget, pods: V1Pod[]): string[] {
  return pods
    .filter((pod) => pdbsCovering(pod, [pdb]).length > 0)
    .flatMap((pod) => {
      const why = podWaitReason(pod);
      return why ? [`${pod.metadata?.name ?? ''} is ${why}`] : [];
    });
}

/** Workloads (top of the owner chain) that lose every ready replica. */
function outages(
  pods: V1Pod[],
  chains: Map<string, OwnerRef[]>,
  controllers: Map<string, ControllerInfo | null>,
): Map<string, string> {
  const readyHere = new Map<string, number>();
  for (const pod of pods) {
    if (!isPodReady(pod) || pod.metadata?.deletionTimestamp || isTerminal(pod)) continue;
    const top = chains.get(podKey(pod))?.at(-1);
    if (!top) continue;
    const key = controllerKey(pod.metadata?.namespace ?? '', top.kind, top.name);
    readyHere.set(key, (readyHere.get(key) ?? 0) + 1);
  }
  const out = new Map<string, string>();
  for (const [key, count] of readyHere) {
    const info = controllers.get(key);
    if (!info || info.readyReplicas === undefined || info.kind === 'DaemonSet') continue;
    if (count >= info.readyReplicas && info.readyReplicas > 0) {
      const replicas = `${info.readyReplicas} ready ${plural(info.readyReplicas, 'replica')}`;
      out.set(key, `${info.kind}/${info.name} has ${replicas}, all on the drained ${plural(count, 'node')}`);
    }
  }
  return out;
}

/**
 * Pods whose PDB lets fewer go at once than this drain evicts (so it waits
 * for replacements to be healthy) while the replacement of another pod it
 * covers cannot be placed: the budget never comes back.
 */
function pdbsNeverRecovering(
  pods: V1Pod[],
  covering: Map<string, V1PodDisruptionBudget[]>,
  plans: Map<string, PdbPlan>,
  placements: Map<string, PodPlacement>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const pod of pods) {
    for (const pdb of covering.get(podKey(pod)) ?? []) {
      const plan = plans.get(pdbKey(pdb));
      if (!plan || (plan.verdict !== 'one-by-one' && plan.verdict !== 'waits')) continue;
      const stuck = pods.find(
        (other) =>
          other !== pod &&
          placements.get(podKey(other))?.outcome === 'pending' &&
          (covering.get(podKey(other)) ?? []).includes(pdb),
      );
      if (!stuck) continue;
      const never = `the replacement of ${podKey(stuck)} cannot be placed, so it never counts as healthy`;
      out.set(podKey(pod), `${describeBudget(plan)}; ${never}`);
    }
  }
  return out;
}

/** What the plan knows about one pod beyond the pod itself. */
interface PlanContext {
  input: PlanInputs;
  drainSet: Set<string>;
  chains: Map<string, OwnerRef[]>;
  outageOf: Map<string, string>;
  covering: Map<string, V1PodDisruptionBudget[]>;
  pdbPlans: Map<string, PdbPlan>;
  placements: StepPlacements;
  neverRecovers: Map<string, string>;
  controllerExists: (pod: V1Pod) => boolean | undefined;
}

function podRow(pod: V1Pod, context: PlanContext): PodPlan {
  const { options } = context.input;
  const key = podKey(pod);
  const chain = context.chains.get(key) ?? [];
  const top = chain.at(-1);
  const { action, reasons } = classifyPod(pod, {
    facts: podFacts(pod, context),
    options,
    now: context.input.now,
    skipWaitSeconds: context.input.skipWaitForDeleteTimeoutSeconds,
    rules: context.input.rules.kubectl,
  });
  const finalAction: PodAction =
    options.strict && action === 'evict' && reasons.some((r) => r.severity === 'warning') ? 'blocked' : action;
  const requests = podRequests(pod, context.input.rules.placement);
  const row: PodPlan = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    node: pod.spec?.nodeName ?? '',
    owners: chain,
    workload: top ? `${top.kind}/${top.name}` : '',
    action: finalAction,
    reasons,
    pdbs: (context.covering.get(key) ?? []).map(pdbKey),
    ready: isPodReady(pod),
    requests: { cpu: (requests.cpu ?? 0) / 1000, memory: requests.memory ?? 0 },
  };
  const placed = context.placements.get(key);
  if (placed) {
    const { pod: _key, uncertain, ...placement } = placed;
    row.placement = (uncertain ? { ...placement, uncertain: true } : placement) satisfies Placement;
  }
  return row;
}

function podFacts(pod: V1Pod, context: PlanContext): PodFacts {
  const key = podKey(pod);
  const ns = pod.metadata?.namespace ?? '';
  const top = context.chains.get(key)?.at(-1);
  const facts: PodFacts = {
    controllerExists: context.controllerExists(pod),
    pdbs: (context.covering.get(key) ?? []).map((pdb) => context.pdbPlans.get(pdbKey(pdb))!).filter(Boolean),
  };
  const outage = top ? context.outageOf.get(controllerKey(ns, top.kind, top.name)) : undefined;
  if (outage && isPodReady(pod)) facts.outage = outage;
  const placed = context.placements.get(key);
  if (placed?.outcome === 'pending') {
    facts.wontFit = placed.message ?? 'it fits on no node';
    const pin = localVolumePin(pod, context.input, context.drainSet);
    if (pin) facts.pinnedBy = pin;
  }
  if (placed?.dependsOn?.length) facts.dependsOn = placed.dependsOn;
  if (placed?.notes?.length) facts.placementNotes = placed.notes;
  if (placed?.uncertain) facts.uncertain = placed.uncertain;
  const stuck = context.neverRecovers.get(key);
  if (stuck) facts.pdbNeverRecovers = stuck;
  const controller = controllerOf(pod);
  if (controller && context.input.unreadableControllers?.has(controllerKey(ns, controller.kind, controller.name))) {
    const unknown = 'whether it still exists is not known';
    facts.permissionUnknown = `you may not read ${controller.kind} ${controller.name}: ${unknown}`;
  }
  return facts;
}

/** The local (or node-pinned) PersistentVolume that ties the pod to the drained nodes, if any. */
function localVolumePin(pod: V1Pod, input: PlanInputs, drained: Set<string>): string | undefined {
  const vols = input.volumes;
  if (!vols) return undefined;
  const ns = pod.metadata?.namespace ?? '';
  for (const volume of pod.spec?.volumes ?? []) {
    const claim =
      volume.persistentVolumeClaim &&
      vols.claims.find(
        (c) => c.metadata?.namespace === ns && c.metadata?.name === volume.persistentVolumeClaim!.claimName,
      );
    const pv = claim?.spec?.volumeName
      ? vols.volumes.find((candidate) => candidate.metadata?.name === claim.spec!.volumeName)
      : undefined;
    const terms = pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    const pinned = terms.some((t) =>
      (t.matchExpressions ?? []).some(
        (e) =>
          e.key === 'kubernetes.io/hostname' && e.operator === 'In' && (e.values ?? []).every((h) => drained.has(h)),
      ),
    );
    if (pv && (pinned || (pv.spec?.local && terms.length > 0))) return pv.metadata?.name;
  }
  return undefined;
}

/** One line per distinct block: missing permissions, missing nodes, blocked pods (and warnings, under --strict). */
export function planBlockers(
  nodes: NodePlan[],
  pods: PodPlan[],
  permissions: PermissionCheck[],
  options: PlanOptions,
): string[] {
  const blockers = new Set<string>();
  // A missing write permission blocks before anything changes.
  for (const perm of permissions) {
    if (perm.allowed || !perm.required) continue;
    blockers.add(
      `MissingPermission: you may not ${permissionText(perm)}: ` +
        'ask for that permission (the drain changes nothing until you have it)',
    );
  }
  for (const node of nodes) if (!node.exists) blockers.add(`node ${node.name} does not exist`);
  for (const pod of pods) {
    if (pod.action !== 'blocked') continue;
    for (const found of pod.reasons) {
      if (found.severity === 'block')
        blockers.add(`${found.code}: ${found.override ? `${found.override} overrides it` : 'nothing overrides it'}`);
      else if (options.strict && found.severity === 'warning') blockers.add(`${found.code} (--strict)`);
    }
  }
  if (options.strict) {
    for (const found of nodes.flatMap((node) => node.reasons))
      if (found.severity === 'warning') blockers.add(`${found.code} (--strict)`);
  }
  return [...blockers];
}
