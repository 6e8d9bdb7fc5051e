/** The rollback kubectl performs (polymorphichelpers/rollback.go), as data. Pure. */
import type {
  V1ControllerRevision,
  V1DaemonSet,
  V1Deployment,
  V1PodTemplateSpec,
  V1StatefulSet,
} from '@kubernetes/client-node';

import { BlockedError, NotFoundError } from '../base/errors.js';
import { controllerRevisionTemplate, templateDiff, type History } from './history.js';
import type { WorkloadKind } from './model.js';
import { REVISION_ANNOTATION } from './status.js';

export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

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

export function templateOf(obj: Workload): V1PodTemplateSpec {
  return (obj.spec?.template ?? {}) as V1PodTemplateSpec;
}

/**
 * kubectl's order: find the revision (its words when there is none), then,
 * unless only previewing, refuse a paused Deployment.
 */
export function planRollback(
  kind: WorkloadKind,
  obj: Workload,
  history: History,
  toRevision: number,
  controllerRevisions: V1ControllerRevision[],
  preview = false,
): RollbackPlan {
  const name = obj.metadata?.name ?? '';
  const workload = { kind, namespace: obj.metadata?.namespace ?? '', name };
  const sorted = [...history.revisions].sort((a, b) => b.revision - a.revision);
  const target = toRevision === 0 ? sorted[1] : sorted.find((r) => r.revision === toRevision);
  if (!target) {
    const revisions = history.revisions.map((x) => x.revision).join(', ') || 'none';
    const hint = `its revisions: ${revisions} (kubectl study-rollout history ${kind.toLowerCase()}/${name})`;
    if (toRevision !== 0) {
      const moved = history.revisions.find((x) => x.previousRevisions.includes(toRevision));
      throw new NotFoundError(`unable to find specified revision ${toRevision} in history`, {
        hint: moved ? `revision ${toRevision} was restored by a rollback and is revision ${moved.revision} now` : hint,
      });
    }
    throw new NotFoundError(
      kind === 'Deployment' ? `no rollout history found for deployment "${name}"` : 'no last revision to roll back to',
      { hint },
    );
  }
  if (!preview && kind === 'Deployment' && (obj as V1Deployment).spec?.paused) {
    throw new BlockedError(
      "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
      {
        hint: `kubectl rollout resume deployment/${name} -n ${workload.namespace}`,
      },
    );
  }
  const live = templateOf(obj);
  const diff = templateDiff(
    live,
    `${kind.toLowerCase()}/${name} (live)`,
    target.template,
    `revision ${target.revision}`,
  );
  const base = {
    kind: 'RollbackPlan' as const,
    apiVersion: 'study.kubectl.io/v1' as const,
    workload,
    toRevision: target.revision,
    skipped: diff === '',
    diff,
  };
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
    patch: cr?.data ?? {
      spec: { template: { ...controllerRevisionTemplate(cr ?? ({} as V1ControllerRevision)), $patch: 'replace' } },
    },
  };
}
