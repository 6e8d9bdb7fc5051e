/**
 * The narrow API a maintenance run works through: one node's steps
 * (MaintainApi, steps.ts), the nodes of a selector, the cluster's identity
 * for the journal, and the run's lock. The real one goes to the cluster
 * (clusterMaintainApi); the unit tests give an in-memory fake, so the
 * batch, lock and recovery loop is tested in milliseconds, as the
 * eviction loop is.
 */
import type { V1Node, V1PersistentVolume, V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';

import { mapLimit, sleep } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import { TimeoutError, type StudyError } from '../base/errors.js';
import {
  clusterDrainApi,
  cordon,
  DRAIN_DEFAULTS,
  evictedWorkloads,
  executeDrain,
  makePlan,
  makeRunPlan,
  waitAvailable,
  type DrainPlan,
} from '../drain/lib.js';
import type { KubeClient } from '../kube/client.js';
import { listPath } from '../kube/list.js';
import { nodesMatching } from '../kube/nodes.js';
import { isNodeReady } from '../kube/objects.js';
import { reviewAll, whoAmI } from '../kube/reviews.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import type { AccessCheck } from './access.js';
import { LOCK_NAME, MaintenanceLock, readLock, type LeaseState, type LockOptions } from './lease.js';
import type { MaintainOptions } from './options.js';
import type { MaintainApi } from './steps.js';
import type { ConfigMapApi, ConfigMapObject } from './store.js';
import { attachedVolumes, type AttachedVolume } from './volumes.js';

/** The run's hold on the cluster's maintenance lock (a MaintenanceLock, or the tests' fake). */
export interface RunLock {
  /** The holder whose expired lock this run took over, if it did. */
  readonly tookOverFrom: string | undefined;
  /** Renews the lock in the background until release(). */
  startRenewing(): void;
  /** Whether the run may still act. */
  held(): boolean;
  release(): Promise<void>;
}

export interface MaintainRunApi extends MaintainApi {
  /** The node names of a -l selector, in name order; none is a NoMatchError. */
  nodesMatching(selector: string): Promise<string[]>;
  /** The cluster's identity for the journal: its server and kube-system namespace's UID. */
  clusterIdentity(): Promise<{ server: string; uid: string }>;
  /** Takes the lock for this holder; a BlockedError while another run holds it. */
  acquireLock(holder: string): Promise<RunLock>;
  /** Who holds the lock now, for --dry-run; undefined when there is none. */
  readLock(): Promise<LeaseState | undefined>;
  /** A deadline's error while the API server has answered nothing yet (KubeClient.silenceError); else undefined. */
  silenceError(bound: string, consequence?: string): StudyError | undefined;
  /** The ConfigMaps the run's state is kept in (store.ts reads and writes it). */
  readonly configMaps: ConfigMapApi;
  /** Of these checks, the ones the API server says the caller may not do (a review that fails is not counted). */
  deniedAccess(checks: AccessCheck[]): Promise<AccessCheck[]>;
  /** Who the caller is, as the API server says (else as the kubeconfig names the user). */
  whoAmI(): Promise<string>;
}

/** The ConfigMap calls of the run's state over a connected client; each failure names the call. */
export function clusterConfigMaps(client: KubeClient): ConfigMapApi {
  const path = (namespace: string, name?: string): string =>
    resourcePath(RESOURCES.configMaps, name === undefined ? { namespace } : { namespace, name });
  return {
    get: (namespace, name) =>
      client.call(`read the run's state (configmap ${namespace}/${name})`, () =>
        client.request<ConfigMapObject>('GET', path(namespace, name)),
      ),
    // Sent again after a connection failure: a write that did arrive meets 409 (its resourceVersion is gone, or
    // the object exists), and the store reads again and finds its own change there.
    create: (namespace, body) =>
      client.call(`create the run's state (configmap ${namespace}/${body.metadata.name})`, () =>
        client.request<ConfigMapObject>('POST', path(namespace), { body, idempotent: true }),
      ),
    replace: (namespace, name, body) =>
      client.call(`update the run's state (configmap ${namespace}/${name})`, () =>
        client.request<ConfigMapObject>('PUT', path(namespace, name), { body, idempotent: true }),
      ),
  };
}

function lockOptionsOf(options: MaintainOptions): LockOptions {
  return { namespace: options.lockNamespace, name: LOCK_NAME, durationSeconds: options.lockDurationSeconds };
}

/**
 * The run's API over a connected client; `interrupt` (Ctrl-C, SIGTERM)
 * stops a drain, its own deadline does the rest.
 */
export function clusterMaintainApi(
  client: KubeClient,
  options: MaintainOptions,
  interrupt: AbortSignal,
): MaintainRunApi {
  const drainApi = clusterDrainApi(client);
  // The pods each plan saw, so that the drain tells replacements from pods that were there before.
  const existing = new WeakMap<DrainPlan, Set<string>>();
  return {
    planRun: (order, uncordon) => makeRunPlan(client, order, options.plan, options.maxUnavailable, uncordon),
    async plan(nodes) {
      const { plan, podListVersions, existingPods } = await makePlan(client, nodes, options.plan);
      existing.set(plan, existingPods);
      return { plan, podListVersions };
    },
    // The drain's own deadline covers the run's --timeout (steps.ts); only an interrupt stops it otherwise.
    drain: (plan, versions, deadline, onEvent) =>
      executeDrain(drainApi, plan, versions, {
        deadline,
        interrupt,
        concurrency: DRAIN_DEFAULTS.concurrency,
        gracePeriodSeconds: DRAIN_DEFAULTS.gracePeriodSeconds,
        disableEviction: false,
        waitHealthy: false,
        apiOutageMs: options.apiOutageMs,
        existingPods: existing.get(plan),
        onEvent,
      }),
    evictedWorkloads: (plan, result) => evictedWorkloads(plan, result.pods),
    isCordoned: async (node) => (await drainApi.readNode(node)).spec?.unschedulable === true,
    uncordon: async (node) => {
      await cordon(drainApi, node, false);
    },
    async waitReady(node, timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const current = await client.call(`get node ${node}`, () => drainApi.readNode(node));
        if (isNodeReady(current)) return;
        await sleep(2000, signal);
      }
      throw new TimeoutError(`node ${node} was not Ready within ${formatDuration(timeoutMs)}`);
    },
    waitAvailable: (workloads, until) => waitAvailable(drainApi, workloads, until, () => {}),
    attachedVolumes: (nodes) => clusterAttachedVolumes(client, nodes),
    nodesMatching: (selector) => nodesMatching(client, selector),
    async clusterIdentity() {
      const namespace = await client.call('read namespace kube-system', () =>
        client.request<{ metadata?: { uid?: string } }>(
          'GET',
          resourcePath(RESOURCES.namespaces, { name: 'kube-system' }),
        ),
      );
      return { server: client.server, uid: namespace.metadata?.uid ?? '' };
    },
    acquireLock: (holder) => MaintenanceLock.acquire(client, lockOptionsOf(options), holder),
    readLock: () => readLock(client, lockOptionsOf(options)),
    silenceError: (bound, consequence) => client.silenceError(bound, consequence),
    configMaps: clusterConfigMaps(client),
    async deniedAccess(checks) {
      const answers = await reviewAll(
        client,
        checks.map((c) => ({
          attributes: {
            verb: c.verb,
            group: c.group,
            resource: c.resource,
            ...(c.namespace ? { namespace: c.namespace } : {}),
            ...(c.name ? { name: c.name } : {}),
          },
        })),
      );
      return checks.filter((_, i) => {
        const answer = answers[i]!;
        return !('error' in answer) && !answer.allowed;
      });
    },
    async whoAmI() {
      try {
        return (await whoAmI(client)).username || client.context.userName;
      } catch {
        return client.context.userName;
      }
    },
  };
}

/**
 * The volumes attached to each node (volumes.ts): one list of the
 * VolumeAttachments and each node's status; the PersistentVolumes and the
 * pods on a node only when something is attached to it. PersistentVolumes
 * that may not be read leave the volumes named as their attachment names them.
 */
async function clusterAttachedVolumes(client: KubeClient, nodes: string[]): Promise<Map<string, AttachedVolume[]>> {
  const out = new Map<string, AttachedVolume[]>();
  const [attachments, nodeObjects] = await Promise.all([
    client.call('list volumeattachments', () =>
      listPath<V1VolumeAttachment>(client, resourcePath(RESOURCES.volumeAttachments)),
    ),
    mapLimit(nodes, 8, (name) =>
      client.call(`get node ${name}`, () => client.request<V1Node>('GET', resourcePath(RESOURCES.nodes, { name }))),
    ),
  ]);
  const busy = nodes.filter(
    (n, i) =>
      (nodeObjects[i]?.status?.volumesAttached?.length ?? 0) > 0 ||
      attachments.items.some((va) => va.spec?.nodeName === n),
  );
  if (busy.length === 0) return out;
  const persistentVolumes = await listPath<V1PersistentVolume>(client, resourcePath(RESOURCES.persistentVolumes)).catch(
    () => ({ items: [] as V1PersistentVolume[] }),
  );
  await mapLimit(busy, 8, async (node) => {
    const pods = await client.call(`list pods on node ${node}`, () =>
      listPath<V1Pod>(client, resourcePath(RESOURCES.pods), { fieldSelector: `spec.nodeName=${node}` }),
    );
    const status = nodeObjects[nodes.indexOf(node)]?.status?.volumesAttached ?? [];
    out.set(
      node,
      attachedVolumes(node, {
        volumesAttached: status,
        attachments: attachments.items,
        persistentVolumes: persistentVolumes.items,
        pods: pods.items,
      }),
    );
  });
  return out;
}
