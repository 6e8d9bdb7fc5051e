/**
 * The narrow API the drain executor works through: the real one goes to
 * the cluster (clusterDrainApi); the unit tests give an in-memory fake that
 * answers what a real cluster rarely does (429 with and without
 * Retry-After, 500 "more than one PodDisruptionBudget", 403
 * NamespaceTerminating, a reset connection, a pod replaced under the same
 * name).
 */
import type { CoreV1Event, V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import type { StudyError } from '../base/errors.js';
import { apiStatusOf } from '../kube/apierror.js';
import { MERGE_PATCH, type KubeClient } from '../kube/client.js';
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
import type { OwnerRef } from './model.js';
import { GoneTracker } from './wait.js';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  node: string;
}

export interface WorkloadRef {
  namespace: string;
  kind: string;
  name: string;
}

/** A pod of one of the evicted pods' controllers that is not Ready: a replacement, perhaps, and whether it can start. */
export interface ControlledPod {
  name: string;
  uid: string;
  controller: OwnerRef;
  /** The scheduler has answered (the pod has a PodScheduled condition). */
  answered: boolean;
  /** Why it cannot start (Pending unschedulable, ImagePullBackOff...); absent while it can. */
  stuck?: string;
}

/** Waits for pods, by UID, to be gone: or, past --skip-wait-for-delete-timeout, for them to have been deleting long enough. */
export interface GoneWatch {
  waitGone(uid: string, signal: AbortSignal): Promise<'gone' | 'not-waited'>;
  close(): void;
}

export interface DrainApi {
  /** Reads a node; throws the API's error. */
  readNode(name: string): Promise<V1Node>;
  setUnschedulable(name: string, unschedulable: boolean): Promise<void>;
  /** A policy/v1 Eviction (or, deleteInstead, a DELETE) with the pod's UID as precondition. */
  evict(pod: PodRef, opts: { gracePeriodSeconds: number; deleteInstead: boolean }): Promise<void>;
  readPod(namespace: string, name: string): Promise<V1Pod>;
  readPdb(namespace: string, name: string): Promise<V1PodDisruptionBudget>;
  /** Watches the pods of the drained nodes from the plan's list (resourceVersion per node). */
  watchGone(
    fromVersions: Map<string, string>,
    tracked: Map<string, Set<string>>,
    onFatal: (err: unknown) => void,
    skipWaitSeconds: number,
  ): GoneWatch;
  /** The pods a PDB counts that are not serving, with why (a Pending replacement, a crash loop). */
  unservingPods(namespace: string, pdb: string): Promise<Array<{ name: string; reason: string }>>;
  /** The pods of a namespace that one of `controllers` controls, not Ready and not going away: one list of the namespace. */
  controlledPods(namespace: string, controllers: OwnerRef[]): Promise<ControlledPod[]>;
  /** How many replicas a workload wants, and how many are available (ready for a StatefulSet). */
  availability(w: WorkloadRef): Promise<{ want: number; have: number }>;
  /** A failure as a typed error naming what was being done. */
  error(what: string, err: unknown): StudyError;
  /** Requests sent so far. */
  readonly requests: number;
}

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
      return pods.items.flatMap((p) => {
        const reason = podWaitReason(p);
        return reason ? [{ name: p.metadata?.name ?? '', reason }] : [];
      });
    },
    controlledPods: (namespace, controllers) => controlledPods(client, namespace, controllers),
    async availability(w) {
      const type = WORKLOADS[w.kind];
      if (!type) return { want: 0, have: 0 };
      type Workload = { spec?: { replicas?: number }; status?: { availableReplicas?: number; readyReplicas?: number } };
      const obj = await client
        .request<Workload>('GET', resourcePath(type, { namespace: w.namespace, name: w.name }))
        .catch((err: unknown) => {
          // Deleted since: nothing left to wait for.
          if (apiStatusOf(err)?.code === 404) return undefined;
          throw err;
        });
      if (!obj) return { want: 0, have: 0 };
      const want = obj.spec?.replicas ?? 1;
      const have = w.kind === 'StatefulSet' ? (obj.status?.readyReplicas ?? 0) : (obj.status?.availableReplicas ?? 0);
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
  const wanted = new Set(controllers.map((c) => `${c.kind}/${c.name}`));
  // resourceVersion=0: from the API server's watch cache, not etcd, as this is asked every few seconds.
  const list = await client.request<{ items: V1Pod[] }>('GET', resourcePath(RESOURCES.pods, { namespace }), {
    query: { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', resourceVersion: '0' },
  });
  const mine = list.items.filter((p) => {
    const c = controllerOf(p);
    return c && wanted.has(`${c.kind}/${c.name}`) && !p.metadata?.deletionTimestamp && !isPodReady(p);
  });
  // The scheduler's words are in its FailedScheduling event when the condition has none.
  const wordless = mine.some((p) => schedulerAnswer(p)?.status === 'False' && !schedulerAnswer(p)?.message);
  const messages = wordless ? await failedScheduling(client, namespace) : new Map<string, string>();
  return mine.map((p) => {
    const c = controllerOf(p)!;
    const uid = p.metadata?.uid ?? '';
    const stuck = podStuckReason(p, messages.get(uid));
    return {
      name: p.metadata?.name ?? '',
      uid,
      controller: { kind: c.kind, name: c.name },
      answered: schedulerAnswer(p) !== undefined,
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
