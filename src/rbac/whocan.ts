/**
 * `kubectl whocan VERB RESOURCE [NAME]` and `kubectl whocan VERB --url
 * /PATH`: every subject RBAC allows, through which binding, role and rule;
 * near misses on request; --verify asks the API server's own authorizer
 * (SubjectAccessReview) about each subject found. A review that fails is
 * an `error` cell and makes the answer incomplete; it never aborts the rest.
 */
import type { RbacV1Subject, V1PolicyRule } from '@kubernetes/client-node';

import { ExitCode, type ExitCodeValue } from '../base/errors.js';
import type { RunContext } from '../base/run.js';
import { connect, type KubeClient } from '../kube/client.js';
import { apiStatusOf } from '../kube/apierror.js';
import { resolveDiscovered, type ResolvedResource } from '../kube/discovery.js';
import { releaseFields, serverRelease, type ReleaseFields } from '../kube/release.js';
import { reviewAll, type AccessAttributes } from '../kube/reviews.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { loadRbac } from './load.js';
import {
  describeSubject,
  implicitGroups,
  RbacIndex,
  serviceAccountUsername,
  whoCan,
  type Grant,
  type NearMiss,
  type RequestAttributes,
} from './match.js';
import { resourceNameArg, type WhoCanOptions } from './options.js';
import { rbacRules, WEBSOCKET_SUBRESOURCES, type RbacRules } from './rules.js';
import { verbWarning } from './verbs.js';

/** A row's scope when a ClusterRoleBinding grants it, as the table and the JSON both say it. */
export const CLUSTER_SCOPE = 'cluster';

/** What the API server answered about one subject: yes, no, or the review failed (with why). */
export type Verified = boolean | { error: string };

export interface WhoCanRow {
  subject: { kind: string; name: string; namespace?: string };
  reaches: string;
  binding: Grant['binding'];
  role: Grant['role'];
  rule: V1PolicyRule;
  /** The namespace a RoleBinding grants it in, or 'cluster' for a ClusterRoleBinding. */
  scope: string;
  /** With --verify: what SubjectAccessReview answered. */
  verified?: Verified;
}

export interface WhoCanResult extends ReleaseFields {
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
  /** What the answer cannot vouch for: an unknown verb, a namespace that does not exist, ... */
  warnings: string[];
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
export function reviewAttributes(req: RequestAttributes): AccessAttributes {
  if (req.path !== undefined) return { verb: req.verb, path: req.path };
  return {
    verb: req.verb,
    group: req.apiGroup,
    resource: req.resource,
    subresource: req.subresource,
    name: req.name,
    namespace: req.namespace,
  };
}

type Request = RequestAttributes & { namespaced: boolean };

/**
 * The request as the authorizer sees it. A namespace object is its own
 * namespace: `delete namespaces rx` is decided by rx's RoleBindings too.
 */
export function requestFor(
  options: Pick<WhoCanOptions, 'verb' | 'name' | 'connection'>,
  resolved: ResolvedResource,
  contextNamespace: string,
  warnings: string[],
): Request {
  const base = {
    verb: options.verb,
    apiGroup: resolved.group,
    resource: resolved.resource,
    subresource: resolved.subresource,
    name: options.name ?? '',
  };
  if (resolved.notServed)
    warnings.push(
      `${resolved.resource}.${resolved.group} is not served by this cluster; ` +
        'the answer follows the RBAC rules as written',
    );
  if (resolved.group === '' && resolved.resource === 'namespaces')
    return { ...base, namespace: options.name ?? '', namespaced: false };
  if (!resolved.namespaced) {
    if (options.connection.namespace !== undefined)
      warnings.push(
        `${resolved.resource}${resolved.group ? `.${resolved.group}` : ''} is cluster-scoped: ` +
          `-n ${options.connection.namespace} does not apply`,
      );
    return { ...base, namespace: '', namespaced: false };
  }
  return {
    ...base,
    namespace: options.connection.allNamespaces ? '' : (options.connection.namespace ?? contextNamespace),
    namespaced: true,
  };
}

async function buildRequest(client: KubeClient, options: WhoCanOptions, warnings: string[]): Promise<Request> {
  if (options.url !== undefined) {
    const warning = verbWarning(options.verb, true);
    if (warning) warnings.push(warning);
    return {
      verb: options.verb,
      apiGroup: '',
      resource: '',
      subresource: '',
      name: '',
      namespace: '',
      path: options.url,
      namespaced: false,
    };
  }
  const warning = verbWarning(options.verb, false);
  if (warning) warnings.push(warning);
  const { resolved } = await resolveDiscovered(client, options.resource!);
  if (options.name !== undefined) resourceNameArg(resolved, options.name);
  const req = requestFor(options, resolved, client.namespace, warnings);
  const missing =
    req.namespace && req.resource !== 'namespaces' ? await namespaceMissing(client, req.namespace) : false;
  if (missing) warnings.push(`namespace ${req.namespace} does not exist`);
  return req;
}

/** Whether a namespace is known not to exist (a 404; a 403 says nothing). */
export async function namespaceMissing(client: KubeClient, namespace: string): Promise<boolean> {
  try {
    await client.request('GET', resourcePath(RESOURCES.namespaces, { name: namespace }));
    return false;
  } catch (err) {
    return apiStatusOf(err)?.code === 404;
  }
}

/**
 * Asks the authorizer about every row: the reviews run concurrently under
 * one bound, and rows with the same identity and scope (one subject through
 * several bindings) share one review. A failed review is a value.
 */
async function verifyRows(client: KubeClient, rows: WhoCanRow[], req: RequestAttributes): Promise<string[]> {
  const answers = await reviewAll(
    client,
    rows.map((row) => ({
      who: identityOf(row.subject),
      attributes: reviewAttributes({ ...req, namespace: row.scope === CLUSTER_SCOPE ? req.namespace : row.scope }),
    })),
  );
  const failures = new Set<string>();
  rows.forEach((row, i) => {
    const answer = answers[i]!;
    if ('error' in answer) {
      const message = client.error('create subjectaccessreviews', answer.error).message;
      failures.add(message);
      row.verified = { error: message };
    } else {
      row.verified = answer.allowed;
    }
  });
  return [...failures];
}

/**
 * What a question about exec, attach or port-forward means on the server's
 * release: before 1.35 a websocket (kubectl's default since 1.30) needs only
 * get on the subresource; from 1.35 it needs create too. Undefined for any
 * other question. Pure.
 */
export function websocketNote(req: RequestAttributes, rules: RbacRules): string | undefined {
  const does = Object.hasOwn(WEBSOCKET_SUBRESOURCES, req.subresource)
    ? WEBSOCKET_SUBRESOURCES[req.subresource]
    : undefined;
  if (req.apiGroup !== '' || req.resource !== 'pods' || !does || req.path !== undefined) return undefined;
  const sub = `pods/${req.subresource}`;
  if (!rules.websocketUpgradeNeedsCreate && req.verb === 'get')
    return (
      `before Kubernetes 1.35, get ${sub} is enough to ${does} over a websocket ` +
      `(kubectl's default since 1.30): whoever may get ${sub} may do that`
    );
  if (!rules.websocketUpgradeNeedsCreate && req.verb === 'create')
    return (
      `before Kubernetes 1.35, get ${sub} alone also lets a subject ${does}, over a websocket: ` +
      `ask "kubectl whocan get ${sub}" too`
    );
  if (rules.websocketUpgradeNeedsCreate && req.verb === 'get')
    return `from Kubernetes 1.35, a websocket also needs create ${sub}: get alone no longer lets a subject ${does}`;
  return undefined;
}

/** Says what the command reads, on stderr, with --verbose; nothing without. */
export function verboseLine(ctx: RunContext): (line: string) => void {
  return ctx.verbose ? (line) => ctx.io.stderr.write(`verbose: ${line}\n`) : () => {};
}

export async function runWhoCan(ctx: RunContext, options: WhoCanOptions): Promise<WhoCanResult> {
  // whocan asks about others: the connection's --as only impersonates the caller.
  const client = connect(options.connection, { signal: ctx.signal });
  const warnings: string[] = [];
  const [{ namespaced, ...req }, server] = await Promise.all([
    buildRequest(client, options, warnings),
    serverRelease(client),
  ]);
  const websocket = websocketNote(req, rbacRules(server.release));
  // Every namespace's Roles and RoleBindings only when the answer needs them (-A, near misses).
  const everyNamespace = options.connection.allNamespaces || options.nearMisses;
  const onRead = verboseLine(ctx);
  if (everyNamespace)
    onRead(
      'reading the roles and bindings of every namespace ' +
        `(${options.connection.allNamespaces ? '-A' : '--near-misses: bindings elsewhere that would allow it'})`,
    );
  const rbac = await loadRbac(
    client,
    req.namespace || client.namespace,
    everyNamespace ? { onRead } : { onlyNamespace: req.namespace, onRead },
  );
  const { grants, nearMisses } = whoCan(new RbacIndex(rbac.data), req, options.connection.allNamespaces, namespaced);
  const rows: WhoCanRow[] = grants.map((g) => ({
    subject: {
      kind: g.subject.kind,
      name: g.subject.name,
      ...(g.subject.namespace ? { namespace: g.subject.namespace } : {}),
    },
    reaches: describeSubject(g.subject as RbacV1Subject),
    binding: g.binding,
    role: g.role,
    rule: g.rule,
    scope: g.scope || CLUSTER_SCOPE,
  }));
  const missing = [...rbac.missing];
  if (options.verify) {
    for (const failure of await verifyRows(client, rows, req))
      missing.push(`confirm with SubjectAccessReview: ${failure}`);
  }
  const disagreements: WhoCanResult['disagreements'] = [];
  for (const row of rows) {
    if (
      row.verified === false &&
      !disagreements.some((d) => d.subject.name === row.subject.name && d.scope === row.scope)
    ) {
      disagreements.push({ subject: row.subject, scope: row.scope, rbac: true, apiServer: false });
    }
  }
  return {
    kind: 'WhoCan',
    apiVersion: 'study.kubectl.io/v1',
    ...releaseFields(server),
    request: { ...req, allNamespaces: options.connection.allNamespaces },
    subjects: rows,
    superusers: ['Group system:masters'],
    nearMisses: options.nearMisses ? nearMisses : [],
    incomplete: missing.length > 0,
    missing,
    disagreements,
    notes: [
      'members of system:masters are allowed everything by the API server before RBAC, with no binding',
      'other authorizers (Node, Webhook, ABAC) can allow what RBAC analysis cannot see',
      ...(websocket ? [websocket] : []),
    ],
    warnings,
  };
}

/** Whether a row is system:masters, allowed everything anyway: it alone is no answer of "yes". */
function isSuperuserRow(row: WhoCanRow): boolean {
  return row.subject.kind === 'Group' && row.subject.name === 'system:masters';
}

export function whoCanExitCode(result: WhoCanResult): ExitCodeValue {
  if (result.subjects.some((row) => !isSuperuserRow(row))) return ExitCode.OK;
  // "Nobody" from an answer built on less than everything is not an answer.
  return result.incomplete ? ExitCode.BLOCKED : ExitCode.NEGATIVE;
}
