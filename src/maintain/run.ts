/**
 * `kubectl study maintain`: node after node (or up to --max-unavailable at
 * once), plan, drain, run the work, wait for Ready, uncordon (only what
 * this run cordoned), wait for the evicted workloads, next. A Lease keeps
 * it to one run per cluster; a journal makes it resumable; the first
 * failure stops it in a stated, safe state. Everything it checks (the
 * journal can be written and is this run's, the plan is not blocked, the
 * lock is free) is checked before the first change.
 */
import { randomBytes } from 'node:crypto';

import { abortable, deadlineSignal, sleep } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import { BlockedError, ExitCode, InterruptedError, TimeoutError, type ExitCodeValue } from '../base/errors.js';
import type { RunContext } from '../base/run.js';
import {
  clusterDrainApi,
  cordon,
  evictedWorkloads,
  executeDrain,
  batches,
  makePlan,
  makeRunPlan,
  type RunPlan,
  waitAvailable,
  type DrainEvent,
  type DrainPlan,
} from '../drain/lib.js';
import { connect, type KubeClient } from '../kube/client.js';
import { nodesMatching } from '../kube/nodes.js';
import { isNodeReady } from '../kube/objects.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { checkOwner, Journal, type NodeProgress } from './journal.js';
import { holderIdentity, LOCK_NAME, MaintenanceLock, readLock } from './lease.js';
import type { MaintainReport, NodeReport, RunPlanSummary } from './model.js';
import type { MaintainOptions } from './options.js';
import { maintainNode, priorCommand, StepFailed, type MaintainApi, type NodeDeps, type PriorCommand } from './steps.js';
import { commandFacts, commandWork, operatorWork } from './work.js';

export interface MaintainHooks {
  /** The whole run's plan, before anything is touched. */
  showPlan(report: MaintainReport, nodes: string[], progress: Map<string, NodeProgress>): void;
  note(line: string): void;
  confirm(question: string): Promise<boolean>;
  /** Progress of the run: a phase change of a node, or a drain event. */
  progress(
    nodes: string[],
    reports: Map<string, NodeReport>,
    allowLive: boolean,
  ): Promise<{
    live: boolean;
    phase: (node: string) => void;
    drainEvent: (node: string, e: DrainEvent) => void;
    stop: () => void;
  }>;
}

function clusterMaintainApi(
  client: KubeClient,
  o: MaintainOptions,
  signal: AbortSignal,
  interrupt: AbortSignal,
): MaintainApi {
  const drainApi = clusterDrainApi(client);
  // The pods each plan saw, so that the drain tells replacements from pods that were there before.
  const existing = new WeakMap<DrainPlan, Set<string>>();
  return {
    planRun: (order, uncordon) => makeRunPlan(client, order, o.plan, o.maxUnavailable, uncordon),
    async plan(nodes) {
      const { plan, podListVersions, existingPods } = await makePlan(client, nodes, o.plan);
      existing.set(plan, existingPods);
      return { plan, podListVersions };
    },
    // The drain's own deadline covers the run's --timeout (steps.ts); only an interrupt stops it otherwise.
    drain: (plan, versions, deadline, onEvent) =>
      executeDrain(drainApi, plan, versions, {
        deadline,
        interrupt,
        concurrency: 10,
        gracePeriodSeconds: -1,
        disableEviction: false,
        waitHealthy: false,
        apiOutageMs: o.apiOutageMs,
        existingPods: existing.get(plan),
        onEvent,
      }),
    evictedWorkloads: (plan, result) => evictedWorkloads(plan, result.pods),
    isCordoned: async (node) => (await drainApi.readNode(node)).spec?.unschedulable === true,
    uncordon: async (node) => {
      await cordon(drainApi, node, false);
    },
    async waitReady(node, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const n = await client.call(`get node ${node}`, () => drainApi.readNode(node));
        if (isNodeReady(n)) return;
        await sleep(2000, signal);
      }
      throw new TimeoutError(`node ${node} was not Ready within ${formatDuration(timeoutMs)}`);
    },
    waitAvailable: (workloads, until) => waitAvailable(drainApi, workloads, until, () => {}),
  };
}

/** The cluster's identity for the journal: its server and kube-system namespace's UID. */
async function clusterIdentity(client: KubeClient): Promise<{ server: string; uid: string }> {
  const ns = await client.call('read namespace kube-system', () =>
    client.request<{ metadata?: { uid?: string } }>('GET', resourcePath(RESOURCES.namespaces, { name: 'kube-system' })),
  );
  return { server: client.server, uid: ns.metadata?.uid ?? '' };
}

/** The whole run's plan as the report carries it. */
export function runPlanSummary(order: string[][], run: RunPlan): RunPlanSummary {
  const out: RunPlanSummary = {
    order,
    blocked: run.blocked,
    pdbs: run.steps.flatMap((s) => s.plan.pdbs),
    steps: run.steps.map((s) => {
      const { evict, skip, wait, blocked } = s.plan.summary;
      return {
        nodes: s.nodes,
        evict,
        skip,
        wait,
        blocked,
        movedAgain: s.movedAgain,
        pending: s.pending,
        uncertain: s.uncertain,
      };
    }),
  };
  if (run.firstUnplaceable !== undefined) out.firstUnplaceableStep = run.firstUnplaceable + 1;
  if (run.maxUnavailableThatFits !== undefined) out.maxUnavailableThatFits = run.maxUnavailableThatFits;
  return out;
}

/** The plan of every step, before anything is touched; which node blocks, if any does. */
async function planRun(
  api: MaintainApi,
  order: string[][],
  progress: Map<string, NodeProgress>,
): Promise<RunPlanSummary> {
  if (order.length === 0) return { order, blocked: [], pdbs: [], steps: [] };
  // A node an earlier run of this journal cordoned is uncordoned after its step, as this run will.
  const uncordon = new Set(order.flat().filter((n) => progress.get(n)?.cordonedByRun === true));
  return runPlanSummary(order, await api.planRun(order, uncordon));
}

function outcomeOf(code: ExitCodeValue): MaintainReport['outcome'] {
  if (code === ExitCode.OK) return 'done';
  if (code === ExitCode.INTERRUPTED) return 'interrupted';
  if (code === ExitCode.TIMEOUT) return 'timed-out';
  return 'failed';
}

function nextAfterFailure(reports: Map<string, NodeReport>): string {
  const failed = [...reports.values()].find((r) => r.status === 'failed');
  const ours = [...reports.values()].filter((r) => r.cordonedNow && r.cordonedByRun).map((r) => r.node);
  return `fix the cause${failed ? ` on ${failed.node}` : ''}, then run the same command again: it resumes where it stopped and skips finished nodes${ours.length ? `; or give up with: kubectl study-drain uncordon ${ours.join(' ')}` : ''}`;
}

interface Prepared {
  journal: Journal | undefined;
  warnings: string[];
  progress: Map<string, NodeProgress>;
  reports: Map<string, NodeReport>;
  /** The nodes not yet done, in order. */
  todo: string[];
  /** The cluster the journal belongs to. */
  identity?: { server: string; uid: string };
  prior: Map<string, PriorCommand>;
}

/**
 * The journal first: read it, check it is this cluster's and this node
 * list's, and (for a real run) that it can be written, so that a journal
 * that cannot be written stops the run before it changes anything.
 */
async function prepare(client: KubeClient, o: MaintainOptions, nodes: string[]): Promise<Prepared> {
  const journal = o.journal
    ? Journal.open(o.journal, randomBytes(4).toString('hex'), { repair: !o.dryRun })
    : undefined;
  const warnings: string[] = [];
  if (journal?.torn !== undefined) {
    warnings.push(
      journal.setAside
        ? `the journal's last line was cut short by an earlier crash; it was moved to ${journal.setAside}`
        : "the journal's last line was cut short by an earlier crash; a real run moves it aside",
    );
  }
  let identity: Prepared['identity'];
  if (journal) {
    identity = await clusterIdentity(client);
    checkOwner(journal.entries, journal.file, identity, nodes);
    if (!o.dryRun) journal.checkWritable();
  }
  const progress: Map<string, NodeProgress> = journal?.progress() ?? new Map();
  const reports = new Map<string, NodeReport>(
    nodes.map((n) => [
      n,
      {
        node: n,
        status: 'pending',
        phase: 'waiting',
        cordonedByRun: progress.get(n)?.cordonedByRun ?? false,
        cordonedNow: false,
        elapsedMs: 0,
      },
    ]),
  );
  for (const n of nodes)
    if (progress.get(n)?.done)
      Object.assign(reports.get(n)!, { status: 'skipped-done', phase: 'done in an earlier run' });
  // Commands earlier runs started and never saw end: decided now, before anything changes.
  const prior = new Map<string, PriorCommand>();
  for (const n of nodes) {
    const rec = progress.get(n)?.command;
    if (!rec || progress.get(n)?.done || progress.get(n)?.steps.has('command-done')) continue;
    const decision = priorCommand(n, rec, commandFacts(rec), o.resumeStep);
    if (decision.action === 'refuse') throw new BlockedError(decision.message, { hint: decision.hint });
    prior.set(n, decision);
    warnings.push(decision.note);
  }
  const out: Prepared = {
    journal,
    warnings,
    progress,
    reports,
    prior,
    todo: nodes.filter((n) => !progress.get(n)?.done),
  };
  if (identity) out.identity = identity;
  return out;
}

/** Runs the steps, batch after batch; the first failure ends the run after its batch. */
async function runBatches(deps: NodeDeps, p: Prepared, report: MaintainReport): Promise<ExitCodeValue> {
  let code: ExitCodeValue = ExitCode.OK;
  for (const batch of report.plan.order) {
    await Promise.all(
      batch.map(async (node) => {
        const started = Date.now();
        const r = p.reports.get(node)!;
        try {
          await maintainNode(deps, node, p.progress.get(node), r, report.degraded);
        } catch (err) {
          const failure =
            err instanceof StepFailed
              ? err
              : new StepFailed((err as Error).message, (err as { exitCode?: ExitCodeValue }).exitCode ?? ExitCode.API);
          Object.assign(r, { status: 'failed', detail: failure.message });
          if (code === ExitCode.OK) code = failure.exitCode;
          // The failure goes in the journal too, unless the journal is what failed.
          try {
            p.journal?.record({ node, step: 'failed', detail: failure.message });
          } catch {
            // the report says it
          }
        } finally {
          r.elapsedMs = Date.now() - started;
        }
      }),
    );
    if (code !== ExitCode.OK) break;
  }
  return code;
}

function lockOptionsOf(o: MaintainOptions): { namespace: string; name: string; durationSeconds: number } {
  return { namespace: o.lockNamespace, name: LOCK_NAME, durationSeconds: o.lockDurationSeconds };
}

interface Execution {
  ctx: RunContext;
  o: MaintainOptions;
  client: KubeClient;
  api: MaintainApi;
  p: Prepared;
  report: MaintainReport;
  nodes: string[];
  /** Ctrl-C, SIGTERM or the run's --timeout. */
  signal: AbortSignal;
  hooks: MaintainHooks;
  runDeadline: number | undefined;
}

/** Takes the lock, records the run, works the batches, releases the lock: the changing part of a run. */
async function execute(x: Execution): Promise<ExitCodeValue> {
  const { ctx, o, client, api, p, report, nodes, signal, hooks } = x;
  const lock = await abortable(
    MaintenanceLock.acquire(client, lockOptionsOf(o), holderIdentity(p.journal?.run ?? 'run')),
    signal,
  );
  if (lock.tookOverFrom) hooks.note(`took over the expired lock of ${lock.tookOverFrom}`);
  lock.startRenewing();
  // A server that never answers must not hold the report: the lease expires on its own.
  const release = (): Promise<void> => abortable(lock.release(), AbortSignal.timeout(5000)).catch(() => {});
  // The run's first record says whose journal this is (cluster, node list), for any resume.
  try {
    p.journal?.record({ node: '', step: 'run', ...(p.identity ? { cluster: p.identity } : {}), nodes });
  } catch (err) {
    await release();
    throw err;
  }
  const view = await hooks.progress(nodes, p.reports, Boolean(o.run));
  try {
    return await runBatches(
      {
        api,
        work: o.run
          ? commandWork(o.run, o.journal ?? 'kubectl-study-maintain', p.journal?.run ?? 'run', ctx, () => view.live)
          : operatorWork(o.waitFile, ctx),
        prior: p.prior,
        journal: p.journal,
        checkLock: () => {
          if (!lock.held())
            throw new StepFailed(
              'the maintenance lock was lost (not renewed in time, or taken by another run): stopping before the next step',
              ExitCode.BLOCKED,
            );
        },
        say: (node, phase) => {
          p.reports.get(node)!.phase = phase;
          view.phase(node);
        },
        onDrainEvent: view.drainEvent,
        signal,
        drainTimeoutMs: o.drainTimeoutMs,
        ...(x.runDeadline !== undefined ? { runDeadline: x.runDeadline } : {}),
        readyTimeoutMs: o.readyTimeoutMs,
        recoverTimeoutMs: o.recoverTimeoutMs,
      },
      p,
      report,
    );
  } finally {
    view.stop();
    await release();
  }
}

export async function runMaintain(ctx: RunContext, o: MaintainOptions, hooks: MaintainHooks): Promise<MaintainReport> {
  const started = Date.now();
  const client = connect(o.connection, { timeoutMs: o.connection.requestTimeoutMs || 30_000, outageMs: o.apiOutageMs });
  const deadline = deadlineSignal(
    o.timeoutMs,
    () => new TimeoutError(`the run's --timeout ${formatDuration(o.timeoutMs)} ran out`),
  );
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  const api = clusterMaintainApi(client, o, signal, ctx.signal);
  // Planning only reads: --timeout and Ctrl-C end it at once, even against a server that never answers.
  const { nodes, p, plan } = await abortable(
    (async () => {
      const nodes = o.selector !== undefined ? await nodesMatching(client, o.selector) : o.nodes;
      const p = await prepare(client, o, nodes);
      return { nodes, p, plan: await planRun(api, batches(p.todo, o.maxUnavailable), p.progress) };
    })(),
    signal,
  ).catch((err: unknown) => {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while planning; nothing was changed');
    throw err;
  });
  const report: MaintainReport = {
    kind: 'MaintainReport',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'planned',
    nodes: [],
    plan,
    degraded: [],
    warnings: p.warnings,
    ...(o.journal ? { journal: o.journal } : {}),
  };
  const finish = (outcome: MaintainReport['outcome']): MaintainReport => {
    report.outcome = outcome;
    report.nodes = nodes.map((n) => p.reports.get(n)!);
    return report;
  };
  for (const w of p.warnings) hooks.note(`warning: ${w}`);
  hooks.showPlan(report, nodes, p.progress);
  if (report.plan.blocked.length) {
    report.next =
      'resolve the blocks (or pass the override flags the plan names) and run the same command again; nothing was changed';
    return finish('blocked');
  }
  if (o.dryRun) {
    const lock = await readLock(client, lockOptionsOf(o));
    if (lock?.held) report.lockHeldBy = lock.holder;
    return finish('planned');
  }
  if (
    !o.yes &&
    ctx.io.stdin.isTTY &&
    ctx.io.stderr.isTTY &&
    !(await hooks.confirm(`Maintain ${p.todo.length} node${p.todo.length === 1 ? '' : 's'} (${p.todo.join(', ')})?`))
  ) {
    hooks.note('Nothing was changed.');
    return finish('declined');
  }

  const code = await execute({
    ctx,
    o,
    client,
    api,
    p,
    report,
    nodes,
    signal,
    hooks,
    runDeadline: o.timeoutMs > 0 ? started + o.timeoutMs : undefined,
  }).finally(() => deadline.clear());
  for (const r of p.reports.values())
    if (r.status === 'pending') Object.assign(r, { status: 'not-started', phase: 'not started' });
  if (code !== ExitCode.OK) {
    report.next = nextAfterFailure(p.reports);
    report.errorExitCode = code;
  }
  return finish(outcomeOf(code));
}

export function maintainExitCode(r: MaintainReport): ExitCodeValue {
  switch (r.outcome) {
    case 'done':
    case 'planned':
      return ExitCode.OK;
    case 'declined':
      return ExitCode.NEGATIVE;
    case 'interrupted':
      return ExitCode.INTERRUPTED;
    case 'timed-out':
      return ExitCode.TIMEOUT;
    default:
      return r.errorExitCode ?? ExitCode.BLOCKED;
  }
}
