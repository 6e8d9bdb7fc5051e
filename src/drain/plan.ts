/**
 * The drain plan: from what the API returned (plain objects) to what the
 * drain would do with each pod and why. Pure: no I/O, no clock of its own.
 *
 * classifyPod applies kubectl drain's filters in kubectl's order (deleted,
 * DaemonSet, mirror, local storage, unmanaged), then the checks kubectl
 * does not make: missing controllers, opt-out annotations, PDBs counted
 * across the whole drain, outages, and where the replacement can run.
 */
import type { V1Node, V1OwnerReference, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import { controllerOf, isNodeReady, isPodReady } from '../kube/objects.js';
import { capacities, firstFit, isTerminal, podRequests } from './fit.js';
import {
  reason,
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

/** What the plan knows of a controller (ReplicaSet, Deployment, StatefulSet, ...). */
export interface ControllerInfo {
  kind: string;
  name: string;
  /** Its own controller, if any (a ReplicaSet's Deployment). */
  owner?: { kind: string; name: string };
  replicas?: number;
  readyReplicas?: number;
}

export interface PlanInputs {
  nodeNames: string[];
  /** Every node of the cluster (drain targets and candidates). */
  nodes: V1Node[];
  /** Non-terminal pods of every other node, for free capacity. */
  podsByNode: Map<string, V1Pod[]>;
  /** The pods on the nodes being drained (after --pod-selector). */
  drainPods: V1Pod[];
  pdbs: V1PodDisruptionBudget[];
  /** Keyed by controllerKey(); null: looked up and not found; absent: not known (not allowed to read). */
  controllers: Map<string, ControllerInfo | null>;
  /** Pod key (ns/name) -> the local PersistentVolume that pins it to its node. */
  localVolumePins: Map<string, string>;
  /** Controllers (controllerKey) the caller may not read: whether they exist is unknown. */
  unreadableControllers?: Set<string>;
  permissions: PermissionCheck[];
  now: Date;
  options: PlanOptions;
  /** kubectl's --skip-wait-for-delete-timeout, in seconds (0: off). */
  skipWaitForDeleteTimeoutSeconds: number;
}

export function controllerKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}


/** The controller chain of a pod, followed as far as the plan knows it. */
export function ownerChain(pod: V1Pod, controllers: Map<string, ControllerInfo | null>): OwnerRef[] {
  const chain: OwnerRef[] = [];
  const ns = pod.metadata?.namespace ?? '';
  let ref: { kind: string; name: string } | undefined = controllerOf(pod);
  for (let depth = 0; ref && depth < 5; depth++) {
    chain.push({ kind: ref.kind, name: ref.name });
    const info = controllers.get(controllerKey(ns, ref.kind, ref.name));
    ref = info?.owner;
  }
  return chain;
}

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
const DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt';

export interface PodFacts {
  /** Whether the pod's controller exists: true, false, or undefined (not known). */
  controllerExists: boolean | undefined;
  pdbs: PdbPlan[];
  /** The workload loses all its ready replicas. */
  outage?: string;
  /** Why the replacement cannot run elsewhere, if it cannot. */
  wontFit?: string;
  pinnedBy?: string;
  /** A read the plan needed for this pod was forbidden. */
  permissionUnknown?: string;
}

type Decision = { action: PodAction; reasons: Reason[] };

/**
 * kubectl drain's own filters, in kubectl's order (pkg/drain/filters.go):
 * skip pods deleted longer ago than --skip-wait-for-delete-timeout, then
 * DaemonSet, mirror, local storage, unreplicated. They apply to pods
 * already terminating too, as in kubectl. A decision ends the pod's
 * classification; undefined lets it through, with `reasons` collected.
 */
function kubectlFilters(pod: V1Pod, facts: PodFacts, options: PlanOptions, now: Date, skipWaitSeconds: number, reasons: Reason[]): Decision | undefined {
  const finished = isTerminal(pod);
  const controller = controllerOf(pod);
  const block = (r: Reason): Decision => ({ action: 'blocked', reasons: [...reasons, r] });
  const deletedAt = pod.metadata?.deletionTimestamp;
  if (deletedAt && skipWaitSeconds > 0) {
    const since = (now.getTime() - new Date(deletedAt).getTime()) / 1000;
    if (Math.trunc(since) > skipWaitSeconds) {
      return { action: 'skip', reasons: [reason('Terminating', 'info', `terminating for ${Math.round(since)}s, longer than --skip-wait-for-delete-timeout`)] };
    }
  }
  // kubectl knows a DaemonSet pod by its controller's kind alone, whatever the group.
  if (controller?.kind === 'DaemonSet' && !finished) {
    if (facts.controllerExists === false) {
      const r = reason('OrphanedDaemonSetPod', options.force ? 'warning' : 'block', `DaemonSet ${controller.name} no longer exists`, '--force');
      if (!options.force) return block(r);
      reasons.push(r);
    } else if (!options.ignoreDaemonSets) {
      return block(reason('DaemonSetPod', 'block', `managed by DaemonSet ${controller.name}`, '--ignore-daemonsets'));
    } else {
      // Skipped, and never waited for, even while it terminates.
      return { action: 'skip', reasons: [reason('DaemonSetPod', 'info', `managed by DaemonSet ${controller.name}`)] };
    }
  }
  if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) {
    return { action: 'skip', reasons: [reason('MirrorPod', 'info', 'static pod mirrored from the kubelet')] };
  }
  const emptyDirs = (pod.spec?.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name);
  if (emptyDirs.length && !finished) {
    const r = reason('LocalStorage', options.deleteEmptyDirData ? 'warning' : 'block', `emptyDir volume${emptyDirs.length > 1 ? 's' : ''} ${emptyDirs.join(', ')}`, '--delete-emptydir-data');
    if (!options.deleteEmptyDirData) return block(r);
    reasons.push(r);
  }
  if (!controller && !finished) {
    const r = reason('Unmanaged', options.force ? 'warning' : 'block', 'no controller', '--force');
    if (!options.force) return block(r);
    reasons.push(r);
  }
  if (deletedAt) return { action: 'wait', reasons: [...reasons, reason('Terminating', 'info', 'already terminating')] };
  if (finished) return { action: 'evict', reasons: [...reasons, reason('Finished', 'info', `phase ${pod.status?.phase}`)] };
  return undefined;
}

/** The PDB finding of one pod: several PDBs, one that never allows, waits, or lets pods go one by one. */
function pdbReason(pod: V1Pod, pdbs: PdbPlan[], options: PlanOptions): Reason | undefined {
  if (options.disableEviction) {
    return pdbs.length ? reason('EvictionDisabled', 'warning', `deleted without checking ${pdbs.map((p) => `PDB ${p.namespace}/${p.name}`).join(', ')}`) : undefined;
  }
  if (pdbs.length > 1) return reason('MultiplePdbs', 'block', `covered by ${pdbs.map((p) => `${p.namespace}/${p.name}`).join(' and ')}`, '--disable-eviction');
  const p = pdbs[0];
  if (!p) return undefined;
  if (p.verdict === 'never' && isPodReady(pod)) return reason('PdbNeverAllows', 'block', `${describeBudget(p)}: it can never allow one`, '--disable-eviction');
  if (p.verdict === 'waits') return reason('PdbAllowsNone', 'warning', describeBudget(p));
  if (p.verdict === 'serial') return reason('PdbSerial', 'info', `${describeBudget(p)}; this drain evicts ${p.healthyInDrain} of its healthy pods`);
  return undefined;
}

/** The checks kubectl drain does not make: missing controllers, opt-outs, PDBs, outages, placement, data. */
function beyondKubectl(pod: V1Pod, facts: PodFacts, options: PlanOptions): Reason[] {
  const out: Reason[] = [];
  const controller = controllerOf(pod);
  if (controller && controller.kind !== 'DaemonSet' && facts.controllerExists === false) {
    out.push(reason('ControllerMissing', options.force ? 'warning' : 'block', `${controller.kind} ${controller.name} no longer exists`, '--force'));
  }
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[SAFE_TO_EVICT] === 'false') out.push(reason('SafeToEvictFalse', options.ignoreOptOuts ? 'warning' : 'block', `${SAFE_TO_EVICT}: "false"`, '--ignore-opt-outs'));
  if (annotations[DO_NOT_DISRUPT] === 'true') out.push(reason('DoNotDisrupt', options.ignoreOptOuts ? 'warning' : 'block', `${DO_NOT_DISRUPT}: "true"`, '--ignore-opt-outs'));
  const pdb = pdbReason(pod, facts.pdbs, options);
  if (pdb) out.push(pdb);
  if (facts.permissionUnknown) out.push(reason('PermissionUnknown', 'warning', facts.permissionUnknown));
  if (facts.outage) out.push(reason('WorkloadOutage', 'warning', facts.outage));
  if (facts.pinnedBy) out.push(reason('PinnedByLocalVolume', 'warning', `local PersistentVolume ${facts.pinnedBy}`));
  else if (facts.wontFit) out.push(reason('WontFit', 'warning', facts.wontFit));
  const hostPaths = (pod.spec?.volumes ?? []).filter((v) => v.hostPath).map((v) => v.hostPath!.path);
  if (hostPaths.length) out.push(reason('HostPathData', 'warning', `hostPath ${hostPaths.join(', ')}`));
  const scheduler = pod.spec?.schedulerName;
  if (scheduler && scheduler !== 'default-scheduler') out.push(reason('CustomScheduler', 'warning', `schedulerName ${scheduler}`));
  return out;
}

/** One pod: kubectl's filters first, then the checks beyond them. */
export function classifyPod(pod: V1Pod, facts: PodFacts, options: PlanOptions, now: Date, skipWaitSeconds = 0): Decision {
  const reasons: Reason[] = [];
  const decided = kubectlFilters(pod, facts, options, now, skipWaitSeconds, reasons);
  if (decided) return decided;
  const more = beyondKubectl(pod, facts, options);
  return { action: more.some((r) => r.severity === 'block') ? 'blocked' : 'evict', reasons: [...reasons, ...more] };
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

/** Workloads (top of the owner chain) that lose every ready replica. */
function outages(pods: V1Pod[], chains: Map<string, OwnerRef[]>, controllers: Map<string, ControllerInfo | null>): Map<string, string> {
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
      out.set(key, `${info.kind}/${info.name} has ${info.readyReplicas} ready replica${info.readyReplicas === 1 ? '' : 's'}, all on the drained node${count > 1 ? 's' : ''}`);
    }
  }
  return out;
}

export function buildPlan(input: PlanInputs): DrainPlan {
  const { options } = input;
  const drainSet = new Set(input.nodeNames);
  const nodesByName = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n]));
  const others = input.nodes.filter((n) => !drainSet.has(n.metadata?.name ?? ''));
  const nodes = input.nodeNames.map((name) => nodePlan(name, nodesByName.get(name), others));

  const chains = new Map(input.drainPods.map((p) => [podKey(p), ownerChain(p, input.controllers)]));
  const outageOf = outages(input.drainPods, chains, input.controllers);

  // PDBs, counted across every pod of this drain.
  const covering = new Map(input.drainPods.map((p) => [podKey(p), pdbsCovering(p, input.pdbs)]));
  const podsPerPdb = new Map<string, V1Pod[]>();
  for (const pod of input.drainPods) {
    for (const pdb of covering.get(podKey(pod)) ?? []) {
      const list = podsPerPdb.get(pdbKey(pdb)) ?? [];
      list.push(pod);
      podsPerPdb.set(pdbKey(pdb), list);
    }
  }
  const pdbPlans = new Map<string, PdbPlan>();
  for (const pdb of input.pdbs) {
    const pods = podsPerPdb.get(pdbKey(pdb));
    if (pods) pdbPlans.set(pdbKey(pdb), pdbBudgetAfter(pdb, pods));
  }

  // Where replacements could run: only for pods that will be evicted and recreated.
  const movable = input.drainPods.filter((p) => !isTerminal(p) && !p.metadata?.deletionTimestamp && controllerOf(p)?.kind !== 'DaemonSet' && p.metadata?.annotations?.[MIRROR_ANNOTATION] === undefined);
  const fits = firstFit(movable, capacities(input.nodes, input.podsByNode, drainSet));
  const wontFit = new Map<string, string>();
  movable.forEach((p, i) => {
    const why = fits[i]?.why;
    if (why) wontFit.set(podKey(p), why);
  });

  const pods: PodPlan[] = input.drainPods.map((pod) => {
    const key = podKey(pod);
    const chain = chains.get(key) ?? [];
    const ns = pod.metadata?.namespace ?? '';
    const controller = controllerOf(pod);
    const controllerExists = controller
      ? (() => {
          const info = input.controllers.get(controllerKey(ns, controller.kind, controller.name));
          return info === undefined ? undefined : info !== null;
        })()
      : undefined;
    const top = chain.at(-1);
    const facts: PodFacts = {
      controllerExists,
      pdbs: (covering.get(key) ?? []).map((pdb) => pdbPlans.get(pdbKey(pdb))!).filter(Boolean),
    };
    const outage = top ? outageOf.get(controllerKey(ns, top.kind, top.name)) : undefined;
    if (outage && isPodReady(pod)) facts.outage = outage;
    const fit = wontFit.get(key);
    if (fit) facts.wontFit = fit;
    const pin = input.localVolumePins.get(key);
    if (pin) facts.pinnedBy = pin;
    if (controller && input.unreadableControllers?.has(controllerKey(ns, controller.kind, controller.name))) {
      facts.permissionUnknown = `you may not read ${controller.kind} ${controller.name}: whether it still exists is not known`;
    }
    const { action, reasons } = classifyPod(pod, facts, options, input.now, input.skipWaitForDeleteTimeoutSeconds);
    const finalAction: PodAction = options.strict && action === 'evict' && reasons.some((r) => r.severity === 'warning') ? 'blocked' : action;
    return {
      namespace: ns,
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
      node: pod.spec?.nodeName ?? '',
      owners: chain,
      workload: top ? `${top.kind}/${top.name}` : '',
      action: finalAction,
      reasons,
      pdbs: (covering.get(key) ?? []).map(pdbKey),
      ready: isPodReady(pod),
      requests: podRequests(pod),
    };
  });

  // Permissions: a missing write permission blocks before anything changes.
  const nodeReasons = nodes.flatMap((n) => n.reasons);
  const blockers = new Set<string>();
  for (const perm of input.permissions) {
    if (perm.allowed) continue;
    const what = `${perm.verb} ${perm.resource}${perm.subresource ? `/${perm.subresource}` : ''}${perm.group ? `.${perm.group}` : ''}${perm.namespace ? ` in namespace ${perm.namespace}` : ''}`;
    if (perm.required) blockers.add(`MissingPermission: you may not ${what}: ask for that permission (the drain changes nothing until you have it)`);
  }
  for (const n of nodes) if (!n.exists) blockers.add(`node ${n.name} does not exist`);
  for (const p of pods) {
    if (p.action !== 'blocked') continue;
    for (const r of p.reasons) {
      if (r.severity === 'block') blockers.add(`${r.code}: ${r.override ? `${r.override} overrides it` : 'nothing overrides it'}`);
      else if (options.strict && r.severity === 'warning') blockers.add(`${r.code} (--strict)`);
    }
  }
  if (options.strict) {
    for (const r of nodeReasons) if (r.severity === 'warning') blockers.add(`${r.code} (--strict)`);
  }

  const summary = {
    pods: pods.length,
    evict: pods.filter((p) => p.action === 'evict').length,
    skip: pods.filter((p) => p.action === 'skip').length,
    wait: pods.filter((p) => p.action === 'wait').length,
    blocked: pods.filter((p) => p.action === 'blocked').length,
    warnings: pods.reduce((n, p) => n + p.reasons.filter((r) => r.severity === 'warning').length, 0) + nodeReasons.filter((r) => r.severity === 'warning').length,
  };
  return {
    kind: 'DrainPlan',
    apiVersion: 'study.kubectl.io/v1',
    nodes,
    pods,
    pdbs: [...pdbPlans.values()],
    permissions: input.permissions,
    summary,
    verdict: blockers.size ? 'blocked' : 'proceed',
    blockers: [...blockers],
    options,
  };
}
