/**
 * What the rollout views depend on that changed between Kubernetes 1.32
 * and 1.37: one table keyed by release, read once per command at the
 * server's release and passed to the pure cores as data. Pure.
 *
 * - terminatingReplicas: Deployment and ReplicaSet status.terminatingReplicas
 *   is not in the 1.32 API, is in the schema but never set in 1.33 and 1.34
 *   (DeploymentReplicaSetTerminatingReplicas alpha, off: the status strategy
 *   drops it), and is set from 1.35 (beta, on). Where the release does not
 *   set it, the views leave it out; where it does but a status has not
 *   reported it yet, they leave it out too: an absent count is never 0.
 * - statefulSetMaxUnavailable: a StatefulSet's
 *   rollingUpdate.maxUnavailable is honoured only where MaxUnavailableStatefulSet
 *   is on: 1.35.0-1.35.3 (beta, on), off again from 1.35.4 and in 1.36, on
 *   in 1.37. Elsewhere the field is dropped unless already in use, and ignored:
 *   the strategy shown says so.
 *
 * Sources: k8s.io/kubernetes pkg/features/kube_features.go at v1.32.13,
 * v1.34.4, v1.35.0, v1.35.3, v1.35.4, v1.36.0, v1.37.2; api apps/v1
 * types.go. The same in every release 1.32-1.37, so not in the table:
 * kubectl rollout status's logic and words (polymorphichelpers/
 * rollout_status.go), which this view follows, and the Deployment's
 * replicas and updatedReplicas (they exclude terminating pods in every
 * release).
 */
import { NEWEST_RELEASE, rulesAt, type Release } from '../kube/release.js';

export interface RolloutRules {
  terminatingReplicas: boolean;
  statefulSetMaxUnavailable: boolean;
}

/** The rollout views' rules by release: each row applies from its release until the next row's. */
export const ROLLOUT_RULES: ReadonlyArray<readonly [since: string, rules: RolloutRules]> = [
  ['1.32', { terminatingReplicas: false, statefulSetMaxUnavailable: false }],
  ['1.35', { terminatingReplicas: true, statefulSetMaxUnavailable: true }],
  ['1.35.4', { terminatingReplicas: true, statefulSetMaxUnavailable: false }],
  ['1.37', { terminatingReplicas: true, statefulSetMaxUnavailable: true }],
];

export function rolloutRules(release: Release): RolloutRules {
  return rulesAt(ROLLOUT_RULES, release);
}

/** The newest rules, for callers that have no server to ask (tests). */
export const NEWEST_ROLLOUT_RULES: RolloutRules = rolloutRules(NEWEST_RELEASE);
