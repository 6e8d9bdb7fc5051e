/**
 * Everything a maintenance run reads and decides before it changes
 * anything: the run's state from the cluster and the local journal
 * (read, checked to be this cluster's and these nodes', merged), a run of
 * other nodes settled, the schedule it keeps, the commands earlier
 * attempts started and never saw end, and the volumes attached to its
 * nodes. Nothing here writes; a run refused here leaves no trace.
 */
import { randomBytes } from 'node:crypto';

import { BlockedError, ForbiddenError, UsageError } from '../base/errors.js';
import { firstAndMore } from '../base/text.js';
import type { MaintainRunApi } from './api.js';
import {
  checkOwner,
  Journal,
  progressFrom,
  type CommandKind,
  type CommandRecord,
  type JournalEntry,
  type NodeProgress,
} from './journal.js';
import { heldByAnother, LOCK_NAME } from './lease.js';
import type { NodeReport } from './model.js';
import type { MaintainOptions } from './options.js';
import { resolveSchedule, type Schedule } from './schedule.js';
import {
  basisOf,
  cordonedByRun,
  EMPTY_STATE,
  estimatedStateBytes,
  lastTime,
  MAX_STATE_BYTES,
  resolveRun,
  type Resolution,
  type RunState,
  type StateBasis,
} from './state.js';
import { priorCommand, priorKey, type PriorCommand } from './steps.js';
import { StateStore } from './store.js';
import { describeVolumes, type AttachedVolume } from './volumes.js';
import { commandFacts } from './work.js';

export interface Prepared {
  /** This attempt's id. */
  attempt: string;
  /** The run's id: the one resumed, or this attempt's for a new run. */
  runId: string;
  journal: Journal | undefined;
  /** The cluster's copy of the run's state; undefined when the cluster cannot hold this run (the journal does). */
  store: StateStore | undefined;
  /** The state as read, for the check once the lock is held. */
  basis: StateBasis;
  resolution: Resolution;
  /** Every record known of the run. */
  entries: JournalEntry[];
  warnings: string[];
  progress: Map<string, NodeProgress>;
  reports: Map<string, NodeReport>;
  /** The nodes not yet done, in order. */
  todo: string[];
  /** The cluster the run belongs to. */
  identity: { server: string; uid: string };
  prior: Map<string, PriorCommand>;
  /** Who runs this attempt (a real run asks the API server). */
  user: string;
  /** The windows and the pause the run keeps to: the command's, else the run's own from its state. */
  schedule: Schedule;
}

/**
 * Whether the cluster can hold this run's state; where it cannot (a run
 * too large for the ConfigMap's bound) the local journal holds it alone.
 */
function stateStore(
  api: MaintainRunApi,
  options: MaintainOptions,
  nodes: string[],
  journal: Journal | undefined,
  warnings: string[],
): StateStore | undefined {
  const bytes = estimatedStateBytes(nodes, options.maxUnavailable);
  if (bytes <= MAX_STATE_BYTES) return new StateStore(api.configMaps, options.lockNamespace, LOCK_NAME);
  const why =
    `a run of ${nodes.length} nodes is too large for the state the cluster keeps ` +
    `(up to ${Math.ceil(bytes / 1024)} KiB, of at most ${MAX_STATE_BYTES / 1024} KiB)`;
  if (!journal && !options.dryRun)
    throw new UsageError(`--journal FILE is required: ${why}`, { hint: 'e.g. --journal ./maintenance.journal' });
  warnings.push(
    `${why}: its state is kept in ${journal ? `the journal ${journal.file}` : 'the --journal FILE a real run needs'} ` +
      'only, so only this machine can resume it',
  );
  return undefined;
}

/**
 * A current run of other nodes in the cluster's state: while it holds the
 * lock this run is refused as any second run is; a run that left nodes
 * cordoned is refused too (its records are what say to uncordon them);
 * one that left nothing behind is closed as abandoned when this run starts.
 */
async function settleOther(
  api: MaintainRunApi,
  options: MaintainOptions,
  resolution: Resolution,
  warnings: string[],
): Promise<void> {
  const other = resolution.other;
  if (!other) return;
  const lock = await api.readLock();
  if (lock?.held) throw heldByAnother({ namespace: options.lockNamespace, name: LOCK_NAME }, lock);
  const left: string[] = [];
  for (const node of cordonedByRun(other.entries)) if (await api.isCordoned(node)) left.push(node);
  const first = other.entries.find((e) => e.step === 'run');
  const who = `run ${other.id}, started ${first?.time ?? '?'}${first?.host ? ` on ${first.host}` : ''}${first?.user ? ` by ${first.user}` : ''}`;
  const nodes = firstAndMore(other.nodes, 10);
  if (left.length) {
    throw new BlockedError(
      `the cluster's state holds an unfinished run of other nodes (${nodes}; ${who}), ` +
        `which left ${left.join(', ')} cordoned`,
      {
        hint:
          `finish it: run it again with its nodes, from any machine; or give it up: kubectl study-drain uncordon ${left.join(' ')}, ` +
          'then run this command again',
      },
    );
  }
  warnings.push(
    `the cluster's state holds an unfinished run of other nodes (${nodes}; ${who}), last written ` +
      `${lastTime(other.entries)}; it left no node cordoned: ${options.dryRun ? 'a real run closes' : 'it is closed'} as abandoned`,
  );
}

/**
 * Commands (and hooks) earlier attempts started and never saw end, decided
 * before anything changes: run again, taken as done, or refused. Of the
 * refusals, one still running here says so first; then a run that holds
 * the lock (it may be the one running the command elsewhere) is named as
 * any second run is; then a command another host may still run.
 */
async function priorCommands(
  api: MaintainRunApi,
  options: MaintainOptions,
  nodes: string[],
  progress: Map<string, NodeProgress>,
  warnings: string[],
): Promise<Map<string, PriorCommand>> {
  const prior = new Map<string, PriorCommand>();
  const refusals: Array<Extract<PriorCommand, { action: 'refuse' }>> = [];
  for (const n of nodes) {
    const p = progress.get(n);
    if (!p || p.done) continue;
    const unfinished: Array<[CommandKind, CommandRecord | undefined]> = [
      ['before', p.hooks.before],
      ['command', p.steps.has('command-done') ? undefined : p.command],
      ['after', p.hooks.after],
    ];
    for (const [kind, rec] of unfinished) {
      if (!rec) continue;
      const decision = priorCommand(n, rec, commandFacts(rec), options.resumeStep);
      if (decision.action === 'refuse') {
        refusals.push(decision);
        continue;
      }
      prior.set(priorKey(kind, n), decision);
      warnings.push(decision.note);
    }
  }
  if (options.dryRun) {
    for (const r of refusals) warnings.push(`a real run stops here: ${r.message} (${r.hint})`);
    return prior;
  }
  const refuse = (r: (typeof refusals)[number]): BlockedError => new BlockedError(r.message, { hint: r.hint });
  const here = refusals.find((r) => r.here);
  if (here) throw refuse(here);
  if (refusals.length) {
    const lock = await api.readLock();
    if (lock?.held) throw heldByAnother({ namespace: options.lockNamespace, name: LOCK_NAME }, lock);
    throw refuse(refusals[0]!);
  }
  return prior;
}

/**
 * Before anything changes: the run's state from the cluster and the local
 * journal (read, checked to be this cluster's and this node list's,
 * merged), the journal's room to be written, a run of other nodes settled,
 * and the decisions about commands earlier attempts started and never saw
 * end. Nothing is written here.
 */
export async function prepare(api: MaintainRunApi, options: MaintainOptions, nodes: string[]): Promise<Prepared> {
  const attempt = randomBytes(4).toString('hex');
  const journal = options.journal ? Journal.open(options.journal, attempt) : undefined;
  const warnings: string[] = [];
  // A real run sets the torn line aside once it holds the lock, and says where then.
  if (journal?.torn !== undefined && options.dryRun)
    warnings.push("the journal's last line was cut short by an earlier crash; a real run moves it aside");
  const identity = await api.clusterIdentity();
  if (journal) {
    checkOwner(journal.entries, journal.file, identity, nodes);
    if (!options.dryRun) journal.checkWritable();
  }
  const store = stateStore(api, options, nodes, journal, warnings);
  let state: RunState = EMPTY_STATE;
  if (store) {
    try {
      state = await store.read();
    } catch (err) {
      // A plan only reads: one that may not read the state plans without it, and says so.
      if (!options.dryRun || !(err instanceof UsageError)) throw err;
      warnings.push(`${err.message}: the plan does not know what earlier runs did`);
    }
  }
  const resolution = resolveRun(state, journal?.entries, nodes);
  await settleOther(api, options, resolution, warnings);
  warnings.push(...resolution.notes);
  const entries = resolution.finished ? [] : (resolution.resume?.entries ?? []);
  const { schedule, note } = resolveSchedule(options.schedule, entries);
  if (note) warnings.push(note);
  const progress = progressFrom(entries);
  if (resolution.finished)
    for (const n of nodes)
      progress.set(n, { done: true, steps: new Set(), cordonedByRun: false, workloads: [], hooks: {} });
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
  const prior = await priorCommands(api, options, nodes, progress, warnings);
  return {
    attempt,
    runId: resolution.resume?.id ?? attempt,
    journal,
    store,
    basis: basisOf(state),
    resolution,
    entries,
    warnings,
    progress,
    reports,
    prior,
    todo: nodes.filter((n) => !progress.get(n)?.done),
    identity,
    user: options.dryRun ? '' : await api.whoAmI(),
    schedule,
  };
}

/**
 * The volumes attached to each node still to do, for the plan: a node's
 * report lists them. A plan that may not list VolumeAttachments says so
 * (a real run is refused earlier, when it would wait for them).
 */
export async function planVolumes(api: MaintainRunApi, options: MaintainOptions, prepared: Prepared): Promise<void> {
  let attached: Map<string, AttachedVolume[]>;
  try {
    attached = await api.attachedVolumes(prepared.todo);
  } catch (err) {
    if (!(err instanceof ForbiddenError) || (!options.dryRun && options.volumeDetach.wait)) throw err;
    prepared.warnings.push(`${err.message}: the plan does not show which volumes are attached`);
    return;
  }
  for (const [node, volumes] of attached) {
    if (volumes.length === 0) continue;
    prepared.reports.get(node)!.volumes = volumes;
    if (!options.volumeDetach.wait)
      prepared.warnings.push(
        `--skip-volume-detach-wait: the command for ${node} may run while ${describeVolumes(volumes)} ` +
          `${volumes.length === 1 ? 'is' : 'are'} attached`,
      );
  }
}
