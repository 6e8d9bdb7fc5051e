/**
 * Running a drain plan: cordon, evict under the concurrency bound and each
 * PDB's budget (queue.ts), each pod with its retries (evict.ts), wait for
 * every evicted pod to be gone, optionally wait for the workloads to be
 * Available again. All along, and once more at the end, say which
 * replacements cannot start (stuckreplacements.ts; advisory, never the
 * outcome). Everything goes through the narrow DrainApi; progress goes out
 * through onEvent and the printer decides how to show it.
 *
 * Interrupted (Ctrl-C, SIGTERM): no new eviction starts; evictions already
 * sent are allowed to return, so the report is exact; the node stays
 * cordoned.
 */
import { abortable } from '../base/concurrency.js';
import { outcomeExitCode, type ExitCodeValue, type StudyError } from '../base/errors.js';
import { DEFAULT_OUTAGE_MS } from '../kube/apierror.js';
import type { DrainApi, GoneWatch, WorkloadRef } from './api.js';
import { controllerType } from './controllers.js';
import { evictPod, type EvictContext } from './evict.js';
import type { DrainEvent, DrainOutcome, DrainResult, PodOutcome, PodStatus } from './events.js';
import type { DrainPlan, PdbPlan, PodPlan } from './model.js';
import { EvictionQueue } from './queue.js';
import { ReplacementCheck } from './stuckreplacements.js';
import { waitAvailable } from './wait.js';

export interface ExecuteOptions {
  /** Overall deadline (ms since epoch) or undefined for none. */
  deadline?: number;
  /** Ctrl-C / SIGTERM. */
  interrupt: AbortSignal;
  concurrency: number;
  gracePeriodSeconds: number;
  disableEviction: boolean;
  waitHealthy: boolean;
  /** How long the API server may stay unreachable before the drain stops (default DEFAULT_OUTAGE_MS). */
  apiOutageMs?: number;
  /** Backoff between eviction attempts (default 1 s doubling to 5 s). */
  retry?: { initialMs: number; maxMs: number };
  /** How often --wait-healthy reads the workloads (default 1 s). */
  pollMs?: number;
  /** Once stopped, how long unanswered requests are waited for before the report (default 5 s). */
  stopGraceMs?: number;
  /** kubectl's --skip-wait-for-delete-timeout: an evicted pod deleting for longer is not waited for (0: off). */
  skipWaitForDeleteTimeoutSeconds?: number;
  /** How often the replacements of the evicted pods are looked at while the drain runs (default 5 s). */
  replacementCheckMs?: number;
  /**
   * Once the pods are gone, for how long the scheduler may still answer the
   * last replacements (default 5 s; never past the deadline).
   */
  replacementSettleMs?: number;
  /** How often the last look asks again while the scheduler has not answered (default 500 ms). */
  replacementSettleEveryMs?: number;
  /** UIDs of the pods that existed when the plan was made: none of them is a replacement. */
  existingPods?: ReadonlySet<string>;
  onEvent: (e: DrainEvent) => void;
}

const REPLACEMENT_CHECK_MS = 5000;
const REPLACEMENT_SETTLE_MS = 5000;

/** Runs a plan: cordon, evict, wait; the result says where every pod got to, and why the drain stopped. */
export async function executeDrain(
  api: DrainApi,
  plan: DrainPlan,
  podListVersions: Map<string, string>,
  opts: ExecuteOptions,
): Promise<DrainResult> {
  const started = Date.now();
  const requestsBefore = api.requests;
  const outcomes = new Map<string, PodOutcome>(
    plan.pods.map((p) => [
      key(p),
      { namespace: p.namespace, name: p.name, uid: p.uid, status: p.action === 'skip' ? 'skipped' : 'not-attempted' },
    ]),
  );
  const result: DrainResult = {
    kind: 'DrainResult',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'drained',
    cordoned: [],
    pods: [],
    workloads: [],
    replacements: [],
    elapsedMs: 0,
    requests: 0,
    throttled: 0,
    plan,
  };
  const stop = new Stop(opts.interrupt, opts.deadline);
  const toEvict = plan.pods.filter((p) => p.action === 'evict');
  const toWait = plan.pods.filter((p) => p.action === 'wait');
  const gone = api.watchGone(
    podListVersions,
    trackedByNode([...toEvict, ...toWait]),
    (err) => stop.fail(api.error('watch the drained pods', err)),
    opts.skipWaitForDeleteTimeoutSeconds ?? 0,
  );
  const queue = new EvictionQueue(toEvict, plan.pdbs, opts.concurrency, opts.disableEviction);
  const ctx = evictContext(api, plan, gone, stop, queue, result, opts);
  const replacements = replacementCheck(api, plan, outcomes, opts);
  const everyMs = opts.replacementCheckMs ?? REPLACEMENT_CHECK_MS;
  const looking = replacements.repeat(everyMs, stop.waits);
  try {
    await cordonAll(api, plan, stop, result, opts.onEvent);
    await evictAll(ctx, queue, outcomes, stop, opts.stopGraceMs ?? 5000);
    await waitTerminating(ctx, toWait, outcomes);
    if (opts.waitHealthy && !stop.reason()) {
      result.workloads = await waitAvailable(
        api,
        evictedWorkloads(plan, outcomes),
        stop.waits,
        opts.onEvent,
        opts.pollMs,
      );
    }
  } catch (err) {
    stop.fail(api.error('drain', err));
  } finally {
    looking.stop();
    gone.close();
  }
  conclude(result, outcomes, stop);
  try {
    // Advisory, once the outcome is decided: a last look, the scheduler given a moment,
    // never past the deadline or an interrupt.
    if (!stop.reason())
      await replacements
        .settle(
          opts.replacementSettleMs ?? REPLACEMENT_SETTLE_MS,
          Math.min(opts.replacementSettleEveryMs ?? 500, everyMs),
          stop.waits,
        )
        .catch(() => {});
  } finally {
    stop.close();
  }
  result.replacements = replacements.stuck;
  result.elapsedMs = Date.now() - started;
  result.requests = api.requests - requestsBefore;
  return result;
}

class Stop {
  fatal: StudyError | undefined;
  readonly waits: AbortSignal;
  private readonly fatalStop = new AbortController();
  private readonly deadline = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly interrupt: AbortSignal,
    deadlineAt: number | undefined,
  ) {
    this.timer = deadlineAt ? setTimeout(() => this.deadline.abort(), Math.max(0, deadlineAt - Date.now())) : undefined;
    this.waits = AbortSignal.any([this.deadline.signal, interrupt, this.fatalStop.signal]);
  }

  /** Why no new work may start, if so. */
  reason(): DrainOutcome | undefined {
    if (this.interrupt.aborted) return 'interrupted';
    if (this.deadline.signal.aborted) return 'timed-out';
    return this.fatal ? 'failed' : undefined;
  }

  fail(err: StudyError): void {
    this.fatal ??= err;
    this.fatalStop.abort();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

const key = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

function trackedByNode(pods: PodPlan[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const pod of pods) {
    const set = out.get(pod.node) ?? new Set<string>();
    set.add(pod.uid);
    out.set(pod.node, set);
  }
  return out;
}

function evictContext(
  api: DrainApi,
  plan: DrainPlan,
  gone: GoneWatch,
  stop: Stop,
  queue: EvictionQueue,
  result: DrainResult,
  opts: ExecuteOptions,
): EvictContext {
  return {
    api,
    gone,
    stopped: () => stop.reason(),
    stopWaits: stop.waits,
    pdbs: new Map<string, PdbPlan>(plan.pdbs.map((p) => [`${p.namespace}/${p.name}`, { ...p }])),
    gracePeriodSeconds: opts.gracePeriodSeconds,
    deleteInstead: opts.disableEviction,
    apiOutageMs: opts.apiOutageMs ?? DEFAULT_OUTAGE_MS,
    retry: opts.retry ?? { initialMs: 1000, maxMs: 5000 },
    onEvent: opts.onEvent,
    onBudget: (pdb, allowed) => queue.updateBudget(pdb, allowed),
    onThrottled: () => result.throttled++,
    onOutage: (err, what) => stop.fail(api.error(what, err)),
  };
}

/** An eviction was accepted, or the pod went before: its controller makes a replacement. */
const REPLACED: PodStatus[] = ['evicted', 'gone', 'not-waited', 'already-gone'];

function replacementCheck(
  api: DrainApi,
  plan: DrainPlan,
  outcomes: Map<string, PodOutcome>,
  opts: ExecuteOptions,
): ReplacementCheck {
  const known = new Set([...plan.pods.map((p) => p.uid), ...(opts.existingPods ?? [])]);
  const evicted = (): PodPlan[] => plan.pods.filter((p) => REPLACED.includes(outcomes.get(key(p))!.status));
  return new ReplacementCheck(api, evicted, known, opts.onEvent);
}

/** Cordons the plan's nodes; stops early, saying so in the result, when the drain is stopped meanwhile. */
async function cordonAll(
  api: DrainApi,
  plan: DrainPlan,
  stop: Stop,
  result: DrainResult,
  onEvent: (e: DrainEvent) => void,
): Promise<void> {
  for (const node of plan.nodes) {
    // A server that never answers must not hold the drain past its deadline or an interrupt.
    const changed = await abortable(cordon(api, node.name, true), stop.waits).catch((err: unknown) => {
      if (!stop.reason()) throw err;
      result.message = `stopped while cordoning ${node.name}: whether it is cordoned now is not known`;
      return undefined;
    });
    if (changed === undefined) return;
    result.cordoned.push({ node: node.name, changed });
    onEvent({ type: 'cordon', node: node.name, changed });
  }
}

/** Cordons (or uncordons) a node; false when it already was. */
export async function cordon(
  api: Pick<DrainApi, 'readNode' | 'setUnschedulable' | 'error'>,
  node: string,
  unschedulable: boolean,
): Promise<boolean> {
  const verb = unschedulable ? 'cordon' : 'uncordon';
  let current;
  try {
    current = await api.readNode(node);
  } catch (err) {
    throw api.error(`get node ${node}`, err);
  }
  if ((current.spec?.unschedulable === true) === unschedulable) return false;
  try {
    await api.setUnschedulable(node, unschedulable);
  } catch (err) {
    throw api.error(`${verb} node ${node}`, err);
  }
  return true;
}

/**
 * Runs the evictions: at most `concurrency` at once and per PDB at most its
 * budget. Once the drain stops, requests still unanswered after a short
 * grace (a server that accepts connections and never answers) are reported
 * as sent but unconfirmed, so the report comes promptly and says so.
 */
async function evictAll(
  ctx: EvictContext,
  queue: EvictionQueue,
  outcomes: Map<string, PodOutcome>,
  stop: Stop,
  graceMs: number,
): Promise<void> {
  const running = new Map<Promise<void>, PodPlan>();
  let wake: () => void = () => {};
  const onStop = (): void => wake();
  stop.waits.addEventListener('abort', onStop, { once: true });
  while (queue.pending > 0 && !stop.reason()) {
    const pod = queue.take();
    if (!pod) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      continue;
    }
    const task: Promise<void> = evictPod(ctx, pod, outcomes.get(key(pod))!)
      .catch((err: unknown) => stop.fail(ctx.api.error(`evict ${key(pod)}`, err)))
      .finally(() => {
        queue.release(pod);
        running.delete(task);
        wake();
      });
    running.set(task, pod);
  }
  stop.waits.removeEventListener('abort', onStop);
  await settleWithin(running.keys(), stop.waits, graceMs);
  for (const pod of running.values()) {
    const outcome = outcomes.get(key(pod))!;
    if (outcome.status === 'not-attempted' || outcome.status === 'blocked') {
      outcome.status = 'unconfirmed';
      outcome.message = 'an eviction was sent and no answer came before the drain stopped';
    }
  }
}

/** Resolves when every task has settled, or `graceMs` after `stopped` aborts, whichever comes first. */
function settleWithin(tasks: Iterable<Promise<void>>, stopped: AbortSignal, graceMs: number): Promise<void> {
  const all = Promise.all(tasks).then(() => undefined);
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onStop = (): void => {
      timer = setTimeout(resolve, graceMs);
    };
    if (stopped.aborted) onStop();
    else stopped.addEventListener('abort', onStop, { once: true });
    void all.then(() => {
      if (timer) clearTimeout(timer);
      stopped.removeEventListener('abort', onStop);
      resolve();
    });
  });
}

/** Pods that were already terminating: the drain waits for them too. */
async function waitTerminating(ctx: EvictContext, pods: PodPlan[], outcomes: Map<string, PodOutcome>): Promise<void> {
  for (const pod of pods) {
    const outcome = outcomes.get(key(pod))!;
    try {
      outcome.status = await ctx.gone.waitGone(pod.uid, ctx.stopWaits);
    } catch {
      outcome.status = 'evicted';
      outcome.message = 'still terminating';
    }
  }
}

/** The workloads (Deployment, StatefulSet, ReplicaSet) whose pods this drain evicted and saw gone. */
export function evictedWorkloads(plan: DrainPlan, outcomes: Map<string, PodOutcome> | PodOutcome[]): WorkloadRef[] {
  const byKey = Array.isArray(outcomes) ? new Map(outcomes.map((outcome) => [key(outcome), outcome])) : outcomes;
  const wanted = new Map<string, WorkloadRef>();
  for (const pod of plan.pods) {
    const outcome = byKey.get(key(pod));
    const top = pod.owners.at(-1);
    if (outcome?.status !== 'gone' || !top) continue;
    // Only the built-in workloads (another group's StatefulSet is not apps/v1's).
    if (top.apiVersion !== undefined && !controllerType({ kind: top.kind, apiVersion: top.apiVersion })) continue;
    if (['Deployment', 'StatefulSet', 'ReplicaSet'].includes(top.kind))
      wanted.set(`${pod.namespace}/${top.kind}/${top.name}`, {
        namespace: pod.namespace,
        kind: top.kind,
        name: top.name,
      });
  }
  return [...wanted.values()];
}

/**
 * The pods' report and the outcome, as the drain stops: what happens after
 * (a last look at the replacements) changes neither.
 */
function conclude(result: DrainResult, outcomes: Map<string, PodOutcome>, stop: Stop): void {
  // A copy: an unconfirmed eviction that answers later must not change the report.
  result.pods = result.plan.pods.map((pod) => {
    const outcome = outcomes.get(key(pod))!;
    if (pod.action === 'blocked')
      return {
        ...outcome,
        status: 'blocked',
        message: pod.reasons
          .filter((r) => r.severity === 'block')
          .map((r) => r.code)
          .join(', '),
      };
    return { ...outcome };
  });
  const unfinished = result.pods.some((pod) =>
    ['evicted', 'not-attempted', 'blocked', 'failed', 'unconfirmed'].includes(pod.status),
  );
  const why = stop.reason();
  if (stop.fatal) {
    result.outcome = 'failed';
    result.message = stop.fatal.message;
    result.errorExitCode = stop.fatal.exitCode;
  } else if (why) {
    result.outcome = why;
  } else if (unfinished) result.outcome = 'failed';
  else if (result.workloads.some((w) => !w.available)) result.outcome = 'timed-out';
}

/** The exit code of a drain: its outcome's, or the code of the error that stopped it. */
export function drainExitCode(result: DrainResult): ExitCodeValue {
  return outcomeExitCode(result.outcome, result.errorExitCode);
}
