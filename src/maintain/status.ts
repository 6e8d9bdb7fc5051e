/**
 * `kubectl study maintain status`: from any machine, the current run and
 * the last ones, as the cluster's state and the Lease say them: who runs
 * it from which host and since when, the node and phase now, what it
 * cordoned, the last error, and what to run next. statusOf is pure; the
 * command reads the ConfigMap and the Lease, and asks the nodes the run
 * cordoned whether they still are.
 */
import { firstAndMore } from '../base/text.js';
import { runClock, type RunClock } from './clock.js';
import { progressFrom, type CommandRecord, type JournalEntry, type NodeProgress, type Step } from './journal.js';
import { holderAttempt, LOCK_NAME, type LeaseState } from './lease.js';
import type { MaintainStatus, RunStatus } from './model.js';
import { cordonedByRun, lastTime, type RunState } from './state.js';
import { commandName } from './steps.js';
import type { StateStore } from './store.js';
import { formatInZone, parseWindow, windowState } from './window.js';

/** The phase a node is in after its latest step, as the run's records say it. */
const PHASE_AFTER: Array<[Step, string]> = [
  ['done', 'done'],
  ['after-done', 'done with its steps'],
  ['after-stopped', 'the --after hook was stopped'],
  ['after-started', 'running the --after hook'],
  ['recovered', 'done with its steps'],
  ['uncordoned', 'waiting for the workloads to be Available'],
  ['ready', 'to be uncordoned'],
  ['command-done', 'waiting for the node to be Ready'],
  ['command-stopped', 'the command was stopped'],
  ['command-started', 'running the command'],
  ['volumes-detached', 'volumes detached, the command next'],
  ['drained', 'drained: volumes to detach, then the command'],
  ['cordoned', 'draining'],
  ['before-done', 'the --before hook done, the drain next'],
  ['before-stopped', 'the --before hook was stopped'],
  ['before-started', 'running the --before hook'],
];

/** A node's phase by its records, and since when. Pure. */
export function phaseOf(
  node: string,
  entries: readonly JournalEntry[],
  progress: NodeProgress,
): { phase: string; since: string } {
  const mine = entries.filter((e) => e.node === node);
  const last = mine.at(-1);
  if (last?.step === 'failed') return { phase: `stopped: ${last.detail ?? 'failed'}`, since: last.time };
  const running: Array<[string, CommandRecord | undefined]> = [
    ['the --after hook', progress.hooks.after],
    ['the command', progress.steps.has('command-done') ? undefined : progress.command],
    ['the --before hook', progress.hooks.before],
  ];
  for (const [what, c] of running)
    if (c)
      return {
        // A process group of 0: recorded just before its spawn, never after.
        phase: c.pgid ? `running ${what} (process group ${c.pgid} on ${c.host})` : `starting ${what} on ${c.host}`,
        since: c.startedAt,
      };
  const phase = PHASE_AFTER.find(([step]) => progress.steps.has(step))?.[1] ?? 'waiting';
  return { phase, since: last?.time ?? '' };
}

/**
 * The status of the runs in a state, with the lock as it stands; `cordonedNow`:
 * of the nodes the current run cordoned, which are cordoned now. Pure.
 */
export function statusOf(
  state: RunState,
  where: { namespace: string; name: string },
  lock: LeaseState | undefined,
  cordonedNow: ReadonlySet<string>,
  now = Date.now(),
): MaintainStatus {
  const out: MaintainStatus = {
    kind: 'MaintainStatus',
    apiVersion: 'study.kubectl.io/v1',
    state: `${where.namespace}/${where.name}`,
    last: state.last,
  };
  if (lock?.held) out.lock = { holder: lock.holder, renewedAgoMs: lock.renewedAgoMs, expiresInMs: lock.expiresInMs };
  if (state.older) out.older = state.older;
  const run = state.current;
  if (!run) return out;
  const entries = run.entries;
  const progress = progressFrom(entries);
  const attempts = entries.filter((e) => e.step === 'run');
  const latest = attempts.at(-1);
  const ended = entries.findLast((e) => e.step === 'ended' && e.run === latest?.run);
  const running = Boolean(lock?.held && attempts.some((a) => a.run === holderAttempt(lock.holder)));
  const failures = entries.filter((e) => (e.step === 'failed' || e.step === 'ended') && e.detail);
  const done = run.nodes.filter((n) => progress.get(n)?.done);
  const current: RunStatus = {
    id: run.id,
    nodes: run.nodes,
    state: running ? 'running' : 'stopped',
    startedAt: attempts[0]?.time ?? entries[0]?.time ?? '',
    attempt: {
      id: latest?.run ?? run.id,
      user: latest?.user ?? '',
      host: latest?.host ?? '',
      pid: latest?.pid ?? 0,
      since: latest?.time ?? '',
      ...(ended?.outcome ? { outcome: ended.outcome } : {}),
    },
    updatedAt: lastTime(entries),
    done,
    working: run.nodes
      .filter((n) => progress.has(n) && !progress.get(n)!.done)
      .map((n) => ({ node: n, ...phaseOf(n, entries, progress.get(n)!) })),
    cordoned: cordonedByRun(entries).map((node) => ({ node, cordonedNow: cordonedNow.has(node) })),
    commands: run.nodes.flatMap((node) => {
      const p = progress.get(node);
      if (!p || p.done) return [];
      const open: Array<[RunStatus['commands'][number]['kind'], CommandRecord | undefined]> = [
        ['before', p.hooks.before],
        ['command', p.steps.has('command-done') ? undefined : p.command],
        ['after', p.hooks.after],
      ];
      return open.flatMap(([kind, c]) =>
        c ? [{ node, kind, host: c.host, pgid: c.pgid, startedAt: c.startedAt, log: c.log }] : [],
      );
    }),
  };
  const lastError = failures.at(-1)?.detail;
  if (lastError) current.lastError = lastError;
  const schedule = attempts.findLast((a) => a.schedule)?.schedule;
  if (schedule) current.schedule = schedule;
  out.current = current;
  out.next = nextStep(current, now);
  return out;
}

/** What to run next for the current run. Pure. */
function nextStep(run: RunStatus, now: number): string {
  const window = run.schedule?.windows.length ? windowState(run.schedule.windows.map(parseWindow), now) : undefined;
  const closed =
    window && !window.open
      ? `; no window of the run is open: its next step waits until ${formatInZone(window.opens, window.window.zone)}`
      : '';
  if (run.state === 'running')
    return `wait: it runs on ${run.attempt.host} (pid ${run.attempt.pid})${closed}; "kubectl study maintain status" again follows it`;
  const nodes = firstAndMore(run.nodes, 10);
  const still = run.cordoned.filter((c) => c.cordonedNow).map((c) => c.node);
  const giveUp = still.length ? `; or give up with: kubectl study-drain uncordon ${still.join(' ')}` : '';
  const command = run.commands[0];
  if (command) {
    return (
      `${commandName(command.kind)} for ${command.node} was started on ${command.host} (process group ${command.pgid}) at ` +
      `${command.startedAt} and may still run there: once you know whether it finished, run the same command again ` +
      `(nodes ${nodes}) from any machine with --resume-step=skip (it finished) or --resume-step=rerun (run it again)${giveUp}`
    );
  }
  return `run the same command again (nodes ${nodes}) from any machine: it resumes where it stopped and skips finished nodes${closed}${giveUp}`;
}

/** What `status` reads through: the state, the lock, the nodes. */
export interface StatusApi {
  readLock(): Promise<LeaseState | undefined>;
  isCordoned(node: string): Promise<boolean>;
}

/** The status as the cluster says it; the windows are looked at on the run's clock (clock.ts), as a run looks at them. */
export async function maintainStatus(
  store: StateStore,
  api: StatusApi,
  clock: RunClock = runClock(),
): Promise<MaintainStatus> {
  const [state, lock] = await Promise.all([store.read(), api.readLock()]);
  const cordonedNow = new Set<string>();
  for (const node of state.current ? cordonedByRun(state.current.entries) : [])
    if (await api.isCordoned(node).catch(() => true)) cordonedNow.add(node);
  return statusOf(state, { namespace: store.namespace, name: LOCK_NAME }, lock, cordonedNow, clock.now());
}
