/**
 * Is the rollout done, and if not, why not? Pure.
 *
 * Completion is decided exactly as kubectl decides it
 * (polymorphichelpers/rollout_status.go), and the same words are kept in
 * `message`; beyond kubectl: StatefulSet and DaemonSet OnDelete progress
 * counted from each pod's controller-revision-hash, DaemonSet stragglers by
 * node, and the reasons read from pods and events.
 */
import type {
  CoreV1Event,
  V1ControllerRevision,
  V1DaemonSet,
  V1Deployment,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';

import { plural } from '../base/text.js';
import { isControlledBy, isPodReady } from '../kube/objects.js';
import type { WorkloadKind } from './model.js';
import type { RolloutRules } from './rules.js';

export type ProblemCode =
  | 'ImagePull'
  | 'CrashLoop'
  | 'ConfigError'
  | 'Unschedulable'
  | 'NotReady'
  | 'FailedCreate'
  | 'Paused'
  | 'DeadlineExceeded'
  | 'Deleted';

/** Problems that end a --fail-fast wait: they do not fix themselves. */
export const FATAL: ReadonlySet<ProblemCode> = new Set([
  'ImagePull',
  'CrashLoop',
  'ConfigError',
  'FailedCreate',
  'DeadlineExceeded',
]);

export interface Problem {
  code: ProblemCode;
  message: string;
  pod?: string;
}

export interface PodView {
  name: string;
  node: string;
  revision: string;
  ready: boolean;
  phase: string;
  restarts: number;
  reason: string;
}

export interface RevisionView {
  /** ReplicaSet or ControllerRevision name. */
  name: string;
  revision: string;
  current: boolean;
  desired: number;
  ready: number;
  pods: PodView[];
}

export interface RolloutStatus {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  state: 'complete' | 'progressing' | 'failed' | 'paused';
  done: boolean;
  failed: boolean;
  /** kubectl's own sentence (where kubectl has one). */
  message: string;
  strategy: string;
  revision: string;
  /**
   * terminating: a Deployment's pods on their way out (status.terminatingReplicas), where the
   * release reports it (1.35+) and the status has it; absent otherwise, never a guessed 0.
   */
  replicas: { desired: number; updated: number; ready: number; available: number; terminating?: number };
  problems: Problem[];
  /** DaemonSet: nodes whose pod is not updated or not available. */
  stragglers?: string[];
  revisions: RevisionView[];
}

export interface StatusInput {
  kind: WorkloadKind;
  obj: V1Deployment | V1StatefulSet | V1DaemonSet;
  pods: V1Pod[];
  replicaSets?: V1ReplicaSet[];
  controllerRevisions?: V1ControllerRevision[];
  events: CoreV1Event[];
  now: Date;
  /** The rollout views' rules of the server's release (rollout/rules.ts). */
  rules: RolloutRules;
}

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** The reasons a pod is not (yet) serving. */
export function podProblems(pod: V1Pod, events: CoreV1Event[], now: Date): Problem[] {
  const name = pod.metadata?.name ?? '';
  const out: Problem[] = [];
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting;
    const reason = waiting?.reason ?? '';
    if (['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'].includes(reason)) {
      out.push({
        code: 'ImagePull',
        pod: name,
        message: `${reason} for ${cs.image}${waiting?.message ? `: ${waiting.message}` : ''}`,
      });
    } else if (reason === 'CrashLoopBackOff' || ((cs.restartCount ?? 0) > 0 && cs.lastState?.terminated && !cs.ready)) {
      const last = cs.lastState?.terminated;
      out.push({
        code: 'CrashLoop',
        pod: name,
        message:
          `container ${cs.name} restarted ${cs.restartCount ?? 0} ${plural(cs.restartCount ?? 0, 'time')}` +
          (last ? `; last exit: ${last.reason ?? 'terminated'} (code ${last.exitCode})` : ''),
      });
    } else if (reason === 'CreateContainerConfigError' || reason === 'CreateContainerError') {
      out.push({ code: 'ConfigError', pod: name, message: `${reason}: ${waiting?.message ?? ''}`.trim() });
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    out.push({ code: 'Unschedulable', pod: name, message: scheduled.message ?? 'no node fits' });
  }
  if (out.length === 0 && pod.status?.phase === 'Running' && !isPodReady(pod) && !pod.metadata?.deletionTimestamp) {
    const since = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    const probe = events
      .filter((e) => e.involvedObject?.name === name && e.reason === 'Unhealthy')
      .map((e) => e.message ?? '')
      .at(-1);
    const secs = since ? Math.round((now.getTime() - new Date(since).getTime()) / 1000) : 0;
    if (probe || secs >= 10)
      out.push({
        code: 'NotReady',
        pod: name,
        message: probe ? probe : `running but not Ready for ${secs}s (readiness probe failing?)`,
      });
  }
  return out;
}

function podView(pod: V1Pod, revisionOf: (p: V1Pod) => string, events: CoreV1Event[], now: Date): PodView {
  const cs = pod.status?.containerStatuses ?? [];
  const problem = podProblems(pod, events, now)[0];
  return {
    name: pod.metadata?.name ?? '',
    node: pod.spec?.nodeName ?? '',
    revision: revisionOf(pod),
    ready: isPodReady(pod),
    phase: pod.metadata?.deletionTimestamp ? 'Terminating' : (pod.status?.phase ?? ''),
    restarts: cs.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    reason: problem ? problem.code : '',
  };
}

/** FailedCreate events of the workload's controllers (quota, admission). */
function failedCreates(events: CoreV1Event[], owners: Set<string>): Problem[] {
  const latest = new Map<string, CoreV1Event>();
  for (const e of events) {
    if (e.reason !== 'FailedCreate' || !owners.has(`${e.involvedObject?.kind}/${e.involvedObject?.name}`)) continue;
    latest.set(`${e.involvedObject?.kind}/${e.involvedObject?.name}`, e);
  }
  return [...latest.values()].map((e) => ({
    code: 'FailedCreate' as const,
    message: `${e.involvedObject?.kind} ${e.involvedObject?.name}: ${e.message ?? ''}`,
  }));
}

function intOrPercent(value: number | string | undefined | null): string {
  return value === undefined || value === null ? '' : String(value);
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.code}|${p.pod ?? ''}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function deploymentStatus(input: StatusInput): RolloutStatus {
  const deployment = input.obj as V1Deployment;
  const name = deployment.metadata?.name ?? '';
  const desired = deployment.spec?.replicas ?? 1;
  const st = deployment.status ?? {};
  const strategyType = deployment.spec?.strategy?.type ?? 'RollingUpdate';
  const rollingUpdate = deployment.spec?.strategy?.rollingUpdate;
  const strategy =
    strategyType === 'Recreate'
      ? 'Recreate'
      : `RollingUpdate (maxSurge ${intOrPercent(rollingUpdate?.maxSurge ?? '25%')}, ` +
        `maxUnavailable ${intOrPercent(rollingUpdate?.maxUnavailable ?? '25%')})`;
  const rss = (input.replicaSets ?? []).filter((rs) => isControlledBy(rs, deployment.metadata?.uid));
  const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? '';
  const current = rss.find((rs) => rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision);
  const rsByUid = new Map(rss.map((rs) => [rs.metadata?.uid ?? '', rs]));
  const revisionOf = (p: V1Pod): string => {
    const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
    return rsByUid.get(owner?.uid ?? '')?.metadata?.annotations?.[REVISION_ANNOTATION] ?? '';
  };
  const pods = input.pods.filter((p) => rsByUid.has(p.metadata?.ownerReferences?.find((o) => o.controller)?.uid ?? ''));

  // kubectl's words while a rollout is under way.
  const waiting = `Waiting for deployment "${name}" rollout to finish: `;
  let message: string;
  let done = false;
  let failed = false;
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if ((deployment.metadata?.generation ?? 0) <= (st.observedGeneration ?? 0)) {
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      failed = true;
      message = `deployment "${name}" exceeded its progress deadline`;
    } else if (deployment.spec?.replicas !== undefined && (st.updatedReplicas ?? 0) < desired) {
      message = `${waiting}${st.updatedReplicas ?? 0} out of ${desired} new replicas have been updated...`;
    } else if ((st.replicas ?? 0) > (st.updatedReplicas ?? 0)) {
      message = `${waiting}${(st.replicas ?? 0) - (st.updatedReplicas ?? 0)} old replicas are pending termination...`;
    } else if ((st.availableReplicas ?? 0) < (st.updatedReplicas ?? 0)) {
      const available = st.availableReplicas ?? 0;
      message = `${waiting}${available} of ${st.updatedReplicas ?? 0} updated replicas are available...`;
    } else {
      done = true;
      message = `deployment "${name}" successfully rolled out`;
    }
  } else {
    message = 'Waiting for deployment spec update to be observed...';
  }
  const problems: Problem[] = [];
  if (deployment.spec?.paused && !done) {
    problems.push({
      code: 'Paused',
      message:
        'the rollout is paused; resume it with: ' +
        `kubectl rollout resume deployment/${name} -n ${deployment.metadata?.namespace}`,
    });
  }
  if (failed)
    problems.push({ code: 'DeadlineExceeded', message: progressing?.message ?? 'progress deadline exceeded' });
  if (!done) {
    const newPods = pods.filter((p) => !p.metadata?.deletionTimestamp && (!current || revisionOf(p) === revision));
    for (const p of newPods) problems.push(...podProblems(p, input.events, input.now));
    problems.push(...failedCreates(input.events, new Set(rss.map((rs) => `ReplicaSet/${rs.metadata?.name}`))));
  }
  const revisions: RevisionView[] = rss
    .filter((rs) => (rs.spec?.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0 || rs === current)
    .sort(
      (a, b) =>
        Number(b.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0) -
        Number(a.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0),
    )
    .map((rs) => ({
      name: rs.metadata?.name ?? '',
      revision: rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? '',
      current: rs === current,
      desired: rs.spec?.replicas ?? 0,
      ready: rs.status?.readyReplicas ?? 0,
      pods: pods
        .filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === rs.metadata?.uid))
        .map((p) => podView(p, revisionOf, input.events, input.now)),
    }));
  return {
    kind: 'Deployment',
    namespace: deployment.metadata?.namespace ?? '',
    name,
    state: failed ? 'failed' : done ? 'complete' : deployment.spec?.paused ? 'paused' : 'progressing',
    done,
    failed,
    message,
    strategy,
    revision,
    replicas: {
      desired,
      updated: st.updatedReplicas ?? 0,
      ready: st.readyReplicas ?? 0,
      available: st.availableReplicas ?? 0,
      ...terminatingOf(st, input.rules),
    },
    problems: dedupe(problems),
    revisions,
  };
}

/** status.terminatingReplicas where the release sets it and the status carries it. */
function terminatingOf(status: { terminatingReplicas?: number | null }, rules: RolloutRules): { terminating?: number } {
  const count = status.terminatingReplicas;
  return rules.terminatingReplicas && typeof count === 'number' ? { terminating: count } : {};
}

const HASH = 'controller-revision-hash';

/**
 * Whether a pod's controller-revision-hash label points at a ControllerRevision:
 * StatefulSet pods carry the revision's full name, DaemonSet pods only its hash.
 */
export function atRevision(pod: V1Pod, revisionName: string): boolean {
  const label = pod.metadata?.labels?.[HASH];
  return Boolean(label) && (label === revisionName || revisionName.endsWith(`-${label}`));
}

function controllerRevisions(input: StatusInput, uid: string | undefined): V1ControllerRevision[] {
  return (input.controllerRevisions ?? [])
    .filter((cr) => isControlledBy(cr, uid))
    .sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0));
}

function revisionViews(
  crs: V1ControllerRevision[],
  pods: V1Pod[],
  currentName: string,
  input: StatusInput,
): RevisionView[] {
  const revisionOf = (p: V1Pod): string =>
    String(crs.find((cr) => atRevision(p, cr.metadata?.name ?? ''))?.revision ?? '');
  return crs
    .map((cr) => {
      const mine = pods.filter((p) => atRevision(p, cr.metadata?.name ?? ''));
      return {
        name: cr.metadata?.name ?? '',
        revision: String(cr.revision ?? ''),
        current: cr.metadata?.name === currentName,
        desired: mine.length,
        ready: mine.filter(isPodReady).length,
        pods: mine.map((p) => podView(p, revisionOf, input.events, input.now)),
      };
    })
    .filter((r) => r.pods.length > 0 || r.current);
}

/** What a StatefulSet's or DaemonSet's status starts with (neither has a deadline to fail). */
function revisionedHead(
  kind: 'StatefulSet' | 'DaemonSet',
  obj: { metadata?: { name?: string; namespace?: string } },
  done: boolean,
  message: string,
  strategy: string,
) {
  return {
    kind,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    state: done ? ('complete' as const) : ('progressing' as const),
    done,
    failed: false,
    message,
    strategy,
  };
}

/**
 * Why a StatefulSet's or DaemonSet's rollout waits: its pods at the new revision or not ready, and its
 * FailedCreate events.
 */
function revisionProblems(live: V1Pod[], revisionName: string, input: StatusInput, owner: string): Problem[] {
  const problems: Problem[] = [];
  for (const p of live)
    if (atRevision(p, revisionName) || !isPodReady(p)) problems.push(...podProblems(p, input.events, input.now));
  problems.push(...failedCreates(input.events, new Set([owner])));
  return problems;
}

function statefulSetStatus(input: StatusInput): RolloutStatus {
  const statefulSet = input.obj as V1StatefulSet;
  const name = statefulSet.metadata?.name ?? '';
  const desired = statefulSet.spec?.replicas ?? 1;
  const st = statefulSet.status ?? { replicas: 0 };
  const type = statefulSet.spec?.updateStrategy?.type ?? 'RollingUpdate';
  const partition = statefulSet.spec?.updateStrategy?.rollingUpdate?.partition;
  const maxUnavailable = statefulSet.spec?.updateStrategy?.rollingUpdate?.maxUnavailable;
  const ignored = input.rules.statefulSetMaxUnavailable ? '' : ', ignored by this release';
  const strategy =
    type === 'OnDelete'
      ? 'OnDelete'
      : 'RollingUpdate' +
        (partition ? ` (partition ${partition})` : '') +
        (maxUnavailable ? ` (maxUnavailable ${maxUnavailable}${ignored})` : '');
  const updateRevision = st.updateRevision ?? '';
  const pods = input.pods.filter((p) => isControlledBy(p, statefulSet.metadata?.uid));
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const updatedByPods = live.filter((p) => atRevision(p, updateRevision)).length;
  const readyUpdated = live.filter((p) => atRevision(p, updateRevision) && isPodReady(p)).length;
  let message: string;
  let done = false;
  if (!st.observedGeneration || (statefulSet.metadata?.generation ?? 0) > st.observedGeneration) {
    message = 'Waiting for statefulset spec update to be observed...';
  } else if (type === 'OnDelete') {
    // kubectl gives up here; count pods at the update revision instead.
    if (readyUpdated < desired) {
      message =
        `Waiting for OnDelete roll out: ${updatedByPods} of ${desired} pods are at revision ` +
        `${st.updateRevision ?? ''} (${readyUpdated} ready); delete the old pods to update them`;
    } else {
      done = true;
      message = `OnDelete roll out complete: ${desired} pods at revision ${st.updateRevision ?? ''}`;
    }
  } else if ((st.readyReplicas ?? 0) < desired) {
    message = `Waiting for ${desired - (st.readyReplicas ?? 0)} pods to be ready...`;
  } else if (statefulSet.spec?.updateStrategy?.rollingUpdate) {
    if (partition !== undefined && (st.updatedReplicas ?? 0) < desired - partition) {
      message =
        `Waiting for partitioned roll out to finish: ${st.updatedReplicas ?? 0} out of ${desired - partition} ` +
        'new pods have been updated...';
    } else {
      done = true;
      message = `partitioned roll out complete: ${st.updatedReplicas ?? 0} new pods have been updated...`;
    }
  } else if (st.updateRevision !== st.currentRevision) {
    message =
      `waiting for statefulset rolling update to complete ${st.updatedReplicas ?? 0} pods ` +
      `at revision ${st.updateRevision}...`;
  } else {
    done = true;
    const current = st.currentReplicas ?? 0;
    message = `statefulset rolling update complete ${current} pods at revision ${st.currentRevision}...`;
  }
  const problems = done ? [] : revisionProblems(live, updateRevision, input, `StatefulSet/${name}`);
  const crs = controllerRevisions(input, statefulSet.metadata?.uid);
  return {
    ...revisionedHead('StatefulSet', statefulSet, done, message, strategy),
    revision: String(crs.find((c) => c.metadata?.name === st.updateRevision)?.revision ?? st.updateRevision ?? ''),
    replicas: {
      desired,
      updated: type === 'OnDelete' ? updatedByPods : (st.updatedReplicas ?? 0),
      ready: st.readyReplicas ?? 0,
      available: st.availableReplicas ?? 0,
    },
    problems: dedupe(problems),
    revisions: revisionViews(crs, pods, st.updateRevision ?? '', input),
  };
}

function daemonSetStatus(input: StatusInput): RolloutStatus {
  const daemonSet = input.obj as V1DaemonSet;
  const name = daemonSet.metadata?.name ?? '';
  const st = daemonSet.status ?? {
    currentNumberScheduled: 0,
    desiredNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
  };
  const type = daemonSet.spec?.updateStrategy?.type ?? 'RollingUpdate';
  const ru = daemonSet.spec?.updateStrategy?.rollingUpdate;
  const strategy =
    type === 'OnDelete'
      ? 'OnDelete'
      : `RollingUpdate (maxSurge ${intOrPercent(ru?.maxSurge ?? 0)}, ` +
        `maxUnavailable ${intOrPercent(ru?.maxUnavailable ?? 1)})`;
  const crs = controllerRevisions(input, daemonSet.metadata?.uid);
  const newest = crs[0];
  const newestName = newest?.metadata?.name ?? '';
  const pods = input.pods.filter((p) => isControlledBy(p, daemonSet.metadata?.uid));
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const desired = st.desiredNumberScheduled ?? 0;
  const waiting = `Waiting for daemon set "${name}" rollout to finish: `;
  let message: string;
  let done = false;
  if ((daemonSet.metadata?.generation ?? 0) > (st.observedGeneration ?? 0)) {
    message = 'Waiting for daemon set spec update to be observed...';
  } else if (type === 'OnDelete') {
    const updated = live.filter((p) => atRevision(p, newestName) && isPodReady(p)).length;
    if (updated < desired)
      message =
        `Waiting for OnDelete roll out: ${updated} of ${desired} pods updated and available; ` +
        'delete the old pods to update them';
    else {
      done = true;
      message = `OnDelete roll out complete: ${desired} pods updated`;
    }
  } else if ((st.updatedNumberScheduled ?? 0) < desired) {
    message = `${waiting}${st.updatedNumberScheduled ?? 0} out of ${desired} new pods have been updated...`;
  } else if ((st.numberAvailable ?? 0) < desired) {
    message = `${waiting}${st.numberAvailable ?? 0} of ${desired} updated pods are available...`;
  } else {
    done = true;
    message = `daemon set "${name}" successfully rolled out`;
  }
  const stragglers = done
    ? []
    : live
        .filter((p) => !atRevision(p, newestName) || !isPodReady(p))
        .map((p) => p.spec?.nodeName ?? '')
        .filter(Boolean)
        .sort();
  const problems = done ? [] : revisionProblems(live, newestName, input, `DaemonSet/${name}`);
  return {
    ...revisionedHead('DaemonSet', daemonSet, done, message, strategy),
    revision: String(newest?.revision ?? ''),
    replicas: {
      desired,
      updated: st.updatedNumberScheduled ?? 0,
      ready: st.numberReady ?? 0,
      available: st.numberAvailable ?? 0,
    },
    problems: dedupe(problems),
    stragglers,
    revisions: revisionViews(crs, pods, newest?.metadata?.name ?? '', input),
  };
}

export function rolloutStatus(input: StatusInput): RolloutStatus {
  switch (input.kind) {
    case 'Deployment':
      return deploymentStatus(input);
    case 'StatefulSet':
      return statefulSetStatus(input);
    case 'DaemonSet':
      return daemonSetStatus(input);
  }
}

/** One line that changes only when something worth saying changed. */
export function statusLine(status: RolloutStatus): string {
  const why = status.problems.map((p) => `${p.code}${p.pod ? ` ${p.pod}` : ''}: ${p.message}`).join('; ');
  const stragglers = status.stragglers?.length ? ` (waiting on nodes ${status.stragglers.join(', ')})` : '';
  return `${status.kind.toLowerCase()}/${status.name}: ${status.message}${why ? ` [${why}]` : ''}${stragglers}`;
}

/** The status of a workload deleted while its rollout was watched: failed, in kubectl's words. Pure. */
export function deletedStatus(kind: WorkloadKind, last: V1Deployment | V1StatefulSet | V1DaemonSet): RolloutStatus {
  const name = last.metadata?.name ?? '';
  return {
    kind,
    namespace: last.metadata?.namespace ?? '',
    name,
    state: 'failed',
    done: false,
    failed: true,
    message: 'object has been deleted',
    strategy:
      (last.spec as { strategy?: { type?: string }; updateStrategy?: { type?: string } } | undefined)?.strategy?.type ??
      (last.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type ??
      '',
    revision: '',
    replicas: { desired: 0, updated: 0, ready: 0, available: 0 },
    problems: [{ code: 'Deleted', message: `${kind.toLowerCase()}/${name} was deleted while its rollout was watched` }],
    revisions: [],
  };
}
