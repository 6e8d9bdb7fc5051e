/**
 * `kubectl study maintain`: node after node (or up to --max-unavailable at
 * once), plan, drain, run the work, wait for Ready, uncordon (only what
 * this run cordoned), wait for the evicted workloads, next. A Lease keeps
 * it to one run per cluster; its state, kept in the cluster beside the
 * Lease (and in a local --journal, when given), makes it resumable from
 * any machine; the first failure stops it in a stated, safe state.
 * Everything it checks (its permissions, the state and the journal are
 * this run's and can be written, the plan is not blocked, the lock is
 * free) is checked before the first change, and a run refused by any of
 * them writes nothing.
 */
import os from 'node:os';

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
import { releaseFields, releaseNotice } from '../kube/release.js';
import { missingAccess, runAccessChecks } from './access.js';
import type { MaintainRunApi } from './api.js';
import { runClock, type RunClock } from './clock.js';
import type { NodeProgress } from './journal.js';
import { holderIdentity, LOCK_NAME } from './lease.js';
import type { MaintainReport, NodeReport, RunPlanSummary } from './model.js';
import type { MaintainOptions } from './options.js';
import { planVolumes, prepare, type Prepared } from './prepare.js';
import { RunRecorder } from './recorder.js';
import { isScheduled, lastStepEnd, scheduleGate, scheduleRecord, type Gate, type Schedule } from './schedule.js';
import { beginRun } from './state.js';
import { maintainNode, stopped, type MaintainApi, type NodeDeps, type Work } from './steps.js';
import { formatInZone, windowState } from './window.js';
import { commandWork, localStateDir, operatorWork } from './work.js';

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
    ...releaseFields(run.release),
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

/** The schedule as the report says it: the windows, the pause, and whether a window is open now and until when. */
function scheduleReport(schedule: Schedule, now: number): NonNullable<MaintainReport['schedule']> {
  const out: NonNullable<MaintainReport['schedule']> = scheduleRecord(schedule);
  const state = windowState(schedule.windows, now);
  if (state) {
    out.open = state.open;
    out.until = formatInZone(state.open ? state.closes : state.opens, state.window.zone);
  }
  return out;
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

/** How the batches ended: the exit code of the first failure, and, with --outside-window stop, where it stopped. */
interface BatchesEnd {
  code: ExitCodeValue;
  /** The run stopped before a step because no window was open (and when the next opens). */
  outsideWindow?: Extract<Gate, { go: false }>;
  /** What stopped it between steps (an interrupt or --timeout while it waited). */
  detail?: string;
}

/**
 * Runs the steps, batch after batch, each when the schedule lets it start;
 * the first failure ends the run after its batch.
 */
async function runBatches(
  deps: NodeDeps,
  prepared: Prepared,
  recorder: RunRecorder,
  report: MaintainReport,
): Promise<BatchesEnd> {
  let code: ExitCodeValue = ExitCode.OK;
  let lastEnd = lastStepEnd(prepared.entries);
  for (const batch of report.plan.order) {
    try {
      const gate = await scheduleGate(
        prepared.schedule,
        deps.clock,
        lastEnd,
        (waiting) => {
          for (const node of batch) deps.say(node, waiting);
        },
        deps.signal,
      );
      if (!gate.go) return { code, outsideWindow: gate };
    } catch {
      const failure = stopped(deps.signal, 'while waiting for the next step to start');
      return { code: failure.exitCode, detail: failure.message };
    }
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
          // The failure is recorded too, unless recording is what failed.
          try {
            await recorder.record({ node, step: 'failed', detail: failure.message });
          } catch {
            // the report says it
          }
        } finally {
          nodeReport.elapsedMs = Date.now() - started;
        }
      }),
    );
    if (code !== ExitCode.OK) break;
    lastEnd = deps.clock.now();
  }
  return { code };
}

/** What the changing part of a run works with: planned, checked and confirmed. */
interface ConfirmedRun {
  ctx: RunContext;
  options: MaintainOptions;
  api: MaintainRunApi;
  /** The operator's work, when the caller gives it (the unit tests); else made from the options. */
  work: Work | undefined;
  /** The hooks' work, when the caller gives it (the unit tests); else --before and --after run as commands. */
  hookWork: MaintainDeps['hooks'];
  prepared: Prepared;
  report: MaintainReport;
  nodes: string[];
  /** Ctrl-C, SIGTERM or the run's --timeout. */
  signal: AbortSignal;
  hooks: MaintainHooks;
  runDeadline: number | undefined;
  clock: RunClock;
}

/**
 * Once the lock is held, before any change: the state is still the one
 * planned from, and both copies of it get every record known (the
 * cluster's in one write that also starts this attempt), this attempt's
 * first record saying who runs it from where.
 */
async function beginRecording(run: ConfirmedRun): Promise<RunRecorder> {
  const { options, prepared, nodes, hooks } = run;
  const { journal, store, resolution } = prepared;
  const recorder = new RunRecorder(prepared.attempt, prepared.runId, journal, store, () => new Date(run.clock.now()));
  // The attempt's first record says whose run this is (cluster, node list) and who runs it, from where.
  const start = recorder.stamp({
    node: '',
    step: 'run',
    cluster: prepared.identity,
    nodes,
    host: os.hostname(),
    pid: process.pid,
    user: prepared.user,
    ...(isScheduled(prepared.schedule) ? { schedule: scheduleRecord(prepared.schedule) } : {}),
  });
  const entries = [...prepared.entries, start];
  if (store) {
    await store.update(
      (state) =>
        beginRun(state, prepared.basis, store.where, resolution, { id: prepared.runId, nodes, entries }, start.time),
      { create: true },
    );
  }
  // The cluster first: a state that changed meanwhile, or may not be written, refuses the run before the journal
  // is touched.
  if (journal) {
    const aside = journal.setAsideTorn();
    if (aside !== undefined) {
      const warning = `the journal's last line was cut short by an earlier crash; it was moved to ${aside}`;
      prepared.warnings.push(warning);
      hooks.note(`warning: ${warning}`);
    }
    if (resolution.toJournal || resolution.setAsideJournal) {
      journal.rewrite(prepared.entries, resolution.setAsideJournal ? `${journal.file}.older-${Date.now()}` : undefined);
    }
    journal.append(start);
  }
  if (store && options.journal === undefined) hooks.note(`the run's state is kept in ${store.where}`);
  return recorder;
}

/** Takes the lock, records the run, works the batches, records how it ended, releases the lock. */
async function runLocked(run: ConfirmedRun): Promise<BatchesEnd> {
  const { ctx, options, api, prepared, report, nodes, signal, hooks } = run;
  const lock = await abortable(api.acquireLock(holderIdentity(prepared.attempt)), signal);
  if (lock.tookOverFrom) hooks.note(`took over the expired lock of ${lock.tookOverFrom}`);
  lock.startRenewing();
  // A server that never answers must not hold the report: the lease expires on its own.
  const release = (): Promise<void> => abortable(lock.release(), AbortSignal.timeout(5000)).catch(() => {});
  let recorder: RunRecorder;
  try {
    recorder = await beginRecording(run);
  } catch (err) {
    await release();
    throw err;
  }
  const view = await hooks.progress(nodes, prepared.reports, Boolean(options.run));
  const filesPrefix = options.journal ?? `${localStateDir()}/${prepared.runId}`;
  const hookWork = (kind: 'before' | 'after', command: string): Work =>
    run.hookWork?.[kind] ?? commandWork(command, filesPrefix, prepared.attempt, ctx, () => view.live, kind);
  let end: BatchesEnd = { code: ExitCode.OK };
  try {
    end = await runBatches(
      {
        api,
        work:
          run.work ??
          (options.run
            ? commandWork(options.run, filesPrefix, prepared.attempt, ctx, () => view.live)
            : operatorWork(options.waitFile, ctx)),
        hooks: {
          ...(options.before !== undefined ? { before: hookWork('before', options.before) } : {}),
          ...(options.after !== undefined ? { after: hookWork('after', options.after) } : {}),
        },
        prior: prepared.prior,
        journal: recorder,
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
        clock: run.clock,
        volumeDetach: options.volumeDetach,
      },
      prepared,
      recorder,
      report,
    );
    return end;
  } catch (err) {
    // Not a node's failure (those are in the report): said in the attempt's end record all the same.
    end = {
      code: err instanceof StudyError ? err.exitCode : ExitCode.INTERNAL,
      detail: err instanceof Error ? err.message : String(err),
    };
    throw err;
  } finally {
    view.stop();
    // How the attempt ended; a run whose every node is done leaves the state's current slot for its history.
    const done = nodes.every((n) => ['done', 'skipped-done'].includes(prepared.reports.get(n)!.status));
    const failed = [...prepared.reports.values()].find((r) => r.status === 'failed');
    const detail = failed?.detail ? `${failed.node}: ${failed.detail}` : end.detail;
    try {
      await recorder.record(
        {
          node: '',
          step: 'ended',
          outcome: end.outsideWindow
            ? 'outside-window'
            : end.code === ExitCode.OK
              ? 'done'
              : outcomeOfExitCode(end.code),
          ...(detail ? { detail } : {}),
        },
        done && end.code === ExitCode.OK ? 'done' : undefined,
      );
    } catch {
      // The report says why the run stopped; a state that cannot be written said so already.
    }
    await release();
  }
}

/** What a run works through: the cluster, and the operator's work on each drained node. */
export interface MaintainDeps {
  /** clusterMaintainApi over a connected client (command.ts), or the unit tests' fake. */
  api: MaintainRunApi;
  /** By default the --run command, or the wait for --wait-file (or Enter). */
  work?: Work;
  /** By default --before and --after, run as commands. */
  hooks?: { before?: Work; after?: Work };
  /** The run's clock (windows, pauses, volume waits); by default the real one, or STUDY_TEST_CLOCK_FILE's (clock.ts). */
  clock?: RunClock;
}

export async function runMaintain(
  ctx: RunContext,
  options: MaintainOptions,
  hooks: MaintainHooks,
  { api, work, hooks: hookWork, clock = runClock() }: MaintainDeps,
): Promise<MaintainReport> {
  const started = Date.now();
  const bound = `--timeout ${formatDuration(options.timeoutMs)}`;
  let planning = true;
  // Run out while planning, nothing was changed; before the API server answered anything, it is its silence.
  const deadline = deadlineSignal(options.timeoutMs, () =>
    planning
      ? (api.silenceError(bound, '; nothing was changed') ??
        new TimeoutError(`no plan within ${bound}; nothing was changed`, {
          hint: 'is the API server answering? --request-timeout bounds each request',
        }))
      : new TimeoutError(`the run's ${bound} ran out`, {
          hint: 'the report says where the run stopped; the same command resumes it from the journal',
        }),
  );
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  // Planning only reads: --timeout and Ctrl-C end it at once, even against a server that never answers.
  const { nodes, prepared, plan } = await abortable(
    (async () => {
      const nodes = options.selector !== undefined ? await api.nodesMatching(options.selector) : options.nodes;
      if (!options.dryRun) {
        const missing = await api.deniedAccess(
          runAccessChecks(options.lockNamespace, LOCK_NAME, options.volumeDetach.wait),
        );
        if (missing.length) throw missingAccess(missing, options.lockNamespace);
      }
      const prepared = await prepare(api, options, nodes);
      const plan = await planRun(api, batches(prepared.todo, options.maxUnavailable), prepared.progress);
      await planVolumes(api, options, prepared);
      return { nodes, prepared, plan };
    })(),
    signal,
  ).catch((err: unknown) => {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while planning; nothing was changed');
    throw err;
  });
  planning = false;
  const report: MaintainReport = {
    kind: 'MaintainReport',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'planned',
    nodes: [],
    plan,
    degraded: [],
    warnings: prepared.warnings,
    ...(options.journal ? { journal: options.journal } : {}),
    ...(prepared.store && !options.dryRun ? { state: `${prepared.store.namespace}/${prepared.store.name}` } : {}),
    ...(isScheduled(prepared.schedule) ? { schedule: scheduleReport(prepared.schedule, clock.now()) } : {}),
  };
  const finish = (outcome: MaintainReport['outcome']): MaintainReport => {
    report.outcome = outcome;
    report.nodes = nodes.map((n) => prepared.reports.get(n)!);
    return report;
  };
  const notice = releaseNotice(plan);
  if (notice) hooks.note(`${notice.level}: ${notice.message}`);
  for (const w of prepared.warnings) hooks.note(`warning: ${w}`);
  report.nodes = nodes.map((n) => prepared.reports.get(n)!);
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
  // Another machine finished this run: nothing is left, and nothing is written.
  if (prepared.resolution.finished) return finish('done');
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

  const end = await runLocked({
    ctx,
    options,
    api,
    work,
    hookWork,
    prepared,
    report,
    nodes,
    signal,
    hooks,
    runDeadline: options.timeoutMs > 0 ? started + options.timeoutMs : undefined,
    clock,
  }).finally(() => deadline.clear());
  for (const nodeReport of prepared.reports.values())
    if (nodeReport.status === 'pending') Object.assign(nodeReport, { status: 'not-started', phase: 'not started' });
  if (end.outsideWindow) {
    const { opens, window } = end.outsideWindow;
    report.next =
      `no maintenance window is open (--outside-window stop): run the same command again once one is; ` +
      `the next opens ${formatInZone(opens, window.zone)} (${window.text})`;
    return finish('outside-window');
  }
  if (end.code !== ExitCode.OK) {
    report.next = end.detail
      ? `run the same command again: it resumes where it stopped`
      : nextAfterFailure(prepared.reports);
    report.errorExitCode = end.code;
  }
  return finish(outcomeOfExitCode(end.code));
}

/**
 * The exit code of a run: its outcome's, or the code of the failure that
 * stopped it; a run that stopped outside its windows is not done yet (1).
 */
export function maintainExitCode(report: MaintainReport): ExitCodeValue {
  if (report.outcome === 'outside-window') return ExitCode.NEGATIVE;
  return outcomeExitCode(report.outcome, report.errorExitCode);
}
