/**
 * Running a drain plan: cordon, evict under a concurrency bound and each
 * PDB's budget, back off on 429 naming the PDB, wait for every evicted pod
 * to be gone (by UID, through a watch), optionally wait for the workloads
 * to be Available again. Progress goes out through onEvent; the printer
 * decides how to show it.
 *
 * Interrupted (Ctrl-C, SIGTERM): no new eviction starts; evictions already
 * sent are allowed to return, so the report is exact; the node stays
 * cordoned.
 */
import * as k8s from '@kubernetes/client-node';

import { ExitCode, type ExitCodeValue, type StudyError } from '../cli/errors.js';
import { apiStatusOf, systemCodeOf } from '../kube/apierror.js';
import type { KubeClient } from '../kube/client.js';
import { Informer } from '../kube/informer.js';
import { exponentialBackoff } from '../util/backoff.js';
import { sleep } from '../util/concurrency.js';
import { formatDuration } from '../util/duration.js';
import type { DrainPlan, PdbPlan, PodPlan } from './model.js';
import { describeBudget } from './pdb.js';

export type PodStatus =
  | 'gone' // evicted (or deleted) and gone
  | 'evicted' // eviction accepted, not gone yet when the drain stopped
  | 'already-gone' // gone or replaced before we got to it
  | 'skipped' // the plan skips it (DaemonSet, mirror)
  | 'blocked' // a PDB kept it until the drain stopped
  | 'failed' // the API refused it for another reason
  | 'not-attempted'; // the drain stopped first

export interface PodOutcome {
  namespace: string;
  name: string;
  uid: string;
  status: PodStatus;
  message?: string;
  /** From eviction request to gone. */
  ms?: number;
}

export type DrainEvent =
  | { type: 'cordon'; node: string; changed: boolean }
  | { type: 'evicting'; pod: PodPlan }
  | { type: 'evicted'; pod: PodPlan }
  | { type: 'gone'; pod: PodPlan; ms: number }
  | { type: 'pdb-wait'; pod: PodPlan; pdb: string; detail: string; retryMs: number }
  | { type: 'retry'; pod: PodPlan; detail: string; retryMs: number }
  | { type: 'failed'; pod: PodPlan; detail: string }
  | { type: 'waiting-healthy'; workloads: string[] }
  | { type: 'healthy'; workload: string };

export type DrainOutcome = 'drained' | 'timed-out' | 'interrupted' | 'failed';

export interface DrainResult {
  kind: 'DrainResult';
  apiVersion: 'study.kubectl.io/v1';
  outcome: DrainOutcome;
  /** Nodes this run cordoned (changed) or found cordoned. */
  cordoned: Array<{ node: string; changed: boolean }>;
  pods: PodOutcome[];
  /** Workloads waited for with --wait-healthy, and whether they got there. */
  workloads: Array<{ workload: string; namespace: string; available: boolean }>;
  elapsedMs: number;
  requests: number;
  message?: string;
  /** The exit code of the error that stopped the drain, when one did. */
  errorExitCode?: ExitCodeValue;
  plan: DrainPlan;
}

export interface ExecuteOptions {
  /** Overall deadline (ms since epoch) or undefined for none. */
  deadline?: number;
  /** Ctrl-C / SIGTERM. */
  interrupt: AbortSignal;
  concurrency: number;
  gracePeriodSeconds: number;
  disableEviction: boolean;
  waitHealthy: boolean;
  onEvent: (e: DrainEvent) => void;
}

const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export async function cordon(client: KubeClient, node: string, unschedulable: boolean): Promise<boolean> {
  const current = await client.call(`get node ${node}`, () => client.core.readNode({ name: node }));
  if ((current.spec?.unschedulable === true) === unschedulable) return false;
  await client.call(`${unschedulable ? 'cordon' : 'uncordon'} node ${node}`, () =>
    client.core.patchNode({ name: node, body: { spec: { unschedulable: unschedulable ? true : null } } }, MERGE_PATCH),
  );
  return true;
}

/**
 * Tracks pods by UID until they are gone: one pod informer per drained node,
 * watching from the plan's own list (no second list), marking a UID gone on
 * its DELETED event, or when a relist no longer has it.
 */
class GoneTracker {
  private readonly waiters = new Map<string, () => void>();
  private readonly gone = new Set<string>();
  private readonly stop = new AbortController();
  private readonly informers: Array<Informer<k8s.V1Pod>> = [];

  constructor(
    client: KubeClient,
    nodes: Map<string, string>,
    /** The UIDs waited for, per node: a relist of one node speaks only for that node's pods. */
    tracked: Map<string, Set<string>>,
    /** Called when the API server stays unreachable: waiting on is pointless. */
    onFatal: (err: unknown) => void,
  ) {
    for (const [node, rv] of nodes) {
      const mine = tracked.get(node) ?? new Set<string>();
      const informer = new Informer<k8s.V1Pod>(client, '/api/v1/pods', { fieldSelector: `spec.nodeName=${node}`, timeoutSeconds: '300' }, {
        onEvent: (type, pod) => {
          if (type === 'DELETED' && pod.metadata?.uid) this.markGone(pod.metadata.uid);
        },
        onSync: (items) => {
          const present = new Set([...items.values()].map((p) => p.metadata?.uid));
          for (const uid of mine) if (!present.has(uid)) this.markGone(uid);
        },
        onFatal,
      });
      this.informers.push(informer);
      informer.start(this.stop.signal, rv).catch(onFatal);
    }
  }

  private markGone(uid: string): void {
    if (this.gone.has(uid)) return;
    this.gone.add(uid);
    this.waiters.get(uid)?.();
    this.waiters.delete(uid);
  }

  /** Resolves when the pod is gone; rejects with the signal's reason if it aborts first. */
  waitGone(uid: string, signal: AbortSignal): Promise<void> {
    if (this.gone.has(uid)) return Promise.resolve();
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
      this.waiters.set(uid, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  close(): void {
    for (const i of this.informers) i.stop();
    this.stop.abort();
  }
}

/** Eviction's 429 and 500 carry the PDB in details.causes; take its name. */
function pdbFromStatus(message: string | undefined, causes: Array<{ message?: string }> | undefined): string | undefined {
  for (const text of [...(causes ?? []).map((c) => c.message ?? ''), message ?? '']) {
    const m = /disruption budget ([a-z0-9.-]+)/i.exec(text);
    if (m) return m[1];
  }
  return undefined;
}

class DrainStopped extends Error {
  constructor(readonly outcome: DrainOutcome) {
    super(outcome);
  }
}

export async function executeDrain(client: KubeClient, plan: DrainPlan, podListVersions: Map<string, string>, opts: ExecuteOptions): Promise<DrainResult> {
  const started = Date.now();
  const requestsBefore = client.requests;
  const outcomes = new Map<string, PodOutcome>();
  const key = (p: PodPlan): string => `${p.namespace}/${p.name}`;
  for (const p of plan.pods) {
    outcomes.set(key(p), { namespace: p.namespace, name: p.name, uid: p.uid, status: p.action === 'skip' ? 'skipped' : 'not-attempted' });
  }
  const result: DrainResult = {
    kind: 'DrainResult',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'drained',
    cordoned: [],
    pods: [],
    workloads: [],
    elapsedMs: 0,
    requests: 0,
    plan,
  };
  // The deadline aborts waits; the interrupt aborts waits and stops new evictions.
  const deadline = new AbortController();
  const deadlineTimer = opts.deadline ? setTimeout(() => deadline.abort(new DrainStopped('timed-out')), Math.max(0, opts.deadline - Date.now())) : undefined;
  // A fatal error (the API server gone) stops every wait too.
  const fatalStop = new AbortController();
  const stopWaits = AbortSignal.any([deadline.signal, opts.interrupt, fatalStop.signal]);
  const stopped = (): DrainOutcome | undefined => (opts.interrupt.aborted ? 'interrupted' : deadline.signal.aborted ? 'timed-out' : undefined);

  const toEvict = plan.pods.filter((p) => p.action === 'evict');
  const toWait = plan.pods.filter((p) => p.action === 'wait');
  let consecutiveConnectionErrors = 0;
  let fatal: StudyError | undefined;
  const setFatal = (err: unknown, what: string): void => {
    fatal ??= client.error(what, err);
    fatalStop.abort(new DrainStopped('failed'));
  };
  const trackedByNode = new Map<string, Set<string>>();
  for (const p of [...toEvict, ...toWait]) {
    const set = trackedByNode.get(p.node) ?? new Set<string>();
    set.add(p.uid);
    trackedByNode.set(p.node, set);
  }
  const tracker = new GoneTracker(client, podListVersions, trackedByNode, (err) => setFatal(err, 'watch the drained pods'));

  try {
    for (const node of plan.nodes) {
      const changed = await cordon(client, node.name, true);
      result.cordoned.push({ node: node.name, changed });
      opts.onEvent({ type: 'cordon', node: node.name, changed });
    }

    // Per PDB: evictions accepted whose pods are not gone yet, and the budget last seen.
    const pdbs = new Map<string, PdbPlan>(plan.pdbs.map((p) => [`${p.namespace}/${p.name}`, { ...p }]));
    const inFlight = new Map<string, number>();
    const budgetOf = (p: PodPlan): string | undefined => (opts.disableEviction ? undefined : p.pdbs.length === 1 ? p.pdbs[0] : undefined);
    const hasRoom = (p: PodPlan): boolean => {
      const b = budgetOf(p);
      if (!b) return true;
      const allowed = Math.max(1, pdbs.get(b)?.disruptionsAllowed ?? 1);
      return (inFlight.get(b) ?? 0) < allowed;
    };
    const queue = [...toEvict];
    let roomChanged: () => void = () => {};
    const waitForRoom = (): Promise<void> =>
      new Promise((resolve) => {
        roomChanged = resolve;
      });

    const evictOne = async (pod: PodPlan): Promise<void> => {
      const outcome = outcomes.get(key(pod))!;
      const budget = budgetOf(pod);
      if (budget) inFlight.set(budget, (inFlight.get(budget) ?? 0) + 1);
      const backoff = exponentialBackoff(1000, 5000);
      const t0 = Date.now();
      try {
        for (;;) {
          const why = stopped();
          if (why || fatal) {
            if (outcome.status === 'not-attempted' && budget && outcome.message) outcome.status = 'blocked';
            return;
          }
          opts.onEvent({ type: 'evicting', pod });
          try {
            if (opts.disableEviction) {
              await client.core.deleteNamespacedPod({
                name: pod.name,
                namespace: pod.namespace,
                body: { preconditions: { uid: pod.uid }, ...(opts.gracePeriodSeconds >= 0 ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}) },
              });
            } else {
              await client.core.createNamespacedPodEviction({
                name: pod.name,
                namespace: pod.namespace,
                body: {
                  apiVersion: 'policy/v1',
                  kind: 'Eviction',
                  metadata: { name: pod.name, namespace: pod.namespace },
                  deleteOptions: { preconditions: { uid: pod.uid }, ...(opts.gracePeriodSeconds >= 0 ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}) },
                },
              });
            }
            consecutiveConnectionErrors = 0;
            outcome.status = 'evicted';
            delete outcome.message;
            opts.onEvent({ type: 'evicted', pod });
            break;
          } catch (err) {
            const api = apiStatusOf(err);
            if (api?.code === 404 || api?.code === 409) {
              // Gone, or replaced by a pod of the same name: not this node's business any more.
              outcome.status = 'already-gone';
              outcome.message = api.code === 404 ? 'already deleted' : 'replaced by a new pod with the same name';
              return;
            }
            if (api?.code === 429) {
              consecutiveConnectionErrors = 0;
              const name = pdbFromStatus(api.status.message, api.status.details?.causes) ?? budget?.split('/')[1] ?? '';
              const pdbKeyName = `${pod.namespace}/${name}`;
              // The refusal names the numbers it was decided on; read the PDB only when it does not.
              const causes = (api.status.details?.causes ?? []).map((c) => c.message ?? '').join(' ');
              const numbers = /needs (\d+) healthy pods? and has (\d+) currently/.exec(causes);
              let detail: string;
              if (numbers) {
                detail = `PDB ${pdbKeyName}: it needs ${numbers[1]} healthy pods and has ${numbers[2]}`;
              } else {
                const fresh = await client.policy.readNamespacedPodDisruptionBudget({ name, namespace: pod.namespace }).catch(() => undefined);
                const known = pdbs.get(pdbKeyName);
                if (fresh?.status && known) {
                  known.currentHealthy = fresh.status.currentHealthy;
                  known.desiredHealthy = fresh.status.desiredHealthy;
                  known.expectedPods = fresh.status.expectedPods ?? known.expectedPods;
                  known.disruptionsAllowed = fresh.status.disruptionsAllowed;
                }
                detail = known ? describeBudget(known) : `PDB ${pdbKeyName}: ${causes || api.status.message || 'disruption budget'}`;
              }
              outcome.message = `blocked by ${detail}`;
              const retryAfter = Number(api.headers['retry-after'] ?? (api.status.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds ?? 0);
              const retryMs = backoff.next(retryAfter);
              opts.onEvent({ type: 'pdb-wait', pod, pdb: pdbKeyName, detail, retryMs });
              await sleep(retryMs, stopWaits).catch(() => {});
              continue;
            }
            if (api?.code === 500 && /multiple/i.test(api.status.message ?? '')) {
              outcome.status = 'failed';
              outcome.message = `the API server refuses: ${api.status.message}`;
              opts.onEvent({ type: 'failed', pod, detail: outcome.message });
              return;
            }
            if (api) {
              outcome.status = 'failed';
              outcome.message = `HTTP ${api.code}: ${api.status.message ?? api.status.reason ?? ''}`;
              opts.onEvent({ type: 'failed', pod, detail: outcome.message });
              return;
            }
            // No answer: the API server may be restarting, or gone.
            const code = systemCodeOf(err);
            consecutiveConnectionErrors++;
            if (consecutiveConnectionErrors >= 5) {
              setFatal(err, `evict ${pod.namespace}/${pod.name}`);
              throw new DrainStopped('failed');
            }
            const retryMs = backoff.next();
            opts.onEvent({ type: 'retry', pod, detail: `no answer from the API server (${code ?? (err as Error).message})`, retryMs });
            await sleep(retryMs, stopWaits).catch(() => {});
          }
        }
        // Evicted: wait for it to be gone (by UID; a replacement with the same name does not count).
        try {
          await tracker.waitGone(pod.uid, stopWaits);
          outcome.status = 'gone';
          outcome.ms = Date.now() - t0;
          opts.onEvent({ type: 'gone', pod, ms: outcome.ms });
        } catch {
          // stopped while waiting: stays 'evicted'
        }
      } finally {
        if (budget) inFlight.set(budget, (inFlight.get(budget) ?? 1) - 1);
        roomChanged();
      }
    };

    // The scheduler: at most `concurrency` evictions, and per PDB at most its budget.
    const running = new Set<Promise<void>>();
    while (queue.length > 0 && !stopped() && !fatal) {
      const i = queue.findIndex(hasRoom);
      if (i < 0 || running.size >= opts.concurrency) {
        await Promise.race([waitForRoom(), ...running]);
        continue;
      }
      const [pod] = queue.splice(i, 1);
      const task = evictOne(pod!).catch((err: unknown) => {
        if (!(err instanceof DrainStopped)) setFatal(err, `evict ${pod!.namespace}/${pod!.name}`);
      });
      running.add(task);
      void task.finally(() => running.delete(task));
    }
    await Promise.all(running);

    // Pods that were already terminating: wait for them too.
    for (const pod of toWait) {
      const outcome = outcomes.get(key(pod))!;
      try {
        await tracker.waitGone(pod.uid, stopWaits);
        outcome.status = 'gone';
      } catch {
        outcome.status = 'evicted';
        outcome.message = 'still terminating';
      }
    }

    if (opts.waitHealthy && !stopped() && !fatal) {
      result.workloads = await waitHealthy(client, plan, outcomes, stopWaits, opts.onEvent);
    }
  } catch (err) {
    if (!(err instanceof DrainStopped)) setFatal(err, 'drain');
  } finally {
    tracker.close();
    if (deadlineTimer) clearTimeout(deadlineTimer);
  }

  result.pods = plan.pods.map((p) => {
    const o = outcomes.get(key(p))!;
    if (p.action === 'blocked') return { ...o, status: 'blocked', message: p.reasons.filter((r) => r.severity === 'block').map((r) => r.code).join(', ') };
    return o;
  });
  const why = stopped();
  const unfinished = result.pods.some((p) => p.status === 'evicted' || p.status === 'not-attempted' || p.status === 'blocked' || p.status === 'failed');
  if (fatal) {
    result.outcome = 'failed';
    result.message = fatal.message;
    result.errorExitCode = fatal.exitCode;
  } else if (why) {
    result.outcome = why;
  } else if (unfinished) {
    result.outcome = 'failed';
  } else if (result.workloads.some((w) => !w.available)) {
    result.outcome = 'timed-out';
  }
  result.elapsedMs = Date.now() - started;
  result.requests = client.requests - requestsBefore;
  return result;
}

/** The workloads (Deployment, StatefulSet, ReplicaSet) whose pods this drain evicted and saw gone. */
export function evictedWorkloads(plan: DrainPlan, outcomes: Map<string, PodOutcome> | PodOutcome[]): Array<{ namespace: string; kind: string; name: string }> {
  const byKey = Array.isArray(outcomes) ? new Map(outcomes.map((o) => [`${o.namespace}/${o.name}`, o])) : outcomes;
  const wanted = new Map<string, { namespace: string; kind: string; name: string }>();
  for (const p of plan.pods) {
    const o = byKey.get(`${p.namespace}/${p.name}`);
    if (o?.status !== 'gone' || !p.workload) continue;
    const [kind, name] = p.workload.split('/') as [string, string];
    if (['Deployment', 'StatefulSet', 'ReplicaSet'].includes(kind)) wanted.set(`${p.namespace}/${p.workload}`, { namespace: p.namespace, kind, name });
  }
  return [...wanted.values()];
}

/** Waits until each workload is Available again (all replicas available, or ready for a StatefulSet). */
export async function waitAvailable(
  client: KubeClient,
  workloads: Array<{ namespace: string; kind: string; name: string }>,
  signal: AbortSignal,
  onEvent: (e: DrainEvent) => void,
): Promise<DrainResult['workloads']> {
  if (workloads.length === 0) return [];
  onEvent({ type: 'waiting-healthy', workloads: workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}`) });
  const results: DrainResult['workloads'] = [];
  for (const w of workloads) {
    let available = false;
    while (!signal.aborted) {
      const obj =
        w.kind === 'Deployment'
          ? await client.apps.readNamespacedDeployment({ name: w.name, namespace: w.namespace })
          : w.kind === 'StatefulSet'
            ? await client.apps.readNamespacedStatefulSet({ name: w.name, namespace: w.namespace })
            : await client.apps.readNamespacedReplicaSet({ name: w.name, namespace: w.namespace });
      const want = obj.spec?.replicas ?? 1;
      const status = obj.status as { availableReplicas?: number; readyReplicas?: number } | undefined;
      const have = w.kind === 'StatefulSet' ? (status?.readyReplicas ?? 0) : (status?.availableReplicas ?? 0);
      if (have >= want) {
        available = true;
        onEvent({ type: 'healthy', workload: `${w.namespace}/${w.kind}/${w.name}` });
        break;
      }
      await sleep(1000, signal).catch(() => {});
    }
    results.push({ workload: `${w.kind}/${w.name}`, namespace: w.namespace, available });
  }
  return results;
}

async function waitHealthy(
  client: KubeClient,
  plan: DrainPlan,
  outcomes: Map<string, PodOutcome>,
  signal: AbortSignal,
  onEvent: (e: DrainEvent) => void,
): Promise<DrainResult['workloads']> {
  return waitAvailable(client, evictedWorkloads(plan, outcomes), signal, onEvent);
}

export function exitCodeFor(result: DrainResult): ExitCodeValue {
  switch (result.outcome) {
    case 'drained':
      return ExitCode.OK;
    case 'timed-out':
      return ExitCode.TIMEOUT;
    case 'interrupted':
      return ExitCode.INTERRUPTED;
    default:
      return result.errorExitCode ?? (result.message ? ExitCode.API : ExitCode.BLOCKED);
  }
}

export { formatDuration };
