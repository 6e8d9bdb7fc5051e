/**
 * `kubectl study-drain`: resolve the nodes, plan (read-only), refuse a
 * blocked plan, confirm on a terminal, drain, and return what happened.
 * Showing the plan, asking and progress go through hooks (print.ts makes
 * them for a terminal or a log); the result is printed by the wiring.
 */
import { abortable, deadlineSignal } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import { InterruptedError, outcomeExitCode, TimeoutError, type ExitCodeValue } from '../base/errors.js';
import { canAsk } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import { plural } from '../base/text.js';
import type { KubeClient } from '../kube/client.js';
import { nodesMatching } from '../kube/nodes.js';
import { releaseNotice } from '../kube/release.js';
import { clusterDrainApi } from './clusterapi.js';
import type { DrainEvent, DrainResult } from './events.js';
import { cordon, drainExitCode, executeDrain } from './execute.js';
import type { DrainPlan } from './model.js';
import type { DrainOptions, UncordonOptions } from './options.js';
import { makePlan } from './planner.js';

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

export async function runDrain(
  ctx: RunContext,
  options: DrainOptions,
  hooks: DrainHooks,
  client: KubeClient,
): Promise<DrainOutput> {
  const started = Date.now();
  // Planning only reads: --timeout and Ctrl-C end it at once, even against a server that never answers.
  // Run out before the API server answered anything, it is the server's silence, not a plan that was late.
  const bound = `--timeout ${formatDuration(options.timeoutMs)}`;
  const deadline = deadlineSignal(
    options.timeoutMs,
    () =>
      client.silenceError(bound, '; nothing was changed') ??
      new TimeoutError(`no plan within ${bound}; nothing was changed`, {
        hint: 'is the API server answering? --request-timeout bounds each request',
      }),
  );
  const planning = AbortSignal.any([ctx.signal, deadline.signal]);
  const planned = (async () => {
    const nodes = options.selector !== undefined ? await nodesMatching(client, options.selector) : options.nodes;
    return { nodes, ...(await makePlan(client, nodes, options.plan, options.skipWaitForDeleteTimeoutSeconds)) };
  })();
  const { nodes, plan, podListVersions, existingPods } = await abortable(planned, planning).catch((err: unknown) => {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while planning; nothing was changed');
    throw err;
  });
  deadline.clear();
  if (options.dryRun || plan.verdict === 'blocked') return { kind: 'planned', plan, dryRun: options.dryRun };

  // A plan made by another release's rules says so before it is shown (a planned result says it as it is printed).
  const notice = releaseNotice(plan);
  if (notice) hooks.note(`${notice.level}: ${notice.message}`);
  hooks.showPlan(plan);
  if (options.plan.disableEviction) {
    hooks.note(
      'warning: --disable-eviction DELETES pods directly: no PodDisruptionBudget is checked, ' +
        'every covered workload can go below its budget',
    );
  }
  if (!options.yes && canAsk(ctx.io)) {
    const evictions = plan.summary.evict;
    if (!(await hooks.confirm(`Cordon ${nodes.join(', ')} and evict ${evictions} ${plural(evictions, 'pod')}?`))) {
      hooks.note('Nothing was changed.');
      return { kind: 'declined', plan };
    }
  }
  if (ctx.signal.aborted) throw new InterruptedError('interrupted before the drain started; nothing was changed');

  const progress = await hooks.progress(plan.summary.evict);
  let result: DrainResult;
  try {
    result = await executeDrain(clusterDrainApi(client), plan, podListVersions, {
      deadline: options.timeoutMs > 0 ? started + options.timeoutMs : undefined,
      interrupt: ctx.signal,
      concurrency: options.concurrency,
      gracePeriodSeconds: options.gracePeriodSeconds,
      disableEviction: options.plan.disableEviction,
      waitHealthy: options.waitHealthy,
      apiOutageMs: options.apiOutageMs,
      skipWaitForDeleteTimeoutSeconds: options.skipWaitForDeleteTimeoutSeconds,
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
      return outcomeExitCode(out.plan.verdict === 'blocked' ? 'blocked' : 'planned');
    case 'declined':
      return outcomeExitCode('declined');
    case 'drained':
      return drainExitCode(out.result);
  }
}

export interface UncordonResult {
  kind: 'UncordonResult';
  apiVersion: 'study.kubectl.io/v1';
  nodes: Array<{ node: string; changed: boolean }>;
}

export async function runUncordon(
  _ctx: RunContext,
  options: UncordonOptions,
  client: KubeClient,
): Promise<UncordonResult> {
  const api = clusterDrainApi(client);
  const nodes: UncordonResult['nodes'] = [];
  for (const node of options.nodes) nodes.push({ node, changed: await cordon(api, node, false) });
  return { kind: 'UncordonResult', apiVersion: 'study.kubectl.io/v1', nodes };
}
