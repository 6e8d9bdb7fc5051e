/**
 * An in-memory fake of the drain's narrow API (src/drain/api.ts), as
 * kubectl tests its drain against a fake clientset: it answers what a real
 * cluster rarely does, on cue. Each pod has a script of answers to its
 * eviction requests; once the script runs out, evictions succeed and the
 * pod goes away after `goneAfterMs`.
 */
import type { V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import { ApiError, type StudyError } from '../../src/base/errors.js';
import type { ControlledPod, DrainApi, GoneWatch, PodRef, WorkloadRef } from '../../src/drain/api.js';
import type { DrainPlan, OwnerRef, PdbPlan, PodPlan } from '../../src/drain/model.js';

/** An error shaped as client-node's ApiException: the Status object as a JSON string body. */
export function apiException(
  code: number,
  status: Record<string, unknown>,
  headers: Record<string, string> = {},
): Error & { code: number; body: string; headers: Record<string, string> } {
  return Object.assign(new Error(`HTTP ${code}`), {
    code,
    body: JSON.stringify({ kind: 'Status', code, ...status }),
    headers,
  });
}

export const answers = {
  notFound: () => apiException(404, { reason: 'NotFound', message: 'pods "x" not found' }),
  uidConflict: () =>
    apiException(409, {
      reason: 'Conflict',
      message: 'Precondition failed: UID in precondition: a, UID in object meta: b',
    }),
  pdb: (pdb: string, healthy = 2, has = 2) =>
    apiException(429, {
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: {
        causes: [
          {
            reason: 'DisruptionBudget',
            message: `The disruption budget ${pdb} needs ${healthy} healthy pods and has ${has} currently`,
          },
        ],
      },
    }),
  throttled: (retryAfter?: number) =>
    apiException(
      429,
      { reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
      retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
    ),
  multiplePdbs: () =>
    apiException(500, {
      reason: 'InternalError',
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    }),
  namespaceTerminating: () =>
    apiException(403, {
      reason: 'Forbidden',
      message: 'pods "x" is forbidden: unable to create new content in namespace ns because it is being terminated',
      details: { causes: [{ reason: 'NamespaceTerminating', message: 'namespace ns is being terminated' }] },
    }),
  forbidden: () =>
    apiException(403, {
      reason: 'Forbidden',
      message: 'pods "x" is forbidden: User "u" cannot create resource "pods/eviction"',
    }),
  reset: () =>
    Object.assign(new Error('request to https://127.0.0.1/api failed, reason: socket hang up'), { code: 'ECONNRESET' }),
};

export type Answer = Error | 'ok';

export class FakeDrainApi implements DrainApi {
  requests = 0;
  readonly log: string[] = [];
  readonly nodes = new Map<string, { unschedulable: boolean }>();
  /** Scripted answers per pod (namespace/name), taken in order. */
  readonly script = new Map<string, Answer[]>();
  /** Pods still there, by UID. */
  private readonly present = new Set<string>();
  private readonly deleting = new Set<string>();
  private readonly waiters = new Map<string, Array<() => void>>();
  /** Pods a PDB counts that are not serving, by PDB (namespace/name). */
  readonly unserving = new Map<string, Array<{ name: string; reason: string }>>();
  /** Pods (namespace/name) the namespace controller marks for deletion when asked. */
  readonly terminatingNamespaces = new Set<string>();
  goneAfterMs = 1;
  /** Pods (namespace/name) whose eviction request is sent and never answered. */
  readonly hang = new Set<string>();
  /** Node reads that are never answered. */
  hangNodes = false;
  watchFatal: Error | undefined;
  availabilityAnswers = new Map<string, Array<{ want: number; have: number }>>();
  /** What a namespace's pod list shows of the controllers' pods, per look, in order (the last repeats); 'hang': never answered. */
  readonly controlled = new Map<string, Array<ControlledPod[] | Error | 'hang'>>();
  /** Each look at a namespace's pods: the namespace and the controllers asked about. */
  readonly controlledCalls: Array<{ namespace: string; controllers: string[] }> = [];

  constructor(pods: readonly PodPlan[], nodes: string[]) {
    for (const p of pods) this.present.add(p.uid);
    for (const n of nodes) this.nodes.set(n, { unschedulable: false });
  }

  private uidOf = new Map<string, string>();

  async readNode(name: string): Promise<V1Node> {
    this.requests++;
    if (this.hangNodes) return new Promise<V1Node>(() => {});
    const n = this.nodes.get(name);
    if (!n) throw answers.notFound();
    return { metadata: { name }, spec: { unschedulable: n.unschedulable } };
  }

  async setUnschedulable(name: string, unschedulable: boolean): Promise<void> {
    this.requests++;
    this.log.push(`${unschedulable ? 'cordon' : 'uncordon'} ${name}`);
    this.nodes.get(name)!.unschedulable = unschedulable;
  }

  async evict(pod: PodRef, opts: { gracePeriodSeconds: number; deleteInstead: boolean }): Promise<void> {
    this.requests++;
    const key = `${pod.namespace}/${pod.name}`;
    this.uidOf.set(key, pod.uid);
    if (this.hang.has(key)) {
      this.log.push(`evict ${key} -> (no answer)`);
      return new Promise<void>(() => {});
    }
    const next = this.script.get(key)?.shift();
    this.log.push(
      `${opts.deleteInstead ? 'delete' : 'evict'} ${key}${next && next !== 'ok' ? ` -> ${String((next as { code?: unknown }).code)}` : ''}`,
    );
    if (next && next !== 'ok') {
      if ((next as { code?: number }).code === 403 && this.terminatingNamespaces.has(pod.namespace))
        this.deleting.add(pod.uid);
      throw next;
    }
    this.startDeleting(pod.uid);
  }

  private startDeleting(uid: string): void {
    if (this.deleting.has(uid) && !this.present.has(uid)) return;
    this.deleting.add(uid);
    // Infinity: the pod never goes (until the test says so with markGone).
    if (Number.isFinite(this.goneAfterMs)) setTimeout(() => this.markGone(uid), this.goneAfterMs);
  }

  markGone(uid: string): void {
    if (!this.present.has(uid)) return;
    this.log.push(`gone ${uid}`);
    this.present.delete(uid);
    for (const w of this.waiters.get(uid) ?? []) w();
    this.waiters.delete(uid);
  }

  async readPod(namespace: string, name: string): Promise<V1Pod> {
    this.requests++;
    const uid = this.uidOf.get(`${namespace}/${name}`) ?? '';
    if (!this.present.has(uid)) throw answers.notFound();
    const deleting = this.deleting.has(uid);
    if (deleting) this.startDeleting(uid);
    return { metadata: { name, namespace, uid, ...(deleting ? { deletionTimestamp: new Date() } : {}) } };
  }

  readonly pdbStatus = new Map<string, V1PodDisruptionBudget['status']>();

  async readPdb(namespace: string, name: string): Promise<V1PodDisruptionBudget> {
    this.requests++;
    const status = this.pdbStatus.get(`${namespace}/${name}`);
    if (!status) throw answers.notFound();
    return { metadata: { namespace, name }, status };
  }

  async unservingPods(namespace: string, pdb: string): Promise<Array<{ name: string; reason: string }>> {
    this.requests++;
    return this.unserving.get(`${namespace}/${pdb}`) ?? [];
  }

  watchGone(
    _from: Map<string, string>,
    _tracked: Map<string, Set<string>>,
    onFatal: (err: unknown) => void,
  ): GoneWatch {
    if (this.watchFatal) setTimeout(() => onFatal(this.watchFatal), 1);
    return {
      waitGone: (uid, signal) =>
        new Promise<'gone'>((resolve, reject) => {
          if (!this.present.has(uid)) return resolve('gone');
          if (signal.aborted) return reject(signal.reason);
          const onAbort = (): void => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          const list = this.waiters.get(uid) ?? [];
          list.push(() => {
            signal.removeEventListener('abort', onAbort);
            resolve('gone');
          });
          this.waiters.set(uid, list);
        }),
      close: () => {},
    };
  }

  async availability(w: WorkloadRef): Promise<{ want: number; have: number }> {
    this.requests++;
    const list = this.availabilityAnswers.get(`${w.namespace}/${w.kind}/${w.name}`) ?? [];
    return list.length > 1 ? list.shift()! : (list[0] ?? { want: 1, have: 1 });
  }

  async controlledPods(namespace: string, controllers: OwnerRef[]): Promise<ControlledPod[]> {
    this.requests++;
    const wanted = new Set(controllers.map((c) => `${c.kind}/${c.name}`));
    this.controlledCalls.push({ namespace, controllers: [...wanted] });
    const list = this.controlled.get(namespace) ?? [];
    const next = (list.length > 1 ? list.shift() : list[0]) ?? [];
    if (next === 'hang') return new Promise<ControlledPod[]>(() => {});
    if (next instanceof Error) throw next;
    return next.filter((p) => wanted.has(`${p.controller.kind}/${p.controller.name}`));
  }

  error(what: string, err: unknown): StudyError {
    return new ApiError(`cannot ${what}: ${(err as Error).message}`, { cause: err });
  }

  isPresent(uid: string): boolean {
    return this.present.has(uid);
  }
}

export function podPlan(name: string, overrides: Partial<PodPlan> = {}): PodPlan {
  return {
    namespace: 'ns',
    name,
    uid: `uid-${name}`,
    node: 'n1',
    owners: [
      { kind: 'ReplicaSet', name: 'web-abc' },
      { kind: 'Deployment', name: 'web' },
    ],
    workload: 'Deployment/web',
    action: 'evict',
    reasons: [],
    pdbs: [],
    ready: true,
    requests: { cpu: 0, memory: 0 },
    ...overrides,
  };
}

/** A pod of ReplicaSet/web-abc as the drain's look at its namespace shows it: answered by the scheduler, not stuck, unless told. */
export function controlledPod(name: string, overrides: Partial<ControlledPod> = {}): ControlledPod {
  return {
    name,
    uid: `uid-${name}`,
    controller: { kind: 'ReplicaSet', name: 'web-abc' },
    answered: true,
    ...overrides,
  };
}

/** A PDB in namespace ns over 3 pods, 3 healthy, allowing `disruptionsAllowed`; the drain takes 2 of them unless told. */
export function pdbPlan(name: string, disruptionsAllowed: number, overrides: Partial<PdbPlan> = {}): PdbPlan {
  return {
    namespace: 'ns',
    name,
    currentHealthy: 3,
    desiredHealthy: 3 - disruptionsAllowed,
    expectedPods: 3,
    disruptionsAllowed,
    unhealthyPodEvictionPolicy: 'IfHealthyBudget',
    podsInDrain: 2,
    healthyInDrain: 2,
    verdict: 'one-by-one',
    ...overrides,
  };
}

/** The drain flags of a plain plan: --ignore-daemonsets, nothing else. */
export const PLAN_OPTIONS = {
  force: false,
  ignoreDaemonSets: true,
  deleteEmptyDirData: false,
  disableEviction: false,
  ignoreOptOuts: false,
  strict: false,
} as const;

export function drainPlan(pods: PodPlan[], pdbs: PdbPlan[] = [], nodes = ['n1']): DrainPlan {
  return {
    kind: 'DrainPlan',
    apiVersion: 'study.kubectl.io/v1',
    serverRelease: 'v1.37.2',
    rules: '1.37',
    nodes: nodes.map((name) => ({ name, exists: true, ready: true, unschedulable: false, reasons: [] })),
    pods,
    pdbs,
    permissions: [],
    summary: {
      pods: pods.length,
      evict: pods.filter((p) => p.action === 'evict').length,
      skip: 0,
      wait: 0,
      blocked: 0,
      warnings: 0,
    },
    verdict: 'proceed',
    blockers: [],
    options: { ...PLAN_OPTIONS },
  };
}
