/**
 * The twin-node comparison with the real `kubectl drain`: a catalogue of pod
 * kinds, built the same way on each "side" (a twin node and a spare node
 * for replacements, in a namespace of its own), the flag combinations
 * compared, and the pure half of the comparison: kubectl's output and audit
 * events read into one outcome per pod, the plan's action mapped onto what
 * kubectl would do, and every difference explained or not.
 *
 * Each case puts exactly one pod on the twin, labelled kstudy.twin/case=NAME
 * (and kstudy.twin/tier=app|infra for --pod-selector).
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import { REASONS, type ReasonCode } from '../../src/drain/model.js';
import { apis, eventually, testNamespace, type AuditEvent } from './cluster.js';
import { createPool, isReady, setCordoned, type Pool } from './workloads.js';

export const CASE_LABEL = 'kstudy.twin/case';
export const TIER_LABEL = 'kstudy.twin/tier';
const HOLD = 'kstudy.test/hold';
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface TwinSide {
  label: string;
  ns: string;
  pool: Pool;
  twin: string;
  spare: string;
}

/** What a case's pod looks like on the twin once the side is built. */
export type PodState = 'ready' | 'unready' | 'pull-failing' | 'Succeeded' | 'Failed' | 'terminating';

interface PodOptions {
  emptyDir?: boolean;
  hostPath?: boolean;
  image?: string;
  annotations?: Record<string, string>;
  /** More node selector terms (on top of the side's pool). */
  nodeSelector?: Record<string, string>;
  restartPolicy?: 'Always' | 'Never';
}

export interface TwinCase {
  name: string;
  tier: 'app' | 'infra';
  /** One line on what the pod is. */
  what: string;
  /** Its state on the twin once the side is built. */
  state: PodState;
  /** The state to wait for before `shape` (default: ready). */
  placed?: PodState;
  create(b: Builder): Promise<void>;
  /** Run once every case is placed, with the twin cordoned and the spare open: terminate, orphan, finish. */
  shape?(b: Builder): Promise<void>;
  /** PDBs of the case, with the disruptionsAllowed their status must show before the side is used. */
  pdbs?: Array<{ name: string; spec: { minAvailable?: number; maxUnavailable?: number }; allowed: number }>;
}

/** Object builders for one case on one side. */
let clients: { api: ReturnType<typeof apis>; batch: k8s.BatchV1Api } | undefined;
function clientsOnce(): { api: ReturnType<typeof apis>; batch: k8s.BatchV1Api } {
  if (!clients) {
    const api = apis();
    clients = { api, batch: api.kc.makeApiClient(k8s.BatchV1Api) };
  }
  return clients;
}

export class Builder {
  readonly api = clientsOnce().api;
  readonly batch = clientsOnce().batch;

  constructor(
    readonly side: TwinSide,
    readonly c: TwinCase,
  ) {}

  get ns(): string {
    return this.side.ns;
  }

  labels(): Record<string, string> {
    return { app: this.c.name, [CASE_LABEL]: this.c.name, [TIER_LABEL]: this.c.tier };
  }

  spec(o: PodOptions = {}, placement: 'pool' | 'twin' = 'pool'): k8s.V1PodSpec {
    const mounts: k8s.V1VolumeMount[] = [];
    const volumes: k8s.V1Volume[] = [];
    if (o.emptyDir) {
      mounts.push({ name: 'scratch', mountPath: '/scratch' });
      volumes.push({ name: 'scratch', emptyDir: {} });
    }
    if (o.hostPath) {
      mounts.push({ name: 'host', mountPath: '/host' });
      volumes.push({ name: 'host', hostPath: { path: '/var/lib/kstudy-twin', type: 'DirectoryOrCreate' } });
    }
    const { nodeSelector, tolerations } = this.side.pool.placement;
    return {
      ...(placement === 'twin'
        ? { nodeName: this.side.twin }
        : { nodeSelector: { ...nodeSelector, ...o.nodeSelector } }),
      tolerations,
      terminationGracePeriodSeconds: 5,
      automountServiceAccountToken: false,
      restartPolicy: o.restartPolicy ?? 'Always',
      containers: [
        {
          name: 'main',
          image: o.image ?? 'registry.local/app:1.0',
          resources: { requests: { cpu: '10m', memory: '16Mi' } },
          volumeMounts: mounts.length ? mounts : undefined,
        },
      ],
      volumes: volumes.length ? volumes : undefined,
    };
  }

  template(o: PodOptions = {}): k8s.V1PodTemplateSpec {
    return { metadata: { labels: this.labels(), annotations: o.annotations }, spec: this.spec(o) };
  }

  selector(): k8s.V1LabelSelector {
    return { matchLabels: { [CASE_LABEL]: this.c.name } };
  }

  async deployment(o: PodOptions = {}): Promise<void> {
    await this.api.apps.createNamespacedDeployment({
      namespace: this.ns,
      body: {
        metadata: { name: this.c.name },
        spec: { replicas: 1, selector: this.selector(), template: this.template(o) },
      },
    });
  }

  async replicaSet(o: PodOptions = {}): Promise<void> {
    await this.api.apps.createNamespacedReplicaSet({
      namespace: this.ns,
      body: {
        metadata: { name: this.c.name },
        spec: { replicas: 1, selector: this.selector(), template: this.template(o) },
      },
    });
  }

  async statefulSet(o: PodOptions = {}): Promise<void> {
    await this.api.apps.createNamespacedStatefulSet({
      namespace: this.ns,
      body: {
        metadata: { name: this.c.name },
        spec: { replicas: 1, serviceName: this.c.name, selector: this.selector(), template: this.template(o) },
      },
    });
  }

  /** A DaemonSet whose only node is the twin. */
  async daemonSet(o: PodOptions = {}): Promise<void> {
    await this.api.apps.createNamespacedDaemonSet({
      namespace: this.ns,
      body: {
        metadata: { name: this.c.name },
        spec: {
          selector: this.selector(),
          template: this.template({
            ...o,
            nodeSelector: { 'kubernetes.io/hostname': this.side.twin, ...o.nodeSelector },
          }),
        },
      },
    });
  }

  async job(o: PodOptions = {}): Promise<void> {
    await this.batch.createNamespacedJob({
      namespace: this.ns,
      body: {
        metadata: { name: this.c.name },
        spec: { backoffLimit: 0, template: this.template({ ...o, restartPolicy: 'Never' }) },
      },
    });
  }

  async pod(
    o: PodOptions = {},
    meta: Partial<k8s.V1ObjectMeta> = {},
    placement: 'pool' | 'twin' = 'pool',
  ): Promise<void> {
    await this.api.core.createNamespacedPod({
      namespace: this.ns,
      body: {
        metadata: { name: this.c.name, labels: this.labels(), annotations: o.annotations, ...meta },
        spec: this.spec(o, placement),
      },
    });
  }

  async pdb(name: string, spec: { minAvailable?: number; maxUnavailable?: number }): Promise<void> {
    await this.api.policy.createNamespacedPodDisruptionBudget({
      namespace: this.ns,
      body: { metadata: { name }, spec: { ...spec, selector: this.selector() } },
    });
  }

  /** The case's pod on the twin (there is exactly one once placed). */
  async twinPod(): Promise<k8s.V1Pod> {
    const pods = await podsOnTwin(this.side, `${CASE_LABEL}=${this.c.name}`);
    const [pod] = pods;
    if (!pod || pods.length !== 1)
      throw new Error(`${this.side.label}/${this.c.name}: ${pods.length} pods on the twin, expected 1`);
    return pod;
  }

  /** A finalizer that keeps the pod once it is deleted, so it stays terminating. */
  async hold(): Promise<string> {
    const pod = await this.twinPod();
    const name = pod.metadata!.name!;
    await this.api.core.patchNamespacedPod(
      { name, namespace: this.ns, body: { metadata: { finalizers: [HOLD] } } },
      MERGE,
    );
    return name;
  }

  async terminate(): Promise<void> {
    const name = await this.hold();
    await this.api.core.deleteNamespacedPod({ name, namespace: this.ns, gracePeriodSeconds: 0 });
  }

  async finish(phase: 'Succeeded' | 'Failed'): Promise<void> {
    const pod = await this.twinPod();
    await this.api.core.patchNamespacedPodStatus(
      { name: pod.metadata!.name!, namespace: this.ns, body: { status: { phase } } },
      MERGE,
    );
  }
}

const kruise = 'apps.kruise.io/v1alpha1';

/** The catalogue: wider than the obvious, every kubectl filter alone and in the orders that matter, and the plan's extra checks. */
export const CASES: TwinCase[] = [
  // Controlled, running.
  { name: 'deploy', tier: 'app', what: 'Deployment pod', state: 'ready', create: (b) => b.deployment() },
  {
    name: 'rs',
    tier: 'app',
    what: 'ReplicaSet pod without a Deployment',
    state: 'ready',
    create: (b) => b.replicaSet(),
  },
  { name: 'sts', tier: 'app', what: 'StatefulSet pod', state: 'ready', create: (b) => b.statefulSet() },
  {
    name: 'foreign-ctrl',
    tier: 'app',
    what: 'pod controlled by a custom resource (apps.kruise.io CloneSet)',
    state: 'ready',
    create: (b) =>
      b.pod(
        {},
        {
          ownerReferences: [
            { apiVersion: kruise, kind: 'CloneSet', name: 'clone', uid: randomUUID(), controller: true },
          ],
        },
      ),
  },
  {
    name: 'deploy-emptydir',
    tier: 'app',
    what: 'Deployment pod with an emptyDir',
    state: 'ready',
    create: (b) => b.deployment({ emptyDir: true }),
  },
  {
    name: 'deploy-hostpath',
    tier: 'app',
    what: 'Deployment pod with a hostPath',
    state: 'ready',
    create: (b) => b.deployment({ hostPath: true }),
  },
  // No controller.
  { name: 'bare', tier: 'app', what: 'bare pod', state: 'ready', create: (b) => b.pod() },
  {
    name: 'bare-emptydir',
    tier: 'app',
    what: 'bare pod with an emptyDir',
    state: 'ready',
    create: (b) => b.pod({ emptyDir: true }),
  },
  {
    name: 'bare-hostpath',
    tier: 'app',
    what: 'bare pod with a hostPath',
    state: 'ready',
    create: (b) => b.pod({ hostPath: true }),
  },
  {
    name: 'rs-orphaned',
    tier: 'app',
    what: 'pod of a ReplicaSet deleted with propagationPolicy=Orphan',
    state: 'ready',
    create: (b) => b.replicaSet(),
    shape: async (b) => {
      await b.api.apps.deleteNamespacedReplicaSet({ name: b.c.name, namespace: b.ns, propagationPolicy: 'Orphan' });
      await eventually(
        `${b.c.name}: the orphaned pod loses its owner`,
        async () => !(await b.twinPod()).metadata?.ownerReferences?.length,
      );
    },
  },
  // DaemonSets and mirror pods.
  { name: 'ds', tier: 'infra', what: 'DaemonSet pod', state: 'ready', create: (b) => b.daemonSet() },
  {
    name: 'ds-emptydir',
    tier: 'infra',
    what: 'DaemonSet pod with an emptyDir',
    state: 'ready',
    create: (b) => b.daemonSet({ emptyDir: true }),
  },
  {
    name: 'ds-foreign',
    tier: 'infra',
    what: 'pod controlled by a DaemonSet of another API group (apps.kruise.io)',
    state: 'ready',
    create: (b) =>
      b.pod(
        {},
        {
          ownerReferences: [
            { apiVersion: kruise, kind: 'DaemonSet', name: 'kruise-agent', uid: randomUUID(), controller: true },
          ],
        },
      ),
  },
  {
    name: 'mirror',
    tier: 'infra',
    what: 'mirror pod (kubernetes.io/config.mirror, owned by its Node)',
    state: 'ready',
    create: async (b) => b.pod({}, await mirrorMeta(b), 'twin'),
  },
  {
    name: 'mirror-emptydir',
    tier: 'infra',
    what: 'mirror pod with an emptyDir',
    state: 'ready',
    create: async (b) => b.pod({ emptyDir: true }, await mirrorMeta(b), 'twin'),
  },
  // Opt-outs, PDBs, placement: the plan's extra checks.
  {
    name: 'safe-to-evict-false',
    tier: 'app',
    what: 'Deployment pod, safe-to-evict: "false"',
    state: 'ready',
    create: (b) => b.deployment({ annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }),
  },
  {
    name: 'do-not-disrupt',
    tier: 'app',
    what: 'Deployment pod, karpenter.sh/do-not-disrupt: "true"',
    state: 'ready',
    create: (b) => b.deployment({ annotations: { 'karpenter.sh/do-not-disrupt': 'true' } }),
  },
  {
    name: 'bare-opt-out',
    tier: 'app',
    what: 'bare pod, safe-to-evict: "false"',
    state: 'ready',
    create: (b) => b.pod({ annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }),
  },
  {
    name: 'pdb-allows',
    tier: 'app',
    what: 'Deployment pod under a PDB that allows 1',
    state: 'ready',
    pdbs: [{ name: 'pdb-allows', spec: { maxUnavailable: 1 }, allowed: 1 }],
    create: async (b) => {
      await b.deployment();
      await b.pdb('pdb-allows', { maxUnavailable: 1 });
    },
  },
  {
    name: 'pdb-never',
    tier: 'app',
    what: 'Deployment pod under a PDB that requires it (minAvailable 1 of 1)',
    state: 'ready',
    pdbs: [{ name: 'pdb-never', spec: { minAvailable: 1 }, allowed: 0 }],
    create: async (b) => {
      await b.deployment();
      await b.pdb('pdb-never', { minAvailable: 1 });
    },
  },
  {
    name: 'pdb-crashloop',
    tier: 'app',
    what: 'crash-looping (Running, unready) pod under a PDB of minAvailable 1',
    state: 'unready',
    placed: 'unready',
    pdbs: [{ name: 'pdb-crashloop', spec: { minAvailable: 1 }, allowed: 0 }],
    create: async (b) => {
      await b.deployment({ image: 'registry.local/app:1.0-crashloop' });
      await b.pdb('pdb-crashloop', { minAvailable: 1 });
    },
  },
  {
    name: 'pdb-multi',
    tier: 'app',
    what: 'Deployment pod under two PDBs',
    state: 'ready',
    pdbs: [
      { name: 'pdb-multi-1', spec: { maxUnavailable: 1 }, allowed: 1 },
      { name: 'pdb-multi-2', spec: { maxUnavailable: 1 }, allowed: 1 },
    ],
    create: (b) => b.deployment(),
    // Made once the pod is ready: the disruption controller tells only one of a pod's PDBs about its changes.
    shape: async (b) => {
      await b.pdb('pdb-multi-1', { maxUnavailable: 1 });
      await b.pdb('pdb-multi-2', { maxUnavailable: 1 });
    },
  },
  {
    name: 'pdb-multi-pending',
    tier: 'app',
    what: 'Pending pod (image pull failing) under two PDBs',
    state: 'pull-failing',
    placed: 'pull-failing',
    pdbs: [
      { name: 'pdb-mp-1', spec: { maxUnavailable: 1 }, allowed: 0 },
      { name: 'pdb-mp-2', spec: { maxUnavailable: 1 }, allowed: 0 },
    ],
    create: (b) => b.deployment({ image: 'registry.local/app:1.0-fail-pull' }),
    shape: async (b) => {
      await b.pdb('pdb-mp-1', { maxUnavailable: 1 });
      await b.pdb('pdb-mp-2', { maxUnavailable: 1 });
    },
  },
  {
    name: 'wontfit',
    tier: 'app',
    what: 'Deployment pod whose node selector names the twin (no replacement fits)',
    state: 'ready',
    create: (b) => b.deployment({ nodeSelector: { 'kubernetes.io/hostname': b.side.twin } }),
  },
  // Finished.
  {
    name: 'job-succeeded',
    tier: 'app',
    what: 'Succeeded Job pod',
    state: 'Succeeded',
    placed: 'Succeeded',
    create: (b) => b.job(),
  },
  {
    name: 'bare-succeeded',
    tier: 'app',
    what: 'bare pod, Succeeded',
    state: 'Succeeded',
    create: (b) => b.pod(),
    shape: (b) => b.finish('Succeeded'),
  },
  {
    name: 'bare-emptydir-failed',
    tier: 'app',
    what: 'bare pod with an emptyDir, Failed',
    state: 'Failed',
    create: (b) => b.pod({ emptyDir: true }),
    shape: (b) => b.finish('Failed'),
  },
  {
    name: 'deploy-failed',
    tier: 'app',
    what: 'Deployment pod, Failed',
    state: 'Failed',
    create: (b) => b.deployment(),
    shape: (b) => b.finish('Failed'),
  },
  // Already terminating (a finalizer keeps them).
  {
    name: 'term-deploy',
    tier: 'app',
    what: 'terminating Deployment pod',
    state: 'terminating',
    create: (b) => b.deployment(),
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-bare',
    tier: 'app',
    what: 'terminating bare pod',
    state: 'terminating',
    create: (b) => b.pod(),
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-emptydir',
    tier: 'app',
    what: 'terminating Deployment pod with an emptyDir',
    state: 'terminating',
    create: (b) => b.deployment({ emptyDir: true }),
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-bare-emptydir',
    tier: 'app',
    what: 'terminating bare pod with an emptyDir',
    state: 'terminating',
    create: (b) => b.pod({ emptyDir: true }),
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-succeeded',
    tier: 'app',
    what: 'terminating bare pod that had Succeeded',
    state: 'terminating',
    create: (b) => b.pod(),
    shape: async (b) => {
      await b.finish('Succeeded');
      await b.terminate();
    },
  },
  {
    name: 'term-mirror',
    tier: 'infra',
    what: 'terminating mirror pod',
    state: 'terminating',
    create: async (b) => b.pod({}, await mirrorMeta(b), 'twin'),
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-ds-foreign',
    tier: 'infra',
    what: 'terminating pod of a DaemonSet of another API group',
    state: 'terminating',
    create: (b) =>
      b.pod(
        {},
        {
          ownerReferences: [
            { apiVersion: kruise, kind: 'DaemonSet', name: 'kruise-agent', uid: randomUUID(), controller: true },
          ],
        },
      ),
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-pdb-never',
    tier: 'app',
    what: 'terminating pod under a PDB that allows nothing',
    state: 'terminating',
    pdbs: [{ name: 'term-pdb-never', spec: { minAvailable: 1 }, allowed: 0 }],
    create: async (b) => {
      await b.deployment();
      await b.pdb('term-pdb-never', { minAvailable: 1 });
    },
    shape: (b) => b.terminate(),
  },
  {
    name: 'term-ds',
    tier: 'infra',
    what: 'terminating DaemonSet pod (its DaemonSet still exists)',
    state: 'terminating',
    create: (b) => b.daemonSet(),
    shape: async (b) => {
      await b.hold();
      // The DaemonSet no longer selects the twin: its controller deletes the pod, and makes no new one.
      await b.api.apps.patchNamespacedDaemonSet(
        {
          name: b.c.name,
          namespace: b.ns,
          body: { spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': 'kstudy-twin-nowhere' } } } } },
        },
        MERGE,
      );
    },
  },
  {
    name: 'term-ds-gone',
    tier: 'infra',
    what: 'terminating pod of a deleted DaemonSet',
    state: 'terminating',
    create: (b) => b.daemonSet(),
    shape: async (b) => {
      await b.hold();
      await b.api.apps.deleteNamespacedDaemonSet({ name: b.c.name, namespace: b.ns, propagationPolicy: 'Background' });
    },
  },
  {
    name: 'term-rs-gone',
    tier: 'app',
    what: 'terminating pod of a deleted ReplicaSet',
    state: 'terminating',
    create: (b) => b.replicaSet(),
    shape: async (b) => {
      await b.hold();
      await b.api.apps.deleteNamespacedReplicaSet({ name: b.c.name, namespace: b.ns, propagationPolicy: 'Background' });
    },
  },
];

async function mirrorMeta(b: Builder): Promise<Partial<k8s.V1ObjectMeta>> {
  const node = await b.api.core.readNode({ name: b.side.twin });
  return {
    annotations: {
      'kubernetes.io/config.mirror': randomUUID().replace(/-/g, ''),
      'kubernetes.io/config.source': 'file',
    },
    ownerReferences: [
      { apiVersion: 'v1', kind: 'Node', name: b.side.twin, uid: node.metadata!.uid!, controller: true },
    ],
  };
}

export function stateOf(p: k8s.V1Pod): PodState | 'starting' {
  if (p.metadata?.deletionTimestamp) return 'terminating';
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return phase;
  if (phase === 'Running') return isReady(p) ? 'ready' : 'unready';
  if (p.status?.containerStatuses?.some((s) => s.state?.waiting?.reason === 'ImagePullBackOff')) return 'pull-failing';
  return 'starting';
}

export async function podsOnTwin(side: TwinSide, labelSelector?: string): Promise<k8s.V1Pod[]> {
  const list = await clientsOnce().api.core.listNamespacedPod({
    namespace: side.ns,
    labelSelector,
    fieldSelector: `spec.nodeName=${side.twin}`,
  });
  return list.items;
}

/** One line per case: its pod's state and controller on the twin. Two sides with the same signature carry the same catalogue. */
export async function signature(side: TwinSide): Promise<string[]> {
  const pods = await podsOnTwin(side);
  return pods
    .map((p) => {
      const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
      const controller = owner ? `${owner.apiVersion} ${owner.kind}` : 'no controller';
      const held = p.metadata?.finalizers?.includes(HOLD) ? 'held' : 'not held';
      return `${p.metadata?.labels?.[CASE_LABEL] ?? '?'}: ${stateOf(p)}, ${controller}, ${held}`;
    })
    .sort();
}

async function waitForStates(
  side: TwinSide,
  cases: TwinCase[],
  want: (c: TwinCase) => PodState,
  what: string,
): Promise<void> {
  await eventually(
    `${side.label}: ${what}`,
    async () => {
      const pods = await podsOnTwin(side);
      const byCase = new Map<string, k8s.V1Pod[]>();
      for (const p of pods) {
        const c = p.metadata?.labels?.[CASE_LABEL] ?? '';
        byCase.set(c, [...(byCase.get(c) ?? []), p]);
      }
      const wrong = cases.filter((c) => {
        const ps = byCase.get(c.name) ?? [];
        return ps.length !== 1 || stateOf(ps[0]!) !== want(c);
      });
      if (wrong.length)
        throw new Error(
          `not yet: ${wrong.map((c) => `${c.name} (${(byCase.get(c.name) ?? []).map(stateOf).join('+') || 'no pod'})`).join(', ')}`,
        );
      return true;
    },
    180_000,
    500,
  );
}

/**
 * Builds one side: a twin node (16 cpu) and a spare (the same) in a pool of
 * their own, a namespace, and every case's pod on the twin. The spare stays
 * cordoned while the pods are placed; then the twin is cordoned while the
 * cases are shaped (so the replacements of terminated and failed pods go to
 * the spare), and both end schedulable, every PDB settled.
 */
export async function buildSide(t: TestContext, label: string, cases: TwinCase[] = CASES): Promise<TwinSide> {
  const { core, policy } = clientsOnce().api;
  const ns = await testNamespace(t, `twin-${label.toLowerCase()}`);
  const pool = await createPool(t, [
    { cpu: '16', memory: '64Gi' },
    { cpu: '16', memory: '64Gi' },
  ]);
  const [twin, spare] = pool.nodes as [string, string];
  const side: TwinSide = { label, ns, pool, twin, spare };
  // Finalizers would keep the namespace from going: remove them (and the pods) first.
  t.after(async () => {
    const pods = await core.listNamespacedPod({ namespace: ns }).catch(() => undefined);
    for (const p of pods?.items ?? []) {
      if (p.metadata?.finalizers?.includes(HOLD)) {
        await core
          .patchNamespacedPod(
            { name: p.metadata.name!, namespace: ns, body: { metadata: { finalizers: null } } },
            MERGE,
          )
          .catch(() => {});
      }
    }
  });
  await setCordoned(spare, true);
  for (const c of cases) await c.create(new Builder(side, c));
  await waitForStates(side, cases, (c) => c.placed ?? 'ready', 'every case placed on the twin');
  await setCordoned(twin, true);
  await setCordoned(spare, false);
  for (const c of cases) if (c.shape) await c.shape(new Builder(side, c));
  await waitForStates(side, cases, (c) => c.state, 'every case in its final state');
  const pdbs = cases.flatMap((c) => c.pdbs ?? []);
  await eventually(
    `${side.label}: PDBs settled`,
    async () => {
      const list = await policy.listNamespacedPodDisruptionBudget({ namespace: ns });
      const wrong = pdbs.filter((want) => {
        const p = list.items.find((x) => x.metadata?.name === want.name);
        return (
          !p ||
          p.status?.observedGeneration !== p.metadata?.generation ||
          p.status?.disruptionsAllowed !== want.allowed ||
          !p.status?.expectedPods
        );
      });
      if (wrong.length) throw new Error(`not yet: ${wrong.map((w) => w.name).join(', ')}`);
      return true;
    },
    120_000,
    500,
  );
  // The replacements on the spare are up (the plan counts ready replicas).
  await eventually(
    `${side.label}: replacements ready on the spare`,
    async () => {
      const list = await core.listNamespacedPod({ namespace: ns, fieldSelector: `spec.nodeName=${spare}` });
      const notReady = list.items.filter(
        (p) =>
          !isReady(p) && !p.status?.containerStatuses?.some((s) => s.state?.waiting?.reason === 'ImagePullBackOff'),
      );
      if (notReady.length) throw new Error(`not yet: ${notReady.map((p) => p.metadata?.name).join(', ')}`);
      return true;
    },
    120_000,
    500,
  );
  // --skip-wait-for-delete-timeout=1 must find every terminating pod well past its deletion time
  // (a controller's delete sets it the grace period ahead).
  const deletedAt = (await podsOnTwin(side))
    .map((p) => p.metadata?.deletionTimestamp)
    .filter((d): d is Date => Boolean(d));
  const latest = Math.max(0, ...deletedAt.map((d) => new Date(d).getTime()));
  const wait = latest + 4000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await setCordoned(twin, false);
  return side;
}

// ---------------------------------------------------------------------------
// The comparison (pure).

export interface Combination {
  id: string;
  flags: string[];
}

const SELECTOR = '--pod-selector';

/** kubectl drain's flags, alone and together. */
export const COMBINATIONS: Combination[] = [
  { id: 'none', flags: [] },
  { id: 'ds', flags: ['--ignore-daemonsets'] },
  { id: 'emptydir', flags: ['--delete-emptydir-data'] },
  { id: 'force', flags: ['--force'] },
  { id: 'ds+emptydir', flags: ['--ignore-daemonsets', '--delete-emptydir-data'] },
  { id: 'all', flags: ['--ignore-daemonsets', '--delete-emptydir-data', '--force'] },
  {
    id: 'all+disable-eviction',
    flags: ['--ignore-daemonsets', '--delete-emptydir-data', '--force', '--disable-eviction'],
  },
  {
    id: 'all+skip-wait=1',
    flags: ['--ignore-daemonsets', '--delete-emptydir-data', '--force', '--skip-wait-for-delete-timeout', '1'],
  },
  { id: 'force+skip-wait=3600', flags: ['--force', '--skip-wait-for-delete-timeout', '3600'] },
  {
    id: 'ds+emptydir+selector=app',
    flags: ['--ignore-daemonsets', '--delete-emptydir-data', SELECTOR, `${TIER_LABEL}=app`],
  },
  { id: 'force+selector=infra', flags: ['--force', SELECTOR, `${TIER_LABEL}=infra`] },
];

export function podSelectorOf(flags: string[]): string | undefined {
  const i = flags.indexOf(SELECTOR);
  return i >= 0 ? flags[i + 1] : undefined;
}

/** The flags with --pod-selector replaced (or added). */
export function withPodSelector(flags: string[], selector: string): string[] {
  const i = flags.indexOf(SELECTOR);
  return i >= 0 ? [...flags.slice(0, i), SELECTOR, selector, ...flags.slice(i + 2)] : [...flags, SELECTOR, selector];
}

/** What kubectl did with a pod, or would do from the plan's word. */
export type Outcome = 'refused' | 'evicted' | 'skipped' | 'absent';

/** kubectl drain's own filters; every other pod reason of the plan is a check kubectl does not make. */
export const KUBECTL_REASONS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'DaemonSetPod',
  'OrphanedDaemonSetPod',
  'MirrorPod',
  'LocalStorage',
  'Unmanaged',
  'Finished',
  'Terminating',
]);
const NODE_REASONS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'NodeNotReady',
  'NodeAlreadyCordoned',
  'LastSchedulableNode',
  'MissingPermission',
]);
/** The plan's documented checks beyond kubectl (src/drain/model.ts REASONS, "beyond kubectl drain"). */
export const EXTRA_REASONS: ReadonlySet<ReasonCode> = new Set(
  (Object.keys(REASONS) as ReasonCode[]).filter((c) => !KUBECTL_REASONS.has(c) && !NODE_REASONS.has(c)),
);

/**
 * "cannot delete MESSAGE: ns/a, ns/b" in kubectl's error output (one line per
 * message, several joined in an aggregate "[..., ...]"): the pods it refused, with why.
 */
export function parseRefusals(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const pod = '[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*';
  const re = new RegExp(`cannot delete (.+?): (${pod}(?:, ${pod})*)`, 'g');
  for (const m of text.matchAll(re)) {
    for (const key of m[2]!.split(', ')) out.set(key, m[1]!);
  }
  return out;
}

/** The eviction and delete requests kubectl sent, per pod (ns/name), with the API server's answers. */
export function writesPerPod(
  events: AuditEvent[],
  namespace: string,
): Map<string, Array<{ verb: 'evict' | 'delete'; code: number }>> {
  const out = new Map<string, Array<{ verb: 'evict' | 'delete'; code: number }>>();
  for (const e of events) {
    const ref = e.objectRef;
    if (ref?.namespace !== namespace || ref.resource !== 'pods' || !ref.name) continue;
    const verb =
      e.verb === 'create' && ref.subresource === 'eviction'
        ? 'evict'
        : e.verb === 'delete' && !ref.subresource
          ? 'delete'
          : undefined;
    if (!verb) continue;
    const key = `${namespace}/${ref.name}`;
    out.set(key, [...(out.get(key) ?? []), { verb, code: e.responseStatus?.code ?? 0 }]);
  }
  return out;
}

export interface PlanPod {
  namespace: string;
  name: string;
  action: 'evict' | 'skip' | 'wait' | 'blocked';
  reasons: Array<{ code: ReasonCode; severity: 'block' | 'warning' | 'info'; message: string }>;
}

/** What the plan says kubectl does with the pod, and the extra checks that block it beyond kubectl. */
export function planView(p: PlanPod | undefined): { outcome: Outcome; extraBlocks: ReasonCode[] } {
  if (!p) return { outcome: 'absent', extraBlocks: [] };
  if (p.action === 'skip') return { outcome: 'skipped', extraBlocks: [] };
  if (p.action === 'evict' || p.action === 'wait') return { outcome: 'evicted', extraBlocks: [] };
  const blocks = p.reasons.filter((r) => r.severity === 'block');
  if (blocks.some((r) => KUBECTL_REASONS.has(r.code))) return { outcome: 'refused', extraBlocks: [] };
  // Blocked only by checks kubectl does not make: kubectl would go ahead and evict it.
  return { outcome: 'evicted', extraBlocks: blocks.map((r) => r.code) };
}

export interface KubectlPod {
  outcome: Outcome;
  /** For a refusal: kubectl's message. */
  refusal?: string;
  /** The API server's answers to kubectl's evictions/deletes of the pod. */
  answers: number[];
}

export type Verdict = 'agree' | 'extra' | 'mismatch';

export interface Comparison {
  combination: string;
  case: string;
  verdict: Verdict;
  plan: string;
  kubectl: string;
  /** Why an extra is one, or what is wrong. */
  note?: string;
}

/**
 * Extra checks that claim what the API server answers an eviction: checked
 * against what it answered kubectl. Others (opt-outs, placement, outages,
 * missing controllers) are the plan's judgement and cannot be.
 */
const SERVER_CLAIMS: Partial<Record<ReasonCode, { codes: number[]; says: string }>> = {
  MultiplePdbs: { codes: [500], says: 'the API server refuses the eviction (500)' },
  PdbNeverAllows: { codes: [429], says: 'the API server refuses the eviction for good (429)' },
};

export function compare(
  combination: string,
  caseName: string,
  plan: PlanPod | undefined,
  kubectl: KubectlPod,
): Comparison {
  const view = planView(plan);
  const planText = plan
    ? `${plan.action}${plan.reasons.length ? ` (${plan.reasons.map((r) => `${r.code}/${r.severity}`).join(', ')})` : ''}`
    : 'not in the plan';
  const kubectlText = `${kubectl.outcome}${kubectl.refusal ? `: ${kubectl.refusal}` : ''}${kubectl.answers.length ? ` [answers ${kubectl.answers.join(',')}]` : ''}`;
  const base = { combination, case: caseName, plan: planText, kubectl: kubectlText };
  const would: Record<Outcome, string> = {
    refused: 'refuse it',
    evicted: 'evict it',
    skipped: 'skip it',
    absent: 'not list it',
  };
  const did: Record<Outcome, string> = {
    refused: 'refused it',
    evicted: 'evicted it',
    skipped: 'skipped it',
    absent: 'did not list it',
  };
  if (view.outcome !== kubectl.outcome)
    return {
      ...base,
      verdict: 'mismatch',
      note: `the plan means kubectl would ${would[view.outcome]}; kubectl ${did[kubectl.outcome]}`,
    };
  if (!view.extraBlocks.length) return { ...base, verdict: 'agree' };
  for (const code of view.extraBlocks) {
    const claim = SERVER_CLAIMS[code];
    if (claim && kubectl.answers.length && !kubectl.answers.every((a) => claim.codes.includes(a))) {
      return {
        ...base,
        verdict: 'mismatch',
        note: `${code} says ${claim.says}; it answered ${kubectl.answers.join(',')}`,
      };
    }
  }
  return { ...base, verdict: 'extra', note: view.extraBlocks.join('+') };
}
