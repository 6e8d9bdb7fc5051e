/** Small facts about API objects, read the same way by every command. Pure. */
import type { V1Node, V1OwnerReference, V1Pod } from '@kubernetes/client-node';

interface Conditioned {
  status?: { conditions?: Array<{ type: string; status: string }> };
}

function conditionTrue(obj: Conditioned, type: string): boolean {
  return obj.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

export function isPodReady(pod: V1Pod): boolean {
  return conditionTrue(pod as Conditioned, 'Ready');
}

/** Succeeded or Failed: the pod will not run again. */
export function isTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** A static pod the kubelet mirrors into the API. */
export function isMirrorPod(pod: V1Pod): boolean {
  return pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
}

export function isNodeReady(node: V1Node): boolean {
  return conditionTrue(node as Conditioned, 'Ready');
}

interface Owned {
  metadata?: { ownerReferences?: V1OwnerReference[] | Array<{ uid: string; controller?: boolean; kind?: string; name?: string }> };
}

/** The owner reference marked controller, if any. */
export function controllerOf(obj: { metadata?: { ownerReferences?: V1OwnerReference[] } }): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((o) => o.controller === true);
}

/** Whether the object's controller is the object with this UID. */
export function isControlledBy(obj: Owned, uid: string | undefined): boolean {
  return Boolean(uid) && (obj.metadata?.ownerReferences ?? []).some((o) => o.controller === true && o.uid === uid);
}

/**
 * Why a pod is not serving, in a few words, or undefined when it is (or
 * is going away): unschedulable (the scheduler's own message), an image or
 * crash-loop wait, or still starting.
 */
export function podWaitReason(pod: V1Pod): string | undefined {
  if (pod.metadata?.deletionTimestamp || isPodReady(pod)) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return `Pending, unschedulable: ${scheduled.message ?? scheduled.reason ?? 'no node fits'}`;
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && !['ContainerCreating', 'PodInitializing'].includes(waiting.reason)) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  }
  return phase === 'Running' ? 'running, not Ready yet' : 'starting';
}
