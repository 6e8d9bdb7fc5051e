/**
 * `kubectl study-rollout status|history|undo`: the API-facing half. Reads
 * the workload, its ReplicaSets or ControllerRevisions, pods and events;
 * the pure cores (status.ts, history.ts) decide; print.ts shows.
 */
import type {
  CoreV1Event,
  V1ControllerRevision,
  V1DaemonSet,
  V1Deployment,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import * as k8s from '@kubernetes/client-node';

import { BlockedError, ExitCode, NotFoundError, TimeoutError, UsageError, type ExitCodeValue } from '../cli/errors.js';
import type { CommonFlags, KubeFlags } from '../cli/flags.js';
import { colorEnabled, interactive, liveRegion, writeStructured } from '../cli/output.js';
import type { RunState } from '../cli/program.js';
import { apiStatusOf } from '../kube/apierror.js';
import { connect, type KubeClient } from '../kube/client.js';
import { Informer } from '../kube/informer.js';
import { listPath } from '../kube/list.js';
import { isPodReady } from '../kube/objects.js';
import { formatSelector, type LabelSelector } from '../kube/selector.js';
import { parseDuration } from '../util/duration.js';
import {
  controllerHistory,
  controllerRevisionTemplate,
  deploymentHistory,
  findRevision,
  templateDiff,
  templateYaml,
  type History,
} from './history.js';
import { apiPlural, parseTargets, type Target, type WorkloadKind } from './model.js';
import { renderHistory, renderLive, renderSummary } from './print.js';
import { atRevision, FATAL, REVISION_ANNOTATION, rolloutStatus, statusLine, type RolloutStatus } from './status.js';

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

function workloadPath(ns: string, t: Target): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/${apiPlural(t.kind)}/${encodeURIComponent(t.name)}`;
}

async function getWorkload(client: KubeClient, ns: string, t: Target): Promise<Workload> {
  try {
    return await client.request<Workload>('GET', workloadPath(ns, t));
  } catch (err) {
    if (apiStatusOf(err)?.code === 404) {
      throw new NotFoundError(`${t.kind.toLowerCase()} "${t.name}" not found in namespace "${ns}"`, {
        hint: `list them with "kubectl get ${apiPlural(t.kind)} -n ${ns}"`,
      });
    }
    throw client.error(`get ${t.kind.toLowerCase()} ${t.name}`, err);
  }
}

function selectorOf(obj: Workload): string {
  const s = formatSelector(obj.spec?.selector as LabelSelector | undefined);
  return s === '<all>' || s === '<none>' ? '' : s;
}

async function resolveTargets(client: KubeClient, ns: string, args: string[], selector: string | undefined): Promise<Target[]> {
  const { targets, selectorKind } = parseTargets(args, selector);
  if (!selectorKind) return targets;
  const list = await client.call(`list ${apiPlural(selectorKind)}`, () =>
    listPath<Workload>(client, `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/${apiPlural(selectorKind)}`, { labelSelector: selector ?? '' }),
  );
  if (list.items.length === 0) throw new NotFoundError(`no ${apiPlural(selectorKind)} match "${selector}" in namespace "${ns}"`);
  return list.items.map((w) => ({ kind: selectorKind, name: w.metadata?.name ?? '' }));
}

// ---------------------------------------------------------------- status

export interface StatusOptions extends CommonFlags {
  kube: KubeFlags;
  args: string[];
  selector?: string;
  watch: boolean;
  timeout: string;
  failFast: boolean;
}

interface Tracked {
  target: Target;
  status?: RolloutStatus;
  lastLine?: string;
  finished: boolean;
}

/** Lists and watches one workload's object, pods, replica history and events; recomputes on every change. */
async function follow(client: KubeClient, ns: string, t: Target, signal: AbortSignal, onStatus: (s: RolloutStatus) => void): Promise<() => void> {
  const first = await getWorkload(client, ns, t);
  const selector = selectorOf(first);
  const nsPath = (group: string, plural: string): string => `${group}/namespaces/${encodeURIComponent(ns)}/${plural}`;
  let timer: NodeJS.Timeout | undefined;
  const recompute = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      const obj = object.list_()[0];
      if (!obj) return;
      onStatus(
        rolloutStatus({
          kind: t.kind,
          obj,
          pods: pods.list_(),
          replicaSets: t.kind === 'Deployment' ? (history.list_() as V1ReplicaSet[]) : [],
          controllerRevisions: t.kind === 'Deployment' ? [] : (history.list_() as V1ControllerRevision[]),
          events: events.list_(),
          now: new Date(),
        }),
      );
    }, 50);
  };
  const object = new Informer<Workload>(client, nsPath('/apis/apps/v1', apiPlural(t.kind)), { fieldSelector: `metadata.name=${t.name}` }, { onChange: recompute });
  const pods = new Informer<V1Pod>(client, nsPath('/api/v1', 'pods'), selector ? { labelSelector: selector } : {}, { onChange: recompute });
  const history = new Informer<V1ReplicaSet | V1ControllerRevision>(
    client,
    nsPath('/apis/apps/v1', t.kind === 'Deployment' ? 'replicasets' : 'controllerrevisions'),
    selector ? { labelSelector: selector } : {},
    { onChange: recompute },
  );
  const events = new Informer<CoreV1Event>(client, nsPath('/api/v1', 'events'), {}, { onChange: recompute });
  await Promise.all([object.start(signal), pods.start(signal), history.start(signal), events.start(signal)]);
  return () => {
    for (const i of [object, pods, history, events]) i.stop();
    if (timer) clearTimeout(timer);
  };
}

export async function runStatus(state: RunState, o: StatusOptions): Promise<ExitCodeValue> {
  const { io } = state;
  const timeoutMs = parseDuration(o.timeout);
  if (timeoutMs === undefined || timeoutMs < 0) throw new UsageError(`invalid --timeout "${o.timeout}"`, { hint: 'a duration such as 5m; 0 waits for ever' });
  const client = connect(o.kube, { signal: state.signal });
  const ns = client.namespace;
  const targets = await resolveTargets(client, ns, o.args, o.selector);
  const json = o.output === 'json';
  const colour = colorEnabled(io);

  if (!o.watch) {
    // Answer once.
    const statuses: RolloutStatus[] = [];
    for (const t of targets) {
      const obj = await getWorkload(client, ns, t);
      const selector = selectorOf(obj);
      const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
      const [pods, hist, events] = await Promise.all([
        client.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods${q}`),
        client.request<{ items: Array<V1ReplicaSet | V1ControllerRevision> }>('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/${t.kind === 'Deployment' ? 'replicasets' : 'controllerrevisions'}${q}`),
        client.request<{ items: CoreV1Event[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`),
      ]);
      statuses.push(
        rolloutStatus({
          kind: t.kind,
          obj,
          pods: pods.items,
          replicaSets: t.kind === 'Deployment' ? (hist.items as V1ReplicaSet[]) : [],
          controllerRevisions: t.kind === 'Deployment' ? [] : (hist.items as V1ControllerRevision[]),
          events: events.items,
          now: new Date(),
        }),
      );
    }
    if (o.output === 'json' || o.output === 'yaml') await writeStructured(io, o.output, { kind: 'RolloutStatusList', apiVersion: 'study.kubectl.io/v1', items: statuses });
    else for (const s of statuses) io.stdout.write(`${statusLine(s)}\n`);
    if (statuses.some((s) => s.failed)) return ExitCode.BLOCKED;
    return statuses.every((s) => s.done) ? ExitCode.OK : ExitCode.NEGATIVE;
  }

  const tracked: Tracked[] = targets.map((target) => ({ target, finished: false }));
  const stop = new AbortController();
  const signal = AbortSignal.any([state.signal, stop.signal]);
  const live = !json && interactive(io, io.stdout);
  const region = liveRegion(io.stdout);
  const draw = (): void => {
    if (live) region(tracked.map((t) => (t.status ? renderLive(t.status, colour) : `${t.target.kind.toLowerCase()}/${t.target.name}: reading...\n`)).join(''));
  };
  let settle: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const onStatus = (t: Tracked) => (s: RolloutStatus): void => {
    if (t.finished) return;
    t.status = s;
    const fatal = o.failFast && s.problems.some((p) => FATAL.has(p.code));
    if (s.done || s.failed || fatal) t.finished = true;
    const line = statusLine(s);
    if (line !== t.lastLine) {
      t.lastLine = line;
      if (json) io.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), kind: s.kind, namespace: s.namespace, name: s.name, state: s.state, done: s.done, failed: s.failed || fatal, message: s.message, replicas: s.replicas, problems: s.problems, stragglers: s.stragglers ?? [] })}\n`);
      else if (!live) io.stdout.write(`${line}\n`);
    }
    draw();
    if (tracked.every((x) => x.finished)) settle();
  };
  const stoppers: Array<() => void> = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const t of tracked) stoppers.push(await follow(client, ns, t.target, signal, onStatus(t)));
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutMs > 0) timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const interrupted = new Promise<'interrupt'>((resolve) => state.signal.addEventListener('abort', () => resolve('interrupt'), { once: true }));
    const how = await Promise.race([allDone.then(() => 'done' as const), timedOut, interrupted]);
    stop.abort();
    if (!json) io.stdout.write(`\n${renderSummary(tracked.map((t) => ({ target: t.target, status: t.status, finished: t.finished })), o.failFast, colour)}`);
    else io.stdout.write(`${JSON.stringify({ kind: 'RolloutStatusSummary', items: tracked.map((t) => ({ kind: t.target.kind, name: t.target.name, state: t.status?.state ?? 'unknown', done: t.status?.done ?? false, message: t.status?.message ?? '' })) })}\n`);
    if (how === 'interrupt') return ExitCode.INTERRUPTED;
    const failed = tracked.some((t) => t.status?.failed || (o.failFast && t.status?.problems.some((p) => FATAL.has(p.code)) && !t.status.done));
    if (failed) return ExitCode.BLOCKED;
    if (how === 'timeout') throw new TimeoutError(`rollout not complete after ${o.timeout}`, { hint: 'the last status says why; raise --timeout to wait longer' });
    return ExitCode.OK;
  } finally {
    if (timer) clearTimeout(timer);
    stop.abort();
    for (const s of stoppers) s();
  }
}

// ---------------------------------------------------------------- history

export interface HistoryOptions extends CommonFlags {
  kube: KubeFlags;
  args: string[];
  revision?: number;
}

async function loadHistory(client: KubeClient, ns: string, t: Target): Promise<{ obj: Workload; history: History }> {
  const obj = await getWorkload(client, ns, t);
  const selector = selectorOf(obj);
  const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
  const now = new Date();
  if (t.kind === 'Deployment') {
    const rss = await client.call('list replicasets', () => client.request<{ items: V1ReplicaSet[] }>('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets${q}`));
    return { obj, history: deploymentHistory(obj, rss.items, now) };
  }
  const [crs, pods] = await Promise.all([
    client.call('list controllerrevisions', () => client.request<{ items: V1ControllerRevision[] }>('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/controllerrevisions${q}`)),
    client.call('list pods', () => client.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods${q}`)),
  ]);
  // Pods per revision (StatefulSet pods name the revision, DaemonSet pods its hash).
  const byHash = new Map<string, { ready: number; total: number }>();
  for (const cr of crs.items) {
    const mine = pods.items.filter((p) => atRevision(p, cr.metadata?.name ?? ''));
    byHash.set(cr.metadata?.name ?? '', { total: mine.length, ready: mine.filter(isPodReady).length });
  }
  return { obj, history: controllerHistory(t.kind, obj as V1StatefulSet, crs.items, byHash, now) };
}

function singleTarget(args: string[]): Target {
  const { targets } = parseTargets(args, undefined);
  if (targets.length !== 1) throw new UsageError('name exactly one workload, as KIND/NAME or KIND NAME');
  return targets[0]!;
}

export async function runHistory(state: RunState, o: HistoryOptions): Promise<ExitCodeValue> {
  const client = connect(o.kube, { signal: state.signal });
  const t = singleTarget(o.args);
  const { history } = await loadHistory(client, client.namespace, t);
  const structured = o.output === 'json' || o.output === 'yaml';
  if (o.revision !== undefined) {
    const r = findRevision(history, o.revision);
    if (structured) await writeStructured(state.io, o.output as 'json' | 'yaml', r);
    else state.io.stdout.write(`${t.kind.toLowerCase()}/${t.name} revision ${r.revision}${r.previousRevisions.length ? ` (was ${r.previousRevisions.join(', ')})` : ''}, from ${r.source}:\n${templateYaml(r.template)}`);
    return ExitCode.OK;
  }
  if (structured) {
    const slim = { ...history, revisions: history.revisions.map(({ template: _t, annotations: _a, ...rest }) => rest) };
    await writeStructured(state.io, o.output as 'json' | 'yaml', slim);
  } else state.io.stdout.write(renderHistory(history, colorEnabled(state.io)));
  return ExitCode.OK;
}

export interface DiffOptions extends CommonFlags {
  kube: KubeFlags;
  args: string[];
  from: string;
  to: string;
}

function templateOf(obj: Workload): V1PodTemplateSpec {
  return (obj.spec?.template ?? {}) as V1PodTemplateSpec;
}

export async function runDiff(state: RunState, o: DiffOptions): Promise<ExitCodeValue> {
  const client = connect(o.kube, { signal: state.signal });
  const t = singleTarget(o.args);
  const { obj, history } = await loadHistory(client, client.namespace, t);
  const pick = (which: string): { label: string; template: V1PodTemplateSpec } => {
    if (which === 'live') return { label: `${t.kind.toLowerCase()}/${t.name} (live)`, template: templateOf(obj) };
    const n = Number(which);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`"${which}" is not a revision number or "live"`);
    const r = findRevision(history, n);
    return { label: `revision ${r.revision}`, template: r.template };
  };
  const a = pick(o.from);
  const b = pick(o.to);
  const diff = templateDiff(a.template, a.label, b.template, b.label);
  if (o.output === 'json' || o.output === 'yaml') {
    await writeStructured(state.io, o.output, { kind: 'RevisionDiff', apiVersion: 'study.kubectl.io/v1', from: a.label, to: b.label, identical: diff === '', diff });
  } else state.io.stdout.write(diff ? `${diff.trimEnd()}\n` : `${a.label} and ${b.label} have the same pod template\n`);
  return ExitCode.OK;
}

// ---------------------------------------------------------------- undo

export interface UndoOptions extends CommonFlags {
  kube: KubeFlags;
  args: string[];
  toRevision: number;
  dryRun: boolean;
  watch: boolean;
  timeout: string;
}

/** kubectl's rollback annotations: these stay as the Deployment has them; the rest come from the revision. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export interface RollbackPlan {
  kind: 'RollbackPlan';
  apiVersion: 'study.kubectl.io/v1';
  workload: { kind: WorkloadKind; namespace: string; name: string };
  toRevision: number;
  skipped: boolean;
  diff: string;
  /** What would be sent: a JSON patch (Deployment) or a strategic merge patch (StatefulSet, DaemonSet). */
  patchType: 'json' | 'strategic';
  patch: unknown;
}

/** The same rollback kubectl performs (polymorphichelpers/rollback.go). Pure. */
export function planRollback(kind: WorkloadKind, obj: Workload, history: History, toRevision: number, controllerRevisions: V1ControllerRevision[]): RollbackPlan {
  const name = obj.metadata?.name ?? '';
  const workload = { kind, namespace: obj.metadata?.namespace ?? '', name };
  if (kind === 'Deployment' && (obj as V1Deployment).spec?.paused) {
    throw new BlockedError(`deployment "${name}" is paused, and kubectl refuses to roll back a paused deployment`, {
      hint: `resume it first: kubectl rollout resume deployment/${name} -n ${workload.namespace}`,
    });
  }
  const sorted = [...history.revisions].sort((a, b) => b.revision - a.revision);
  let target = toRevision === 0 ? sorted[1] : sorted.find((r) => r.revision === toRevision);
  if (!target) {
    if (toRevision === 0) throw new NotFoundError(`${kind.toLowerCase()}/${name} has no previous revision to roll back to`);
    target = findRevision(history, toRevision);
  }
  const live = templateOf(obj);
  const diff = templateDiff(live, `${kind.toLowerCase()}/${name} (live)`, target.template, `revision ${target.revision}`);
  const base = { kind: 'RollbackPlan' as const, apiVersion: 'study.kubectl.io/v1' as const, workload, toRevision: target.revision, skipped: diff === '', diff };
  if (kind === 'Deployment') {
    const template = JSON.parse(JSON.stringify(target.template)) as V1PodTemplateSpec;
    delete template.metadata?.labels?.['pod-template-hash'];
    const annotations: Record<string, string> = {};
    const current = obj.metadata?.annotations ?? {};
    for (const k of ANNOTATIONS_TO_SKIP) if (current[k] !== undefined) annotations[k] = current[k];
    for (const [k, v] of Object.entries(target.annotations)) if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
    return {
      ...base,
      patchType: 'json',
      patch: [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: annotations },
      ],
    };
  }
  const cr = controllerRevisions.find((c) => `ControllerRevision/${c.metadata?.name}` === target.source);
  return {
    ...base,
    patchType: 'strategic',
    patch: cr?.data ?? { spec: { template: { ...controllerRevisionTemplate(cr ?? ({} as V1ControllerRevision)), $patch: 'replace' } } },
  };
}

export async function runUndo(state: RunState, o: UndoOptions): Promise<ExitCodeValue> {
  const client = connect(o.kube, { signal: state.signal });
  const t = singleTarget(o.args);
  const ns = client.namespace;
  const { obj, history } = await loadHistory(client, ns, t);
  let crs: V1ControllerRevision[] = [];
  if (t.kind !== 'Deployment') {
    const selector = selectorOf(obj);
    crs = (await client.request<{ items: V1ControllerRevision[] }>('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/controllerrevisions${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`)).items;
  }
  const plan = planRollback(t.kind, obj, history, o.toRevision, crs);
  const structured = o.output === 'json' || o.output === 'yaml';
  const label = `${t.kind.toLowerCase()}.apps/${t.name}`;
  if (plan.skipped) {
    if (structured) await writeStructured(state.io, o.output as 'json' | 'yaml', plan);
    else state.io.stdout.write(`${label} skipped rollback (current template already matches revision ${plan.toRevision})\n`);
    return ExitCode.OK;
  }
  if (o.dryRun) {
    if (structured) await writeStructured(state.io, o.output as 'json' | 'yaml', plan);
    else state.io.stdout.write(`${label}: rolling back to revision ${plan.toRevision} would change the pod template:\n${plan.diff.trimEnd()}\n(dry run: nothing was changed)\n`);
    return ExitCode.OK;
  }
  const contentType = plan.patchType === 'json' ? 'application/json-patch+json' : 'application/strategic-merge-patch+json';
  const api = client.apps;
  await client.call<unknown>(`roll back ${label}`, () => {
    const opts = k8s.setHeaderOptions('Content-Type', contentType);
    if (t.kind === 'Deployment') return api.patchNamespacedDeployment({ name: t.name, namespace: ns, body: plan.patch as object }, opts) as Promise<unknown>;
    if (t.kind === 'StatefulSet') return api.patchNamespacedStatefulSet({ name: t.name, namespace: ns, body: plan.patch as object }, opts) as Promise<unknown>;
    return api.patchNamespacedDaemonSet({ name: t.name, namespace: ns, body: plan.patch as object }, opts) as Promise<unknown>;
  });
  if (structured && !o.watch) await writeStructured(state.io, o.output as 'json' | 'yaml', { ...plan, applied: true });
  else if (!structured) state.io.stdout.write(`${label} rolled back to revision ${plan.toRevision}\n`);
  if (!o.watch) return ExitCode.OK;
  return runStatus(state, { output: o.output === 'json' ? 'json' : 'table', verbose: o.verbose, kube: o.kube, args: [`${t.kind}/${t.name}`], watch: true, timeout: o.timeout, failFast: false });
}
