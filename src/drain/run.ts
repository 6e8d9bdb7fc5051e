/**
 * `kubectl study-drain`: resolve the nodes, plan (read-only), refuse a
 * blocked plan, confirm on a terminal, drain, and return what happened.
 * Showing the plan, asking and progress go through hooks (print.ts makes
 * them for a terminal or a log); the result is printed by the wiring.
 */
import { abortable, deadlineSignal } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import { ExitCode, InterruptedError, NoMatchError, TimeoutError, type ExitCodeValue } from '../base/errors.js';
import type { RunContext } from '../base/run.js';
import { plural } from '../base/text.js';
import { connect, type KubeClient } from '../kube/client.js';
import { listPath } from '../kube/list.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { clusterDrainApi } from './api.js';
import type { DrainEvent, DrainResult } from './events.js';
import { cordon, drainExitCode, executeDrain } from './execute.js';
import { gatherPlanInputs } from './gather.js';
import { buildRunPlan, type RunPlan } from './runplan.js';
import type { DrainPlan, PlanOptions } from './model.js';
import type { DrainOptions, UncordonOptions } from './options.js';
import { buildPlan } from './plan.js';

export interface DrainHooks {
  /** The plan of a drain that is about to start (a dry run's or a blocked plan is the result instead). */
  showPlan(plan: DrainPlan): void;
  /** A warning or note on stderr. */
  note(line: string): void;
  /** Asks on the terminal; called only when there is one and --yes was not given. */
  confirm(question: string): Promise<boolean>;
  /** Progress while the drain runs. */
  progress(total: number): Promise<{ onEvent: (e: DrainEvent) => void; stop: () => void }>;
}

/** A dry run's or a blocked drain's plan, a drain the operator declined, or what the drain did. */
export type DrainOutput =
  | { kind: 'planned'; plan: DrainPlan; dryRun: boolean }
  | { kind: 'declined'; plan: DrainPlan }
  | { kind: 'drained'; result: DrainResult };

/** Reads the cluster and builds the plan: what study-drain and maintain both start from. */
export async function makePlan(
  client: KubeClient,
  nodes: string[],
  options: PlanOptions,
  skipWaitForDeleteTimeoutSeconds = 0,
): Promise<{ plan: DrainPlan; podListVersions: Map<string, string>; existingPods: Set<string> }> {
  const inputs = await gatherPlanInputs(client, nodes, { options, skipWaitForDeleteTimeoutSeconds, now: new Date() });
  return { plan: buildPlan(inputs), podListVersions: inputs.podListVersions, existingPods: inputs.existingPods };
}

/**
 * The plan of a run of drains, step after step (study maintain), from one
 * read of the cluster: every step's pods, controllers, PDBs and
 * permissions in one gather, every step's replacements placed by one
 * simulation of the whole run.
 */
export async function makeRunPlan(
  client: KubeClient,
  order: string[][],
  options: PlanOptions,
  maxUnavailable: number,
  uncordon?: ReadonlySet<string>,
): Promise<RunPlan> {
  const inputs = await gatherPlanInputs(client, order.flat(), {
    options,
    skipWaitForDeleteTimeoutSeconds: 0,
    now: new Date(),
  });
  return buildRunPlan(inputs, order, maxUnavailable, uncordon);
}

/** The node names of a -l selector, in name order; none is a usage error. */
export async function nodesMatching(client: KubeClient, selector: string): Promise<string[]> {
  const list = await client.call(`list nodes matching ${selector}`, () =>
    listPath<{ metadata?: { name?: string } }>(client, resourcePath(RESOURCES.nodes), { labelSelector: selector }),
  );
  const names = list.items
    .map((n) => n.metadata?.name ?? '')
    .filter(Boolean)
    .sort();
  if (names.length === 0)
    throw new NoMatchError(`no node matches the selector "${selector}"`, {
      hint: 'list the nodes and their labels with "kubectl get nodes --show-labels"',
    });
  return names;
}

export async function runDrain(ctx: RunContext, o: DrainOptions, hooks: DrainHooks): Promise<DrainOutput> {
  const started = Date.now();
  // In-flight writes are never cut by Ctrl-C (the report must be exact); a stuck server is cut by the request timeout.
  const client = connect(o.connection, { timeoutMs: o.connection.requestTimeoutMs || 30_000, outageMs: o.apiOutageMs });
  // Planning only reads: --timeout and Ctrl-C end it at once, even against a server that never answers.
  const deadline = deadlineSignal(
    o.timeoutMs,
    () =>
      new TimeoutError(`no plan within --timeout ${formatDuration(o.timeoutMs)}; nothing was changed`, {
        hint: 'is the API server answering? --request-timeout bounds each request',
      }),
  );
  const planning = AbortSignal.any([ctx.signal, deadline.signal]);
  const planned = (async () => {
    const nodes = o.selector !== undefined ? await nodesMatching(client, o.selector) : o.nodes;
    return { nodes, ...(await makePlan(client, nodes, o.plan, o.skipWaitForDeleteTimeoutSeconds)) };
  })();
  const { nodes, plan, podListVersions, existingPods } = await abortable(planned, planning).catch((err: unknown) => {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while planning; nothing was changed');
    throw err;
  });
  deadline.clear();
  if (o.dryRun || plan.verdict === 'blocked') return { kind: 'planned', plan, dryRun: o.dryRun };

  hooks.showPlan(plan);
  if (o.plan.disableEviction) {
    hooks.note(
      'warning: --disable-eviction DELETES pods directly: no PodDisruptionBudget is checked, every covered workload can go below its budget',
    );
  }
  if (!o.yes && ctx.io.stdin.isTTY && ctx.io.stderr.isTTY) {
    const n = plan.summary.evict;
    if (!(await hooks.confirm(`Cordon ${nodes.join(', ')} and evict ${n} ${plural(n, 'pod')}?`))) {
      hooks.note('Nothing was changed.');
      return { kind: 'declined', plan };
    }
  }
  if (ctx.signal.aborted) throw new InterruptedError('interrupted before the drain started; nothing was changed');

  const progress = await hooks.progress(plan.summary.evict);
  let result: DrainResult;
  try {
    result = await executeDrain(clusterDrainApi(client), plan, podListVersions, {
      deadline: o.timeoutMs > 0 ? started + o.timeoutMs : undefined,
      interrupt: ctx.signal,
      concurrency: o.concurrency,
      gracePeriodSeconds: o.gracePeriodSeconds,
      disableEviction: o.plan.disableEviction,
      waitHealthy: o.waitHealthy,
      apiOutageMs: o.apiOutageMs,
      skipWaitForDeleteTimeoutSeconds: o.skipWaitForDeleteTimeoutSeconds,
      existingPods,
      onEvent: progress.onEvent,
    });
  } finally {
    progress.stop();
  }
  // Every request of the run, the plan's included; every throttling, the plan's and the reviews' included.
  result.requests = client.requests;
  result.throttled += client.throttled;
  return { kind: 'drained', result };
}

export function drainOutputExitCode(out: DrainOutput): ExitCodeValue {
  switch (out.kind) {
    case 'planned':
      return out.plan.verdict === 'blocked' ? ExitCode.BLOCKED : ExitCode.OK;
    case 'declined':
      return ExitCode.NEGATIVE;
    case 'drained':
      return drainExitCode(out.result);
  }
}

export interface UncordonResult {
  kind: 'UncordonResult';
  apiVersion: 'study.kubectl.io/v1';
  nodes: Array<{ node: string; changed: boolean }>;
}

export async function runUncordon(_ctx: RunContext, o: UncordonOptions): Promise<UncordonResult> {
  const api = clusterDrainApi(connect(o.connection));
  const nodes: UncordonResult['nodes'] = [];
  for (const node of o.nodes) nodes.push({ node, changed: await cordon(api, node, false) });
  return { kind: 'UncordonResult', apiVersion: 'study.kubectl.io/v1', nodes };
}
