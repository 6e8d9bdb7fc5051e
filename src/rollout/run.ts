/**
 * `kubectl study-rollout status|history|undo`: the API-facing half. Reads
 * the workload, its ReplicaSets or ControllerRevisions, pods and events;
 * the pure cores (status.ts, history.ts, rollback.ts) decide; print.ts
 * shows; the wiring prints the result.
 */
import type { CoreV1Event, V1ControllerRevision, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';

import { coalesce, deadlineSignal } from '../base/concurrency.js';
import { ExitCode, NoMatchError, NotFoundError, TimeoutError, type ExitCodeValue } from '../base/errors.js';
import { formatDuration } from '../base/duration.js';
import type { RunContext } from '../base/run.js';
import { apiStatusOf } from '../kube/apierror.js';
import { connect, JSON_PATCH, STRATEGIC_MERGE_PATCH, type KubeClient } from '../kube/client.js';
import { Informer } from '../kube/informer.js';
import { listPath } from '../kube/list.js';
import { isPodReady } from '../kube/objects.js';
import { releaseFields, serverRelease, type ReleaseFields } from '../kube/release.js';
import { formatSelector, type LabelSelector } from '../kube/selector.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import {
  controllerHistory,
  deploymentHistory,
  findRevision,
  templateDiff,
  type History,
  type Revision,
} from './history.js';
import { apiPlural, type Target, type WorkloadKind } from './model.js';
import type { DiffOptions, HistoryOptions, RevisionRef, StatusOptions, UndoOptions } from './options.js';
import { planRollback, templateOf, type RollbackPlan, type Workload } from './rollback.js';
import { rolloutRules, type RolloutRules } from './rules.js';
import { atRevision, deletedStatus, FATAL, rolloutStatus, type RolloutStatus } from './status.js';

const WORKLOAD_TYPES = {
  Deployment: RESOURCES.deployments,
  StatefulSet: RESOURCES.statefulSets,
  DaemonSet: RESOURCES.daemonSets,
} as const;

function historyType(kind: WorkloadKind): typeof RESOURCES.replicaSets | typeof RESOURCES.controllerRevisions {
  return kind === 'Deployment' ? RESOURCES.replicaSets : RESOURCES.controllerRevisions;
}

async function getWorkload(client: KubeClient, ns: string, target: Target): Promise<Workload> {
  try {
    return await client.request<Workload>(
      'GET',
      resourcePath(WORKLOAD_TYPES[target.kind], { namespace: ns, name: target.name }),
    );
  } catch (err) {
    if (apiStatusOf(err)?.code === 404) {
      throw new NotFoundError(`${target.kind.toLowerCase()} "${target.name}" not found in namespace "${ns}"`, {
        hint: `list them with "kubectl get ${apiPlural(target.kind)} -n ${ns}"`,
      });
    }
    throw client.error(`get ${target.kind.toLowerCase()} ${target.name}`, err);
  }
}

function selectorOf(obj: Workload): string {
  const selector = formatSelector(obj.spec?.selector as LabelSelector | undefined);
  return selector === '<all>' || selector === '<none>' ? '' : selector;
}

async function resolveTargets(client: KubeClient, ns: string, options: StatusOptions): Promise<Target[]> {
  if (!options.selectorKind) return options.targets;
  const kind = options.selectorKind;
  const list = await client.call(`list ${apiPlural(kind)}`, () =>
    listPath<Workload>(client, resourcePath(WORKLOAD_TYPES[kind], { namespace: ns }), {
      labelSelector: options.selector,
    }),
  );
  if (list.items.length === 0)
    throw new NoMatchError(`no ${apiPlural(kind)} match the selector "${options.selector}" in namespace "${ns}"`, {
      hint: `list them with "kubectl get ${apiPlural(kind)} -n ${ns} --show-labels"`,
    });
  return list.items.map((w) => ({ kind, name: w.metadata?.name ?? '' }));
}

/** Everything the status of one workload is computed from, read once. */
async function readStatus(client: KubeClient, ns: string, target: Target, rules: RolloutRules): Promise<RolloutStatus> {
  const obj = await getWorkload(client, ns, target);
  const labelSelector = selectorOf(obj) || undefined;
  const [pods, hist, events] = await Promise.all([
    client.call('list pods', () =>
      listPath<V1Pod>(client, resourcePath(RESOURCES.pods, { namespace: ns }), { labelSelector }),
    ),
    client.call(`list ${historyType(target.kind).resource}`, () =>
      listPath<V1ReplicaSet | V1ControllerRevision>(client, resourcePath(historyType(target.kind), { namespace: ns }), {
        labelSelector,
      }),
    ),
    client.call('list events', () => listPath<CoreV1Event>(client, resourcePath(RESOURCES.events, { namespace: ns }))),
  ]);
  return rolloutStatus({
    kind: target.kind,
    obj,
    pods: pods.items,
    replicaSets: target.kind === 'Deployment' ? (hist.items as V1ReplicaSet[]) : [],
    controllerRevisions: target.kind === 'Deployment' ? [] : (hist.items as V1ControllerRevision[]),
    events: events.items,
    now: new Date(),
    rules,
  });
}

/**
 * The status when the workload object alone says the rollout is done, as
 * kubectl decides it from the object; undefined otherwise (OnDelete
 * updates are counted from the pods, so they are never decided here).
 */
export function doneFromObject(
  kind: WorkloadKind,
  obj: Workload,
  now: Date,
  rules: RolloutRules,
): RolloutStatus | undefined {
  const strategy = (obj.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type;
  if (kind !== 'Deployment' && strategy === 'OnDelete') return undefined;
  const status = rolloutStatus({
    kind,
    obj,
    pods: [],
    replicaSets: [],
    controllerRevisions: [],
    events: [],
    now,
    rules,
  });
  return status.done ? status : undefined;
}

/** How often, at most, a flood of pod and event changes recomputes the status. */
const RECOMPUTE_WINDOW_MS = 15;

/**
 * Lists and watches one workload's object, pods, replica history and
 * events, starting from the object already read; recomputes after changes:
 * at once for the object (whose status is what completes a rollout), at
 * most once per window for the rest.
 */
async function follow(
  client: KubeClient,
  ns: string,
  target: Target,
  first: Workload,
  rules: RolloutRules,
  signal: AbortSignal,
  onStatus: (status: RolloutStatus) => void,
): Promise<() => void> {
  const labelSelector = selectorOf(first);
  const sel = labelSelector ? { labelSelector } : {};
  let last: Workload = first;
  const recompute = coalesce(() => {
    const obj = [...object.items.values()][0];
    if (!obj) {
      // Gone once the watch has listed: deleted, as kubectl says ("object has been deleted").
      if (object.synced) onStatus(deletedStatus(target.kind, last));
      return;
    }
    last = obj;
    const hist = [...history.items.values()];
    onStatus(
      rolloutStatus({
        kind: target.kind,
        obj,
        pods: [...pods.items.values()],
        replicaSets: target.kind === 'Deployment' ? (hist as V1ReplicaSet[]) : [],
        controllerRevisions: target.kind === 'Deployment' ? [] : (hist as V1ControllerRevision[]),
        events: [...events.items.values()],
        now: new Date(),
        rules,
      }),
    );
  }, RECOMPUTE_WINDOW_MS);
  const changed = (): void => recompute.poke();
  const nsPath = (type: Parameters<typeof resourcePath>[0]): string => resourcePath(type, { namespace: ns });
  const object = new Informer<Workload>(
    client,
    nsPath(WORKLOAD_TYPES[target.kind]),
    { fieldSelector: `metadata.name=${target.name}` },
    { onChange: () => recompute.poke(true) },
  );
  const pods = new Informer<V1Pod>(client, nsPath(RESOURCES.pods), sel, { onChange: changed });
  const history = new Informer<V1ReplicaSet | V1ControllerRevision>(client, nsPath(historyType(target.kind)), sel, {
    onChange: changed,
  });
  const events = new Informer<CoreV1Event>(client, nsPath(RESOURCES.events), {}, { onChange: changed });
  try {
    await Promise.all([object.start(signal), pods.start(signal), history.start(signal), events.start(signal)]);
  } catch (err) {
    throw client.error(`watch ${target.kind.toLowerCase()}/${target.name}`, err);
  }
  return () => {
    for (const informer of [object, pods, history, events]) informer.stop();
    recompute.cancel();
  };
}

export interface RolloutStatusList extends ReleaseFields {
  kind: 'RolloutStatusList';
  apiVersion: 'study.kubectl.io/v1';
  items: RolloutStatus[];
}

export interface WatchedItem {
  target: Target;
  status?: RolloutStatus;
  finished: boolean;
}

export interface RolloutStatusSummary extends ReleaseFields {
  kind: 'RolloutStatusSummary';
  apiVersion: 'study.kubectl.io/v1';
  /** How the watch ended. */
  ended: 'done' | 'timeout' | 'interrupted';
  timeoutMs: number;
  failFast: boolean;
  items: WatchedItem[];
}

export type StatusResult = RolloutStatusList | RolloutStatusSummary;

/** Whether a status ends a --fail-fast wait. */
export function fatalFor(status: RolloutStatus | undefined, failFast: boolean): boolean {
  return Boolean(failFast && status && !status.done && status.problems.some((p) => FATAL.has(p.code)));
}

export interface StatusHooks {
  /** A workload's status changed. */
  onStatus(item: WatchedItem, all: WatchedItem[]): void;
  stop(): void;
}

export async function runStatus(
  ctx: RunContext,
  options: StatusOptions,
  hooks: (items: WatchedItem[]) => Promise<StatusHooks>,
): Promise<StatusResult> {
  // --timeout bounds the whole command: every request, from the first, stops when it runs out. Run out
  // before any status was read, it is the API server's silence or slowness, never a rollout not complete.
  let client: KubeClient | undefined;
  const bound = `--timeout ${formatDuration(options.timeoutMs)}`;
  const deadline = deadlineSignal(
    options.timeoutMs,
    () =>
      client?.silenceError(bound) ??
      new TimeoutError(`no rollout status could be read within ${bound}`, {
        hint: 'the API server answered, then stopped answering: is it overloaded? raise --timeout to wait longer',
      }),
  );
  try {
    client = connect(options.connection, { signal: AbortSignal.any([ctx.signal, deadline.signal]) });
    const ns = client.namespace;
    const [targets, server] = await Promise.all([resolveTargets(client, ns, options), serverRelease(client)]);
    const release = { fields: releaseFields(server), rules: rolloutRules(server.release) };
    if (!options.watch) {
      const items: RolloutStatus[] = [];
      for (const target of targets) items.push(await readStatus(client, ns, target, release.rules));
      return { kind: 'RolloutStatusList', apiVersion: 'study.kubectl.io/v1', ...release.fields, items };
    }
    return await watchStatus(ctx, options, client, ns, targets, release, deadline.signal, hooks);
  } finally {
    deadline.clear();
  }
}

/** Follows every target until all are done (or failed), the deadline, or an interrupt. */
async function watchStatus(
  ctx: RunContext,
  options: StatusOptions,
  client: KubeClient,
  ns: string,
  targets: Target[],
  release: { fields: ReleaseFields; rules: RolloutRules },
  deadline: AbortSignal,
  hooks: (items: WatchedItem[]) => Promise<StatusHooks>,
): Promise<RolloutStatusSummary> {
  const items: WatchedItem[] = targets.map((target) => ({ target, finished: false }));
  const view = await hooks(items);
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let settle: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const stoppers: Array<() => void> = [];
  const report = (item: WatchedItem, status: RolloutStatus): void => {
    if (item.finished) return;
    item.status = status;
    if (status.done || status.failed || fatalFor(status, options.failFast)) item.finished = true;
    view.onStatus(item, items);
    if (items.every((x) => x.finished)) settle();
  };
  try {
    for (const item of items) {
      const obj = await getWorkload(client, ns, item.target);
      // A finished rollout is answered from this one read, as kubectl answers it: nothing to watch.
      const done = doneFromObject(item.target.kind, obj, new Date(), release.rules);
      if (done) report(item, done);
      else
        stoppers.push(
          await follow(client, ns, item.target, obj, release.rules, signal, (status) => report(item, status)),
        );
    }
    const ended = await Promise.race([
      allDone.then(() => 'done' as const),
      once(deadline, 'timeout' as const),
      once(ctx.signal, 'interrupted' as const),
    ]);
    return {
      kind: 'RolloutStatusSummary',
      apiVersion: 'study.kubectl.io/v1',
      ...release.fields,
      ended,
      timeoutMs: options.timeoutMs,
      failFast: options.failFast,
      items,
    };
  } finally {
    stop.abort();
    for (const unfollow of stoppers) unfollow();
    view.stop();
  }
}

/** Resolves with `value` when the signal aborts. */
function once<T>(signal: AbortSignal, value: T): Promise<T> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(value);
    else signal.addEventListener('abort', () => resolve(value), { once: true });
  });
}

export function statusExitCode(result: StatusResult): ExitCodeValue {
  if (result.kind === 'RolloutStatusList') {
    if (result.items.some((s) => s.failed)) return ExitCode.BLOCKED;
    return result.items.every((s) => s.done) ? ExitCode.OK : ExitCode.NEGATIVE;
  }
  if (result.ended === 'interrupted') return ExitCode.INTERRUPTED;
  if (result.items.some((t) => t.status?.problems.some((p) => p.code === 'Deleted'))) return ExitCode.NOT_FOUND;
  if (result.items.some((t) => t.status?.failed || fatalFor(t.status, result.failFast))) return ExitCode.BLOCKED;
  return result.ended === 'timeout' ? ExitCode.TIMEOUT : ExitCode.OK;
}

/** The one error line of a watch that did not end well (the status itself went to stdout). */
export function statusFailure(result: StatusResult): { message: string; hint: string } | undefined {
  if (result.kind !== 'RolloutStatusSummary') return undefined;
  const code = statusExitCode(result);
  if (code === ExitCode.TIMEOUT)
    return {
      message: `rollout not complete after ${formatDuration(result.timeoutMs)}`,
      hint: 'the last status says why; raise --timeout to wait longer',
    };
  const items = result.items.map((i) => i.status).filter((s): s is RolloutStatus => s !== undefined);
  const deleted = items.find((s) => s.problems.some((p) => p.code === 'Deleted'));
  if (code === ExitCode.NOT_FOUND && deleted)
    return {
      message: 'object has been deleted',
      hint: `${deleted.kind.toLowerCase()}/${deleted.name} was deleted while its rollout was watched`,
    };
  // kubectl's error for a Deployment past its progress deadline.
  const late = items.find((s) => s.problems.some((p) => p.code === 'DeadlineExceeded'));
  if (code === ExitCode.BLOCKED && late)
    return {
      message: `${late.kind.toLowerCase()} "${late.name}" exceeded its progress deadline`,
      hint: 'the status above says why; fix the cause, or roll back with kubectl study-rollout undo',
    };
  return undefined;
}

// ---------------------------------------------------------------- history

async function loadHistory(
  client: KubeClient,
  ns: string,
  target: Target,
): Promise<{ obj: Workload; history: History; controllerRevisions: V1ControllerRevision[] }> {
  const obj = await getWorkload(client, ns, target);
  const labelSelector = selectorOf(obj) || undefined;
  const now = new Date();
  if (target.kind === 'Deployment') {
    const rss = await client.call('list replicasets', () =>
      listPath<V1ReplicaSet>(client, resourcePath(RESOURCES.replicaSets, { namespace: ns }), { labelSelector }),
    );
    return { obj, history: deploymentHistory(obj, rss.items, now), controllerRevisions: [] };
  }
  const [crs, pods] = await Promise.all([
    client.call('list controllerrevisions', () =>
      listPath<V1ControllerRevision>(client, resourcePath(RESOURCES.controllerRevisions, { namespace: ns }), {
        labelSelector,
      }),
    ),
    client.call('list pods', () =>
      listPath<V1Pod>(client, resourcePath(RESOURCES.pods, { namespace: ns }), { labelSelector }),
    ),
  ]);
  // Pods per revision (StatefulSet pods name the revision, DaemonSet pods its hash).
  const byHash = new Map<string, { ready: number; total: number }>();
  for (const cr of crs.items) {
    const mine = pods.items.filter((p) => atRevision(p, cr.metadata?.name ?? ''));
    byHash.set(cr.metadata?.name ?? '', { total: mine.length, ready: mine.filter(isPodReady).length });
  }
  return {
    obj,
    history: controllerHistory(target.kind, obj as V1StatefulSet, crs.items, byHash, now),
    controllerRevisions: crs.items,
  };
}

/** The history, or one revision of it with its template (--revision N). */
/** The history (saying which release answered), or one revision of it with its template (--revision N). */
export type HistoryResult =
  | { history: History & ReleaseFields }
  | { target: Target; revision: Revision; release: ReleaseFields };

export async function runHistory(ctx: RunContext, options: HistoryOptions): Promise<HistoryResult> {
  const client = connect(options.connection, { signal: ctx.signal });
  const [{ history }, server] = await Promise.all([
    loadHistory(client, client.namespace, options.target),
    serverRelease(client),
  ]);
  if (options.revision !== undefined)
    return {
      target: options.target,
      revision: findRevision(history, options.revision),
      release: releaseFields(server),
    };
  const { kind, apiVersion, ...rest } = history;
  return { history: { kind, apiVersion, ...releaseFields(server), ...rest } };
}

export interface RevisionDiff {
  kind: 'RevisionDiff';
  apiVersion: 'study.kubectl.io/v1';
  from: string;
  to: string;
  identical: boolean;
  diff: string;
}

export async function runDiff(ctx: RunContext, options: DiffOptions): Promise<RevisionDiff> {
  const client = connect(options.connection, { signal: ctx.signal });
  const target = options.target;
  const { obj, history } = await loadHistory(client, client.namespace, target);
  const pick = (which: RevisionRef): { label: string; template: ReturnType<typeof templateOf> } => {
    if (which === 'live')
      return { label: `${target.kind.toLowerCase()}/${target.name} (live)`, template: templateOf(obj) };
    const revision = findRevision(history, which);
    return { label: `revision ${revision.revision}`, template: revision.template };
  };
  const left = pick(options.from);
  const right = pick(options.to);
  const diff = templateDiff(left.template, left.label, right.template, right.label);
  return {
    kind: 'RevisionDiff',
    apiVersion: 'study.kubectl.io/v1',
    from: left.label,
    to: right.label,
    identical: diff === '',
    diff,
  };
}

// ---------------------------------------------------------------- undo

export interface UndoResult {
  plan: RollbackPlan;
  dryRun: boolean;
  applied: boolean;
  /** With --watch: how the rollout went afterwards. */
  status?: RolloutStatusSummary;
}

export async function runUndo(
  ctx: RunContext,
  options: UndoOptions,
  statusHooks: (items: WatchedItem[]) => Promise<StatusHooks>,
): Promise<UndoResult> {
  const client = connect(options.connection, { signal: ctx.signal });
  const target = options.target;
  const ns = client.namespace;
  const { obj, history, controllerRevisions } = await loadHistory(client, ns, target);
  const plan = planRollback(target.kind, obj, history, options.toRevision, controllerRevisions, options.dryRun);
  if (plan.skipped || options.dryRun) return { plan, dryRun: options.dryRun, applied: false };
  const contentType = plan.patchType === 'json' ? JSON_PATCH : STRATEGIC_MERGE_PATCH;
  await client.call(`roll back ${target.kind.toLowerCase()}.apps/${target.name}`, () =>
    client.request('PATCH', resourcePath(WORKLOAD_TYPES[target.kind], { namespace: ns, name: target.name }), {
      body: plan.patch,
      contentType,
    }),
  );
  const result: UndoResult = { plan, dryRun: false, applied: true };
  if (options.watch) {
    const status = await runStatus(
      ctx,
      { connection: options.connection, targets: [target], watch: true, timeoutMs: options.timeoutMs, failFast: false },
      statusHooks,
    );
    result.status = status as RolloutStatusSummary;
  }
  return result;
}

export function undoExitCode(result: UndoResult): ExitCodeValue {
  return result.status ? statusExitCode(result.status) : ExitCode.OK;
}
