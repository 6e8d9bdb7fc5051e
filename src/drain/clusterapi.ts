/**
 * The DrainApi against a real cluster: each call one request (or one list)
 * through the KubeClient, and watchGone a pod informer per drained node
 * (GoneTracker).
 */
import type { CoreV1Event, V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import { apiStatusOf } from '../kube/apierror.js';
import { MERGE_PATCH, type KubeClient } from '../kube/client.js';
import { Informer } from '../kube/informer.js';
import { listPath } from '../kube/list.js';
import {
  controllerOf,
  isPodReady,
  latestMessages,
  podStuckReason,
  podWaitReason,
  schedulerAnswer,
} from '../kube/objects.js';
import { formatSelector, type LabelSelector } from '../kube/selector.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import type { ControlledPod, DrainApi, GoneWatch } from './api.js';
import type { OwnerRef } from './model.js';

const WORKLOADS: Record<string, (typeof RESOURCES)[keyof typeof RESOURCES]> = {
  Deployment: RESOURCES.deployments,
  StatefulSet: RESOURCES.statefulSets,
  ReplicaSet: RESOURCES.replicaSets,
};

export function clusterDrainApi(client: KubeClient): DrainApi {
  return {
    readNode: (name) => client.request<V1Node>('GET', resourcePath(RESOURCES.nodes, { name })),
    async setUnschedulable(name, unschedulable) {
      await client.request('PATCH', resourcePath(RESOURCES.nodes, { name }), {
        body: { spec: { unschedulable: unschedulable ? true : null } },
        contentType: MERGE_PATCH,
      });
    },
    async evict(pod, opts) {
      const deleteOptions = {
        preconditions: { uid: pod.uid },
        ...(opts.gracePeriodSeconds >= 0 ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
      };
      if (opts.deleteInstead) {
        await client.request('DELETE', resourcePath(RESOURCES.pods, { namespace: pod.namespace, name: pod.name }), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', ...deleteOptions },
          retryThrottle: false,
        });
        return;
      }
      // The eviction loop tells a PDB's 429 from throttling itself, and counts both.
      await client.request(
        'POST',
        resourcePath(RESOURCES.pods, { namespace: pod.namespace, name: pod.name, subresource: 'eviction' }),
        {
          retryThrottle: false,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: pod.name, namespace: pod.namespace },
            deleteOptions,
          },
        },
      );
    },
    readPod: (namespace, name) => client.request<V1Pod>('GET', resourcePath(RESOURCES.pods, { namespace, name })),
    readPdb: (namespace, name) =>
      client.request<V1PodDisruptionBudget>('GET', resourcePath(RESOURCES.podDisruptionBudgets, { namespace, name })),
    watchGone: (fromVersions, tracked, onFatal, skipWaitSeconds) =>
      new GoneTracker(client, fromVersions, tracked, onFatal, skipWaitSeconds),
    async unservingPods(namespace, name) {
      const pdb = await client.request<V1PodDisruptionBudget>(
        'GET',
        resourcePath(RESOURCES.podDisruptionBudgets, { namespace, name }),
      );
      const selector = formatSelector(pdb.spec?.selector as LabelSelector | undefined);
      if (selector === '<none>') return [];
      const pods = await listPath<V1Pod>(
        client,
        resourcePath(RESOURCES.pods, { namespace }),
        selector === '<all>' ? {} : { labelSelector: selector },
      );
      return pods.items.flatMap((pod) => {
        const reason = podWaitReason(pod);
        return reason ? [{ name: pod.metadata?.name ?? '', reason }] : [];
      });
    },
    controlledPods: (namespace, controllers) => controlledPods(client, namespace, controllers),
    async availability(workload) {
      const type = WORKLOADS[workload.kind];
      if (!type) return { want: 0, have: 0 };
      type Workload = { spec?: { replicas?: number }; status?: { availableReplicas?: number; readyReplicas?: number } };
      const obj = await client
        .request<Workload>('GET', resourcePath(type, { namespace: workload.namespace, name: workload.name }))
        .catch((err: unknown) => {
          // Deleted since: nothing left to wait for.
          if (apiStatusOf(err)?.code === 404) return undefined;
          throw err;
        });
      if (!obj) return { want: 0, have: 0 };
      const want = obj.spec?.replicas ?? 1;
      const have =
        workload.kind === 'StatefulSet' ? (obj.status?.readyReplicas ?? 0) : (obj.status?.availableReplicas ?? 0);
      return { want, have };
    },
    error: (what, err) => client.error(what, err),
    get requests() {
      return client.requests;
    },
  };
}

async function controlledPods(
  client: KubeClient,
  namespace: string,
  controllers: OwnerRef[],
): Promise<ControlledPod[]> {
  const wanted = new Set(controllers.map((controller) => `${controller.kind}/${controller.name}`));
  // resourceVersion=0: from the API server's watch cache, not etcd, as this is asked every few seconds.
  const list = await client.request<{ items: V1Pod[] }>('GET', resourcePath(RESOURCES.pods, { namespace }), {
    query: { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', resourceVersion: '0' },
  });
  const mine = list.items.filter((pod) => {
    const controller = controllerOf(pod);
    return (
      controller &&
      wanted.has(`${controller.kind}/${controller.name}`) &&
      !pod.metadata?.deletionTimestamp &&
      !isPodReady(pod)
    );
  });
  // The scheduler's words are in its FailedScheduling event when the condition has none.
  const wordless = mine.some((pod) => schedulerAnswer(pod)?.status === 'False' && !schedulerAnswer(pod)?.message);
  const messages = wordless ? await failedScheduling(client, namespace) : new Map<string, string>();
  return mine.map((pod) => {
    const controller = controllerOf(pod)!;
    const uid = pod.metadata?.uid ?? '';
    const stuck = podStuckReason(pod, messages.get(uid));
    return {
      name: pod.metadata?.name ?? '',
      uid,
      controller: { kind: controller.kind, name: controller.name },
      answered: schedulerAnswer(pod) !== undefined,
      ...(stuck ? { stuck } : {}),
    };
  });
}

/** The scheduler's latest FailedScheduling message per pod UID; none when the events may not be read. */
async function failedScheduling(client: KubeClient, namespace: string): Promise<Map<string, string>> {
  const events = await listPath<CoreV1Event>(client, resourcePath(RESOURCES.events, { namespace }), {
    fieldSelector: 'reason=FailedScheduling,involvedObject.kind=Pod',
  }).catch(() => undefined);
  return events ? latestMessages(events.items) : new Map();
}

/**
 * Tracks pods by UID until they are gone: one pod informer per drained node,
 * watching from the plan's own list (no second list), marking a UID gone on
 * its DELETED event, or when a relist no longer has it.
 */
export class GoneTracker implements GoneWatch {
  private readonly waiters = new Map<string, (how: 'gone' | 'not-waited') => void>();
  private readonly gone = new Map<string, 'gone' | 'not-waited'>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly stopAll = new AbortController();
  private readonly informers: Array<Informer<V1Pod>> = [];

  constructor(
    client: KubeClient,
    fromVersions: Map<string, string>,
    /** The UIDs waited for, per node: a relist of one node speaks only for that node's pods. */
    tracked: Map<string, Set<string>>,
    /** Called when the API server stays unreachable: waiting on is pointless. */
    onFatal: (err: unknown) => void,
    /** kubectl's --skip-wait-for-delete-timeout: a pod deleting for longer is not waited for (0: off). */
    private readonly skipWaitSeconds = 0,
  ) {
    for (const [node, rv] of fromVersions) {
      const mine = tracked.get(node) ?? new Set<string>();
      const informer = new Informer<V1Pod>(
        client,
        resourcePath(RESOURCES.pods),
        { fieldSelector: `spec.nodeName=${node}`, timeoutSeconds: '300' },
        {
          onEvent: (type, pod) => {
            const uid = pod.metadata?.uid;
            if (!uid || !mine.has(uid)) return;
            if (type === 'DELETED') this.markGone(uid, 'gone');
            else this.watchDeletion(uid, pod);
          },
          onSync: (items) => {
            const present = new Map([...items.values()].map((p) => [p.metadata?.uid, p]));
            for (const uid of mine) {
              const pod = present.get(uid);
              if (!pod) this.markGone(uid, 'gone');
              else this.watchDeletion(uid, pod);
            }
          },
          onFatal,
        },
        client.outageMs,
      );
      this.informers.push(informer);
      informer.start(this.stopAll.signal, rv).catch(onFatal);
    }
  }

  /** With --skip-wait-for-delete-timeout, a pod deleting for that long counts as done, as in kubectl. */
  private watchDeletion(uid: string, pod: V1Pod): void {
    const deleting = pod.metadata?.deletionTimestamp;
    if (this.skipWaitSeconds <= 0 || !deleting || this.timers.has(uid) || this.gone.has(uid)) return;
    const at = new Date(deleting).getTime() + this.skipWaitSeconds * 1000;
    const timer = setTimeout(() => this.markGone(uid, 'not-waited'), Math.max(0, at - Date.now()) + 1000);
    timer.unref();
    this.timers.set(uid, timer);
  }

  private markGone(uid: string, how: 'gone' | 'not-waited'): void {
    if (this.gone.has(uid)) return;
    this.gone.set(uid, how);
    this.waiters.get(uid)?.(how);
    this.waiters.delete(uid);
  }

  /** Resolves when the pod is gone (or not waited for); rejects with the signal's reason if it aborts first. */
  waitGone(uid: string, signal: AbortSignal): Promise<'gone' | 'not-waited'> {
    const known = this.gone.get(uid);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(uid);
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(uid, (how) => {
        signal.removeEventListener('abort', onAbort);
        resolve(how);
      });
    });
  }

  close(): void {
    for (const informer of this.informers) informer.stop();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.stopAll.abort();
  }
}
