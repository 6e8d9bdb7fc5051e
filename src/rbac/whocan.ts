/**
 * `kubectl whocan VERB RESOURCE [NAME]` and `kubectl whocan VERB --url
 * /PATH`: every subject RBAC allows, through which binding, role and rule;
 * near misses on request; --verify asks the API server's own authorizer
 * (SubjectAccessReview) about each subject found. A review that fails is
 * an `error` cell and makes the answer incomplete; it never aborts the rest.
 */
import type { RbacV1Subject, V1PolicyRule } from '@kubernetes/client-node';

import { mapLimit } from '../base/concurrency.js';
import { ExitCode, type ExitCodeValue } from '../base/errors.js';
import type { RunContext } from '../base/run.js';
import { connect, type KubeClient } from '../kube/client.js';
import { discover, resolveResource } from '../kube/discovery.js';
import { subjectAccessReview } from '../kube/reviews.js';
import { loadRbac } from './load.js';
import { describeSubject, implicitGroups, RbacIndex, serviceAccountUsername, whoCan, type Grant, type NearMiss, type RequestAttributes } from './match.js';
import type { WhoCanOptions } from './options.js';

/** What the API server answered about one subject: yes, no, or the review failed (with why). */
export type Verified = boolean | { error: string };

export interface WhoCanRow {
  subject: { kind: string; name: string; namespace?: string };
  reaches: string;
  binding: Grant['binding'];
  role: Grant['role'];
  rule: V1PolicyRule;
  scope: string;
  /** With --verify: what SubjectAccessReview answered. */
  verified?: Verified;
}

export interface WhoCanResult {
  kind: 'WhoCan';
  apiVersion: 'study.kubectl.io/v1';
  request: RequestAttributes & { allNamespaces: boolean };
  subjects: WhoCanRow[];
  superusers: string[];
  nearMisses: NearMiss[];
  /** True when some RBAC objects could not be read, or some reviews failed. */
  incomplete: boolean;
  missing: string[];
  /** With --verify: subjects where RBAC analysis and the authorizer disagree. */
  disagreements: Array<{ subject: WhoCanRow['subject']; scope: string; rbac: boolean; apiServer: boolean }>;
  notes: string[];
}

/** SubjectAccessReview identity for a binding subject, as the authenticator would present it. */
function identityOf(subject: WhoCanRow['subject']): { user?: string; groups: string[] } {
  if (subject.kind === 'Group') return { groups: [subject.name] };
  if (subject.kind === 'ServiceAccount') {
    const user = serviceAccountUsername(subject.namespace ?? '', subject.name);
    return { user, groups: implicitGroups(user, []) };
  }
  return { user: subject.name, groups: implicitGroups(subject.name, []) };
}

/** RBAC's request attributes as an access review asks them. */
export function reviewAttributes(req: RequestAttributes): Parameters<typeof subjectAccessReview>[2] {
  if (req.path !== undefined) return { verb: req.verb, path: req.path };
  return { verb: req.verb, group: req.apiGroup, resource: req.resource, subresource: req.subresource, name: req.name, namespace: req.namespace };
}

async function buildRequest(client: KubeClient, o: WhoCanOptions): Promise<RequestAttributes & { namespaced: boolean }> {
  if (o.url !== undefined) return { verb: o.verb, apiGroup: '', resource: '', subresource: '', name: '', namespace: '', path: o.url, namespaced: false };
  const resolved = resolveResource(o.resource!, await discover(client));
  const namespace = !resolved.namespaced || o.connection.allNamespaces ? '' : (o.connection.namespace ?? client.namespace);
  return { verb: o.verb, apiGroup: resolved.group, resource: resolved.resource, subresource: resolved.subresource, name: o.name ?? '', namespace, namespaced: resolved.namespaced };
}

/** Asks the authorizer about every row, concurrently under a bound; a failed review is a value. */
async function verifyRows(client: KubeClient, rows: WhoCanRow[], req: RequestAttributes): Promise<string[]> {
  const answers = new Map<string, Promise<Verified>>();
  const failures = new Set<string>();
  await mapLimit(rows, 16, async (row) => {
    const key = `${row.subject.kind}/${row.subject.namespace ?? ''}/${row.subject.name}@${row.scope}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = subjectAccessReview(client, identityOf(row.subject), reviewAttributes({ ...req, namespace: row.scope || req.namespace })).then(
        (a) => a.allowed,
        (err: unknown) => {
          const message = client.error('create subjectaccessreviews', err).message;
          failures.add(message);
          return { error: message };
        },
      );
      answers.set(key, answer);
    }
    row.verified = await answer;
  });
  return [...failures];
}

export async function runWhoCan(ctx: RunContext, o: WhoCanOptions): Promise<WhoCanResult> {
  // whocan asks about others: the connection's --as only impersonates the caller.
  const client = connect(o.connection, { signal: ctx.signal });
  const { namespaced, ...req } = await buildRequest(client, o);
  // Every namespace's Roles and RoleBindings only when the answer needs them (-A, near misses).
  const everyNamespace = o.connection.allNamespaces || o.nearMisses;
  const rbac = await loadRbac(client, req.namespace || client.namespace, everyNamespace ? {} : { onlyNamespace: req.namespace });
  const { grants, nearMisses } = whoCan(new RbacIndex(rbac.data), req, o.connection.allNamespaces, namespaced);
  const rows: WhoCanRow[] = grants.map((g) => ({
    subject: { kind: g.subject.kind, name: g.subject.name, ...(g.subject.namespace ? { namespace: g.subject.namespace } : {}) },
    reaches: describeSubject(g.subject as RbacV1Subject),
    binding: g.binding,
    role: g.role,
    rule: g.rule,
    scope: g.scope,
  }));
  const missing = [...rbac.missing];
  if (o.verify) {
    for (const failure of await verifyRows(client, rows, req)) missing.push(`confirm with SubjectAccessReview: ${failure}`);
  }
  const disagreements: WhoCanResult['disagreements'] = [];
  for (const row of rows) {
    if (row.verified === false && !disagreements.some((d) => d.subject.name === row.subject.name && d.scope === row.scope)) {
      disagreements.push({ subject: row.subject, scope: row.scope, rbac: true, apiServer: false });
    }
  }
  return {
    kind: 'WhoCan',
    apiVersion: 'study.kubectl.io/v1',
    request: { ...req, allNamespaces: o.connection.allNamespaces },
    subjects: rows,
    superusers: ['Group system:masters'],
    nearMisses: o.nearMisses ? nearMisses : [],
    incomplete: missing.length > 0,
    missing,
    disagreements,
    notes: [
      'members of system:masters are allowed everything by the API server before RBAC, with no binding',
      'other authorizers (Node, Webhook, ABAC) can allow what RBAC analysis cannot see',
    ],
  };
}

export function whoCanExitCode(r: WhoCanResult): ExitCodeValue {
  if (r.subjects.length > 0) return ExitCode.OK;
  // "Nobody" from an answer built on less than everything is not an answer.
  return r.incomplete ? ExitCode.BLOCKED : ExitCode.NEGATIVE;
}
