/**
 * The API server's own answers about access and identity, one builder each:
 * SelfSubjectAccessReview (may I?), SubjectAccessReview (may they?),
 * SelfSubjectReview (who am I?).
 */
import type { KubeClient } from './client.js';
import { RESOURCES, resourcePath } from './url.js';

/** A resource request (resource set) or a non-resource one (path set). */
export interface AccessAttributes {
  verb: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  /** A non-resource URL such as /healthz. */
  path?: string;
}

export interface Identity {
  user?: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface ReviewAnswer {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

function attributes(a: AccessAttributes): Record<string, unknown> {
  if (a.path !== undefined) return { nonResourceAttributes: { verb: a.verb, path: a.path } };
  const r: Record<string, string> = { verb: a.verb, group: a.group ?? '', resource: a.resource ?? '' };
  if (a.subresource) r.subresource = a.subresource;
  if (a.name) r.name = a.name;
  if (a.namespace) r.namespace = a.namespace;
  return { resourceAttributes: r };
}

interface ReviewStatus {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

function answer(r: ReviewStatus): ReviewAnswer {
  const out: ReviewAnswer = { allowed: r.status?.allowed === true };
  if (r.status?.denied) out.denied = true;
  if (r.status?.reason) out.reason = r.status.reason;
  if (r.status?.evaluationError) out.evaluationError = r.status.evaluationError;
  return out;
}

/** May the caller do this? (kubectl auth can-i) */
export async function selfAccessReview(client: KubeClient, a: AccessAttributes): Promise<ReviewAnswer> {
  const r = await client.request<ReviewStatus>('POST', resourcePath(RESOURCES.selfSubjectAccessReviews), {
    idempotent: true,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: attributes(a) },
  });
  return answer(r);
}

/** May this identity do this? (needs create on subjectaccessreviews) */
export async function subjectAccessReview(client: KubeClient, who: Identity, a: AccessAttributes): Promise<ReviewAnswer> {
  const spec: Record<string, unknown> = { ...attributes(a), groups: who.groups };
  if (who.user) spec.user = who.user;
  if (who.uid) spec.uid = who.uid;
  if (who.extra) spec.extra = who.extra;
  const r = await client.request<ReviewStatus>('POST', resourcePath(RESOURCES.subjectAccessReviews), {
    idempotent: true,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
  });
  return answer(r);
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** Who the API server says the caller is (kubectl auth whoami). */
export async function whoAmI(client: KubeClient): Promise<UserInfo> {
  const r = await client.request<{ status?: { userInfo?: { username?: string; uid?: string; groups?: string[] } } }>('POST', resourcePath(RESOURCES.selfSubjectReviews), {
    idempotent: true,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const info = r.status?.userInfo;
  const out: UserInfo = { username: info?.username ?? '', groups: info?.groups ?? [] };
  if (info?.uid) out.uid = info.uid;
  return out;
}
