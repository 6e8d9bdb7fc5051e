/**
 * Reading RBAC objects, and saying exactly which reads were forbidden
 * instead of failing: an answer built from less is marked incomplete.
 *
 * A question about one namespace reads that namespace's RoleBindings, the
 * ClusterRoleBindings, and then only the roles they reference: by name, in
 * parallel, when there are few; with one list when one list is cheaper
 * than a read each (ClusterRoleBindings usually name most ClusterRoles).
 * A question about everyone (whocan) lists the roles while the bindings
 * are read, as every binding counts: waiting for the bindings to name them
 * would only add a round trip. Every namespace is read only when the
 * answer needs it (-A, near misses).
 */
import type { V1ClusterRole, V1ClusterRoleBinding, V1Role, V1RoleBinding } from '@kubernetes/client-node';

import { mapLimit } from '../base/concurrency.js';
import { plural } from '../base/text.js';
import { apiStatusOf } from '../kube/apierror.js';
import type { KubeClient } from '../kube/client.js';
import { listPath } from '../kube/list.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { subjectApplies, type RbacData, type UserInfo } from './match.js';

export interface LoadedRbac {
  data: RbacData;
  /** Reads that were forbidden, e.g. "list clusterrolebindings.rbac.authorization.k8s.io (cluster-wide)". */
  missing: string[];
}

type RbacResource = 'roles' | 'rolebindings' | 'clusterroles' | 'clusterrolebindings';
const TYPES = {
  roles: RESOURCES.roles,
  rolebindings: RESOURCES.roleBindings,
  clusterroles: RESOURCES.clusterRoles,
  clusterrolebindings: RESOURCES.clusterRoleBindings,
} as const;
const KIND_NAMES: Record<RbacResource, string> = {
  roles: 'Roles',
  rolebindings: 'RoleBindings',
  clusterroles: 'ClusterRoles',
  clusterrolebindings: 'ClusterRoleBindings',
};

/**
 * Items per page: RBAC objects are small and a command needs all of them,
 * so large pages (fewer round trips; a tenth of the time of 500-item pages
 * on 10,000 bindings) cost no memory the answer does not hold anyway.
 */
const PAGE = 5000;
/** Up to this many referenced roles are read by name (one parallel wave); more, and one list is cheaper. */
export const BY_NAME_LIMIT = 24;
const BY_NAME_CONCURRENCY = 16;

export interface LoadScope {
  /**
   * Only this namespace's RoleBindings are needed, and only the roles the
   * bindings reference ('' : no RoleBindings at all, for a cluster-scoped
   * question). Undefined: every namespace's roles and bindings.
   */
  onlyNamespace?: string;
  /** Only bindings that name this subject matter (study-access): the others, and their roles, are not read. */
  subject?: UserInfo;
  /** Told what is read, and why, for --verbose. */
  onRead?: (what: string) => void;
}

const forbidden = (err: unknown): boolean => apiStatusOf(err)?.code === 403;

/** "2,054 ClusterRoleBindings" (not toLocaleString: loading ICU data costs more than the rest of the count). */
function count(n: number, resource: RbacResource): string {
  const digits = String(n).replace(/\B(?=(\d{3})+$)/g, ',');
  return `${digits} ${plural(n, KIND_NAMES[resource].slice(0, -1), KIND_NAMES[resource])}`;
}

/**
 * Lists roles and bindings as the scope asks. Cluster-wide: where a
 * cluster-wide list is forbidden and a namespace is known, falls back to
 * that namespace and notes the gap.
 */
export async function loadRbac(client: KubeClient, namespace: string, scope: LoadScope = {}): Promise<LoadedRbac> {
  const missing: string[] = [];
  const onRead = scope.onRead ?? ((): void => {});
  const list = async <T>(resource: RbacResource, ns?: string): Promise<T[]> => {
    const items = (await listPath<T>(client, resourcePath(TYPES[resource], ns ? { namespace: ns } : {}), {}, PAGE))
      .items;
    const where = ns ? ` in namespace ${ns}` : resource.startsWith('cluster') ? '' : ' in every namespace';
    onRead(`listed ${count(items.length, resource)}${where}`);
    return items;
  };
  if (scope.onlyNamespace !== undefined) return loadReferenced(client, scope.onlyNamespace, scope, list, missing);

  const attempt = async <T>(resource: RbacResource, namespaced: boolean): Promise<T[]> => {
    try {
      return await list<T>(resource);
    } catch (err) {
      if (!forbidden(err)) throw client.error(`list ${resource}`, err);
      if (!namespaced || !namespace) {
        missing.push(`list ${resource}.rbac.authorization.k8s.io${namespaced ? ' in all namespaces' : ''}`);
        return [];
      }
      missing.push(
        `list ${resource}.rbac.authorization.k8s.io in all namespaces (only namespace ${namespace} was read)`,
      );
      try {
        return await list<T>(resource, namespace);
      } catch (err2) {
        if (!forbidden(err2)) throw client.error(`list ${resource} in ${namespace}`, err2);
        missing.push(`list ${resource}.rbac.authorization.k8s.io in namespace ${namespace}`);
        return [];
      }
    }
  };
  const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all([
    attempt<V1Role>('roles', true),
    attempt<V1ClusterRole>('clusterroles', false),
    attempt<V1RoleBinding>('rolebindings', true),
    attempt<V1ClusterRoleBinding>('clusterrolebindings', false),
  ]);
  // Reads finish in any order: the gaps are named in one order, so the same question gives the same answer.
  return { data: { roles, clusterRoles, roleBindings, clusterRoleBindings }, missing: missing.sort() };
}

type Lister = <T>(resource: RbacResource, ns?: string) => Promise<T[]>;

/** The bindings of one namespace (none for '') and the cluster's, then the roles they name. */
async function loadReferenced(
  client: KubeClient,
  ns: string,
  scope: LoadScope,
  list: Lister,
  missing: string[],
): Promise<LoadedRbac> {
  const bindings = async <T extends V1RoleBinding | V1ClusterRoleBinding>(
    resource: 'rolebindings' | 'clusterrolebindings',
  ): Promise<T[]> => {
    if (resource === 'rolebindings' && !ns) return [];
    try {
      const items = await list<T>(resource, resource === 'rolebindings' ? ns : undefined);
      const who = scope.subject;
      return who
        ? items.filter((b) =>
            (b.subjects ?? []).some((s) => subjectApplies(who, s, resource === 'rolebindings' ? ns : '')),
          )
        : items;
    } catch (err) {
      if (!forbidden(err)) throw client.error(`list ${resource}${resource === 'rolebindings' ? ` in ${ns}` : ''}`, err);
      missing.push(
        `list ${resource}.rbac.authorization.k8s.io${resource === 'rolebindings' ? ` in namespace ${ns}` : ''}`,
      );
      return [];
    }
  };
  // Everyone's bindings count (no subject): the roles are listed meanwhile rather than after them.
  const early = scope.subject
    ? undefined
    : {
        clusterRoles: settle(list<V1ClusterRole>('clusterroles')),
        roles: ns ? settle(list<V1Role>('roles', ns)) : undefined,
      };
  const [roleBindings, clusterRoleBindings] = await Promise.all([
    bindings<V1RoleBinding>('rolebindings'),
    bindings<V1ClusterRoleBinding>('clusterrolebindings'),
  ]);
  const clusterRoleNames = new Set<string>();
  const roleNames = new Set<string>();
  for (const b of [...roleBindings, ...clusterRoleBindings]) {
    if (b.roleRef.kind === 'ClusterRole') clusterRoleNames.add(b.roleRef.name);
    else if (b.roleRef.kind === 'Role' && b.metadata?.namespace === ns) roleNames.add(b.roleRef.name);
  }
  const [clusterRoles, roles] = await Promise.all([
    referencedRoles<V1ClusterRole>(
      client,
      'clusterroles',
      '',
      clusterRoleNames,
      list,
      missing,
      scope,
      early?.clusterRoles,
    ),
    referencedRoles<V1Role>(client, 'roles', ns, roleNames, list, missing, scope, early?.roles),
  ]);
  // Reads finish in any order: the gaps are named in one order, so the same question gives the same answer.
  return { data: { roles, clusterRoles, roleBindings, clusterRoleBindings }, missing: missing.sort() };
}

/** A list already under way: its items, or why it failed (never an unhandled rejection while it waits). */
type Settled<T> = Promise<{ items: T[] } | { error: unknown }>;

function settle<T>(items: Promise<T[]>): Settled<T> {
  return items.then(
    (found) => ({ items: found }),
    (error: unknown) => ({ error }),
  );
}

/**
 * The named roles: read by name (a 404 is a binding to a role that does
 * not exist, which the analysis reports), or, for many names, one list
 * kept to those names; or kept from the list read while the bindings were
 * (`early`), falling back to names where that list was forbidden.
 */
async function referencedRoles<T extends V1Role | V1ClusterRole>(
  client: KubeClient,
  resource: 'roles' | 'clusterroles',
  ns: string,
  names: Set<string>,
  list: Lister,
  missing: string[],
  scope: LoadScope,
  early?: Settled<T>,
): Promise<T[]> {
  const listed = early ? await early : undefined;
  if (names.size === 0) return [];
  const where = ns ? ` in namespace ${ns}` : '';
  if (listed && 'items' in listed) return listed.items.filter((r) => names.has(r.metadata?.name ?? ''));
  if (listed && !forbidden(listed.error)) throw client.error(`list ${resource}${where}`, listed.error);
  if (names.size > BY_NAME_LIMIT) {
    if (listed) {
      missing.push(`list ${resource}.rbac.authorization.k8s.io${where}`);
      return [];
    }
    try {
      return (await list<T>(resource, ns || undefined)).filter((r) => names.has(r.metadata?.name ?? ''));
    } catch (err) {
      if (!forbidden(err)) throw client.error(`list ${resource}${where}`, err);
      missing.push(`list ${resource}.rbac.authorization.k8s.io${where}`);
      return [];
    }
  }
  const denied: string[] = [];
  const found = await mapLimit([...names].sort(), BY_NAME_CONCURRENCY, async (name) => {
    try {
      return await client.request<T>('GET', resourcePath(TYPES[resource], { namespace: ns || undefined, name }));
    } catch (err) {
      if (apiStatusOf(err)?.code === 404) return undefined;
      if (!forbidden(err)) throw client.error(`get ${resource.slice(0, -1)} ${name}${where}`, err);
      denied.push(name);
      return undefined;
    }
  });
  scope.onRead?.(`read ${count(names.size, resource)}${where} by name (the ones the bindings reference)`);
  if (denied.length) missing.push(`get ${resource}.rbac.authorization.k8s.io${where} (${denied.sort().join(', ')})`);
  return found.filter((r): r is Awaited<T> => r !== undefined);
}
