/**
 * Which pods a drain evicts, skips, waits for or is blocked by, and why: one
 * list of small filters (POD_FILTERS), as kubectl's pkg/drain/filters.go
 * has it. kubectl drain's own filters come first, in kubectl's order; this
 * project's checks follow in the same list. Each filter looks at one pod,
 * with what the plan learned about it (PodFacts) and the drain's options,
 * and gives its verdict. Pure.
 */
import type { V1Pod } from '@kubernetes/client-node';

import { firstAndMore, plural } from '../base/text.js';
import { controllerOf, isMirrorPod, isPodReady, isTerminal } from '../kube/objects.js';
import { reason, type PdbPlan, type PlanOptions, type PodAction, type Reason, type ReasonCode } from './model.js';
import { describeBudget, pdbApplies } from './pdb.js';
import type { KubectlDrainRules } from './rules.js';

/** What the plan learned about a pod beyond the pod itself. */
export interface PodFacts {
  /** Whether the pod's controller exists: true, false, or undefined (not known). */
  controllerExists: boolean | undefined;
  pdbs: PdbPlan[];
  /** The workload loses all its ready replicas. */
  outage?: string;
  /** The scheduler's message when the replacement would stay Pending. */
  wontFit?: string;
  /** The local PersistentVolume that keeps it on the drained node. */
  pinnedBy?: string;
  /** A read the plan needed for this pod was forbidden. */
  permissionUnknown?: string;
  /** Its PDB waits for a replacement that cannot be placed. */
  pdbNeverRecovers?: string;
  /** Evicted pods whose placement its own depends on. */
  dependsOn?: string[];
  placementNotes?: string[];
  /** Whether it finds a node depends on the scheduler's choices before it. */
  uncertain?: string;
}

/** What every filter is given besides the pod. */
export interface FilterInput {
  facts: PodFacts;
  options: PlanOptions;
  now: Date;
  /** kubectl's --skip-wait-for-delete-timeout, in seconds (0: off). */
  skipWaitSeconds: number;
  /** kubectl drain's rules of the server's release (kubectl of the same release drains it). */
  rules: KubectlDrainRules;
}

/**
 * One filter's verdict on one pod: with an action, the pod is decided and no
 * later filter runs; without one, it goes on to the next filter. `reasons`
 * are what this filter found.
 */
export interface FilterVerdict {
  action?: PodAction;
  reasons: readonly Reason[];
}

export type PodFilter = (pod: V1Pod, input: FilterInput) => FilterVerdict;

/** The verdict on a pod once the filters have had their say. */
export interface PodVerdict {
  action: PodAction;
  reasons: Reason[];
}

/** One pod through POD_FILTERS: the first decision, else evict, or blocked if anything found blocks. */
export function classifyPod(pod: V1Pod, input: FilterInput): PodVerdict {
  const reasons: Reason[] = [];
  for (const filter of POD_FILTERS) {
    const verdict = filter(pod, input);
    // A skipped pod is left alone: what earlier filters found about evicting it does not apply.
    if (verdict.action === 'skip') return { action: 'skip', reasons: [...verdict.reasons] };
    reasons.push(...verdict.reasons);
    if (verdict.action) return { action: verdict.action, reasons };
  }
  return { action: reasons.some((r) => r.severity === 'block') ? 'blocked' : 'evict', reasons };
}

/**
 * Every rule, in the order they apply. kubectl's filters decide a pod as
 * soon as one refuses or skips it, and apply to pods already terminating
 * too, as in kubectl. This project's checks never decide: each adds what it
 * finds, and the pod is blocked if any of it blocks.
 */
export const POD_FILTERS: readonly PodFilter[] = [
  // kubectl drain's filters (pkg/drain/filters.go), in kubectl's order:
  skipDeletedLongAgo, // deleted longer ago than --skip-wait-for-delete-timeout: skip
  daemonSetPod, // a DaemonSet's: blocks, or skip with --ignore-daemonsets; its DaemonSet gone: blocks unless --force
  mirrorPod, // a static pod's mirror: skip, the API cannot remove it
  localStorageVolumes, // emptyDir volumes: blocks unless --delete-emptydir-data
  unreplicated, // no controller: blocks unless --force
  // What the drain does with pods kubectl lets through but that will not run again:
  alreadyTerminating, // being deleted already: wait for it to go
  finished, // Succeeded or Failed: evict (delete) it, nothing to lose
  // This project's checks:
  controllerMissing, // the controller it names is gone: blocks unless --force
  safeToEvictFalse, // cluster-autoscaler's opt-out: blocks unless --ignore-opt-outs
  doNotDisrupt, // karpenter's opt-out: blocks unless --ignore-opt-outs
  disruptionBudget, // its PDBs counted across the whole drain: several, never, waits, one by one
  permissionUnknown, // a read this pod's plan needed was forbidden
  workloadOutage, // its workload loses every ready replica
  unplaceable, // its replacement would stay Pending (pinned by a local volume): blocks unless --allow-unplaceable
  pdbNeverRecovers, // its PDB waits for a replacement that cannot be placed: blocks unless --allow-unplaceable
  placementUncertain, // whether its replacement fits depends on the scheduler's choices
  placedAfterMove, // its replacement fits only after other evicted pods are placed
  placementUnknown, // part of where its replacement goes is not decided by the plan
  hostPathData, // hostPath volumes: their data stays on the node
  customScheduler, // another scheduler places its replacement
];

export function skipDeletedLongAgo(pod: V1Pod, { now, skipWaitSeconds }: FilterInput): FilterVerdict {
  const deletedAt = pod.metadata?.deletionTimestamp;
  if (!deletedAt || skipWaitSeconds <= 0) return PASS;
  const since = (now.getTime() - new Date(deletedAt).getTime()) / 1000;
  if (Math.trunc(since) <= skipWaitSeconds) return PASS;
  const message = `terminating for ${Math.round(since)}s, longer than --skip-wait-for-delete-timeout`;
  return { action: 'skip', reasons: [reason('Terminating', 'info', message)] };
}

export function daemonSetPod(pod: V1Pod, { facts, options, rules }: FilterInput): FilterVerdict {
  const controller = controllerOf(pod);
  if (!controller || !isDaemonSetRef(controller, rules) || isTerminal(pod)) return PASS;
  if (facts.controllerExists === false) {
    const message =
      controller.apiVersion === 'apps/v1'
        ? `DaemonSet ${controller.name} no longer exists`
        : `its controller is the ${controller.apiVersion} DaemonSet ${controller.name}, which kubectl before 1.34 ` +
          'looks up as an apps/v1 DaemonSet, and there is none';
    return refusedUnless(options.force, 'OrphanedDaemonSetPod', message, '--force');
  }
  const message = `managed by DaemonSet ${controller.name}`;
  if (!options.ignoreDaemonSets) {
    return { action: 'blocked', reasons: [reason('DaemonSetPod', 'block', message, '--ignore-daemonsets')] };
  }
  // Skipped, and never waited for, even while it terminates.
  return { action: 'skip', reasons: [reason('DaemonSetPod', 'info', message)] };
}

export function mirrorPod(pod: V1Pod): FilterVerdict {
  if (!isMirrorPod(pod)) return PASS;
  return { action: 'skip', reasons: [reason('MirrorPod', 'info', 'static pod mirrored from the kubelet')] };
}

export function localStorageVolumes(pod: V1Pod, { options }: FilterInput): FilterVerdict {
  const emptyDirs = (pod.spec?.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name);
  if (emptyDirs.length === 0 || isTerminal(pod)) return PASS;
  const message = `emptyDir ${plural(emptyDirs.length, 'volume')} ${emptyDirs.join(', ')}`;
  return refusedUnless(options.deleteEmptyDirData, 'LocalStorage', message, '--delete-emptydir-data');
}

export function unreplicated(pod: V1Pod, { options }: FilterInput): FilterVerdict {
  if (controllerOf(pod) || isTerminal(pod)) return PASS;
  return refusedUnless(options.force, 'Unmanaged', 'no controller', '--force');
}

export function alreadyTerminating(pod: V1Pod): FilterVerdict {
  if (!pod.metadata?.deletionTimestamp) return PASS;
  return { action: 'wait', reasons: [reason('Terminating', 'info', 'already terminating')] };
}

export function finished(pod: V1Pod): FilterVerdict {
  if (!isTerminal(pod)) return PASS;
  return { action: 'evict', reasons: [reason('Finished', 'info', `phase ${pod.status?.phase}`)] };
}

export function controllerMissing(pod: V1Pod, { facts, options, rules }: FilterInput): FilterVerdict {
  const controller = controllerOf(pod);
  if (!controller || isDaemonSetRef(controller, rules) || facts.controllerExists !== false) return PASS;
  const message = `${controller.kind} ${controller.name} no longer exists`;
  return found(blocksUnless(options.force, 'ControllerMissing', message, '--force'));
}

const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
const DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt';

export function safeToEvictFalse(pod: V1Pod, { options }: FilterInput): FilterVerdict {
  if (pod.metadata?.annotations?.[SAFE_TO_EVICT] !== 'false') return PASS;
  return found(
    blocksUnless(options.ignoreOptOuts, 'SafeToEvictFalse', `${SAFE_TO_EVICT}: "false"`, '--ignore-opt-outs'),
  );
}

export function doNotDisrupt(pod: V1Pod, { options }: FilterInput): FilterVerdict {
  if (pod.metadata?.annotations?.[DO_NOT_DISRUPT] !== 'true') return PASS;
  return found(blocksUnless(options.ignoreOptOuts, 'DoNotDisrupt', `${DO_NOT_DISRUPT}: "true"`, '--ignore-opt-outs'));
}

/** The PDB finding of one pod: several PDBs, one that never allows, waits, or lets pods go one by one. */
export function disruptionBudget(pod: V1Pod, { facts, options }: FilterInput): FilterVerdict {
  const { pdbs } = facts;
  if (options.disableEviction) {
    if (pdbs.length === 0) return PASS;
    const names = pdbs.map((pdb) => `PDB ${pdb.namespace}/${pdb.name}`).join(', ');
    return found(reason('EvictionDisabled', 'warning', `deleted without checking ${names}`));
  }
  // The API server deletes a Pending (or finished, or terminating) pod without looking at any PDB.
  if (!pdbApplies(pod)) return PASS;
  if (pdbs.length > 1) {
    const names = pdbs.map((pdb) => `${pdb.namespace}/${pdb.name}`).join(' and ');
    return found(reason('MultiplePdbs', 'block', `covered by ${names}`, '--disable-eviction'));
  }
  const pdb = pdbs[0];
  if (!pdb) return PASS;
  const budget = describeBudget(pdb);
  if (pdb.verdict === 'never' && isPodReady(pod))
    return found(reason('PdbNeverAllows', 'block', `${budget}: it can never allow one`, '--disable-eviction'));
  if (
    pdb.verdict === 'waits' &&
    pdb.desiredHealthy === 0 &&
    !isPodReady(pod) &&
    pdb.unhealthyPodEvictionPolicy !== 'AlwaysAllow'
  ) {
    const refusal = `"needs 0 healthy pods and has ${pdb.currentHealthy}"`;
    const message = `${budget}: the API server refuses its unready pods (${refusal}) until one is Ready`;
    return found(reason('PdbAllowsNone', 'warning', message));
  }
  if (pdb.verdict === 'waits') {
    const notHealthy = pdb.notHealthy ?? [];
    const why = notHealthy.length
      ? `; not healthy: ${firstAndMore(notHealthy, 3, { separator: '; ', parenthesized: true })}`
      : '';
    return found(reason('PdbAllowsNone', 'warning', `${budget}${why}`));
  }
  if (pdb.verdict === 'one-by-one') {
    const using = pdb.healthyInDrain + (pdb.unhealthyNeedBudget ?? 0);
    return found(reason('PdbSerial', 'info', `${budget}; this drain evicts ${using} of the pods it counts`));
  }
  return PASS;
}

export function permissionUnknown(_pod: V1Pod, { facts }: FilterInput): FilterVerdict {
  return facts.permissionUnknown ? found(reason('PermissionUnknown', 'warning', facts.permissionUnknown)) : PASS;
}

export function workloadOutage(_pod: V1Pod, { facts }: FilterInput): FilterVerdict {
  return facts.outage ? found(reason('WorkloadOutage', 'warning', facts.outage)) : PASS;
}

export function unplaceable(_pod: V1Pod, { facts, options }: FilterInput): FilterVerdict {
  if (facts.pinnedBy) {
    const message = `local PersistentVolume ${facts.pinnedBy}${facts.wontFit ? `: ${facts.wontFit}` : ''}`;
    return found(blocksUnless(options.allowUnplaceable, 'PinnedByLocalVolume', message, '--allow-unplaceable'));
  }
  if (!facts.wontFit) return PASS;
  return found(blocksUnless(options.allowUnplaceable, 'WontFit', facts.wontFit, '--allow-unplaceable'));
}

export function pdbNeverRecovers(_pod: V1Pod, { facts, options }: FilterInput): FilterVerdict {
  if (!facts.pdbNeverRecovers) return PASS;
  const { allowUnplaceable } = options;
  return found(blocksUnless(allowUnplaceable, 'PdbNeverRecovers', facts.pdbNeverRecovers, '--allow-unplaceable'));
}

export function placementUncertain(_pod: V1Pod, { facts }: FilterInput): FilterVerdict {
  return facts.uncertain ? found(reason('PlacementUncertain', 'warning', facts.uncertain)) : PASS;
}

export function placedAfterMove(_pod: V1Pod, { facts }: FilterInput): FilterVerdict {
  const pods = facts.dependsOn ?? [];
  if (pods.length === 0) return PASS;
  const message = `fits only after ${listPods(pods)} ${plural(pods.length, 'is', 'are')} placed`;
  return found(reason('PlacedAfterMove', 'info', message));
}

export function placementUnknown(_pod: V1Pod, { facts }: FilterInput): FilterVerdict {
  const notes = facts.placementNotes ?? [];
  return notes.length ? found(reason('PlacementUnknown', 'info', notes.join('; '))) : PASS;
}

export function hostPathData(pod: V1Pod): FilterVerdict {
  const hostPaths = (pod.spec?.volumes ?? []).filter((v) => v.hostPath).map((v) => v.hostPath!.path);
  return hostPaths.length ? found(reason('HostPathData', 'warning', `hostPath ${hostPaths.join(', ')}`)) : PASS;
}

export function customScheduler(pod: V1Pod): FilterVerdict {
  const scheduler = pod.spec?.schedulerName;
  if (!scheduler || scheduler === 'default-scheduler') return PASS;
  return found(reason('CustomScheduler', 'warning', `schedulerName ${scheduler}`));
}

/** The pod goes on to the next filter: nothing found. */
const PASS: FilterVerdict = Object.freeze({ reasons: Object.freeze([]) });

/** Lets the pod through with one finding. */
function found(finding: Reason): FilterVerdict {
  return { reasons: [finding] };
}

/** kubectl's refusal, which a flag overrides: without the flag the pod is blocked here; with it, a warning. */
function refusedUnless(overridden: boolean, code: ReasonCode, message: string, flag: string): FilterVerdict {
  if (overridden) return found(reason(code, 'warning', message, flag));
  return { action: 'blocked', reasons: [reason(code, 'block', message, flag)] };
}

/** A finding that blocks the pod unless `overridden`, then only a warning. */
function blocksUnless(overridden: boolean | undefined, code: ReasonCode, message: string, flag: string): Reason {
  return reason(code, overridden ? 'warning' : 'block', message, flag);
}

/**
 * kubectl drain's DaemonSet test (pkg/drain/filters.go): from kubectl 1.34
 * (isControllerRefDaemonSet) the controller's kind and its apiVersion,
 * exactly apps/v1, so a DaemonSet of another group (OpenKruise's, say) is a
 * controller like any other; before 1.34 the kind alone.
 */
function isDaemonSetRef(ref: { kind: string; apiVersion: string } | undefined, rules: KubectlDrainRules): boolean {
  return ref?.kind === 'DaemonSet' && (rules.daemonSetAnyGroup || ref.apiVersion === 'apps/v1');
}

function listPods(keys: string[]): string {
  return firstAndMore(keys, 3);
}
