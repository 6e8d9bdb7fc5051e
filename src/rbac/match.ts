/**
 * RBAC evaluation exactly as the Kubernetes RBAC authorizer does it
 * (pkg/apis/rbac/v1/evaluation_helpers.go, pkg/registry/rbac/validation/
 * rule.go, plugin/pkg/auth/authorizer/rbac). Pure: roles and bindings in,
 * grants and near misses out.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  RbacV1Subject,
} from '@kubernetes/client-node';

/** What is asked: a resource request (resource set) or a non-resource one (path set). */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  /** '' for a request without a name (list, create, deletecollection). */
  name: string;
  /** '' for a cluster-scoped request or one across all namespaces. */
  namespace: string;
  /** For a non-resource request, e.g. /healthz. */
  path?: string;
}

export interface UserInfo {
  username: string;
  groups: string[];
}

export function isResourceRequest(request: RequestAttributes): boolean {
  return request.path === undefined;
}

export function verbMatches(rule: V1PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === '*' || v === verb);
}

export function apiGroupMatches(rule: V1PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === '*' || g === group);
}

export function resourceMatches(rule: V1PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*') return true;
    if (r === combined) return true;
    if (subresource && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource))
      return true;
  }
  return false;
}

export function resourceNameMatches(rule: V1PolicyRule, name: string): boolean {
  if (!rule.resourceNames || rule.resourceNames.length === 0) return true;
  return rule.resourceNames.includes(name);
}

export function nonResourceURLMatches(rule: V1PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

/** The authorizer's RuleAllows. */
export function matchesRule(rule: V1PolicyRule, req: RequestAttributes): boolean {
  if (!isResourceRequest(req)) return verbMatches(rule, req.verb) && nonResourceURLMatches(rule, req.path ?? '');
  const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  return (
    verbMatches(rule, req.verb) &&
    apiGroupMatches(rule, req.apiGroup) &&
    resourceMatches(rule, combined, req.subresource) &&
    resourceNameMatches(rule, req.name)
  );
}

/** Whether the rule would match if only its resourceNames did not restrict it. */
function matchesButForNames(rule: V1PolicyRule, req: RequestAttributes): boolean {
  if (!isResourceRequest(req) || !rule.resourceNames?.length) return false;
  return matchesRule({ ...rule, resourceNames: [] }, req) && !resourceNameMatches(rule, req.name);
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** rule.go's appliesToUser: a ServiceAccount subject's namespace defaults to the binding's. */
export function subjectApplies(user: UserInfo, subject: RbacV1Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      if (!ns) return false;
      return user.username === serviceAccountUsername(ns, subject.name);
    }
    default:
      return false;
  }
}

export interface RbacData {
  roles: V1Role[];
  clusterRoles: V1ClusterRole[];
  roleBindings: V1RoleBinding[];
  clusterRoleBindings: V1ClusterRoleBinding[];
}

/** Roles and bindings looked up by name. */
export class RbacIndex {
  readonly clusterRoles = new Map<string, V1ClusterRole>();
  readonly roles = new Map<string, V1Role>();
  readonly roleBindingsByNs = new Map<string, V1RoleBinding[]>();
  readonly clusterRoleBindings: V1ClusterRoleBinding[];

  constructor(readonly data: RbacData) {
    for (const cr of data.clusterRoles) this.clusterRoles.set(cr.metadata?.name ?? '', cr);
    for (const r of data.roles) this.roles.set(`${r.metadata?.namespace}/${r.metadata?.name}`, r);
    for (const rb of data.roleBindings) {
      const ns = rb.metadata?.namespace ?? '';
      const list = this.roleBindingsByNs.get(ns) ?? [];
      list.push(rb);
      this.roleBindingsByNs.set(ns, list);
    }
    this.clusterRoleBindings = data.clusterRoleBindings;
  }

  /** The rules a roleRef names, or undefined when the role does not exist. */
  rulesFor(roleRef: { kind: string; name: string }, bindingNamespace: string): V1PolicyRule[] | undefined {
    if (roleRef.kind === 'ClusterRole')
      return this.clusterRoles.get(roleRef.name)?.rules ?? (this.clusterRoles.has(roleRef.name) ? [] : undefined);
    if (roleRef.kind === 'Role' && bindingNamespace) {
      const role = this.roles.get(`${bindingNamespace}/${roleRef.name}`);
      return role ? (role.rules ?? []) : undefined;
    }
    return undefined;
  }

  namespaces(): string[] {
    return [...this.roleBindingsByNs.keys()].sort();
  }
}

export interface Grant {
  subject: RbacV1Subject;
  binding: { kind: 'ClusterRoleBinding' | 'RoleBinding'; name: string; namespace?: string };
  role: { kind: string; name: string; namespace?: string };
  rule: V1PolicyRule;
  /** Where it applies: '' for cluster-wide, else the namespace. */
  scope: string;
}

export type NearMissCode =
  | 'WrongNamespace'
  | 'ResourceNamesRestricted'
  | 'RoleMissing'
  | 'ServiceAccountWithoutNamespace';

export interface NearMiss {
  code: NearMissCode;
  message: string;
  binding: { kind: 'ClusterRoleBinding' | 'RoleBinding'; name: string; namespace?: string };
  role: { kind: string; name: string };
}

function roleOf(ref: { kind: string; name: string }, ns: string): Grant['role'] {
  return ref.kind === 'Role' ? { kind: 'Role', name: ref.name, namespace: ns } : { kind: ref.kind, name: ref.name };
}

/**
 * Every subject, binding, role and rule that allows the request. With
 * allNamespaces (namespace ''), the RoleBindings of every namespace count,
 * but only for a namespaced resource: the authorizer never consults
 * RoleBindings for cluster-scoped resources or non-resource URLs.
 */
export function whoCan(
  index: RbacIndex,
  req: RequestAttributes,
  allNamespaces: boolean,
  namespaced = true,
): { grants: Grant[]; nearMisses: NearMiss[] } {
  const grants: Grant[] = [];
  const nearMisses: NearMiss[] = [];
  for (const crb of index.clusterRoleBindings) {
    const binding = { kind: 'ClusterRoleBinding' as const, name: crb.metadata?.name ?? '' };
    const rules = index.rulesFor(crb.roleRef, '');
    if (!rules) {
      nearMisses.push({
        code: 'RoleMissing',
        binding,
        role: crb.roleRef,
        message: `${crb.roleRef.kind} "${crb.roleRef.name}" does not exist`,
      });
      continue;
    }
    for (const rule of rules) {
      if (matchesRule(rule, req)) {
        for (const subject of crb.subjects ?? []) {
          if (subject.kind === 'ServiceAccount' && !subject.namespace) {
            nearMisses.push({
              code: 'ServiceAccountWithoutNamespace',
              binding,
              role: crb.roleRef,
              message:
                `subject ServiceAccount "${subject.name}" has no namespace, ` +
                'which a ClusterRoleBinding needs: it reaches nobody',
            });
            continue;
          }
          grants.push({ subject, binding, role: roleOf(crb.roleRef, ''), rule, scope: '' });
        }
      } else if (matchesButForNames(rule, req)) {
        nearMisses.push({
          code: 'ResourceNamesRestricted',
          binding,
          role: crb.roleRef,
          message:
            `the rule allows only the names ${rule.resourceNames!.join(', ')}` +
            (req.name ? '' : ' (and a request without a name never matches those)'),
        });
      }
    }
  }
  const namespaces = req.namespace
    ? [req.namespace]
    : allNamespaces && namespaced && isResourceRequest(req)
      ? index.namespaces()
      : [];
  for (const ns of namespaces) {
    for (const rb of index.roleBindingsByNs.get(ns) ?? []) {
      const binding = { kind: 'RoleBinding' as const, name: rb.metadata?.name ?? '', namespace: ns };
      const rules = index.rulesFor(rb.roleRef, ns);
      if (!rules) {
        nearMisses.push({
          code: 'RoleMissing',
          binding,
          role: rb.roleRef,
          message:
            `${rb.roleRef.kind} "${rb.roleRef.name}" does not exist` +
            (rb.roleRef.kind === 'Role' ? ` in namespace ${ns}` : ''),
        });
        continue;
      }
      for (const rule of rules) {
        if (matchesRule(rule, { ...req, namespace: ns })) {
          for (const subject of rb.subjects ?? []) {
            const grantee =
              subject.kind === 'ServiceAccount' && !subject.namespace ? { ...subject, namespace: ns } : subject;
            grants.push({ subject: grantee, binding, role: roleOf(rb.roleRef, ns), rule, scope: ns });
          }
        } else if (matchesButForNames(rule, req)) {
          nearMisses.push({
            code: 'ResourceNamesRestricted',
            binding,
            role: rb.roleRef,
            message: `the rule allows only the names ${rule.resourceNames!.join(', ')}`,
          });
        }
      }
    }
  }
  // RoleBindings elsewhere that would allow it, had the request been in their namespace.
  if (req.namespace && !allNamespaces) {
    for (const [ns, rbs] of index.roleBindingsByNs) {
      if (ns === req.namespace) continue;
      for (const rb of rbs) {
        const rules = index.rulesFor(rb.roleRef, ns) ?? [];
        if (rules.some((rule) => matchesRule(rule, { ...req, namespace: ns }))) {
          nearMisses.push({
            code: 'WrongNamespace',
            binding: { kind: 'RoleBinding', name: rb.metadata?.name ?? '', namespace: ns },
            role: rb.roleRef,
            message: `allows it in namespace ${ns}, not in ${req.namespace}`,
          });
        }
      }
    }
  }
  return { grants, nearMisses };
}

/** Whether RBAC allows a user the request, and through which grants (the authorizer's view). */
export function allows(index: RbacIndex, user: UserInfo, req: RequestAttributes): Grant[] {
  const out: Grant[] = [];
  for (const crb of index.clusterRoleBindings) {
    const subject = (crb.subjects ?? []).find((s) => subjectApplies(user, s, ''));
    if (!subject) continue;
    for (const rule of index.rulesFor(crb.roleRef, '') ?? []) {
      if (matchesRule(rule, req))
        out.push({
          subject,
          binding: { kind: 'ClusterRoleBinding', name: crb.metadata?.name ?? '' },
          role: roleOf(crb.roleRef, ''),
          rule,
          scope: '',
        });
    }
  }
  if (req.namespace) {
    for (const rb of index.roleBindingsByNs.get(req.namespace) ?? []) {
      const subject = (rb.subjects ?? []).find((s) => subjectApplies(user, s, req.namespace));
      if (!subject) continue;
      for (const rule of index.rulesFor(rb.roleRef, req.namespace) ?? []) {
        if (matchesRule(rule, req)) {
          out.push({
            subject,
            binding: { kind: 'RoleBinding', name: rb.metadata?.name ?? '', namespace: req.namespace },
            role: roleOf(rb.roleRef, req.namespace),
            rule,
            scope: req.namespace,
          });
        }
      }
    }
  }
  return out;
}

/** The groups the API server adds for a user (impersonation adds them too). */
export function implicitGroups(username: string, groups: string[]): string[] {
  const out = new Set(groups);
  if (username === 'system:anonymous') out.add('system:unauthenticated');
  else out.add('system:authenticated');
  const sa = /^system:serviceaccount:([^:]+):[^:]+$/.exec(username);
  if (sa) {
    out.add('system:serviceaccounts');
    out.add(`system:serviceaccounts:${sa[1]}`);
  }
  return [...out];
}

/** Whom a subject reaches, in words. */
export function describeSubject(subject: RbacV1Subject): string {
  if (subject.kind === 'Group') {
    if (subject.name === 'system:serviceaccounts') return 'every service account in every namespace';
    if (subject.name.startsWith('system:serviceaccounts:'))
      return `every service account in namespace ${subject.name.slice('system:serviceaccounts:'.length)}`;
    if (subject.name === 'system:authenticated') return 'every authenticated user';
    if (subject.name === 'system:unauthenticated') return 'anonymous requests';
    if (subject.name === 'system:masters') return 'superusers (system:masters needs no binding)';
    return `members of group ${subject.name}`;
  }
  if (subject.kind === 'ServiceAccount') return `service account ${subject.namespace}/${subject.name}`;
  return `user ${subject.name}`;
}

/** A binding as the messages name it: KIND/NAME, or KIND/NAMESPACE/NAME for a RoleBinding. */
export function describeBinding(binding: Grant['binding']): string {
  return `${binding.kind}/${binding.namespace ? `${binding.namespace}/` : ''}${binding.name}`;
}

/** A rule as one line: verbs on resources (names) in groups, or verbs on URLs. */
export function describeRule(rule: V1PolicyRule): string {
  if (rule.nonResourceURLs?.length) return `${rule.verbs.join(',')} ${rule.nonResourceURLs.join(',')}`;
  const groups = (rule.apiGroups ?? []).map((g) => (g === '' ? 'core' : g)).join(',');
  const names = rule.resourceNames?.length ? ` [${rule.resourceNames.join(',')}]` : '';
  return `${rule.verbs.join(',')} ${(rule.resources ?? []).join(',')}${names} (${groups})`;
}
