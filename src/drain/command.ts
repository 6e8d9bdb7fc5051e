/**
 * `kubectl study-drain`: parse (the wiring), plan (read-only), refuse a
 * blocked plan, confirm on a terminal, drain, report.
 */
import { ExitCode, InterruptedError, UsageError, type ExitCodeValue } from '../cli/errors.js';
import type { CommonFlags, KubeFlags } from '../cli/flags.js';
import { colorEnabled, interactiveStderr, writeStructured, type Io } from '../cli/output.js';
import { ask } from '../cli/prompt.js';
import type { RunState } from '../cli/program.js';
import { connect, type KubeClient } from '../kube/client.js';
import { listAll } from '../kube/list.js';
import { parseDuration } from '../util/duration.js';
import { cordon, executeDrain, exitCodeFor, type DrainEvent, type DrainResult } from './execute.js';
import { gatherPlanInputs } from './gather.js';
import type { DrainPlan, PlanOptions } from './model.js';
import { buildPlan } from './plan.js';
import { eventLine, renderPlan, renderResult } from './print.js';

export interface DrainOptions extends CommonFlags {
  kube: KubeFlags;
  nodes: string[];
  selector?: string;
  podSelector?: string;
  dryRun: boolean;
  force: boolean;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  disableEviction: boolean;
  ignoreOptOuts: boolean;
  strict: boolean;
  allowUnplaceable: boolean;
  gracePeriod: number;
  timeout: string;
  skipWaitForDeleteTimeout: number;
  concurrency: number;
  waitHealthy: boolean;
  yes: boolean;
}

/** Pure checks of the arguments. */
export function validateDrain(o: DrainOptions): { timeoutMs: number } {
  if (o.nodes.length === 0 && !o.selector) {
    throw new UsageError('name at least one node, or select nodes with -l/--selector', { hint: 'kubectl study-drain NODE [NODE...]' });
  }
  if (o.nodes.length && o.selector) throw new UsageError('name nodes or use -l/--selector, not both');
  const seen = new Set<string>();
  for (const n of o.nodes) {
    if (seen.has(n)) throw new UsageError(`node "${n}" is named twice`, { hint: 'name each node once' });
    seen.add(n);
  }
  const timeoutMs = parseDuration(o.timeout);
  if (timeoutMs === undefined || timeoutMs < 0) {
    throw new UsageError(`invalid --timeout "${o.timeout}"`, { hint: 'a duration such as 5m or 90s; 0 waits for ever' });
  }
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new UsageError('--concurrency must be a whole number of at least 1');
  if (!Number.isInteger(o.gracePeriod) || o.gracePeriod < -1) throw new UsageError('--grace-period must be -1 (the pod\u2019s own) or a number of seconds');
  return { timeoutMs };
}

function planOptions(o: DrainOptions): PlanOptions {
  const p: PlanOptions = {
    force: o.force,
    ignoreDaemonSets: o.ignoreDaemonSets,
    deleteEmptyDirData: o.deleteEmptyDirData,
    disableEviction: o.disableEviction,
    ignoreOptOuts: o.ignoreOptOuts,
    strict: o.strict,
  };
  if (o.allowUnplaceable) p.allowUnplaceable = true;
  if (o.podSelector) p.podSelector = o.podSelector;
  return p;
}

async function resolveNodes(client: KubeClient, o: DrainOptions): Promise<string[]> {
  if (!o.selector) return o.nodes;
  const list = await client.call(`list nodes matching ${o.selector}`, () => listAll((p) => client.core.listNode({ ...p, labelSelector: o.selector })));
  const names = list.items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  if (names.length === 0) throw new UsageError(`no node matches the selector "${o.selector}"`);
  return names;
}

/** Reads the cluster and builds the plan: what study-drain and maintain both start from. */
export async function makePlan(
  client: KubeClient,
  nodes: string[],
  options: PlanOptions,
  skipWaitForDeleteTimeoutSeconds = 0,
): Promise<{ plan: DrainPlan; podListVersions: Map<string, string> }> {
  const inputs = await gatherPlanInputs(client, nodes, { options, skipWaitForDeleteTimeoutSeconds, now: new Date() });
  return { plan: buildPlan(inputs), podListVersions: inputs.podListVersions };
}

async function confirm(io: Io, question: string, signal: AbortSignal): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(io, `${question} [y/N] `, signal)).trim());
}

/** Progress: a spinner with counts on a terminal, one line per event otherwise. */
async function progressReporter(io: Io, total: number): Promise<{ onEvent: (e: DrainEvent) => void; stop: () => void }> {
  const counts = { evicted: 0, gone: 0, waiting: 0 };
  let blockedBy = '';
  if (!interactiveStderr(io)) {
    return { onEvent: (e) => io.stderr.write(`${eventLine(e)}\n`), stop: () => {} };
  }
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: io.stderr as NodeJS.WritableStream, text: 'cordoning' }).start();
  const render = (): void => {
    spinner.text = `evicted ${counts.evicted}/${total}, gone ${counts.gone}${blockedBy ? `, waiting on ${blockedBy}` : ''}`;
  };
  return {
    onEvent: (e) => {
      if (e.type === 'evicted') counts.evicted++;
      if (e.type === 'gone') counts.gone++;
      if (e.type === 'pdb-wait') blockedBy = e.detail;
      if (e.type === 'evicted' || e.type === 'gone') blockedBy = '';
      if (e.type === 'cordon' || e.type === 'failed' || e.type === 'waiting-healthy') spinner.info(eventLine(e)).start();
      render();
    },
    stop: () => spinner.stop(),
  };
}

export async function runDrain(state: RunState, o: DrainOptions): Promise<ExitCodeValue> {
  const { io } = state;
  const { timeoutMs } = validateDrain(o);
  const started = Date.now();
  // In-flight writes are never cut by Ctrl-C (the report must be exact); a stuck server is cut by the request timeout.
  const client = connect(o.kube, { timeoutMs: o.kube.requestTimeoutMs || 30_000 });
  const nodes = await resolveNodes(client, o);
  const { plan, podListVersions } = await makePlan(client, nodes, planOptions(o), o.skipWaitForDeleteTimeout);
  if (state.signal.aborted) throw new InterruptedError('interrupted while planning; nothing was changed');
  const structured = o.output === 'json' || o.output === 'yaml';
  const colour = colorEnabled(io);

  if (o.dryRun || plan.verdict === 'blocked') {
    if (structured) await writeStructured(io, o.output as 'json' | 'yaml', plan);
    else io.stdout.write(renderPlan(plan, o.output === 'wide', colour));
    if (plan.verdict === 'blocked') {
      if (!o.dryRun) io.stderr.write('error: the drain is blocked; nothing was changed (the node was not cordoned)\n');
      return ExitCode.BLOCKED;
    }
    return ExitCode.OK;
  }

  if (!structured) io.stdout.write(renderPlan(plan, o.output === 'wide', colour));
  if (o.disableEviction) {
    io.stderr.write('warning: --disable-eviction DELETES pods directly: no PodDisruptionBudget is checked, every covered workload can go below its budget\n');
  }
  if (!o.yes && io.stdin.isTTY && io.stderr.isTTY) {
    const toEvict = plan.summary.evict;
    const ok = await confirm(io, `Cordon ${nodes.join(', ')} and evict ${toEvict} pod${toEvict === 1 ? '' : 's'}?`, state.signal);
    if (!ok) {
      io.stderr.write('Nothing was changed.\n');
      return ExitCode.NEGATIVE;
    }
  }
  if (state.signal.aborted) throw new InterruptedError('interrupted before the drain started; nothing was changed');

  const progress = await progressReporter(io, plan.summary.evict);
  let result: DrainResult;
  try {
    result = await executeDrain(client, plan, podListVersions, {
      deadline: timeoutMs > 0 ? started + timeoutMs : undefined,
      interrupt: state.signal,
      concurrency: o.concurrency,
      gracePeriodSeconds: o.gracePeriod,
      disableEviction: o.disableEviction,
      waitHealthy: o.waitHealthy,
      onEvent: progress.onEvent,
    });
  } finally {
    progress.stop();
  }
  // Every request of the run, the plan's included.
  result.requests = client.requests;
  if (structured) await writeStructured(io, o.output as 'json' | 'yaml', result);
  else io.stdout.write(`\n${renderResult(result, colour)}`);
  return exitCodeFor(result);
}

export interface UncordonOptions extends CommonFlags {
  kube: KubeFlags;
  nodes: string[];
}

export async function runUncordon(state: RunState, o: UncordonOptions): Promise<ExitCodeValue> {
  if (o.nodes.length === 0) throw new UsageError('name at least one node to uncordon');
  const client = connect(o.kube);
  const results: Array<{ node: string; changed: boolean }> = [];
  for (const node of o.nodes) {
    const changed = await cordon(client, node, false);
    results.push({ node, changed });
    if (o.output !== 'json' && o.output !== 'yaml') {
      state.io.stdout.write(changed ? `node/${node} uncordoned\n` : `node/${node} was not cordoned; nothing changed\n`);
    }
  }
  if (o.output === 'json' || o.output === 'yaml') {
    await writeStructured(state.io, o.output, { kind: 'UncordonResult', apiVersion: 'study.kubectl.io/v1', nodes: results });
  }
  return ExitCode.OK;
}
