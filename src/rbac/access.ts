/**
 * `kubectl study-access`: what one subject (yourself by default) may do,
 * as a matrix of resources x verbs computed from the RBAC rules and,
 * where the caller may, confirmed cell by cell by the API server (a failed
 * review is an `error` cell, and the answer says it is incomplete); `why`
 * explains one answer; risky permissions are shown as paths (binding ->
 * role -> rule). The matrix, risky paths and near misses are pure.
 */
import { ExitCode, type ExitCodeValue } from '../base/errors.js';
import type { RunContext } from '../base/run.js';
import { connect, type KubeClient } from '../kube/client.js';
import { discover, resolveDiscovered, type ApiResource } from '../kube/discovery.js';
import {
  reviewAll,
  selfAccessReview,
  selfRulesReview,
  whoAmI,
  type Identity,
  type ReviewAnswer,
  type RulesReview,
} from '../kube/reviews.js';
import { apiStatusOf } from '../kube/apierror.js';
import { releaseFields, serverRelease, type ReleaseFields } from '../kube/release.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { loadRbac } from './load.js';
import {
  allows,
  describeBinding,
  describeRule,
  implicitGroups,
  matchesRule,
  RbacIndex,
  serviceAccountUsername,
  subjectApplies,
  type Grant,
  type RequestAttributes,
  type UserInfo,
} from './match.js';
import { resourceNameArg, type AccessOptions, type SubjectSpec, type WhyOptions } from './options.js';
import { rbacRules, WEBSOCKET_SUBRESOURCES, type RbacRules } from './rules.js';
import { STANDARD_VERBS, verbWarning } from './verbs.js';
import { namespaceMissing, requestFor, reviewAttributes, verboseLine, type Verified } from './whocan.js';

export const MATRIX_VERBS = STANDARD_VERBS;

/** What the answer cannot vouch for about the subject and namespace: they may not exist. */
async function existenceWarnings(client: KubeClient, spec: SubjectSpec, namespace: string): Promise<string[]> {
  const out: string[] = [];
  if (namespace && (await namespaceMissing(client, namespace))) out.push(`namespace ${namespace} does not exist`);
  if (spec.kind === 'serviceaccount') {
    try {
      await client.request(
        'GET',
        resourcePath(RESOURCES.serviceAccounts, { namespace: spec.namespace, name: spec.name }),
      );
    } catch (err) {
      if (apiStatusOf(err)?.code === 404)
        out.push(
          `service account ${spec.namespace}/${spec.name} does not exist: ` +
            'the answer is what it would have, were it created',
        );
    }
  }
  return out;
}

/** Another subject as the API server would see it; undefined for yourself, whom only the server can name. Pure. */
export function namedSubject(spec: SubjectSpec): UserInfo | undefined {
  switch (spec.kind) {
    case 'serviceaccount': {
      const username = serviceAccountUsername(spec.namespace, spec.name);
      return { username, groups: implicitGroups(username, []) };
    }
    case 'user':
      return { username: spec.user, groups: implicitGroups(spec.user, spec.groups) };
    case 'self':
      return undefined;
  }
}

/** The subject to analyse, as the API server would see it. */
async function resolveSubject(client: KubeClient, spec: SubjectSpec): Promise<{ user: UserInfo; self: boolean }> {
  const named = namedSubject(spec);
  if (named) return { user: named, self: false };
  const me = await client.call('ask the API server who you are (SelfSubjectReview)', () => whoAmI(client));
  return { user: { username: me.username, groups: me.groups }, self: true };
}

export interface Cell {
  allowed: boolean;
  /** Allowed only for some names (resourceNames rules). */
  namesOnly?: string[];
  /** What the API server answered, when asked (or why the review failed). */
  verified?: Verified;
}

export interface MatrixRow {
  group: string;
  resource: string;
  namespaced: boolean;
  cells: Partial<Record<(typeof MATRIX_VERBS)[number], Cell>>;
}

export interface RiskyPath {
  permission: string;
  consequence: string;
  scope: string;
  path: string;
}

/** The review that asks the API server about one request: for yourself, or for another subject. */
export type AccessReviewKind = 'SubjectAccessReview' | 'SelfSubjectAccessReview';

/**
 * Who answered the cells: the rules reviews (every cell their rules decide), the access reviews (one a
 * cell), both (the rules reviews first, the access reviews for the rest), or nobody.
 */
export type ConfirmedBy =
  | AccessReviewKind
  | 'SelfSubjectRulesReview'
  | `SelfSubjectRulesReview and ${AccessReviewKind}`
  | 'none';

export interface AccessMatrix extends ReleaseFields {
  kind: 'AccessMatrix';
  apiVersion: 'study.kubectl.io/v1';
  subject: UserInfo;
  namespace: string;
  confirmedBy: ConfirmedBy;
  rows: MatrixRow[];
  risky: RiskyPath[];
  disagreements: Array<{ resource: string; verb: string; rbac: boolean; apiServer: boolean }>;
  incomplete: boolean;
  missing: string[];
  notes: string[];
  warnings: string[];
}

const RISKY: Array<{
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespaced: boolean;
  consequence: string;
}> = [
  {
    verb: 'create',
    group: '',
    resource: 'pods',
    namespaced: true,
    consequence: 'can run a pod as any service account of the namespace, and so act with its permissions',
  },
  {
    verb: 'create',
    group: '',
    resource: 'serviceaccounts',
    subresource: 'token',
    namespaced: true,
    consequence: 'can mint tokens for the service accounts of the namespace',
  },
  { verb: 'impersonate', group: '', resource: 'users', namespaced: false, consequence: 'can act as any user' },
  {
    verb: 'impersonate',
    group: '',
    resource: 'groups',
    namespaced: false,
    consequence: 'can act as any group, system:masters included',
  },
  {
    verb: 'impersonate',
    group: '',
    resource: 'serviceaccounts',
    namespaced: true,
    consequence: 'can act as the service accounts of the namespace',
  },
  {
    verb: 'bind',
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    namespaced: false,
    consequence: 'can grant roles it does not hold itself',
  },
  {
    verb: 'escalate',
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    namespaced: false,
    consequence: 'can add permissions it does not hold to roles',
  },
  {
    verb: 'bind',
    group: 'rbac.authorization.k8s.io',
    resource: 'roles',
    namespaced: true,
    consequence: 'can grant roles it does not hold itself in the namespace',
  },
  {
    verb: 'escalate',
    group: 'rbac.authorization.k8s.io',
    resource: 'roles',
    namespaced: true,
    consequence: 'can add permissions it does not hold to roles of the namespace',
  },
  {
    verb: 'get',
    group: '',
    resource: 'secrets',
    namespaced: true,
    consequence: 'can read secrets (tokens, keys, passwords)',
  },
  {
    verb: 'list',
    group: '',
    resource: 'secrets',
    namespaced: true,
    consequence: 'can read every secret of the namespace',
  },
  {
    verb: 'watch',
    group: '',
    resource: 'secrets',
    namespaced: true,
    consequence: 'can read every secret of the namespace as it changes',
  },
  {
    verb: 'create',
    group: '',
    resource: 'pods',
    subresource: 'exec',
    namespaced: true,
    consequence: 'can run commands inside running containers',
  },
  {
    verb: 'create',
    group: '',
    resource: 'pods',
    subresource: 'attach',
    namespaced: true,
    consequence: 'can attach to running containers',
  },
  {
    verb: 'get',
    group: '',
    resource: 'nodes',
    subresource: 'proxy',
    namespaced: false,
    consequence: "can reach every kubelet's API, which runs commands in any pod of the node",
  },
];

/**
 * Before 1.35 exec and attach over a websocket need only get on the
 * subresource (rbac/rules.ts): there get is as risky as create.
 */
const WEBSOCKET_GET_RISKS: typeof RISKY = ['exec', 'attach'].map((subresource) => ({
  verb: 'get',
  group: '',
  resource: 'pods',
  subresource,
  namespaced: true,
  consequence:
    `can ${WEBSOCKET_SUBRESOURCES[subresource]} over a websocket, ` + 'which needs only get before Kubernetes 1.35',
}));

function grantPath(grant: Grant): string {
  return `${describeBinding(grant.binding)} -> ${grant.role.kind}/${grant.role.name} -> ${describeRule(grant.rule)}`;
}

export function riskyPaths(index: RbacIndex, user: UserInfo, namespace: string, rules: RbacRules): RiskyPath[] {
  const out: RiskyPath[] = [];
  for (const risky of rules.websocketUpgradeNeedsCreate ? RISKY : [...RISKY, ...WEBSOCKET_GET_RISKS]) {
    const req: RequestAttributes = {
      verb: risky.verb,
      apiGroup: risky.group,
      resource: risky.resource,
      subresource: risky.subresource ?? '',
      name: '',
      namespace: risky.namespaced ? namespace : '',
    };
    for (const g of allows(index, user, req)) {
      out.push({
        permission: `${risky.verb} ${risky.resource}${risky.subresource ? `/${risky.subresource}` : ''}`,
        consequence: risky.consequence,
        scope: g.scope || 'cluster',
        path: grantPath(g),
      });
    }
  }
  // A wildcard of everything, wherever it is granted.
  const everything: RequestAttributes = {
    verb: 'kstudy-any-verb',
    apiGroup: 'kstudy.any.group',
    resource: 'kstudy-any-resource',
    subresource: '',
    name: '',
    namespace,
  };
  for (const g of allows(index, user, everything)) {
    out.push({
      permission: '* on *',
      consequence: 'can do anything the scope allows, including granting itself more',
      scope: g.scope || 'cluster',
      path: grantPath(g),
    });
  }
  return out;
}

type MatrixVerb = (typeof MATRIX_VERBS)[number];

/** The matrix's cells, row by row: every resource with a matrix verb, and the request each cell stands for. Pure. */
export function matrixShape(
  resources: ApiResource[],
  namespace: string,
): Array<{ resource: ApiResource; cells: Array<{ verb: MatrixVerb; req: RequestAttributes }> }> {
  return resources
    .filter((r) => MATRIX_VERBS.some((v) => r.verbs.includes(v)))
    .map((r) => ({
      resource: r,
      cells: MATRIX_VERBS.filter((verb) => r.verbs.includes(verb)).map((verb) => ({
        verb,
        req: {
          verb,
          apiGroup: r.group,
          resource: r.resource,
          subresource: '',
          name: '',
          namespace: r.namespaced ? namespace : '',
        },
      })),
    }));
}

/** The matrix from the rules alone. Pure. */
export function computeMatrix(
  index: RbacIndex,
  user: UserInfo,
  namespace: string,
  resources: ApiResource[],
): MatrixRow[] {
  return matrixShape(resources, namespace).map(({ resource: r, cells: shape }) => {
    const cells: MatrixRow['cells'] = {};
    for (const { verb, req } of shape) {
      const allowed = allows(index, user, req).length > 0;
      const cell: Cell = { allowed };
      if (!allowed) {
        const names = namedOnly(index, user, req);
        if (names.length) cell.namesOnly = names;
      }
      cells[verb] = cell;
    }
    return { group: r.group, resource: r.resource, namespaced: r.namespaced, cells };
  });
}

/** Names a subject may use the verb on, where only resourceNames rules allow it. */
function namedOnly(index: RbacIndex, user: UserInfo, req: RequestAttributes): string[] {
  const names = new Set<string>();
  const consider = (rules: Array<{ resourceNames?: string[] } & Parameters<typeof matchesRule>[0]>): void => {
    for (const rule of rules) {
      if (rule.resourceNames?.length && matchesRule({ ...rule, resourceNames: [] }, req))
        for (const n of rule.resourceNames) names.add(n);
    }
  };
  for (const crb of index.clusterRoleBindings)
    if ((crb.subjects ?? []).some((s) => subjectApplies(user, s, ''))) consider(index.rulesFor(crb.roleRef, '') ?? []);
  if (req.namespace) {
    for (const rb of index.roleBindingsByNs.get(req.namespace) ?? [])
      if ((rb.subjects ?? []).some((s) => subjectApplies(user, s, req.namespace)))
        consider(index.rulesFor(rb.roleRef, req.namespace) ?? []);
  }
  return [...names].sort();
}

/** Whether the caller may ask the API server about another subject (create SubjectAccessReviews). */
async function maySubjectReview(client: KubeClient): Promise<boolean> {
  const answer = await client.call('ask whether you may create SubjectAccessReviews', () =>
    selfAccessReview(client, { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' }),
  );
  return answer.allowed;
}

/**
 * Puts the API server's answers (in matrixShape's order) into the cells: a
 * failed review is an error cell, an answer unlike the rules' a
 * disagreement. Where some rules could not be read (rulesComplete false), a
 * "yes" the rules read do not explain is granted through what could not be
 * read, not a disagreement. Pure.
 */
export function confirmCells(
  rows: MatrixRow[],
  answers: Array<ReviewAnswer | { error: string } | undefined>,
  rulesComplete = true,
): { disagreements: AccessMatrix['disagreements']; failures: string[] } {
  const disagreements: AccessMatrix['disagreements'] = [];
  const failures = new Set<string>();
  let i = 0;
  for (const row of rows) {
    for (const verb of MATRIX_VERBS) {
      const cell = row.cells[verb];
      if (!cell) continue;
      const answer = answers[i++];
      if (!answer) continue;
      if ('error' in answer) {
        cell.verified = { error: answer.error };
        failures.add(answer.error);
        continue;
      }
      cell.verified = answer.allowed;
      if (answer.allowed !== cell.allowed && (rulesComplete || cell.allowed))
        disagreements.push({
          resource: `${row.resource}${row.group ? `.${row.group}` : ''}`,
          verb,
          rbac: cell.allowed,
          apiServer: answer.allowed,
        });
    }
  }
  return { disagreements, failures: [...failures] };
}

/** The cells' reviews, all under one bound; a failed one is its message. */
async function askCells(
  client: KubeClient,
  requests: RequestAttributes[],
  user: UserInfo,
  self: boolean,
): Promise<Array<ReviewAnswer | { error: string }>> {
  const who = self ? undefined : { user: user.username, groups: user.groups };
  const questions = requests.map((req) => ({ ...(who ? { who } : {}), attributes: reviewAttributes(req) }));
  const answers = await reviewAll(client, questions);
  return answers.map((a) => ('error' in a ? { error: client.error('create access reviews', a.error).message } : a));
}

/**
 * A namespace no object can be in (a namespace's name is a DNS label, without dots). A rules review
 * there lists what no RoleBinding adds to: under RBAC, the ClusterRoleBindings' rules, which alone
 * decide a cluster-scoped request.
 */
export const CLUSTER_SCOPE_NAMESPACE = 'kstudy.cluster-scope';

/** The API server's rules for the subject: in the namespace, and where only cluster-wide grants count. */
export interface ServerRules {
  namespace?: RulesReview;
  cluster?: RulesReview;
}

/**
 * The rules reviews: as yourself, or as another subject (impersonated, as `kubectl auth can-i --list
 * --as` asks; where the caller may not impersonate it, or the subject may not ask, there are none). A
 * review that fails is no answer: the cells are then asked one by one, as before.
 */
async function serverRules(client: KubeClient, namespace: string, as: UserInfo | undefined): Promise<ServerRules> {
  const identity: Identity | undefined = as ? { user: as.username, groups: as.groups } : undefined;
  const review = async (ns: string): Promise<RulesReview | undefined> => {
    try {
      return await selfRulesReview(client, ns, identity);
    } catch (err) {
      if (client.signal?.aborted) throw err;
      return undefined;
    }
  };
  const [inNamespace, cluster] = await Promise.all([review(namespace), review(CLUSTER_SCOPE_NAMESPACE)]);
  return { ...(inNamespace ? { namespace: inNamespace } : {}), ...(cluster ? { cluster } : {}) };
}

/**
 * What the rules reviews answer, cell by cell in matrixShape's order; undefined where the cell must be
 * asked on its own. Pure.
 *
 * A complete review (status.incomplete false: every authorizer listed all it allows, which a webhook
 * never can, so no authorizer that could deny is in the chain) is the API server's answer for the
 * namespace: a namespaced cell its rules allow is allowed, one they do not allow is denied. A
 * cluster-scoped cell the cluster-scope review's rules allow is allowed; one they do not is still asked,
 * since an authorizer may grant cluster-scoped requests that no namespace's rules list (an ABAC policy
 * without a namespace). Where the review reports an evaluation error (a binding to a role that does not
 * exist), only what its rules allow is taken from it.
 */
export function answersFromRules(
  shape: ReturnType<typeof matrixShape>,
  rules: ServerRules,
): Array<ReviewAnswer | undefined> {
  const decides = (review: RulesReview | undefined, req: RequestAttributes, denies: boolean): boolean | undefined => {
    if (!review || review.incomplete) return undefined;
    if (review.rules.some((rule) => matchesRule(rule, req))) return true;
    return denies && !review.evaluationError ? false : undefined;
  };
  return shape.flatMap(({ resource, cells }) =>
    cells.map(({ req }) => {
      const allowed = resource.namespaced
        ? decides(rules.namespace, req, true)
        : decides(rules.cluster, { ...req, namespace: CLUSTER_SCOPE_NAMESPACE }, false);
      return allowed === undefined ? undefined : { allowed };
    }),
  );
}

/** Who answered the cells, from how many each answered. Pure. */
export function confirmedByOf(byRules: number, asked: number, self: boolean): ConfirmedBy {
  const kind: AccessReviewKind = self ? 'SelfSubjectAccessReview' : 'SubjectAccessReview';
  if (byRules && asked) return `SelfSubjectRulesReview and ${kind}`;
  if (byRules) return 'SelfSubjectRulesReview';
  return asked ? kind : 'none';
}

export async function runAccess(ctx: RunContext, options: AccessOptions): Promise<AccessMatrix> {
  const client = connect(options.connection, { signal: ctx.signal });
  const namespace = options.connection.namespace ?? client.namespace;
  const self = options.subject.kind === 'self';
  const subject = resolveSubject(client, options.subject);
  // The rules are read as soon as the subject is known. The matrix, the risky paths and the names-only
  // cells all look at the subject's own bindings, in this namespace and cluster-wide.
  const reading = subject.then(({ user }) =>
    loadRbac(client, namespace, { onlyNamespace: namespace, subject: user, onRead: verboseLine(ctx) }),
  );
  reading.catch(() => {}); // awaited below; a failure before then is the first failure's to report
  const [{ user }, { resources }, warnings, canReview, server, rules] = await Promise.all([
    subject,
    discover(client),
    existenceWarnings(client, options.subject, namespace),
    self || maySubjectReview(client),
    serverRelease(client),
    serverRules(client, namespace, namedSubject(options.subject)),
  ]);
  // The rules reviews answer what they decide; the other cells are asked one by one while the rules are read.
  const shape = matrixShape(resources, namespace);
  const fromRules = answersFromRules(shape, rules);
  const requests = shape.flatMap((row) => row.cells.map((c) => c.req));
  const toAsk = canReview ? requests.filter((_, i) => fromRules[i] === undefined) : [];
  const [asked, rbac] = await Promise.all([askCells(client, toAsk, user, self), reading]);
  let next = 0;
  const answers = fromRules.map((a) => a ?? asked[next++]);
  const byRules = fromRules.filter((a) => a !== undefined).length;
  const index = new RbacIndex(rbac.data);
  const rows = computeMatrix(index, user, namespace, resources);
  const confirmed = confirmCells(rows, answers, rbac.missing.length === 0);
  const missing = [...rbac.missing, ...confirmed.failures.map((f) => `confirm with access reviews: ${f}`)];
  return {
    kind: 'AccessMatrix',
    apiVersion: 'study.kubectl.io/v1',
    ...releaseFields(server),
    subject: user,
    namespace,
    confirmedBy: confirmedByOf(byRules, toAsk.length, self),
    rows,
    risky: riskyPaths(index, user, namespace, rbacRules(server.release)),
    disagreements: confirmed.disagreements,
    incomplete: missing.length > 0,
    missing,
    notes: [
      user.groups.includes('system:masters')
        ? 'the subject is in system:masters: the API server allows it everything, whatever RBAC says'
        : '',
      'other authorizers (Node, Webhook, ABAC) can allow what RBAC analysis cannot see; a disagreement marks where',
    ].filter(Boolean),
    warnings,
  };
}

export interface WhyResult {
  kind: 'AccessWhy';
  apiVersion: 'study.kubectl.io/v1';
  subject: UserInfo;
  request: RequestAttributes;
  /** What the RBAC rules that could be read grant. */
  allowed: boolean;
  /** Who gave `verified`: SelfSubjectAccessReview for yourself, SubjectAccessReview for another when you may ask. */
  confirmedBy: AccessReviewKind | 'none';
  /** The API server's own answer (true, false, or why the review failed): the answer, where there is one. */
  verified?: Verified;
  grants: Array<{ path: string; binding: Grant['binding']; role: Grant['role']; rule: Grant['rule']; scope: string }>;
  nearMisses: string[];
  superuser: boolean;
  incomplete: boolean;
  missing: string[];
  warnings: string[];
}

/** Bindings of the subject that almost grant the request: wrong namespace, names only, a missing role. Pure. */
export function whyNearMisses(index: RbacIndex, user: UserInfo, req: RequestAttributes): string[] {
  const near: string[] = [];
  for (const crb of index.clusterRoleBindings) {
    if (!(crb.subjects ?? []).some((s) => subjectApplies(user, s, ''))) continue;
    const rules = index.rulesFor(crb.roleRef, '');
    if (!rules)
      near.push(
        `ClusterRoleBinding/${crb.metadata?.name} names ${crb.roleRef.kind} "${crb.roleRef.name}", ` +
          'which does not exist',
      );
    for (const rule of rules ?? [])
      if (rule.resourceNames?.length && matchesRule({ ...rule, resourceNames: [] }, req))
        near.push(`ClusterRoleBinding/${crb.metadata?.name} -> ${describeRule(rule)}: only for those names`);
  }
  for (const [ns, rbs] of index.roleBindingsByNs) {
    for (const rb of rbs) {
      if (!(rb.subjects ?? []).some((s) => subjectApplies(user, s, ns))) continue;
      const rules = index.rulesFor(rb.roleRef, ns);
      if (!rules) {
        near.push(
          `RoleBinding/${ns}/${rb.metadata?.name} names ${rb.roleRef.kind} "${rb.roleRef.name}", which does not exist`,
        );
        continue;
      }
      for (const rule of rules) {
        if (ns !== req.namespace && matchesRule(rule, { ...req, namespace: ns }))
          near.push(
            `RoleBinding/${ns}/${rb.metadata?.name} -> ${describeRule(rule)}: ` +
              `allows it in namespace ${ns}, not ${req.namespace || 'cluster-wide'}`,
          );
        else if (ns === req.namespace && rule.resourceNames?.length && matchesRule({ ...rule, resourceNames: [] }, req))
          near.push(`RoleBinding/${ns}/${rb.metadata?.name} -> ${describeRule(rule)}: only for those names`);
      }
    }
  }
  return near;
}

/**
 * The API server's own answer to one question about the subject: a
 * SelfSubjectAccessReview for yourself (kubectl auth can-i), a
 * SubjectAccessReview for another when the caller may create one. It is
 * definite where the RBAC rules the caller could read are not; a review
 * that fails is a value.
 */
async function askServer(
  client: KubeClient,
  user: UserInfo,
  self: boolean,
  req: RequestAttributes,
): Promise<Pick<WhyResult, 'confirmedBy' | 'verified'>> {
  const confirmedBy = self ? 'SelfSubjectAccessReview' : 'SubjectAccessReview';
  try {
    if (!self && !(await maySubjectReview(client))) return { confirmedBy: 'none' };
  } catch (err) {
    if (client.signal?.aborted) throw err;
    return { confirmedBy: 'none' };
  }
  const who = self ? {} : { who: { user: user.username, groups: user.groups } };
  const [answer] = await reviewAll(client, [{ ...who, attributes: reviewAttributes(req) }]);
  if (!answer || 'error' in answer)
    return { confirmedBy, verified: { error: client.error(`create a ${confirmedBy}`, answer?.error).message } };
  return { confirmedBy, verified: answer.allowed };
}

export async function runWhy(ctx: RunContext, options: WhyOptions): Promise<WhyResult> {
  const client = connect(options.connection, { signal: ctx.signal });
  const [{ user, self }, { resolved }] = await Promise.all([
    resolveSubject(client, options.subject),
    resolveDiscovered(client, options.resource),
  ]);
  if (options.name !== undefined) resourceNameArg(resolved, options.name);
  const warnings: string[] = [];
  const verbWarn = verbWarning(options.verb, false);
  if (verbWarn) warnings.push(verbWarn);
  const { namespaced: _namespaced, ...req } = requestFor(options, resolved, client.namespace, warnings);
  const namespace = req.namespace;
  warnings.push(...(await existenceWarnings(client, options.subject, req.resource === 'namespaces' ? '' : namespace)));
  // Near misses look at the subject's bindings in every namespace; the API server answers meanwhile.
  const [rbac, server] = await Promise.all([
    loadRbac(client, namespace || client.namespace, { onRead: verboseLine(ctx) }),
    askServer(client, user, self, req),
  ]);
  const index = new RbacIndex(rbac.data);
  const grants = allows(index, user, req);
  const missing = [...rbac.missing];
  if (typeof server.verified === 'object') missing.push(`confirm with ${server.confirmedBy}: ${server.verified.error}`);
  return {
    kind: 'AccessWhy',
    apiVersion: 'study.kubectl.io/v1',
    subject: user,
    request: req,
    allowed: grants.length > 0,
    ...server,
    grants: grants.map((g) => ({
      path: grantPath(g),
      binding: g.binding,
      role: g.role,
      rule: g.rule,
      scope: g.scope || 'cluster',
    })),
    nearMisses: grants.length === 0 ? whyNearMisses(index, user, req) : [],
    superuser: user.groups.includes('system:masters'),
    incomplete: missing.length > 0,
    missing,
    warnings,
  };
}

/**
 * The API server's answer where it gave one (yes 0, no 1), whatever the
 * rules that could be read say; else the rules': yes 0, no 1, and "no rule
 * found" in rules read in part is no answer (3).
 */
export function whyExitCode(why: WhyResult): ExitCodeValue {
  if (typeof why.verified === 'boolean') return why.verified ? ExitCode.OK : ExitCode.NEGATIVE;
  if (why.allowed || why.superuser) return ExitCode.OK;
  return why.incomplete ? ExitCode.BLOCKED : ExitCode.NEGATIVE;
}

/** Whether the API server answered every cell of the matrix: then the matrix is whole, however much RBAC was read. */
export function answeredByServer(matrix: AccessMatrix): boolean {
  return matrix.rows.every((row) => Object.values(row.cells).every((c) => typeof c?.verified === 'boolean'));
}

/**
 * A matrix is an answer (0) when it is whole: every rule read, or every cell
 * answered by the API server. Built on less, it is an answer if anything is
 * allowed (by the rules or the server), and none (3) if nothing is.
 */
export function accessExitCode(matrix: AccessMatrix): ExitCodeValue {
  if (!matrix.incomplete || answeredByServer(matrix)) return ExitCode.OK;
  const allowed = matrix.rows.some((row) => Object.values(row.cells).some((c) => c?.allowed || c?.verified === true));
  return allowed ? ExitCode.OK : ExitCode.BLOCKED;
}
