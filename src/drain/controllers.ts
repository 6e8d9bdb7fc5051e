/**
 * The built-in controllers a drain plan reads, by API group and kind. Pure.
 */
import { RESOURCES, type ResourceType } from '../kube/url.js';
import type { KubectlDrainRules } from './rules.js';

const CONTROLLER_TYPES: Record<string, ResourceType> = {
  ReplicaSet: RESOURCES.replicaSets,
  Deployment: RESOURCES.deployments,
  StatefulSet: RESOURCES.statefulSets,
  DaemonSet: RESOURCES.daemonSets,
  Job: RESOURCES.jobs,
  CronJob: RESOURCES.cronJobs,
  ReplicationController: RESOURCES.replicationControllers,
};

/**
 * The resource to read for a controller reference, by API group and kind: a
 * kind of another group (OpenKruise's apps.kruise.io StatefulSet or
 * DaemonSet) is not one of them, and whether it exists stays unknown.
 */
export function controllerType(ref: { apiVersion?: string; kind: string }): ResourceType | undefined {
  const type = CONTROLLER_TYPES[ref.kind];
  if (!type) return undefined;
  const group = ref.apiVersion?.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
  return group === type.group ? type : undefined;
}

/**
 * The resource kubectl drain looks a controller up in: a built-in one of its
 * own group, and, for kubectl before 1.34, any kind DaemonSet as an apps/v1
 * DaemonSet of that name (kubectl.daemonSetAnyGroup).
 */
export function controllerLookup(
  ref: { apiVersion?: string; kind: string },
  kubectl: KubectlDrainRules,
): ResourceType | undefined {
  if (ref.kind === 'DaemonSet' && kubectl.daemonSetAnyGroup) return RESOURCES.daemonSets;
  return controllerType(ref);
}
