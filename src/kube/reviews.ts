/**
 * The API server's own answers about access and identity, one builder each:
 * SelfSubjectAccessReview (may I?), SubjectAccessReview (may they?),
 * SelfSubjectReview (who am I?); and many reviews at once, bounded and
 * shared (reviewAll).
 */
import { mapLimit } from '../base/concurrency.js';
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
export async function subjectAccessReview(
  client: KubeClient,
  who: Identity,
  a: AccessAttributes,
): Promise<ReviewAnswer> {
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
  const r = await client.request<{ status?: { userInfo?: { username?: string; uid?: string; groups?: string[] } } }>(
    'POST',
    resourcePath(RESOURCES.selfSubjectReviews),
    {
      idempotent: true,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    },
  );
  const info = r.status?.userInfo;
  const out: UserInfo = { username: info?.username ?? '', groups: info?.groups ?? [] };
  if (info?.uid) out.uid = info.uid;
  return out;
}

/**
 * Access reviews in flight at once, over the client's keep-alive pool: on
 * the local two-core cluster the API server answers fastest at about this
 * many; more only queue on either side.
 */
export const REVIEW_CONCURRENCY = 32;

/**
 * One question: what an identity may do (SubjectAccessReview), or the caller when who is left out
 * (SelfSubjectAccessReview).
 */
export interface ReviewQuestion {
  who?: Identity;
  attributes: AccessAttributes;
}

/**
 * Asks every question, at most REVIEW_CONCURRENCY at a time; the same
 * question (the same identity asking the same thing) is sent once and its
 * answer shared. A review that fails is a value ({ error }), so one bad
 * answer never loses the others; an interrupt ends them all together.
 */
export async function reviewAll(
  client: KubeClient,
  questions: ReviewQuestion[],
): Promise<Array<ReviewAnswer | { error: unknown }>> {
  const keys = questions.map((q) => JSON.stringify([q.who ?? null, q.attributes]));
  const unique = [...new Map(keys.map((k, i) => [k, questions[i]!])).entries()];
  const answers = new Map<string, ReviewAnswer | { error: unknown }>();
  await mapLimit(unique, REVIEW_CONCURRENCY, async ([key, q]) => {
    try {
      answers.set(
        key,
        q.who ? await subjectAccessReview(client, q.who, q.attributes) : await selfAccessReview(client, q.attributes),
      );
    } catch (err) {
      if (client.signal?.aborted) throw err;
      answers.set(key, { error: err });
    }
  });
  return keys.map((k) => answers.get(k)!);
}
