/**
 * Workloads on a pool of simulated nodes of the test's own: its nodes carry
 * a label and a taint unique to the test, so no other test's pods land on
 * them and a drain here never touches another test's pods.
 */
import type { TestContext } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import { addTestNodes, apis, eventually, removeTestNodes, suffix } from './cluster.js';

export interface Pool {
  id: string;
  nodes: string[];
  /** Pod spec fragment that puts a pod on this pool. */
  placement: { nodeSelector: Record<string, string>; tolerations: k8s.V1Toleration[] };
}

export const POOL_LABEL = 'kstudy.test/pool';

export async function createPool(
  t: TestContext,
  specs: Array<{ cpu?: string; memory?: string; pods?: string }>,
): Promise<Pool> {
  const id = `p${suffix()}`;
  const nodes = specs.map((s, i) => ({
    name: `kwok-${id}-${i}`,
    cpu: s.cpu ?? '8',
    memory: s.memory ?? '32Gi',
    pods: s.pods ?? '110',
    labels: { [POOL_LABEL]: id },
    taints: [{ key: POOL_LABEL, value: id, effect: 'NoSchedule' as const }],
  }));
  await addTestNodes(nodes);
  t.after(() => removeTestNodes(nodes.map((n) => n.name)));
  return {
    id,
    nodes: nodes.map((n) => n.name),
    placement: {
      nodeSelector: { [POOL_LABEL]: id },
      tolerations: [{ key: POOL_LABEL, operator: 'Equal', value: id, effect: 'NoSchedule' }],
    },
  };
}

const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export async function setCordoned(node: string, cordoned: boolean): Promise<void> {
  await apis().core.patchNode({ name: node, body: { spec: { unschedulable: cordoned ? true : null } } }, MERGE);
}

export interface PodTemplateOptions {
  image?: string;
  cpu?: string;
  memory?: string;
  emptyDir?: boolean;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  grace?: number;
  finalizers?: string[];
}

export function template(pool: Pool, app: string, o: PodTemplateOptions = {}): k8s.V1PodTemplateSpec {
  return {
    metadata: { labels: { app, ...o.labels }, annotations: o.annotations, finalizers: o.finalizers },
    spec: {
      ...pool.placement,
      terminationGracePeriodSeconds: o.grace ?? 30,
      containers: [
        {
          name: 'main',
          image: o.image ?? 'registry.local/app:1.0',
          resources: { requests: { cpu: o.cpu ?? '100m', memory: o.memory ?? '64Mi' } },
          volumeMounts: o.emptyDir ? [{ name: 'scratch', mountPath: '/scratch' }] : undefined,
        },
      ],
      volumes: o.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : undefined,
    },
  };
}

export async function deployment(
  ns: string,
  pool: Pool,
  name: string,
  replicas: number,
  o: PodTemplateOptions = {},
): Promise<void> {
  await apis().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: { replicas, selector: { matchLabels: { app: name } }, template: template(pool, name, o) },
    },
  });
}

export async function statefulSet(
  ns: string,
  pool: Pool,
  name: string,
  replicas: number,
  o: PodTemplateOptions = {},
): Promise<void> {
  await apis().apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        replicas,
        serviceName: name,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: name } },
        template: template(pool, name, o),
      },
    },
  });
}

export async function daemonSet(ns: string, pool: Pool, name: string, o: PodTemplateOptions = {}): Promise<void> {
  await apis().apps.createNamespacedDaemonSet({
    namespace: ns,
    body: { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: template(pool, name, o) } },
  });
}

export async function barePod(ns: string, pool: Pool, name: string, o: PodTemplateOptions = {}): Promise<void> {
  const t = template(pool, name, o);
  await apis().core.createNamespacedPod({ namespace: ns, body: { metadata: { name, ...t.metadata }, spec: t.spec } });
}

/** A PDB over the pods of an app (a string) or of any labels. */
export async function pdb(
  ns: string,
  name: string,
  selector: string | Record<string, string>,
  spec: { minAvailable?: number; maxUnavailable?: number },
): Promise<void> {
  const matchLabels = typeof selector === 'string' ? { app: selector } : selector;
  await apis().policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { metadata: { name }, spec: { ...spec, selector: { matchLabels } } },
  });
}

export function isReady(p: k8s.V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export async function podsIn(ns: string, selector?: string): Promise<k8s.V1Pod[]> {
  return (await apis().core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}

/** Waits until `count` pods are Ready in the namespace (all pods when count is undefined). */
export async function allReady(ns: string, count: number): Promise<k8s.V1Pod[]> {
  return eventually(
    `${count} ready pods in ${ns}`,
    async () => {
      const pods = (await podsIn(ns)).filter((p) => !p.metadata?.deletionTimestamp);
      return pods.filter(isReady).length >= count ? pods : undefined;
    },
    60_000,
  );
}

/** Waits until every PDB in the namespace has caught up with its pods. */
export async function pdbsSettled(ns: string): Promise<void> {
  await eventually(`PDBs of ${ns} to settle`, async () => {
    const list = await apis().policy.listNamespacedPodDisruptionBudget({ namespace: ns });
    return list.items.every(
      (p) => p.status?.observedGeneration === p.metadata?.generation && (p.status?.expectedPods ?? 0) > 0,
    );
  });
}

/**
 * Samples the ready pods of an app every 50 ms until stopped, and returns the
 * fewest seen: a PDB watcher for the whole drain.
 */
export function readyWatcher(ns: string, app: string, everyMs = 50): { stop: () => Promise<number> } {
  let min = Number.POSITIVE_INFINITY;
  let running = true;
  const loop = (async () => {
    while (running) {
      const pods = await podsIn(ns, `app=${app}`).catch(() => undefined);
      if (pods) min = Math.min(min, pods.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp).length);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return min;
    },
  };
}
