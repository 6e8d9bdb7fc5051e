/**
 * The run's state as the cluster keeps it: one ConfigMap beside the run's
 * Lease (its namespace, its name), holding the current run's journal
 * records and a short history of the runs before it, so that the same
 * command resumes the run on any machine. Pure: reading and writing the
 * ConfigMap's data, merging a local journal with the cluster's copy,
 * compaction and the bound. The API part is store.ts.
 *
 * A run is one maintenance of one list of nodes, from its first command
 * to the last node done; each command that works on it (the first, each
 * resume) is an attempt, with an id of its own (the journal's `run`). A
 * run's id is its first attempt's.
 */
import { BlockedError } from '../base/errors.js';
import { entryKey, progressFrom, type JournalEntry } from './journal.js';

/** The format of the ConfigMap's data; a newer one is refused rather than misread. */
export const STATE_FORMAT = '1';
/** Finished runs kept whole (as summaries) in the history; older ones are counted in one line. */
export const LAST_RUNS_KEPT = 5;
/** Attempt records ('run', 'ended') kept of a run: its first, and the latest. */
export const ATTEMPTS_KEPT = 10;
/**
 * The most the state may weigh, ConfigMap data as sent: half of the 1 MiB
 * the API server allows a ConfigMap, so that a write never nears it.
 */
export const MAX_STATE_BYTES = 512 * 1024;
/** Node names a history entry keeps (with the count of them all). */
export const SUMMARY_NODES = 20;

export interface CurrentRun {
  /** The run's id: its first attempt's. */
  id: string;
  /** Its nodes, in the order given. */
  nodes: string[];
  /** Its journal records, compacted (compactEntries). */
  entries: JournalEntry[];
}

/** How a run left the current slot: finished, given up for a run of other nodes, or replaced by a newer copy. */
export type RunEnd = 'done' | 'abandoned' | 'superseded';

/** A finished run, as the history keeps it. */
export interface RunSummary {
  id: string;
  /** The first SUMMARY_NODES of its nodes. */
  nodes: string[];
  nodeCount: number;
  startedAt: string;
  endedAt: string;
  outcome: RunEnd;
  /** The hosts and users of its attempts (those kept). */
  hosts: string[];
  users: string[];
  lastError?: string;
  /** For a run superseded before it finished: the nodes it cordoned and never uncordoned, as its records say. */
  leftCordoned?: string[];
}

/** Every run older than the ones kept, in one line. */
export interface OlderRuns {
  runs: number;
  nodes: number;
  firstStartedAt: string;
  lastEndedAt: string;
}

export interface RunState {
  current?: CurrentRun;
  /** The latest finished runs, newest first. */
  last: RunSummary[];
  older?: OlderRuns;
}

export const EMPTY_STATE: RunState = { last: [] };

function damaged(where: string, what: string): BlockedError {
  return new BlockedError(`the run's state in ${where} is damaged: ${what}`, {
    hint:
      `look at it with "kubectl get configmap -o yaml" (${where}); deleting it starts afresh ` +
      'but loses what it records, such as the nodes an unfinished run cordoned',
  });
}

/** The state in a ConfigMap's data; a missing ConfigMap is an empty state. */
export function parseState(data: Record<string, string> | undefined, where: string): RunState {
  if (!data || Object.keys(data).length === 0) return { last: [] };
  if (data.format !== STATE_FORMAT) {
    throw new BlockedError(
      `the run's state in ${where} has format "${data.format ?? ''}", which this kubectl-study does not read`,
      { hint: 'a newer kubectl-study wrote it: use that one' },
    );
  }
  const json = <T>(key: string, fallback: T): T => {
    const text = data[key];
    if (text === undefined || text === '') return fallback;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw damaged(where, `its "${key}" is not valid JSON`);
    }
  };
  const current = json<CurrentRun | undefined>('current', undefined);
  if (current && (typeof current.id !== 'string' || !Array.isArray(current.entries) || !Array.isArray(current.nodes)))
    throw damaged(where, 'its "current" is not a run');
  const last = json<RunSummary[]>('last', []);
  if (!Array.isArray(last)) throw damaged(where, 'its "last" is not a list');
  const out: RunState = { last };
  if (current) out.current = current;
  const older = json<OlderRuns | undefined>('older', undefined);
  if (older) out.older = older;
  return out;
}

/** The keys of the ConfigMap's data the state is kept in; any other key is another writer's, and kept. */
export const STATE_KEYS = ['format', 'current', 'last', 'older'] as const;

/** The ConfigMap's data for a state: each part one key, so `kubectl get -o yaml` reads it part by part. */
export function stateData(state: RunState): Record<string, string> {
  const data: Record<string, string> = { format: STATE_FORMAT, last: JSON.stringify(state.last) };
  if (state.current) data.current = JSON.stringify(state.current);
  if (state.older) data.older = JSON.stringify(state.older);
  return data;
}

/** What the state weighs as sent. */
export function stateBytes(state: RunState): number {
  return Buffer.byteLength(JSON.stringify(stateData(state)));
}

/** A run's records as one journal holds them: its id (its first attempt's) and its nodes (its first 'run' record's). */
export function runOf(entries: readonly JournalEntry[]): { id: string; nodes: string[] | undefined } | undefined {
  if (entries.length === 0) return undefined;
  const first = entries.find((e) => e.step === 'run');
  return { id: first?.run ?? entries[0]!.run, nodes: first?.nodes };
}

export function sameNodes(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** The time of a run's latest record (ISO; '' for none). */
export function lastTime(entries: readonly JournalEntry[]): string {
  return entries.reduce((t, e) => (e.time > t ? e.time : t), '');
}

/**
 * The records that still say something: of a node done, its 'done' alone;
 * of any other node, the latest record of each step (the order of the
 * ones kept is the order they were written in, so what progressFrom makes
 * of them is unchanged); of the attempts, the first and the latest
 * (ATTEMPTS_KEPT), and the node list on the first only. Pure.
 */
export function compactEntries(entries: readonly JournalEntry[]): JournalEntry[] {
  const progress = progressFrom([...entries]);
  const latest = new Map<string, number>();
  entries.forEach((e, i) => {
    if (e.node !== '') latest.set(`${e.node}|${e.step}`, i);
  });
  const attempts = entries.flatMap((e, i) => (e.node === '' ? [i] : []));
  const runs = attempts.filter((i) => entries[i]!.step === 'run');
  const keepAttempt = new Set([
    ...runs.slice(0, 1),
    ...runs.slice(-(ATTEMPTS_KEPT - 1)),
    ...attempts.filter((i) => entries[i]!.step !== 'run').slice(-ATTEMPTS_KEPT),
  ]);
  const firstRun = runs[0];
  const out: JournalEntry[] = [];
  entries.forEach((e, i) => {
    if (e.node === '') {
      if (!keepAttempt.has(i)) return;
      if (e.step === 'run' && i !== firstRun && e.nodes) {
        const { nodes: _nodes, ...rest } = e;
        out.push(rest);
      } else out.push(e);
      return;
    }
    if (progress.get(e.node)?.done && e.step !== 'done') return;
    if (latest.get(`${e.node}|${e.step}`) === i) out.push(e);
  });
  return out;
}

/**
 * Two copies of a run's records as one: every entry once (entryKey), in the
 * order each copy wrote them. The entries only `b` holds go right after the
 * entry both hold that precedes them in `b`, behind the entries only `a`
 * holds there when those were written first. Pure.
 */
export function mergeEntries(a: readonly JournalEntry[], b: readonly JournalEntry[]): JournalEntry[] {
  const inA = new Map(a.map((e, i) => [entryKey(e), i]));
  const after = new Map<number, JournalEntry[]>();
  let anchor = -1;
  for (const e of b) {
    const at = inA.get(entryKey(e));
    if (at !== undefined) anchor = at;
    else after.set(anchor, [...(after.get(anchor) ?? []), e]);
  }
  const inB = new Set(b.map(entryKey));
  const out: JournalEntry[] = [];
  let pending = after.get(-1) ?? [];
  a.forEach((e, i) => {
    // An entry only `a` holds, written no later than b's own waiting here, stays before them.
    if (pending.length && (inB.has(entryKey(e)) || e.time > pending[0]!.time)) {
      out.push(...pending);
      pending = [];
    }
    out.push(e);
    pending = [...pending, ...(after.get(i) ?? [])];
  });
  out.push(...pending);
  return out;
}

/** Nodes a run cordoned, by its records, and has not uncordoned (nor finished). Pure. */
export function cordonedByRun(entries: readonly JournalEntry[]): string[] {
  return [...progressFrom([...entries])]
    .filter(([, p]) => p.cordonedByRun && p.steps.has('cordoned') && !p.steps.has('uncordoned') && !p.done)
    .map(([node]) => node);
}

/** Whether every node of the run is done, by its records. */
export function allDone(run: CurrentRun): boolean {
  const progress = progressFrom(run.entries);
  return run.nodes.every((n) => progress.get(n)?.done);
}

function unique(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => Boolean(v)))];
}

/** A run as the history keeps it; `leftCordoned`: the nodes it leaves cordoned, when it leaves any. Pure. */
export function summarize(run: CurrentRun, outcome: RunEnd, endedAt: string, leftCordoned: string[] = []): RunSummary {
  const attempts = run.entries.filter((e) => e.step === 'run');
  const failures = run.entries.filter((e) => (e.step === 'failed' || e.step === 'ended') && e.detail);
  const out: RunSummary = {
    id: run.id,
    nodes: run.nodes.slice(0, SUMMARY_NODES),
    nodeCount: run.nodes.length,
    startedAt: attempts[0]?.time ?? run.entries[0]?.time ?? endedAt,
    endedAt,
    outcome,
    hosts: unique(attempts.map((e) => e.host)),
    users: unique(attempts.map((e) => e.user)),
  };
  const lastError = failures.at(-1)?.detail;
  if (lastError && outcome !== 'done') out.lastError = lastError;
  if (leftCordoned.length) out.leftCordoned = leftCordoned;
  return out;
}

/**
 * The state within its bound: the history holds LAST_RUNS_KEPT runs and
 * folds older ones into one line, and folds more while the whole weighs
 * over MAX_STATE_BYTES. A current run that alone weighs more is refused:
 * the run checks its size before it starts (estimatedStateBytes). Pure.
 */
export function bounded(state: RunState, maxBytes = MAX_STATE_BYTES): RunState {
  let out: RunState = { ...state, last: state.last.slice(0, LAST_RUNS_KEPT) };
  const fold = (runs: RunSummary[]): void => {
    if (runs.length === 0) return;
    const o = out.older;
    const started = runs.map((r) => r.startedAt).concat(o ? [o.firstStartedAt] : []);
    const ended = runs.map((r) => r.endedAt).concat(o ? [o.lastEndedAt] : []);
    out = {
      ...out,
      older: {
        runs: (o?.runs ?? 0) + runs.length,
        nodes: (o?.nodes ?? 0) + runs.reduce((n, r) => n + r.nodeCount, 0),
        firstStartedAt: started.sort()[0]!,
        lastEndedAt: ended.sort().at(-1)!,
      },
    };
  };
  fold(state.last.slice(LAST_RUNS_KEPT));
  while (out.last.length > 0 && stateBytes(out) > maxBytes) {
    fold(out.last.slice(-1));
    out = { ...out, last: out.last.slice(0, -1) };
  }
  if (stateBytes(out) > maxBytes) {
    throw new BlockedError(
      `the run's state would weigh ${Math.ceil(stateBytes(out) / 1024)} KiB, more than the ${maxBytes / 1024} KiB ` +
        'the cluster keeps for it',
      { hint: 'give --journal FILE: the run then keeps its state in that file' },
    );
  }
  return out;
}

/**
 * What the state of a run of these nodes can weigh at most: every node
 * done, up to maxUnavailable nodes in the middle of their steps, a full
 * history. Over MAX_STATE_BYTES, the cluster cannot hold the run's state.
 */
export function estimatedStateBytes(nodes: readonly string[], maxUnavailable: number): number {
  const time = '2026-01-01T00:00:00.000Z';
  const run = 'a1b2c3d4';
  const entries: JournalEntry[] = [
    { time, run, node: '', step: 'run', nodes: [...nodes], host: 'h'.repeat(64), pid: 4_000_000, user: 'u'.repeat(64) },
    ...nodes.map((node): JournalEntry => ({ time, run, node, step: 'done' })),
  ];
  // A node in the middle of its steps: a record of each, a command, workloads and volumes.
  const busy = 4096;
  const history: RunSummary[] = Array.from({ length: LAST_RUNS_KEPT }, () => ({
    id: run,
    nodes: Array.from({ length: SUMMARY_NODES }, () => 'n'.repeat(63)),
    nodeCount: 100_000,
    startedAt: time,
    endedAt: time,
    outcome: 'abandoned',
    hosts: ['h'.repeat(64)],
    users: ['u'.repeat(64)],
    lastError: 'e'.repeat(500),
    leftCordoned: ['n'.repeat(63)],
  }));
  return (
    stateBytes({ current: { id: run, nodes: [...nodes], entries }, last: history }) +
    Math.min(maxUnavailable, nodes.length) * busy
  );
}

/** Where the state stood when the run read it: the run checks it stands there still once it holds the lock. */
export interface StateBasis {
  currentId: string | undefined;
  lastKey: string | undefined;
}

export function basisOf(state: RunState): StateBasis {
  const last = state.current?.entries.at(-1);
  return { currentId: state.current?.id, lastKey: last ? entryKey(last) : undefined };
}

/** How a command's run stands against the cluster's state and its local journal, decided before anything changes. */
export interface Resolution {
  /** A current run of other nodes in the cluster's state: settled (abandoned, or refused) before this run starts. */
  other?: CurrentRun;
  /** The run this command resumes, with every record known of it; undefined: it starts a new one. */
  resume?: { id: string; entries: JournalEntry[] };
  /** Where the resumed run's records came from. */
  source: 'none' | 'cluster' | 'journal' | 'both';
  /** The cluster's copy lacks records the journal has: written once the lock is held. */
  toCluster: boolean;
  /** The journal lacks records the cluster has: rewritten once the lock is held. */
  toJournal: boolean;
  /** The journal held another, older run: set aside before it is rewritten. */
  setAsideJournal: boolean;
  /** The cluster's current run of these nodes, older than the journal's: moved to the history as superseded. */
  superseded?: CurrentRun;
  /** The journal's run finished by the cluster's history (another machine finished it): nothing is left to do. */
  finished?: RunSummary;
  /** What the operator should know of the decision. */
  notes: string[];
}

/**
 * The run a command of these nodes works on, from the cluster's state and
 * the local journal (`journal`: its entries, undefined without --journal):
 * the same run in both is merged (every record of either, once); different
 * runs of these nodes, the newer wins; a run of other nodes in the cluster
 * is left to the caller to settle. Pure.
 */
export function resolveRun(state: RunState, journal: readonly JournalEntry[] | undefined, nodes: string[]): Resolution {
  const out: Resolution = { source: 'none', toCluster: false, toJournal: false, setAsideJournal: false, notes: [] };
  const current = state.current;
  const cluster = current && sameNodes(current.nodes, nodes) ? current : undefined;
  if (current && !cluster) out.other = current;
  const local = journal && journal.length > 0 ? runOf(journal) : undefined;
  const fromCluster = (run: CurrentRun): void => {
    out.resume = { id: run.id, entries: [...run.entries] };
    out.source = 'cluster';
    out.toJournal = journal !== undefined;
  };
  if (!local) {
    if (cluster) fromCluster(cluster);
    return out;
  }
  if (cluster && cluster.id === local.id) {
    const merged = mergeEntries(cluster.entries, journal!);
    const compacted = compactEntries(merged);
    out.resume = { id: cluster.id, entries: merged };
    out.source = 'both';
    out.toCluster = JSON.stringify(compacted) !== JSON.stringify(cluster.entries);
    const known = new Set(journal!.map(entryKey));
    out.toJournal = merged.some((e) => !known.has(entryKey(e)));
    const inCluster = new Set(cluster.entries.map(entryKey));
    if (out.toCluster && !merged.every((e) => inCluster.has(entryKey(e))))
      out.notes.push('the journal holds records the cluster missed: they are written to the cluster');
    if (out.toJournal)
      out.notes.push(
        'the cluster holds records the journal missed (from another machine, or written just before a kill)',
      );
    return out;
  }
  const finished = state.last.find((r) => r.id === local.id);
  if (finished && !cluster) {
    out.finished = finished;
    out.notes.push(
      `the cluster's state says this run ${finished.outcome === 'done' ? 'finished' : `was ${finished.outcome}`} at ` +
        `${finished.endedAt} (on ${finished.hosts.join(', ') || 'another machine'}); the journal missed its end`,
    );
    return out;
  }
  if (cluster && lastTime(cluster.entries) > lastTime(journal!)) {
    fromCluster(cluster);
    out.setAsideJournal = true;
    out.notes.push(
      `the journal holds an older run (${local.id}, last written ${lastTime(journal!)}); ` +
        `the cluster's run ${cluster.id} (last written ${lastTime(cluster.entries)}) is newer and is resumed`,
    );
    return out;
  }
  out.resume = { id: local.id, entries: [...journal!] };
  out.source = 'journal';
  out.toCluster = true;
  if (cluster) {
    out.superseded = cluster;
    out.notes.push(
      `the cluster's run ${cluster.id} of these nodes (last written ${lastTime(cluster.entries)}) is older than ` +
        `the journal's (${local.id}): the journal's is resumed, the cluster's moved to its history`,
    );
  } else if (!out.other) {
    out.notes.push("the cluster held no state of this run: the journal's is written to it");
  }
  return out;
}

/** The run's state no longer is what this run read or wrote: it stops, at a step boundary. */
export function stateMoved(where: string, what: string): BlockedError {
  return new BlockedError(`the run's state in ${where} ${what}: stopping here, at a step boundary`, {
    hint: 'see "kubectl study maintain status"; then run the same command again',
  });
}

/**
 * The state once this run starts: a current run of other nodes closed
 * (done when every node of it is, else abandoned), a superseded one moved
 * to the history, and this run current with its records. Refused when the
 * state is no longer the one the run planned from (`basis`). Pure.
 */
export function beginRun(
  state: RunState,
  basis: StateBasis,
  where: string,
  resolution: Resolution,
  run: CurrentRun,
  now: string,
): RunState {
  // This very start already there: its write landed, the answer was lost (an outage), and the write sent again
  // met a 409. It is not another run's change.
  const start = run.entries.at(-1);
  if (state.current?.id === run.id && start && state.current.entries.some((e) => entryKey(e) === entryKey(start)))
    return state;
  const seen = basisOf(state);
  if (seen.currentId !== basis.currentId || seen.lastKey !== basis.lastKey)
    throw new BlockedError(
      `the run's state in ${where} changed while this command planned (another run wrote to it); nothing was changed`,
      { hint: 'see "kubectl study maintain status"; then run the same command again' },
    );
  const last = [...state.last];
  const closed = resolution.other ?? resolution.superseded;
  if (closed && state.current?.id === closed.id) {
    // A run of other nodes is closed only once it leaves no node cordoned (the caller checked the nodes);
    // a superseded one may, and the history says which, by its records.
    const outcome: RunEnd = resolution.other ? (allDone(closed) ? 'done' : 'abandoned') : 'superseded';
    last.unshift(summarize(closed, outcome, now, outcome === 'superseded' ? cordonedByRun(closed.entries) : []));
  }
  return bounded({ ...state, current: { ...run, entries: compactEntries(run.entries) }, last });
}

/**
 * The state with records of the current run added (once each), and, with
 * `finish`, the run moved to the history. A current run that is not this
 * one (`runId`) means another wrote over it: the run stops. Pure.
 */
export function withRecords(
  state: RunState,
  where: string,
  runId: string,
  entries: readonly JournalEntry[],
  finish?: RunEnd,
): RunState {
  const current = state.current;
  // The end of this run already in the history: that write landed, its answer lost, and it met a 409 sent again.
  if (!current && finish !== undefined && state.last[0]?.id === runId) return state;
  if (!current || current.id !== runId)
    throw stateMoved(where, current ? `now holds another run (${current.id})` : 'no longer holds this run');
  const updated = { ...current, entries: compactEntries(mergeEntries(current.entries, entries)) };
  if (finish === undefined) return bounded({ ...state, current: updated });
  const { current: _done, ...rest } = state;
  return bounded({ ...rest, last: [summarize(updated, finish, lastTime(updated.entries)), ...state.last] });
}
