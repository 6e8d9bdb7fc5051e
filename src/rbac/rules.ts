/**
 * What the access answers depend on that changed between Kubernetes 1.32
 * and 1.37: one table keyed by release, read once per command at the
 * server's release and passed to the pure cores as data. Pure.
 *
 * - websocketUpgradeNeedsCreate: exec, attach and port-forward over a
 *   websocket (what kubectl uses by default since 1.30) are GET requests,
 *   authorized as verb get on pods/exec, pods/attach, pods/portforward; from
 *   1.35 the API server checks create as well
 *   (AuthorizePodWebsocketUpgradeCreatePermission, beta and on: k8s.io/kubernetes
 *   pkg/registry/core/pod/rest/subresources.go and pkg/features/kube_features.go
 *   at v1.35.0; not in v1.34.4). So before 1.35, get pods/exec is as risky as
 *   create pods/exec, and the explanations say which verbs the release needs.
 *
 * The reviews themselves send nothing a release 1.32-1.37 treats
 * differently: SelfSubjectAccessReview and SubjectAccessReview
 * (authorization.k8s.io/v1) with verb, group, resource, subresource, name
 * and namespace, or a non-resource path and verb, and SelfSubjectReview
 * (authentication.k8s.io/v1, GA since 1.28). No fieldSelector or
 * labelSelector is sent (every release 1.32-1.37 would accept them anyway:
 * AuthorizeWithSelectors is beta and on in 1.32 and 1.33, GA after), and no
 * field was added to these APIs between 1.32 and 1.37. The RBAC matching
 * rules did not change either; the default roles that did (DRA claims in
 * edit/view from 1.34, events.k8s.io from 1.35) are read from the cluster's
 * own ClusterRoles, so every answer already has them.
 */
import { NEWEST_RELEASE, rulesAt, type Release } from '../kube/release.js';

export interface RbacRules {
  websocketUpgradeNeedsCreate: boolean;
}

/** The access answers' rules by release: each row applies from its release until the next row's. */
export const RBAC_RULES: ReadonlyArray<readonly [since: string, rules: RbacRules]> = [
  ['1.32', { websocketUpgradeNeedsCreate: false }],
  ['1.35', { websocketUpgradeNeedsCreate: true }],
];

export function rbacRules(release: Release): RbacRules {
  return rulesAt(RBAC_RULES, release);
}

/** The newest rules, for callers that have no server to ask (tests). */
export const NEWEST_RBAC_RULES: RbacRules = rbacRules(NEWEST_RELEASE);

/** The pod subresources a websocket reaches, and what each lets a subject do. */
export const WEBSOCKET_SUBRESOURCES: Readonly<Record<string, string>> = {
  exec: 'run commands inside running containers',
  attach: 'attach to running containers',
  portforward: "forward ports to the pods' containers",
};
