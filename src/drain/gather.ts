/**
 * The API-facing half of the plan: reads everything buildPlan needs, and
 * only reads (plus access reviews). Every list is paginated; independent
 * reads run in parallel.
 */
import type {
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StorageClass,
} from '@kubernetes/client-node';

import { mapLimit } from '../base/concurrency.js';
import { ForbiddenError, NotFoundError } from '../base/errors.js';
import { plural } from '../base/text.js';
import { apiStatusOf } from '../kube/apierror.js';
import type { KubeClient } from '../kube/client.js';
import { listPath } from '../kube/list.js';
import { matchesSelector, parseLabelSelector } from '../kube/selector.js';
import { controllerOf, isTerminal } from '../kube/objects.js';
import { releaseFields, serverRelease } from '../kube/release.js';
import { selfAccessReview } from '../kube/reviews.js';
import { RESOURCES, resourcePath, type ResourceType } from '../kube/url.js';
import { controllerLookup, controllerType } from './controllers.js';
import {
  controllerKey,
  type ControllerInfo,
  permissionText,
  type PermissionCheck,
  type PlanInputs,
  type PlanOptions,
} from './model.js';
import { podClaims } from './placement/index.js';
import { drainRules, type KubectlDrainRules } from './rules.js';

export interface GatherOptions {
  options: PlanOptions;
  skipWaitForDeleteTimeoutSeconds: number;
  now: Date;
}

export interface Gathered extends PlanInputs {
  /** Per drained node: the resourceVersion of its pod list, where a watch can start. */
  podListVersions: Map<string, string>;
  /** UIDs of the pods that the drained pods' controllers had before the drain: none of them is a replacement. */
  existingPods: Set<string>;
}

export async function gatherPlanInputs(
  client: KubeClient,
  nodeNames: string[],
  opts: GatherOptions,
): Promise<Gathered> {
  const { options } = opts;
  const [nodeList, pods, pdbList, server] = await Promise.all([
    client.call('list nodes', () => listPath<V1Node>(client, resourcePath(RESOURCES.nodes))),
    listPods(client, nodeNames, options.podSelector),
    client.call('list poddisruptionbudgets', () =>
      listPath<V1PodDisruptionBudget>(client, resourcePath(RESOURCES.podDisruptionBudgets)),
    ),
    // The release whose rules the plan follows: the scheduler's and the kubectl drain's of that release.
    serverRelease(client),
  ]).catch((err: unknown) => (isForbidden(err) ? everyMissingPermission(client, err, options) : Promise.reject(err)));
  const known = new Set(nodeList.items.map((n) => n.metadata?.name));
  const missing = nodeNames.filter((n) => !known.has(n));
  if (missing.length) {
    throw new NotFoundError(`${plural(missing.length, 'node')} ${missing.map((n) => `"${n}"`).join(', ')} not found`, {
      hint: 'list the nodes with "kubectl get nodes"',
    });
  }
  const drainPods = pods.drained.flat();
  const podsByNode = new Map<string, V1Pod[]>();
  const unscheduled: V1Pod[] = [];
  for (const pod of pods.live) {
    const node = pod.spec?.nodeName;
    if (!node) {
      unscheduled.push(pod);
      continue;
    }
    const list = podsByNode.get(node) ?? [];
    list.push(pod);
    podsByNode.set(node, list);
  }
  const evictNamespaces = [...new Set(drainPods.map((p) => p.metadata?.namespace ?? ''))].sort();
  // Every step the drain takes. The reads have already succeeded by now, but
  // they are reviewed too so the plan lists exactly what the drain relies on.
  const wanted: PermissionRequest[] = [
    ...NODE_AND_POD_PERMISSIONS,
    ...evictNamespaces.map((namespace) =>
      options.disableEviction
        ? { verb: 'delete', resource: 'pods', group: '', namespace, required: true }
        : { verb: 'create', resource: 'pods', subresource: 'eviction', group: '', namespace, required: true },
    ),
  ];
  const unreadableControllers = new Set<string>();
  const rules = drainRules(server.release);
  const [controllers, extras, permissions] = await Promise.all([
    client.call('read the pods\u2019 controllers', () =>
      fetchControllers(client, drainPods, unreadableControllers, rules.kubectl),
    ),
    fetchPlacementExtras(client, drainPods, pods.live),
    client.call('review permissions', () => checkPermissions(client, wanted)),
  ]);
  return {
    nodeNames,
    nodes: nodeList.items,
    podsByNode,
    unscheduled,
    drainPods,
    pdbs: pdbList.items,
    controllers,
    unreadableControllers,
    ...extras,
    permissions,
    now: opts.now,
    options,
    skipWaitForDeleteTimeoutSeconds: opts.skipWaitForDeleteTimeoutSeconds,
    release: releaseFields(server),
    rules,
    podListVersions: new Map(nodeNames.map((n, i) => [n, pods.versions[i] ?? ''])),
    existingPods: siblingsOf(drainPods, pods.live),
  };
}

/** The permissions every drain needs, whatever its pods: the node, the pods, the PDBs. */
const NODE_AND_POD_PERMISSIONS: readonly PermissionRequest[] = [
  { verb: 'get', resource: 'nodes', group: '', required: true },
  { verb: 'patch', resource: 'nodes', group: '', required: true },
  { verb: 'list', resource: 'pods', group: '', required: true },
  { verb: 'get', resource: 'pods', group: '', required: true },
  { verb: 'watch', resource: 'pods', group: '', required: true },
  { verb: 'list', resource: 'poddisruptionbudgets', group: 'policy', required: true },
];

function isForbidden(err: unknown): boolean {
  return err instanceof ForbiddenError || apiStatusOf(err)?.code === 403;
}

/**
 * A read the plan cannot do without was refused: rather than stop at the
 * first 403, ask about every permission the drain needs and name each one
 * missing (the eviction's too, in every namespace, since the pods cannot be
 * listed to say which).
 */
async function everyMissingPermission(client: KubeClient, refused: unknown, options: PlanOptions): Promise<never> {
  const wanted: PermissionRequest[] = [
    ...NODE_AND_POD_PERMISSIONS,
    options.disableEviction
      ? { verb: 'delete', resource: 'pods', group: '', required: true }
      : { verb: 'create', resource: 'pods', subresource: 'eviction', group: '', required: true },
  ];
  const checks = await checkPermissions(client, wanted).catch(() => undefined);
  const missing = checks?.filter((c) => !c.allowed).map(permissionText) ?? [];
  if (!missing.length) throw refused;
  throw new ForbiddenError(`cannot plan the drain: you may not ${missing.join(', ')}; nothing was changed`, {
    hint: 'ask for those permissions (a drain needs every one of them before it changes anything)',
    cause: refused,
  });
}

/** Above this many nodes, one list of every pod (finished ones included) costs less than one list per node. */
const PER_NODE_LISTS_UP_TO = 3;

/**
 * The pods of the cluster that are not finished, and those on the drained
 * nodes (finished ones included, after --pod-selector), with the
 * resourceVersion per drained node where a watch can start: one list per
 * drained node for a few nodes, else one list of every pod split here.
 */
async function listPods(
  client: KubeClient,
  nodeNames: string[],
  podSelector: string | undefined,
): Promise<{ live: V1Pod[]; drained: V1Pod[][]; versions: string[] }> {
  const all = resourcePath(RESOURCES.pods);
  if (nodeNames.length > PER_NODE_LISTS_UP_TO) {
    const every = await client.call('list pods', () => listPath<V1Pod>(client, all));
    const selector = podSelector ? parseLabelSelector(podSelector) : undefined;
    const on = (name: string): V1Pod[] =>
      every.items.filter(
        (p) => p.spec?.nodeName === name && (!selector || matchesSelector(selector, p.metadata?.labels)),
      );
    return {
      live: every.items.filter((p) => !isTerminal(p)),
      drained: nodeNames.map(on),
      versions: nodeNames.map(() => every.resourceVersion),
    };
  }
  const [live, drained] = await Promise.all([
    client.call('list pods', () =>
      listPath<V1Pod>(client, all, { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
    ),
    Promise.all(
      nodeNames.map((name) =>
        client.call(`list pods on node ${name}`, () =>
          listPath<V1Pod>(client, all, { fieldSelector: `spec.nodeName=${name}`, labelSelector: podSelector }),
        ),
      ),
    ),
  ]);
  return { live: live.items, drained: drained.map((d) => d.items), versions: drained.map((d) => d.resourceVersion) };
}

export interface PermissionRequest {
  verb: string;
  resource: string;
  group: string;
  subresource?: string;
  namespace?: string;
  required: boolean;
}

type ControllerRef = { ns: string; kind: string; name: string; type: ResourceType };

interface ControllerObject {
  metadata?: { ownerReferences?: Array<{ apiVersion?: string; kind: string; name: string; controller?: boolean }> };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; numberReady?: number; desiredNumberScheduled?: number };
}

/**
 * Follows controller references (ReplicaSet -> Deployment, Job -> CronJob)
 * as far as allowed; a pod's own controller is looked up where the kubectl
 * of the server's release looks it up.
 */
async function fetchControllers(
  client: KubeClient,
  pods: V1Pod[],
  unreadable: Set<string>,
  kubectl: KubectlDrainRules,
): Promise<Map<string, ControllerInfo | null>> {
  const out = new Map<string, ControllerInfo | null>();
  let frontier = new Map<string, ControllerRef>();
  for (const pod of pods) {
    const ref = controllerOf(pod);
    const ns = pod.metadata?.namespace ?? '';
    const type = ref && controllerLookup(ref, kubectl);
    if (ref && type) frontier.set(controllerKey(ns, ref.kind, ref.name), { ns, kind: ref.kind, name: ref.name, type });
  }
  for (let depth = 0; depth < 3 && frontier.size > 0; depth++) {
    const next = new Map<string, ControllerRef>();
    const objects = await readControllers(client, frontier);
    for (const [key, ref] of frontier) {
      const obj = objects.get(key);
      // Not allowed to read: unknown, and the plan says so.
      if (obj === undefined) unreadable.add(key);
      if (!obj) {
        if (obj === null) out.set(key, null);
        continue;
      }
      const owner = obj.metadata?.ownerReferences?.find((o) => o.controller);
      const ownerType = owner && controllerType(owner);
      if (owner && ownerType) {
        const ownerKey = controllerKey(ref.ns, owner.kind, owner.name);
        if (!out.has(ownerKey)) next.set(ownerKey, { ns: ref.ns, kind: owner.kind, name: owner.name, type: ownerType });
      }
      out.set(key, controllerInfo(ref, obj));
    }
    frontier = next;
  }
  return out;
}

/** Above this many controllers of one kind in one namespace, one list of them there costs less than a GET each. */
const LIST_ABOVE = 8;

/**
 * Reads the referenced controllers: a GET each, or, for a kind with many
 * references in one namespace, one list of that kind in that namespace
 * (falling back to GETs if the list fails). null: not found; undefined:
 * not allowed.
 */
async function readControllers(
  client: KubeClient,
  refs: Map<string, ControllerRef>,
): Promise<Map<string, ControllerObject | null | undefined>> {
  const out = new Map<string, ControllerObject | null | undefined>();
  const groups = new Map<string, Array<[string, ControllerRef]>>();
  for (const entry of refs) {
    const group = `${entry[1].type.resource}.${entry[1].type.group}/${entry[1].ns}`;
    groups.set(group, [...(groups.get(group) ?? []), entry]);
  }
  const single: Array<[string, ControllerRef]> = [];
  await mapLimit([...groups.values()], 8, async (entries) => {
    const { type, ns } = entries[0]![1];
    type Named = ControllerObject & { metadata?: { name?: string } };
    const listed =
      entries.length > LIST_ABOVE ? await listOrFallback<Named>(client, resourcePath(type, { namespace: ns })) : null;
    if (!listed) return void single.push(...entries);
    const found = new Map(listed.map((o) => [o.metadata?.name ?? '', o]));
    for (const [key, ref] of entries) out.set(key, found.get(ref.name) ?? null);
  });
  await mapLimit(single, 16, async ([key, ref]) => {
    out.set(
      key,
      await getOrNull(() =>
        client.request<ControllerObject>('GET', resourcePath(ref.type, { namespace: ref.ns, name: ref.name })),
      ),
    );
  });
  return out;
}

/** A list the plan can do without: null when it cannot be read, whatever the reason (the caller falls back). */
async function listOrFallback<T>(client: KubeClient, path: string): Promise<T[] | null> {
  try {
    return (await listPath<T>(client, path)).items;
  } catch {
    return null;
  }
}

async function getOrNull<T>(fn: () => Promise<T>): Promise<T | null | undefined> {
  try {
    return await fn();
  } catch (err) {
    const code = apiStatusOf(err)?.code;
    if (code === 404) return null;
    if (code === 403) return undefined;
    throw err;
  }
}

function controllerInfo(ref: ControllerRef, obj: ControllerObject): ControllerInfo {
  const owner = obj.metadata?.ownerReferences?.find((o) => o.controller);
  const info: ControllerInfo = { kind: ref.kind, name: ref.name };
  if (owner)
    info.owner = owner.apiVersion
      ? { kind: owner.kind, name: owner.name, apiVersion: owner.apiVersion }
      : { kind: owner.kind, name: owner.name };
  if (ref.kind === 'DaemonSet') {
    info.replicas = obj.status?.desiredNumberScheduled;
    info.readyReplicas = obj.status?.numberReady;
  } else if (ref.kind !== 'Job' && ref.kind !== 'CronJob') {
    info.replicas = obj.spec?.replicas;
    info.readyReplicas = obj.status?.readyReplicas ?? 0;
  }
  return info;
}

/**
 * What the placement filters look up beyond nodes and pods, one list each and
 * only when needed: claims, volumes and storage classes when an evicted pod
 * mounts a claim; namespaces when some pod's affinity selects namespaces by
 * label. A list that may not be read is left out; the plan notes it.
 */
async function fetchPlacementExtras(
  client: KubeClient,
  drainPods: V1Pod[],
  allPods: V1Pod[],
): Promise<Pick<PlanInputs, 'namespaces' | 'volumes'>> {
  // The replacements are new pods: only their PersistentVolumeClaims (not ephemeral volumes' claims) are looked up.
  const needVolumes = drainPods.some((p) => podClaims(p, true).length > 0);
  const needNamespaces = allPods.some(usesNamespaceSelector) || drainPods.some(usesNamespaceSelector);
  const [claims, volumes, classes, namespaces] = await Promise.all([
    needVolumes
      ? listOrNull<V1PersistentVolumeClaim>(
          'list persistentvolumeclaims',
          client,
          resourcePath(RESOURCES.persistentVolumeClaims),
        )
      : null,
    needVolumes
      ? listOrNull<V1PersistentVolume>('list persistentvolumes', client, resourcePath(RESOURCES.persistentVolumes))
      : null,
    needVolumes
      ? listOrNull<V1StorageClass>('list storageclasses', client, resourcePath(RESOURCES.storageClasses))
      : null,
    needNamespaces ? listOrNull<V1Namespace>('list namespaces', client, resourcePath(RESOURCES.namespaces)) : null,
  ]);
  const out: Pick<PlanInputs, 'namespaces' | 'volumes'> = {};
  if (claims && volumes) out.volumes = { claims, volumes, classes: classes ?? [] };
  if (namespaces) out.namespaces = namespaces;
  return out;
}

function usesNamespaceSelector(pod: V1Pod): boolean {
  const affinity = pod.spec?.affinity;
  return [
    ...(affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
  ].some((t) => t.namespaceSelector !== undefined && t.namespaceSelector !== null);
}

/** A list the plan can do without: null when it may not be read (403). */
function listOrNull<T>(what: string, client: KubeClient, path: string): Promise<T[] | null> {
  return client.call(what, async () => {
    try {
      return (await listPath<T>(client, path)).items;
    } catch (err) {
      if (apiStatusOf(err)?.code === 403) return null;
      throw err;
    }
  });
}

/** Asks the API server (SelfSubjectAccessReview) about each permission, in parallel. */
async function checkPermissions(client: KubeClient, wanted: PermissionRequest[]): Promise<PermissionCheck[]> {
  return mapLimit(wanted, 16, async (request) => {
    const review = await selfAccessReview(client, {
      verb: request.verb,
      group: request.group,
      resource: request.resource,
      subresource: request.subresource,
      namespace: request.namespace,
    });
    return { ...request, allowed: review.allowed };
  });
}

/** The UIDs of every pod whose controller also controls one of the drained pods. */
function siblingsOf(drainPods: V1Pod[], allPods: V1Pod[]): Set<string> {
  const controllerKeyOf = (pod: V1Pod): string | undefined => {
    const controller = controllerOf(pod);
    return controller ? controllerKey(pod.metadata?.namespace ?? '', controller.kind, controller.name) : undefined;
  };
  const controllers = new Set(drainPods.map(controllerKeyOf).filter(Boolean));
  return new Set(
    [...drainPods, ...allPods]
      .filter((pod) => controllers.has(controllerKeyOf(pod)))
      .map((pod) => pod.metadata?.uid ?? ''),
  );
}
