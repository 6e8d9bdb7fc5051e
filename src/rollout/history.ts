/**
 * Revision history and pod-template diffs. Pure.
 *
 * Deployments keep revisions as ReplicaSets (annotation
 * deployment.kubernetes.io/revision); StatefulSets and DaemonSets as
 * ControllerRevisions whose data is a patch carrying the whole template.
 * A rollback re-numbers the revision it restores; the old numbers are kept
 * in deployment.kubernetes.io/revision-history.
 */
import type { V1ControllerRevision, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { createTwoFilesPatch } from 'diff';

import { formatAge } from '../base/duration.js';
import { NotFoundError } from '../base/errors.js';
import { toYaml } from '../base/yaml.js';
import { isControlledBy } from '../kube/objects.js';
import type { WorkloadKind } from './model.js';
import { REVISION_ANNOTATION } from './status.js';

export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

export interface Revision {
  revision: number;
  /** The ReplicaSet or ControllerRevision holding it. */
  source: string;
  created: string;
  age: string;
  images: string[];
  changeCause: string;
  replicas: { ready: number; desired: number };
  current: boolean;
  /** Earlier numbers of this revision, when a rollback re-numbered it. */
  previousRevisions: number[];
  template: V1PodTemplateSpec;
  /** The ReplicaSet's or ControllerRevision's own annotations (a rollback restores them). */
  annotations: Record<string, string>;
}

export interface History {
  kind: 'RolloutHistory';
  apiVersion: 'study.kubectl.io/v1';
  workload: { kind: WorkloadKind; namespace: string; name: string };
  revisions: Revision[];
}

function images(template: V1PodTemplateSpec | undefined): string[] {
  return [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])].map(
    (c) => `${c.name}=${c.image ?? ''}`,
  );
}

export function deploymentHistory(
  deployment: { metadata?: { uid?: string; name?: string; namespace?: string; annotations?: Record<string, string> } },
  replicaSets: V1ReplicaSet[],
  now: Date,
): History {
  const current = deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? '';
  const revisions = replicaSets
    .filter((rs) => isControlledBy(rs, deployment.metadata?.uid) && rs.metadata?.annotations?.[REVISION_ANNOTATION])
    .map((rs): Revision => {
      const annotations = rs.metadata?.annotations ?? {};
      const created = rs.metadata?.creationTimestamp ? new Date(rs.metadata.creationTimestamp).toISOString() : '';
      return {
        revision: Number(annotations[REVISION_ANNOTATION]),
        source: `ReplicaSet/${rs.metadata?.name}`,
        created,
        age: created ? formatAge(now.getTime() - Date.parse(created)) : '',
        images: images(rs.spec?.template),
        // kubectl shows the ReplicaSet's change-cause, else its pod template's.
        changeCause:
          annotations[CHANGE_CAUSE_ANNOTATION] ||
          rs.spec?.template?.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION] ||
          '',
        replicas: { ready: rs.status?.readyReplicas ?? 0, desired: rs.spec?.replicas ?? 0 },
        current: annotations[REVISION_ANNOTATION] === current,
        previousRevisions: (annotations[REVISION_HISTORY_ANNOTATION] ?? '').split(',').filter(Boolean).map(Number),
        template: rs.spec?.template ?? {},
        annotations,
      };
    })
    .sort((x, y) => x.revision - y.revision);
  return {
    kind: 'RolloutHistory',
    apiVersion: 'study.kubectl.io/v1',
    workload: {
      kind: 'Deployment',
      namespace: deployment.metadata?.namespace ?? '',
      name: deployment.metadata?.name ?? '',
    },
    revisions,
  };
}

/** The template a ControllerRevision holds (its data is a patch of spec.template). */
export function controllerRevisionTemplate(cr: V1ControllerRevision): V1PodTemplateSpec {
  const data = cr.data as { spec?: { template?: V1PodTemplateSpec & { $patch?: string } } } | undefined;
  const template = { ...(data?.spec?.template ?? {}) } as V1PodTemplateSpec & { $patch?: string };
  delete template.$patch;
  return template;
}

export function controllerHistory(
  kind: WorkloadKind,
  obj: { metadata?: { uid?: string; name?: string; namespace?: string }; status?: { updateRevision?: string } },
  revisions: V1ControllerRevision[],
  /** Ready and total pods per ControllerRevision name. */
  podsByHash: Map<string, { ready: number; total: number }>,
  now: Date,
): History {
  const owned = revisions.filter((cr) => isControlledBy(cr, obj.metadata?.uid));
  const newest = owned.reduce<V1ControllerRevision | undefined>(
    (a, b) => (!a || (b.revision ?? 0) > (a.revision ?? 0) ? b : a),
    undefined,
  );
  const currentName = kind === 'StatefulSet' ? obj.status?.updateRevision : newest?.metadata?.name;
  const list = owned
    .map((cr): Revision => {
      const created = cr.metadata?.creationTimestamp ? new Date(cr.metadata.creationTimestamp).toISOString() : '';
      const template = controllerRevisionTemplate(cr);
      const pods = podsByHash.get(cr.metadata?.name ?? '') ?? { ready: 0, total: 0 };
      return {
        revision: cr.revision ?? 0,
        source: `ControllerRevision/${cr.metadata?.name}`,
        created,
        age: created ? formatAge(now.getTime() - Date.parse(created)) : '',
        images: images(template),
        changeCause: cr.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '',
        replicas: { ready: pods.ready, desired: pods.total },
        current: cr.metadata?.name === currentName,
        previousRevisions: [],
        template,
        annotations: cr.metadata?.annotations ?? {},
      };
    })
    .sort((x, y) => x.revision - y.revision);
  return {
    kind: 'RolloutHistory',
    apiVersion: 'study.kubectl.io/v1',
    workload: { kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' },
    revisions: list,
  };
}

/**
 * The revision with this number now. A number a rollback re-numbered away
 * is gone, as kubectl says ("unable to find the specified revision"); the
 * hint names the revision that carries it now.
 */
export function findRevision(history: History, revisionNumber: number): Revision {
  const found = history.revisions.find((x) => x.revision === revisionNumber);
  if (found) return found;
  const moved = history.revisions.find((x) => x.previousRevisions.includes(revisionNumber));
  throw new NotFoundError(
    `unable to find the specified revision ${revisionNumber} ` +
      `of ${history.workload.kind.toLowerCase()}/${history.workload.name}`,
    {
      hint: moved
        ? `revision ${revisionNumber} was restored by a rollback and is revision ${moved.revision} now`
        : `its revisions: ${history.revisions.map((x) => x.revision).join(', ') || 'none'}`,
    },
  );
}

const NOISE_LABELS = ['pod-template-hash', 'controller-revision-hash'];
const NOISE_ANNOTATIONS = [
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
];

/** A template without what every revision differs in anyway (hash labels, revision annotations). */
function withoutNoise(template: V1PodTemplateSpec): V1PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as V1PodTemplateSpec;
  const metadata = copy.metadata ?? {};
  for (const l of NOISE_LABELS) delete metadata.labels?.[l];
  for (const a of NOISE_ANNOTATIONS) delete metadata.annotations?.[a];
  if (metadata.labels && Object.keys(metadata.labels).length === 0) delete metadata.labels;
  if (metadata.annotations && Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  delete (metadata as { creationTimestamp?: unknown }).creationTimestamp;
  copy.metadata = metadata;
  return copy;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter(
          (k) => (value as Record<string, unknown>)[k] !== undefined && (value as Record<string, unknown>)[k] !== null,
        )
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function templateYaml(template: V1PodTemplateSpec): string {
  return toYaml(sortKeys(withoutNoise(template)));
}

/** A unified diff of two pod templates, noise left out; '' when they are the same. */
export function templateDiff(
  from: V1PodTemplateSpec,
  fromLabel: string,
  to: V1PodTemplateSpec,
  toLabel: string,
): string {
  const fromText = templateYaml(from);
  const toText = templateYaml(to);
  if (fromText === toText) return '';
  return createTwoFilesPatch(fromLabel, toLabel, fromText, toText, undefined, undefined, { context: 3 })
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .join('\n');
}
