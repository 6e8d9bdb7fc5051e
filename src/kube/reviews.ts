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

function attributes(access: AccessAttributes): Record<string, unknown> {
  if (access.path !== undefined) return { nonResourceAttributes: { verb: access.verb, path: access.path } };
  const resource: Record<string, string> = {
    verb: access.verb,
    group: access.group ?? '',
    resource: access.resource ?? '',
  };
  if (access.subresource) resource.subresource = access.subresource;
  if (access.name) resource.name = access.name;
  if (access.namespace) resource.namespace = access.namespace;
  return { resourceAttributes: resource };
}

interface ReviewStatus {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

function answer(review: ReviewStatus): ReviewAnswer {
  const out: ReviewAnswer = { allowed: review.status?.allowed === true };
  if (review.status?.denied) out.denied = true;
  if (review.status?.reason) out.reason = review.status.reason;
  if (review.status?.evaluationError) out.evaluationError = review.status.evaluationError;
  return out;
}

/** May the caller do this? (kubectl auth can-i) */
export async function selfAccessReview(client: KubeClient, access: AccessAttributes): Promise<ReviewAnswer> {
  const review = await client.request<ReviewStatus>('POST', resourcePath(RESOURCES.selfSubjectAccessReviews), {
    idempotent: true,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: attributes(access) },
  });
  return answer(review);
}

/** May this identity do this? (needs create on subjectaccessreviews) */
export async function subjectAccessReview(
  client: KubeClient,
  who: Identity,
  access: AccessAttributes,
): Promise<ReviewAnswer> {
  const spec: Record<string, unknown> = { ...attributes(access), groups: who.groups };
  if (who.user) spec.user = who.user;
  if (who.uid) spec.uid = who.uid;
  if (who.extra) spec.extra = who.extra;
  const review = await client.request<ReviewStatus>('POST', resourcePath(RESOURCES.subjectAccessReviews), {
    idempotent: true,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
  });
  return answer(review);
}

/** A rule as a rules review lists it: RBAC's PolicyRule fields. */
export interface ReviewedRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RulesReview {
  /** Resource rules and non-resource rules, as one list (a rule has resources or nonResourceURLs). */
  rules: ReviewedRule[];
  /**
   * False only when every authorizer listed everything it allows in the
   * namespace (a webhook never can): then the rules are the API server's
   * whole answer there, every allow and every deny.
   */
  incomplete: boolean;
  evaluationError?: string;
}

/**
 * What the caller may do in a namespace, as rules (kubectl auth can-i
 * --list); asked as another identity where the caller may impersonate it.
 */
export async function selfRulesReview(client: KubeClient, namespace: string, as?: Identity): Promise<RulesReview> {
  const review = await client.request<{
    status?: {
      resourceRules?: ReviewedRule[];
      nonResourceRules?: ReviewedRule[];
      incomplete?: boolean;
      evaluationError?: string;
    };
  }>('POST', resourcePath(RESOURCES.selfSubjectRulesReviews), {
    idempotent: true,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
    ...(as ? { impersonate: as } : {}),
  });
  const status = review.status ?? {};
  const out: RulesReview = {
    rules: [...(status.resourceRules ?? []), ...(status.nonResourceRules ?? [])],
    incomplete: status.incomplete !== false,
  };
  if (status.evaluationError) out.evaluationError = status.evaluationError;
  return out;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** Who the API server says the caller is (kubectl auth whoami). */
export async function whoAmI(client: KubeClient): Promise<UserInfo> {
  const review = await client.request<{
    status?: { userInfo?: { username?: string; uid?: string; groups?: string[] } };
  }>('POST', resourcePath(RESOURCES.selfSubjectReviews), {
    idempotent: true,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const info = review.status?.userInfo;
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
