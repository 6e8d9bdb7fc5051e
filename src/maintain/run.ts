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

import { abortable, deadlineSignal } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import {
  ApiError,
  BlockedError,
  ExitCode,
  InterruptedError,
  outcomeExitCode,
  outcomeOfExitCode,
  StudyError,
  TimeoutError,
  type ExitCodeValue,
} from '../base/errors.js';
import { canAsk } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import { plural } from '../base/text.js';
import { batches, type DrainEvent, type RunPlan } from '../drain/lib.js';
import type { MaintainRunApi } from './api.js';
import { checkOwner, Journal, type NodeProgress } from './journal.js';
import { holderIdentity } from './lease.js';
import type { MaintainReport, NodeReport, RunPlanSummary } from './model.js';
import type { MaintainOptions } from './options.js';
import { maintainNode, priorCommand, type MaintainApi, type NodeDeps, type PriorCommand, type Work } from './steps.js';
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

/** The whole run's plan as the report carries it. */
export function runPlanSummary(order: string[][], run: RunPlan): RunPlanSummary {
  const out: RunPlanSummary = {
    order,
    blocked: run.blocked,
    pdbs: run.steps.flatMap((s, i) => s.plan.pdbs.map((pdb) => ({ step: i + 1, ...pdb }))),
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

function nextAfterFailure(reports: Map<string, NodeReport>): string {
  const failed = [...reports.values()].find((r) => r.status === 'failed');
  const ours = [...reports.values()].filter((r) => r.cordonedNow && r.cordonedByRun).map((r) => r.node);
  const giveUp = ours.length ? `; or give up with: kubectl study-drain uncordon ${ours.join(' ')}` : '';
  return (
    `fix the cause${failed ? ` on ${failed.node}` : ''}, then run the same command again: ` +
    `it resumes where it stopped and skips finished nodes${giveUp}`
  );
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
async function prepare(api: MaintainRunApi, options: MaintainOptions, nodes: string[]): Promise<Prepared> {
  const journal = options.journal ? Journal.open(options.journal, randomBytes(4).toString('hex')) : undefined;
  const warnings: string[] = [];
  // A real run sets the torn line aside once it holds the lock, and says where then.
  if (journal?.torn !== undefined && options.dryRun)
    warnings.push("the journal's last line was cut short by an earlier crash; a real run moves it aside");
  let identity: Prepared['identity'];
  if (journal) {
    identity = await api.clusterIdentity();
    checkOwner(journal.entries, journal.file, identity, nodes);
    if (!options.dryRun) journal.checkWritable();
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
    const decision = priorCommand(n, rec, commandFacts(rec), options.resumeStep);
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
async function runBatches(deps: NodeDeps, prepared: Prepared, report: MaintainReport): Promise<ExitCodeValue> {
  let code: ExitCodeValue = ExitCode.OK;
  for (const batch of report.plan.order) {
    await Promise.all(
      batch.map(async (node) => {
        const started = Date.now();
        const nodeReport = prepared.reports.get(node)!;
        try {
          await maintainNode(deps, node, prepared.progress.get(node), nodeReport, report.degraded);
        } catch (err) {
          const failure = err instanceof StudyError ? err : new ApiError((err as Error).message, { cause: err });
          Object.assign(nodeReport, { status: 'failed', detail: failure.message });
          if (code === ExitCode.OK) code = failure.exitCode;
          // The failure goes in the journal too, unless the journal is what failed.
          try {
            prepared.journal?.record({ node, step: 'failed', detail: failure.message });
          } catch {
            // the report says it
          }
        } finally {
          nodeReport.elapsedMs = Date.now() - started;
        }
      }),
    );
    if (code !== ExitCode.OK) break;
  }
  return code;
}

/** What the changing part of a run works with: planned, checked and confirmed. */
interface ConfirmedRun {
  ctx: RunContext;
  options: MaintainOptions;
  api: MaintainRunApi;
  /** The operator's work, when the caller gives it (the unit tests); else made from the options. */
  work: Work | undefined;
  prepared: Prepared;
  report: MaintainReport;
  nodes: string[];
  /** Ctrl-C, SIGTERM or the run's --timeout. */
  signal: AbortSignal;
  hooks: MaintainHooks;
  runDeadline: number | undefined;
}

/** Takes the lock, records the run, works the batches, releases the lock: the changing part of a run. */
async function runLocked(run: ConfirmedRun): Promise<ExitCodeValue> {
  const { ctx, options, api, prepared, report, nodes, signal, hooks } = run;
  const lock = await abortable(api.acquireLock(holderIdentity(prepared.journal?.run ?? 'run')), signal);
  if (lock.tookOverFrom) hooks.note(`took over the expired lock of ${lock.tookOverFrom}`);
  lock.startRenewing();
  // A server that never answers must not hold the report: the lease expires on its own.
  const release = (): Promise<void> => abortable(lock.release(), AbortSignal.timeout(5000)).catch(() => {});
  // The run's first record says whose journal this is (cluster, node list), for any resume.
  try {
    const aside = prepared.journal?.setAsideTorn();
    if (aside !== undefined) {
      const warning = `the journal's last line was cut short by an earlier crash; it was moved to ${aside}`;
      prepared.warnings.push(warning);
      hooks.note(`warning: ${warning}`);
    }
    prepared.journal?.record({
      node: '',
      step: 'run',
      ...(prepared.identity ? { cluster: prepared.identity } : {}),
      nodes,
    });
  } catch (err) {
    await release();
    throw err;
  }
  const view = await hooks.progress(nodes, prepared.reports, Boolean(options.run));
  try {
    return await runBatches(
      {
        api,
        work:
          run.work ??
          (options.run
            ? commandWork(
                options.run,
                options.journal ?? 'kubectl-study-maintain',
                prepared.journal?.run ?? 'run',
                ctx,
                () => view.live,
              )
            : operatorWork(options.waitFile, ctx)),
        prior: prepared.prior,
        journal: prepared.journal,
        checkLock: () => {
          if (!lock.held())
            throw new BlockedError(
              'the maintenance lock was lost (not renewed in time, or taken by another run): ' +
                'stopping before the next step',
            );
        },
        say: (node, phase) => {
          prepared.reports.get(node)!.phase = phase;
          view.phase(node);
        },
        onDrainEvent: view.drainEvent,
        signal,
        drainTimeoutMs: options.drainTimeoutMs,
        ...(run.runDeadline !== undefined ? { runDeadline: run.runDeadline } : {}),
        readyTimeoutMs: options.readyTimeoutMs,
        recoverTimeoutMs: options.recoverTimeoutMs,
      },
      prepared,
      report,
    );
  } finally {
    view.stop();
    await release();
  }
}

/** What a run works through: the cluster, and the operator's work on each drained node. */
export interface MaintainDeps {
  /** clusterMaintainApi over a connected client (command.ts), or the unit tests' fake. */
  api: MaintainRunApi;
  /** By default the --run command, or the wait for --wait-file (or Enter). */
  work?: Work;
}

export async function runMaintain(
  ctx: RunContext,
  options: MaintainOptions,
  hooks: MaintainHooks,
  { api, work }: MaintainDeps,
): Promise<MaintainReport> {
  const started = Date.now();
  const deadline = deadlineSignal(
    options.timeoutMs,
    () => new TimeoutError(`the run's --timeout ${formatDuration(options.timeoutMs)} ran out`),
  );
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  // Planning only reads: --timeout and Ctrl-C end it at once, even against a server that never answers.
  const { nodes, prepared, plan } = await abortable(
    (async () => {
      const nodes = options.selector !== undefined ? await api.nodesMatching(options.selector) : options.nodes;
      const prepared = await prepare(api, options, nodes);
      return {
        nodes,
        prepared,
        plan: await planRun(api, batches(prepared.todo, options.maxUnavailable), prepared.progress),
      };
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
    warnings: prepared.warnings,
    ...(options.journal ? { journal: options.journal } : {}),
  };
  const finish = (outcome: MaintainReport['outcome']): MaintainReport => {
    report.outcome = outcome;
    report.nodes = nodes.map((n) => prepared.reports.get(n)!);
    return report;
  };
  for (const w of prepared.warnings) hooks.note(`warning: ${w}`);
  hooks.showPlan(report, nodes, prepared.progress);
  if (report.plan.blocked.length) {
    report.next =
      'resolve the blocks (or pass the override flags the plan names) and run the same command again; ' +
      'nothing was changed';
    return finish('blocked');
  }
  if (options.dryRun) {
    const lock = await api.readLock();
    if (lock?.held) report.lockHeldBy = lock.holder;
    return finish('planned');
  }
  if (
    !options.yes &&
    canAsk(ctx.io) &&
    !(await hooks.confirm(
      `Maintain ${prepared.todo.length} ${plural(prepared.todo.length, 'node')} (${prepared.todo.join(', ')})?`,
    ))
  ) {
    hooks.note('Nothing was changed.');
    return finish('declined');
  }

  const code = await runLocked({
    ctx,
    options,
    api,
    work,
    prepared,
    report,
    nodes,
    signal,
    hooks,
    runDeadline: options.timeoutMs > 0 ? started + options.timeoutMs : undefined,
  }).finally(() => deadline.clear());
  for (const nodeReport of prepared.reports.values())
    if (nodeReport.status === 'pending') Object.assign(nodeReport, { status: 'not-started', phase: 'not started' });
  if (code !== ExitCode.OK) {
    report.next = nextAfterFailure(prepared.reports);
    report.errorExitCode = code;
  }
  return finish(outcomeOfExitCode(code));
}

/** The exit code of a run: its outcome's, or the code of the failure that stopped it. */
export function maintainExitCode(report: MaintainReport): ExitCodeValue {
  return outcomeExitCode(report.outcome, report.errorExitCode);
}
