/**
 * One node's maintenance, step by step, over narrow interfaces (the drain,
 * the node, the operator's work, the journal, the lock), so that the
 * sequence and its resume decisions are unit-tested against fakes.
 * Steps already in the journal are skipped: a resumed run never drains or
 * runs the command twice for a node, and never uncordons a node it did
 * not cordon.
 */
import { BlockedError, ExitCode, InterruptedError, StudyError, TimeoutError } from '../base/errors.js';
import { formatDuration } from '../base/duration.js';
import { plural } from '../base/text.js';
import {
  drainExitCode,
  type DrainEvent,
  type DrainPlan,
  type DrainResult,
  type RunPlan,
  type WorkloadHealth,
  type WorkloadRef,
} from '../drain/lib.js';
import type { RunClock } from './clock.js';
import type { CommandKind, CommandRecord, JournalEntry, NodeProgress, Step } from './journal.js';
import type { NodeReport } from './model.js';
import { describeVolumes, withEarlierPods, type AttachedVolume } from './volumes.js';

export interface MaintainApi {
  /**
   * The whole run's plan, from one read of the cluster; `uncordon`: nodes an
   * earlier run cordoned, back in service after their step.
   */
  planRun(order: string[][], uncordon: ReadonlySet<string>): Promise<RunPlan>;
  plan(nodes: string[]): Promise<{ plan: DrainPlan; podListVersions: Map<string, string> }>;
  drain(
    plan: DrainPlan,
    podListVersions: Map<string, string>,
    deadline: number | undefined,
    onEvent: (e: DrainEvent) => void,
  ): Promise<DrainResult>;
  evictedWorkloads(plan: DrainPlan, result: DrainResult): WorkloadRef[];
  isCordoned(node: string): Promise<boolean>;
  uncordon(node: string): Promise<void>;
  /** Resolves when the node is Ready; rejects with a timeout error after timeoutMs, or the signal's reason. */
  waitReady(node: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  waitAvailable(workloads: WorkloadRef[], signal: AbortSignal): Promise<WorkloadHealth[]>;
  /** The volumes attached to each of these nodes now (volumes.ts), with the pods on the node that use them. */
  attachedVolumes(nodes: string[]): Promise<Map<string, AttachedVolume[]>>;
}

/** The operator's work on a drained node: the --run command, or a wait for them. */
export interface Work {
  /** Describes it for the phase column. */
  readonly label: string;
  /**
   * Exit code 0 when done; `stopped` says how it was stopped when the signal aborted it. A command
   * is recorded twice: before it is spawned (`starting`, awaited: no process group yet, pgid 0),
   * so that no run can stop with a command running that its state does not know of; and once it
   * is spawned, waiting at its gate (`started`, with its process group, awaited before the gate
   * opens): a command whose start was not recorded never runs.
   */
  perform(
    node: string,
    signal: AbortSignal,
    record: { starting(rec: CommandRecord): Promise<void>; started(rec: CommandRecord): Promise<void> },
  ): Promise<{ code: number; stderrTail: string; stopped?: string }>;
}

/** What a resumed run does about a command an earlier run started and did not see end. */
export type PriorCommand =
  /** `here`: it still runs on this host; otherwise it may run on another, which cannot be checked from here. */
  | { action: 'refuse'; here: boolean; message: string; hint: string }
  | { action: 'rerun'; note: string }
  | { action: 'skip'; note: string };

/** How messages name an operator's command. */
export function commandName(kind: CommandKind): string {
  return kind === 'command' ? 'the command' : `the --${kind} hook`;
}

/** Where the decision about a command an earlier run started is kept: by node, for each kind. */
export function priorKey(kind: CommandKind, node: string): string {
  return kind === 'command' ? node : `${kind}:${node}`;
}

/** What is known of a command an earlier run started, on the machine asked. */
export interface CommandFacts {
  /** This is the host that started it. */
  sameHost: boolean;
  /** Its process group has a member that has not ended (this host only). */
  alive: boolean;
  /** Its exit code from its marker; null when it has none. */
  exitCode: number | null;
  /** Its marker says it never passed its gate: the run that started it died before recording its start. */
  neverStarted: boolean;
}

/**
 * The decision for a command an earlier run started and never saw end.
 * Pure: the facts (alive on this host, its exit marker) are read by the caller.
 */
export function priorCommand(
  node: string,
  rec: CommandRecord,
  facts: CommandFacts,
  resumeStep?: 'rerun' | 'skip',
): PriorCommand {
  const what = commandName(rec.kind ?? 'command');
  const started = `started by an earlier run at ${rec.startedAt} on ${rec.host} (process group ${rec.pgid})`;
  if (facts.sameHost && facts.alive) {
    return {
      action: 'refuse',
      here: true,
      message: `${what} for ${node}, ${started}, is still running; it is not started again`,
      hint:
        `wait for it to end (its output: ${rec.log}), or stop it (kill -TERM -- -${rec.pgid}), ` +
        'then run the same command again',
    };
  }
  if (facts.neverStarted)
    return {
      action: 'rerun',
      note:
        `${what} for ${node}, ${started}, never started: that run stopped before its start was recorded; ` +
        'it is run now',
    };
  if (facts.exitCode === 0)
    return {
      action: 'skip',
      note: `${what} for ${node}, ${started}, finished (exit code 0) after that run stopped; it is not run again`,
    };
  if (facts.exitCode !== null)
    return {
      action: 'rerun',
      note: `${what} for ${node}, ${started}, ended with exit code ${facts.exitCode}; it is run again`,
    };
  if (rec.pgid === 0) {
    const about = `${what} for ${node} was about to be started by an earlier run at ${rec.startedAt} on ${rec.host} when that run stopped`;
    // Recorded just before its spawn and never after. Gated, it waited until its process group was
    // recorded, so it never started: it is run, whatever --resume-step says of other commands.
    if (rec.gated)
      return {
        action: 'rerun',
        note: `${about}; it never started (a command starts only once its start is recorded): it is run now`,
      };
    // Recorded by a run from before the gate: it may have started, and may run still.
    if (resumeStep)
      return {
        action: resumeStep,
        note: `${about}; --resume-step=${resumeStep}: it is ${resumeStep === 'skip' ? 'taken as done' : 'run again'}`,
      };
    return {
      action: 'refuse',
      here: false,
      message: `${about}: whether it started, and still runs, cannot be told from here`,
      hint:
        `look for it on ${rec.host} (its output: ${rec.log}), then decide: ` +
        '--resume-step=rerun (run it again) or --resume-step=skip (it finished)',
    };
  }
  if (facts.sameHost)
    return {
      action: 'rerun',
      note: `${what} for ${node}, ${started}, was cut off before it finished (no exit marker); it is run again`,
    };
  if (resumeStep) {
    return {
      action: resumeStep,
      note:
        `${what} for ${node}, ${started}, cannot be checked from here; ` +
        `--resume-step=${resumeStep}: it is ${resumeStep === 'skip' ? 'taken as done' : 'run again'}`,
    };
  }
  return {
    action: 'refuse',
    here: false,
    message: `${what} for ${node} was ${started}, another host: whether it still runs cannot be checked from here`,
    hint:
      'run the same command on that host, or decide: ' +
      '--resume-step=rerun (run it again) or --resume-step=skip (it finished)',
  };
}

export interface NodeDeps {
  api: MaintainApi;
  work: Work;
  /** --before (after the plan, before the drain) and --after (after the recovery check), when given. */
  hooks?: { before?: Work; after?: Work };
  /** What to do about commands earlier runs started and never saw end, by node (decided before anything changed). */
  prior?: Map<string, PriorCommand>;
  /** Where each step is recorded before the next starts (the journal, the cluster's state): RunRecorder. */
  journal: { record(entry: Omit<JournalEntry, 'time' | 'run'>): Promise<void> } | undefined;
  /** Throws when the run may not act any more (the lock was lost). */
  checkLock(): void;
  say(node: string, phase: string): void;
  onDrainEvent(node: string, e: DrainEvent): void;
  signal: AbortSignal;
  drainTimeoutMs: number;
  /** When the whole run's --timeout runs out (ms since epoch), if it has one. */
  runDeadline?: number;
  readyTimeoutMs: number;
  recoverTimeoutMs: number;
  /** Waits for volumes to detach, and for windows and pauses (step 4): the run's clock. */
  clock: RunClock;
  /** After the drain, wait until no volume is attached to the node, for at most timeoutMs; or not (--skip-volume-detach-wait). */
  volumeDetach: { wait: boolean; timeoutMs: number };
}

/** How often the wait for volumes to detach looks again. */
export const VOLUME_POLL_MS = 2000;

/** Why the run stopped: its --timeout ran out, or an interrupt (Ctrl-C, SIGTERM). */
export function stopped(signal: AbortSignal, doing: string): StudyError {
  const timedOut = (signal.reason as { exitCode?: number } | undefined)?.exitCode === ExitCode.TIMEOUT;
  return timedOut
    ? new TimeoutError(`the run's --timeout ran out ${doing}`)
    : new InterruptedError(`interrupted ${doing}`);
}

/**
 * A node's records in the order its steps make them; the steps to take are
 * the ones after the furthest recorded ('cordoned' and 'command-started'
 * only mark a step under way).
 */
const STEP_ORDER: Step[] = [
  'before-started',
  'before-done',
  'cordoned',
  'drained',
  'volumes-detached',
  'command-started',
  'command-done',
  'ready',
  'uncordoned',
  'recovered',
  'after-started',
  'after-done',
];
const UNDER_WAY: ReadonlySet<Step> = new Set(['before-started', 'cordoned', 'command-started', 'after-started']);

/** Which of the optional steps this run takes: the wait for volumes, the hooks. */
export interface StepsTaken {
  volumes: boolean;
  before?: boolean;
  after?: boolean;
}

const OPTIONAL: Partial<Record<Step, keyof StepsTaken>> = {
  'volumes-detached': 'volumes',
  'before-done': 'before',
  'after-done': 'after',
};

/**
 * What is left to do for a node, in order, given its records: the steps
 * this run takes that come after the furthest one recorded (a step an
 * earlier run left out is not taken later: after the command, a wait for
 * volumes makes no sense). Pure.
 */
export function remainingSteps(progress: NodeProgress | undefined, taken: StepsTaken = { volumes: true }): Step[] {
  if (progress?.done) return [];
  const furthest = Math.max(-1, ...STEP_ORDER.map((s, i) => (progress?.steps.has(s) ? i : -1)));
  // A step under way is taken again (the drain resumes, the command's fate is decided): its own step is left.
  const from = UNDER_WAY.has(STEP_ORDER[furthest] as Step) ? furthest - 1 : furthest;
  return STEP_ORDER.filter((s, i) => {
    const option = OPTIONAL[s];
    return !UNDER_WAY.has(s) && i > from && (option === undefined || taken[option] === true);
  });
}

function drainFailure(result: DrainResult): StudyError {
  return new StudyError(
    `the drain did not finish (${result.outcome}${result.message ? `: ${result.message}` : ''})`,
    drainExitCode(result),
  );
}

async function drainStep(
  deps: NodeDeps,
  node: string,
  progress: NodeProgress | undefined,
  report: NodeReport,
): Promise<{ workloads: WorkloadRef[]; volumes: AttachedVolume[] }> {
  const cordonedEarlier = progress?.steps.has('cordoned') ?? false;
  deps.say(node, cordonedEarlier ? 'resuming: draining (cordoned by an earlier run of this command)' : 'draining');
  const { plan, podListVersions } = await deps.api.plan([node]);
  if (plan.verdict === 'blocked') throw new BlockedError(`the drain plan is blocked: ${plan.blockers.join('; ')}`);
  // Which pods use which attached volume is known only while they are there: the wait after the drain names them.
  // With --skip-volume-detach-wait nothing waits for them (and the run was not checked to may list them).
  const volumes = deps.volumeDetach.wait ? ((await deps.api.attachedVolumes([node])).get(node) ?? []) : [];
  if (!cordonedEarlier) {
    // Record the intent before the cordon, so a kill in between cannot turn our cordon into someone else's.
    report.cordonedByRun = !plan.nodes[0]?.unschedulable;
    await deps.journal?.record({ node, step: 'cordoned', cordonedByRun: report.cordonedByRun });
  }
  const byDrain = deps.drainTimeoutMs > 0 ? Date.now() + deps.drainTimeoutMs : undefined;
  const deadline =
    byDrain === undefined
      ? deps.runDeadline
      : deps.runDeadline === undefined
        ? byDrain
        : Math.min(byDrain, deps.runDeadline);
  const result = await deps.api.drain(plan, podListVersions, deadline, (e) => deps.onDrainEvent(node, e));
  report.cordonedNow = result.cordoned.length > 0 || (await deps.api.isCordoned(node).catch(() => false));
  if (result.replacements?.length)
    report.replacements = result.replacements.map(
      (stuck) => `${stuck.namespace}/${stuck.name} of ${stuck.workload}: ${stuck.reason}`,
    );
  if (result.outcome !== 'drained') throw drainFailure(result);
  const workloads = deps.api.evictedWorkloads(plan, result);
  await deps.journal?.record({ node, step: 'drained', workloads, ...(volumes.length ? { volumes } : {}) });
  return { workloads, volumes };
}

/**
 * After the drain, before the command: wait until no volume is attached to
 * the node, looking every VOLUME_POLL_MS on the run's clock, for at most
 * --volume-detach-timeout; the command never runs while one is.
 */
async function volumeStep(deps: NodeDeps, node: string, before: readonly AttachedVolume[]): Promise<void> {
  const deadline = deps.clock.now() + deps.volumeDetach.timeoutMs;
  for (;;) {
    const attached = withEarlierPods((await deps.api.attachedVolumes([node])).get(node) ?? [], before);
    if (attached.length === 0) break;
    const left = deadline - deps.clock.now();
    if (left <= 0) {
      throw new TimeoutError(
        `${describeVolumes(attached)} still attached to ${node} after --volume-detach-timeout ` +
          `${formatDuration(deps.volumeDetach.timeoutMs)}; the command was not run and ${node} stays cordoned`,
      );
    }
    deps.say(node, `waiting for ${describeVolumes(attached)} to detach`);
    await deps.clock.sleep(Math.min(VOLUME_POLL_MS, left), deps.signal).catch(() => {
      throw stopped(deps.signal, 'while waiting for volumes to detach');
    });
  }
  await deps.journal?.record({ node, step: 'volumes-detached' });
}

const COMMAND_STEPS: Record<CommandKind, { started: Step; stopped: Step; done: Step }> = {
  command: { started: 'command-started', stopped: 'command-stopped', done: 'command-done' },
  before: { started: 'before-started', stopped: 'before-stopped', done: 'before-done' },
  after: { started: 'after-started', stopped: 'after-stopped', done: 'after-done' },
};

/**
 * One of the operator's commands for a node (the --run command, or a hook),
 * journaled as --run always was: its start (process group, host, exit
 * marker) before it can matter, its end after. `done`: for a failure, what
 * has and has not been done on the node, said after the exit code.
 */
async function commandStep(deps: NodeDeps, node: string, kind: CommandKind, work: Work, done = ''): Promise<void> {
  const steps = COMMAND_STEPS[kind];
  const what = commandName(kind);
  const prior = deps.prior?.get(priorKey(kind, node));
  if (prior?.action === 'skip') {
    deps.say(node, prior.note);
    await deps.journal?.record({ node, step: steps.done, detail: prior.note });
    return;
  }
  deps.say(node, work.label);
  const record = async (command: CommandRecord): Promise<void> =>
    deps.journal?.record({ node, step: steps.started, command: kind === 'command' ? command : { ...command, kind } });
  const {
    code,
    stderrTail,
    stopped: how,
  } = await work.perform(node, deps.signal, { starting: record, started: record });
  if (deps.signal.aborted) {
    if (how) await deps.journal?.record({ node, step: steps.stopped, detail: how });
    throw stopped(
      deps.signal,
      `while ${what} ran${how ? ` (${what === 'the command' ? 'the command' : 'it'} was ${how})` : ''}`,
    );
  }
  if (code !== 0)
    throw new BlockedError(
      `${what} failed with exit code ${code}${stderrTail ? `: ${stderrTail.split('\n').at(-1)}` : ''}${done}`,
    );
  await deps.journal?.record({ node, step: steps.done });
}

async function recoverStep(deps: NodeDeps, node: string, workloads: WorkloadRef[], degraded: string[]): Promise<void> {
  deps.say(node, `waiting for ${workloads.length} ${plural(workloads.length, 'workload')} to be Available`);
  const deadline = AbortSignal.any([deps.signal, AbortSignal.timeout(deps.recoverTimeoutMs)]);
  const health = await deps.api.waitAvailable(workloads, deadline);
  if (deps.signal.aborted) throw stopped(deps.signal, 'while waiting for the workloads');
  const bad = health.filter((h) => !h.available).map((b) => `${b.namespace}/${b.workload}`);
  if (bad.length) {
    degraded.push(...bad);
    throw new TimeoutError(
      `workloads not Available within ${formatDuration(deps.recoverTimeoutMs)}: ${bad.join(', ')}`,
    );
  }
  await deps.journal?.record({ node, step: 'recovered' });
}

/**
 * Maintains one node: drain, work, Ready, uncordon (only if this run
 * cordoned it), recovered. Returns normally when done; throws the typed
 * error that stopped it otherwise, with `report` saying where it got.
 */
export async function maintainNode(
  deps: NodeDeps,
  node: string,
  progress: NodeProgress | undefined,
  report: NodeReport,
  degraded: string[],
): Promise<void> {
  const todo = new Set(
    remainingSteps(progress, {
      volumes: deps.volumeDetach.wait,
      before: deps.hooks?.before !== undefined,
      after: deps.hooks?.after !== undefined,
    }),
  );
  const step = (s: Step): boolean => {
    if (!todo.has(s)) return false;
    if (deps.signal.aborted) throw stopped(deps.signal, `before the step "${s}"`);
    deps.checkLock();
    return true;
  };
  let workloads = progress?.workloads ?? [];
  let volumes = progress?.volumes ?? [];
  if (step('before-done'))
    await commandStep(
      deps,
      node,
      'before',
      deps.hooks!.before!,
      `; nothing else was done on ${node}: it was not drained`,
    );
  if (step('drained')) ({ workloads, volumes } = await drainStep(deps, node, progress, report));
  if (todo.has('uncordoned')) report.cordonedNow = true;
  if (step('volumes-detached')) await volumeStep(deps, node, volumes);
  if (step('command-done')) await commandStep(deps, node, 'command', deps.work);
  if (step('ready')) {
    deps.say(node, 'waiting for the node to be Ready');
    await deps.api.waitReady(node, deps.readyTimeoutMs, deps.signal);
    await deps.journal?.record({ node, step: 'ready' });
  }
  if (step('uncordoned')) {
    if (report.cordonedByRun) {
      await deps.api.uncordon(node);
      report.cordonedNow = false;
      deps.say(node, 'uncordoned');
    } else {
      deps.say(node, 'stays cordoned: it was cordoned before this run');
    }
    await deps.journal?.record({
      node,
      step: 'uncordoned',
      detail: report.cordonedByRun ? 'uncordoned' : 'left cordoned: cordoned before the run',
    });
  }
  if (step('recovered')) await recoverStep(deps, node, workloads, degraded);
  if (step('after-done'))
    await commandStep(
      deps,
      node,
      'after',
      deps.hooks!.after!,
      `; all else was done on ${node}: drained, the command run, Ready, ` +
        `${report.cordonedByRun ? 'uncordoned' : 'left cordoned as it was before the run'}, its workloads Available`,
    );
  await deps.journal?.record({ node, step: 'done' });
  Object.assign(report, { status: 'done', phase: 'done' });
}
