/**
 * `kubectl study-access`: what one subject (yourself by default) may do,
 * as a matrix of resources x verbs computed from the RBAC rules and,
 * where the caller may, confirmed by the API server; `why` explains one
 * answer; risky permissions are shown as paths (binding -> role -> rule).
 */
import { ExitCode, UsageError, type ExitCodeValue } from '../cli/errors.js';
import type { CommonFlags, KubeFlags } from '../cli/flags.js';
import { colorEnabled, paint, writeStructured } from '../cli/output.js';
import type { RunState } from '../cli/program.js';
import { renderTable } from '../cli/table.js';
import { connect, type KubeClient } from '../kube/client.js';
import { discover, resolveResource, type ApiResource } from '../kube/discovery.js';
import { mapLimit } from '../util/concurrency.js';
import { loadRbac } from './load.js';
import {
  allows,
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
import { subjectAccessReview } from './whocan.js';

export const MATRIX_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;

export interface SubjectFlags {
  as?: string;
  asGroups: string[];
  sa?: string;
}

export interface AccessOptions extends CommonFlags {
  kube: KubeFlags;
  subject: SubjectFlags;
}

async function whoAmI(client: KubeClient): Promise<UserInfo> {
  const r = await client.call('ask the API server who you are (SelfSubjectReview)', () =>
    client.authn.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }),
  );
  return { username: r.status?.userInfo?.username ?? '', groups: r.status?.userInfo?.groups ?? [] };
}

/** The subject to analyse: --sa, or --as with --as-group, or yourself. */
export async function resolveSubject(client: KubeClient, f: SubjectFlags): Promise<{ user: UserInfo; self: boolean }> {
  if (f.sa) {
    const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(f.sa);
    if (!m) throw new UsageError(`--sa takes NAMESPACE/NAME, not "${f.sa}"`);
    const username = serviceAccountUsername(m[1]!, m[2]!);
    return { user: { username, groups: implicitGroups(username, []) }, self: false };
  }
  if (f.as) return { user: { username: f.as, groups: implicitGroups(f.as, f.asGroups) }, self: false };
  if (f.asGroups.length) throw new UsageError('--as-group needs --as');
  return { user: await whoAmI(client), self: true };
}

/** A client that does not impersonate: --as here names the subject, it does not change who asks. */
function plainClient(o: { kube: KubeFlags }, state: RunState): KubeClient {
  return connect({ ...o.kube, as: undefined, asGroups: [], asUid: undefined }, { signal: state.signal });
}

export interface Cell {
  allowed: boolean;
  /** Allowed only for some names (resourceNames rules). */
  namesOnly?: string[];
  /** What the API server answered, when asked. */
  verified?: boolean;
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

export interface AccessMatrix {
  kind: 'AccessMatrix';
  apiVersion: 'study.kubectl.io/v1';
  subject: UserInfo;
  namespace: string;
  confirmedBy: 'SubjectAccessReview' | 'SelfSubjectAccessReview' | 'none';
  rows: MatrixRow[];
  risky: RiskyPath[];
  disagreements: Array<{ resource: string; verb: string; rbac: boolean; apiServer: boolean }>;
  incomplete: boolean;
  missing: string[];
  notes: string[];
}

const RISKY: Array<{ verb: string; group: string; resource: string; subresource?: string; namespaced: boolean; consequence: string }> = [
  { verb: 'create', group: '', resource: 'pods', namespaced: true, consequence: 'can run a pod as any service account of the namespace, and so act with its permissions' },
  { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespaced: true, consequence: 'can mint tokens for the service accounts of the namespace' },
  { verb: 'impersonate', group: '', resource: 'users', namespaced: false, consequence: 'can act as any user' },
  { verb: 'impersonate', group: '', resource: 'groups', namespaced: false, consequence: 'can act as any group, system:masters included' },
  { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespaced: true, consequence: 'can act as the service accounts of the namespace' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false, consequence: 'can grant roles it does not hold itself' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false, consequence: 'can add permissions it does not hold to roles' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'roles', namespaced: true, consequence: 'can grant roles it does not hold itself in the namespace' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespaced: true, consequence: 'can add permissions it does not hold to roles of the namespace' },
  { verb: 'get', group: '', resource: 'secrets', namespaced: true, consequence: 'can read secrets (tokens, keys, passwords)' },
  { verb: 'list', group: '', resource: 'secrets', namespaced: true, consequence: 'can read every secret of the namespace' },
  { verb: 'watch', group: '', resource: 'secrets', namespaced: true, consequence: 'can read every secret of the namespace as it changes' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespaced: true, consequence: 'can run commands inside running containers' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'attach', namespaced: true, consequence: 'can attach to running containers' },
  { verb: 'get', group: '', resource: 'nodes', subresource: 'proxy', namespaced: false, consequence: "can reach every kubelet's API, which runs commands in any pod of the node" },
];

function grantPath(g: Grant): string {
  return `${g.binding.kind}/${g.binding.namespace ? `${g.binding.namespace}/` : ''}${g.binding.name} -> ${g.role.kind}/${g.role.name} -> ${describeRule(g.rule)}`;
}

export function riskyPaths(index: RbacIndex, user: UserInfo, namespace: string): RiskyPath[] {
  const out: RiskyPath[] = [];
  for (const r of RISKY) {
    const req: RequestAttributes = { verb: r.verb, apiGroup: r.group, resource: r.resource, subresource: r.subresource ?? '', name: '', namespace: r.namespaced ? namespace : '' };
    for (const g of allows(index, user, req)) {
      out.push({ permission: `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''}`, consequence: r.consequence, scope: g.scope || 'cluster', path: grantPath(g) });
    }
  }
  // A wildcard of everything, wherever it is granted.
  const everything: RequestAttributes = { verb: 'kstudy-any-verb', apiGroup: 'kstudy.any.group', resource: 'kstudy-any-resource', subresource: '', name: '', namespace };
  for (const g of allows(index, user, everything)) {
    out.push({ permission: '* on *', consequence: 'can do anything the scope allows, including granting itself more', scope: g.scope || 'cluster', path: grantPath(g) });
  }
  return out;
}

/** The matrix from the rules alone. Pure. */
export function computeMatrix(index: RbacIndex, user: UserInfo, namespace: string, resources: ApiResource[]): MatrixRow[] {
  return resources
    .filter((r) => MATRIX_VERBS.some((v) => r.verbs.includes(v)))
    .map((r) => {
      const cells: MatrixRow['cells'] = {};
      for (const verb of MATRIX_VERBS) {
        if (!r.verbs.includes(verb)) continue;
        const req: RequestAttributes = { verb, apiGroup: r.group, resource: r.resource, subresource: '', name: '', namespace: r.namespaced ? namespace : '' };
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
      if (rule.resourceNames?.length && matchesRule({ ...rule, resourceNames: [] }, req)) for (const n of rule.resourceNames) names.add(n);
    }
  };
  for (const crb of index.clusterRoleBindings) if ((crb.subjects ?? []).some((s) => subjectApplies(user, s, ''))) consider(index.rulesFor(crb.roleRef, '') ?? []);
  if (req.namespace) {
    for (const rb of index.roleBindingsByNs.get(req.namespace) ?? []) if ((rb.subjects ?? []).some((s) => subjectApplies(user, s, req.namespace))) consider(index.rulesFor(rb.roleRef, req.namespace) ?? []);
  }
  return [...names].sort();
}

export async function runAccess(state: RunState, o: AccessOptions): Promise<ExitCodeValue> {
  const client = plainClient(o, state);
  const namespace = o.kube.namespace ?? client.namespace;
  const [{ user, self }, resources] = await Promise.all([resolveSubject(client, o.subject), discover(client)]);
  const rbac = await loadRbac(client, namespace);
  const index = new RbacIndex(rbac.data);
  const rows = computeMatrix(index, user, namespace, resources);
  // Confirm every cell with the authorizer, if we may ask about this subject.
  let confirmedBy: AccessMatrix['confirmedBy'] = 'none';
  const disagreements: AccessMatrix['disagreements'] = [];
  const canSar = self
    ? true
    : (
        await client.call('ask whether you may create SubjectAccessReviews', () =>
          client.authz.createSelfSubjectAccessReview({
            body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' } } },
          }),
        )
      ).status?.allowed === true;
  if (canSar) {
    confirmedBy = self ? 'SelfSubjectAccessReview' : 'SubjectAccessReview';
    const cells = rows.flatMap((row) => Object.entries(row.cells).map(([verb, cell]) => ({ row, verb, cell: cell! })));
    await mapLimit(cells, 24, async ({ row, verb, cell }) => {
      const req: RequestAttributes = { verb, apiGroup: row.group, resource: row.resource, subresource: '', name: '', namespace: row.namespaced ? namespace : '' };
      cell.verified = await client.call('create access reviews', () => (self ? selfReview(client, req) : subjectAccessReview(client, { user: user.username, groups: user.groups }, req)));
      if (cell.verified !== cell.allowed) disagreements.push({ resource: `${row.resource}${row.group ? `.${row.group}` : ''}`, verb, rbac: cell.allowed, apiServer: cell.verified });
    });
  }
  const result: AccessMatrix = {
    kind: 'AccessMatrix',
    apiVersion: 'study.kubectl.io/v1',
    subject: user,
    namespace,
    confirmedBy,
    rows,
    risky: riskyPaths(index, user, namespace),
    disagreements,
    incomplete: rbac.missing.length > 0,
    missing: rbac.missing,
    notes: [
      user.groups.includes('system:masters') ? 'the subject is in system:masters: the API server allows it everything, whatever RBAC says' : '',
      'other authorizers (Node, Webhook, ABAC) can allow what RBAC analysis cannot see; a disagreement marks where',
    ].filter(Boolean),
  };
  if (o.output === 'json' || o.output === 'yaml') await writeStructured(state.io, o.output, result);
  else state.io.stdout.write(renderMatrix(result, colorEnabled(state.io)));
  return ExitCode.OK;
}

async function selfReview(client: KubeClient, req: RequestAttributes): Promise<boolean> {
  const r = await client.authz.createSelfSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: req.verb, group: req.apiGroup, resource: req.resource, subresource: req.subresource, name: req.name, namespace: req.namespace } },
    },
  });
  return r.status?.allowed === true;
}

export function renderMatrix(m: AccessMatrix, colour: boolean): string {
  let out = `Access of ${m.subject.username} (groups ${m.subject.groups.join(', ') || 'none'}) in namespace ${m.namespace}; cluster-scoped resources cluster-wide.\n`;
  out += `Computed from RBAC rules${m.confirmedBy === 'none' ? ' (you may not create SubjectAccessReviews, so it is not confirmed)' : `, confirmed by ${m.confirmedBy}`}.\n\n`;
  const rows = m.rows
    .filter((r) => Object.values(r.cells).some((c) => c?.allowed || c?.namesOnly))
    .map((r) => [
      `${r.resource}${r.group ? `.${r.group}` : ''}`,
      r.namespaced ? 'ns' : 'cluster',
      ...MATRIX_VERBS.map((v) => {
        const c = r.cells[v];
        if (!c) return ' ';
        const mark = c.allowed ? paint(colour, 'green', 'yes') : c.namesOnly ? paint(colour, 'yellow', 'names') : '-';
        return c.verified !== undefined && c.verified !== c.allowed ? `${mark}!` : mark;
      }),
    ]);
  out += rows.length ? renderTable(['RESOURCE', 'SCOPE', ...MATRIX_VERBS.map((v) => v.toUpperCase())], rows) : 'Nothing is allowed.\n';
  const hidden = m.rows.length - rows.length;
  if (hidden) out += `(${hidden} resource types with nothing allowed are not shown; -o json has them all)\n`;
  if (m.risky.length) {
    out += '\nRisky permissions:\n';
    for (const r of m.risky) out += `  ${paint(colour, 'red', r.permission)} (${r.scope}): ${r.consequence}\n      via ${r.path}\n`;
  }
  if (m.disagreements.length) out += `\n${paint(colour, 'red', 'Disagreements')} (marked !): ${m.disagreements.map((d) => `${d.verb} ${d.resource}: RBAC ${d.rbac ? 'yes' : 'no'}, API server ${d.apiServer ? 'yes' : 'no'}`).join('; ')}\n`;
  if (m.incomplete) out += `\nINCOMPLETE: you may not ${m.missing.join('; ')}\n`;
  for (const n of m.notes) out += `Note: ${n}.\n`;
  return out;
}

export interface WhyOptions extends AccessOptions {
  verb: string;
  resource: string;
  name?: string;
}

export interface WhyResult {
  kind: 'AccessWhy';
  apiVersion: 'study.kubectl.io/v1';
  subject: UserInfo;
  request: RequestAttributes;
  allowed: boolean;
  grants: Array<{ path: string; binding: Grant['binding']; role: Grant['role']; rule: Grant['rule']; scope: string }>;
  nearMisses: string[];
  superuser: boolean;
}

export async function runWhy(state: RunState, o: WhyOptions): Promise<ExitCodeValue> {
  const client = plainClient(o, state);
  const [{ user }, resources] = await Promise.all([resolveSubject(client, o.subject), discover(client)]);
  const resolved = resolveResource(o.resource, resources);
  const namespace = resolved.namespaced ? (o.kube.namespace ?? client.namespace) : '';
  const req: RequestAttributes = { verb: o.verb, apiGroup: resolved.group, resource: resolved.resource, subresource: resolved.subresource, name: o.name ?? '', namespace };
  const rbac = await loadRbac(client, namespace || client.namespace);
  const index = new RbacIndex(rbac.data);
  const grants = allows(index, user, req);
  const near: string[] = [];
  if (grants.length === 0) {
    for (const crb of index.clusterRoleBindings) {
      if (!(crb.subjects ?? []).some((s) => subjectApplies(user, s, ''))) continue;
      const rules = index.rulesFor(crb.roleRef, '');
      if (!rules) near.push(`ClusterRoleBinding/${crb.metadata?.name} names ${crb.roleRef.kind} "${crb.roleRef.name}", which does not exist`);
      for (const rule of rules ?? []) if (rule.resourceNames?.length && matchesRule({ ...rule, resourceNames: [] }, req)) near.push(`ClusterRoleBinding/${crb.metadata?.name} -> ${describeRule(rule)}: only for those names`);
    }
    for (const [ns, rbs] of index.roleBindingsByNs) {
      for (const rb of rbs) {
        if (!(rb.subjects ?? []).some((s) => subjectApplies(user, s, ns))) continue;
        const rules = index.rulesFor(rb.roleRef, ns);
        if (!rules) {
          near.push(`RoleBinding/${ns}/${rb.metadata?.name} names ${rb.roleRef.kind} "${rb.roleRef.name}", which does not exist`);
          continue;
        }
        for (const rule of rules) {
          if (ns !== namespace && matchesRule(rule, { ...req, namespace: ns })) near.push(`RoleBinding/${ns}/${rb.metadata?.name} -> ${describeRule(rule)}: allows it in namespace ${ns}, not ${namespace || 'cluster-wide'}`);
          else if (ns === namespace && rule.resourceNames?.length && matchesRule({ ...rule, resourceNames: [] }, req)) near.push(`RoleBinding/${ns}/${rb.metadata?.name} -> ${describeRule(rule)}: only for those names`);
        }
      }
    }
  }
  const result: WhyResult = {
    kind: 'AccessWhy',
    apiVersion: 'study.kubectl.io/v1',
    subject: user,
    request: req,
    allowed: grants.length > 0,
    grants: grants.map((g) => ({ path: grantPath(g), binding: g.binding, role: g.role, rule: g.rule, scope: g.scope || 'cluster' })),
    nearMisses: near,
    superuser: user.groups.includes('system:masters'),
  };
  if (o.output === 'json' || o.output === 'yaml') await writeStructured(state.io, o.output, result);
  else {
    const what = `${o.verb} ${o.resource}${o.name ? ` ${o.name}` : ''}${namespace ? ` in ${namespace}` : ''}`;
    let out = result.allowed ? `${user.username} may ${what}:\n` : `no rule grants ${user.username} ${what}.\n`;
    for (const g of result.grants) out += `  ${g.path}\n`;
    if (near.length) out += `Near misses:\n${near.map((n) => `  ${n}\n`).join('')}`;
    if (result.superuser) out += 'Note: the subject is in system:masters, which the API server allows everything without RBAC.\n';
    if (rbac.missing.length) out += `INCOMPLETE: you may not ${rbac.missing.join('; ')}\n`;
    state.io.stdout.write(out);
  }
  return result.allowed || result.superuser ? ExitCode.OK : ExitCode.NEGATIVE;
}
