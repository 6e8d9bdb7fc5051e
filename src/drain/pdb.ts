/**
 * PodDisruptionBudgets, counted across every pod of one drain. Pure.
 *
 * The API server's eviction rules (pkg/registry/core/pod/storage/eviction.go):
 * a Pending, finished or terminating pod is deleted without looking at any
 * PDB; a healthy (Ready) pod needs disruptionsAllowed > 0; an unhealthy pod
 * goes without using budget when the policy is AlwaysAllow, or, under
 * IfHealthyBudget (the default), when the budget is currently met
 * (currentHealthy >= desiredHealthy) and requires some pod (desiredHealthy
 * > 0); otherwise it needs budget like a healthy one. So a PDB that requires
 * 0 healthy pods and has none refuses its unready pods with 429 "needs 0
 * healthy pods and has 0" until one of them is Ready.
 */
import type { V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import { plural } from '../base/text.js';
import { isPodReady } from '../kube/objects.js';
import { matchesSelector } from '../kube/selector.js';
import type { PdbPlan } from './model.js';

/** The PDBs whose selector matches the pod (same namespace only). */
export function pdbsCovering(pod: V1Pod, pdbs: V1PodDisruptionBudget[]): V1PodDisruptionBudget[] {
  return pdbs.filter(
    (pdb) =>
      pdb.metadata?.namespace === pod.metadata?.namespace && matchesSelector(pdb.spec?.selector, pod.metadata?.labels),
  );
}

export function pdbKey(pdb: V1PodDisruptionBudget): string {
  return `${pdb.metadata?.namespace ?? ''}/${pdb.metadata?.name ?? ''}`;
}

/** How a PDB fares when this drain evicts `pods` (the pods of the drain it covers). */
export function pdbBudgetAfter(pdb: V1PodDisruptionBudget, pods: V1Pod[]): PdbPlan {
  const status = pdb.status;
  const currentHealthy = status?.currentHealthy ?? 0;
  const desiredHealthy = status?.desiredHealthy ?? 0;
  const expectedPods = status?.expectedPods ?? 0;
  const disruptionsAllowed = status?.disruptionsAllowed ?? 0;
  const policy = pdb.spec?.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
  const counted = pods.filter(pdbApplies);
  const healthy = counted.filter(isPodReady);
  const unhealthy = counted.filter((p) => !isPodReady(p));
  const unhealthyFree = policy === 'AlwaysAllow' || (currentHealthy >= desiredHealthy && desiredHealthy > 0);
  const usingBudget = healthy.length + (unhealthyFree ? 0 : unhealthy.length);
  let verdict: PdbPlan['verdict'] = 'at-once';
  // A PDB that requires every pod it expects never allows a Ready one. An unready one is a wait, not
  // a block: a crash-looping container without a readiness probe flaps Ready, and an eviction that
  // meets it unready while the PDB's status still counts it healthy goes through (the twin test
  // against kubectl drain sees exactly that).
  if (healthy.length > 0 && expectedPods - desiredHealthy <= 0) verdict = 'never';
  else if (usingBudget > 0 && disruptionsAllowed <= 0) verdict = 'waits';
  else if (usingBudget > disruptionsAllowed) verdict = 'one-by-one';
  return {
    namespace: pdb.metadata?.namespace ?? '',
    name: pdb.metadata?.name ?? '',
    currentHealthy,
    desiredHealthy,
    expectedPods,
    disruptionsAllowed,
    unhealthyPodEvictionPolicy: policy,
    podsInDrain: pods.length,
    healthyInDrain: healthy.length,
    unhealthyNeedBudget: unhealthyFree ? 0 : unhealthy.length,
    verdict,
  };
}

/** Whether the API server checks PDBs at all when evicting this pod. */
export function pdbApplies(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !(phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata?.deletionTimestamp);
}

/** The PDB's numbers in one phrase, as messages show them. */
export function describeBudget(
  pdb: Pick<
    PdbPlan,
    'namespace' | 'name' | 'currentHealthy' | 'desiredHealthy' | 'disruptionsAllowed' | 'expectedPods'
  >,
): string {
  const allows = `${pdb.disruptionsAllowed} ${plural(pdb.disruptionsAllowed, 'disruption')}`;
  const counts = `${pdb.currentHealthy} healthy, ${pdb.desiredHealthy} required of ${pdb.expectedPods}`;
  return `PDB ${pdb.namespace}/${pdb.name} allows ${allows} (${counts})`;
}
