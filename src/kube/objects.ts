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
  metadata?: {
    ownerReferences?: V1OwnerReference[] | Array<{ uid: string; controller?: boolean; kind?: string; name?: string }>;
  };
}

/** The owner reference marked controller, if any. */
export function controllerOf(obj: {
  metadata?: { ownerReferences?: V1OwnerReference[] };
}): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((o) => o.controller === true);
}

/** Whether the object's controller is the object with this UID. */
export function isControlledBy(obj: Owned, uid: string | undefined): boolean {
  return Boolean(uid) && (obj.metadata?.ownerReferences ?? []).some((o) => o.controller === true && o.uid === uid);
}

/** The scheduler's answer for a pod (its PodScheduled condition); undefined until it has answered. */
export function schedulerAnswer(pod: V1Pod): { status: string; reason?: string; message?: string } | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

/** Deleting, Succeeded or Failed: the pod will not start again. */
function goingOrDone(pod: V1Pod): boolean {
  return Boolean(pod.metadata?.deletionTimestamp) || isTerminal(pod);
}

/**
 * Why a pod cannot start, in a few words, or undefined while it can (it is
 * Ready, still starting, not yet answered by the scheduler, or going away):
 * unschedulable, in the scheduler's words (`schedulerMessage`, from its
 * FailedScheduling event, when the condition has none), or a container wait
 * that does not pass by itself (ImagePullBackOff, CrashLoopBackOff,
 * CreateContainerConfigError...).
 */
export function podStuckReason(pod: V1Pod, schedulerMessage?: string): string | undefined {
  if (goingOrDone(pod) || isPodReady(pod)) return undefined;
  const scheduled = schedulerAnswer(pod);
  // The scheduler is evicting lower-priority pods to make room: not stuck.
  if (pod.status?.nominatedNodeName) return undefined;
  if (scheduled?.status === 'False')
    return `Pending, unschedulable: ${scheduled.message || schedulerMessage || scheduled.reason || 'no node fits'}`;
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && !['ContainerCreating', 'PodInitializing'].includes(waiting.reason))
      return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  }
  return undefined;
}

/**
 * Why a pod is not serving, in a few words, or undefined when it is (or
 * is going away): unschedulable (the scheduler's own message), an image or
 * crash-loop wait, or still starting.
 */
export function podWaitReason(pod: V1Pod): string | undefined {
  if (goingOrDone(pod) || isPodReady(pod)) return undefined;
  const nominated = pod.status?.nominatedNodeName;
  if (nominated && !pod.spec?.nodeName) return `Pending, preempting lower-priority pods on ${nominated}`;
  return podStuckReason(pod) ?? (pod.status?.phase === 'Running' ? 'running, not Ready yet' : 'starting');
}

interface EventLike {
  involvedObject?: { uid?: string };
  message?: string;
  eventTime?: Date | string | null;
  lastTimestamp?: Date | string | null;
  firstTimestamp?: Date | string | null;
  series?: { lastObservedTime?: Date | string | null } | null;
}

/** The latest event's message per object UID: the newest words of a component (the scheduler's FailedScheduling). */
export function latestMessages(events: EventLike[]): Map<string, string> {
  const at = (e: EventLike): number =>
    new Date(e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime() || 0;
  const best = new Map<string, EventLike>();
  for (const e of events) {
    const uid = e.involvedObject?.uid;
    if (!uid || !e.message) continue;
    const seen = best.get(uid);
    if (!seen || at(e) >= at(seen)) best.set(uid, e);
  }
  return new Map([...best].map(([uid, e]) => [uid, e.message ?? '']));
}
