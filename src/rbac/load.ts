/**
 * Reading RBAC objects, and saying exactly which reads were forbidden
 * instead of failing: an answer built from less is marked incomplete.
 */
import type { V1ClusterRole, V1ClusterRoleBinding, V1Role, V1RoleBinding } from '@kubernetes/client-node';

import { apiStatusOf } from '../kube/apierror.js';
import type { KubeClient } from '../kube/client.js';
import { listPath } from '../kube/list.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import type { RbacData } from './match.js';

export interface LoadedRbac {
  data: RbacData;
  /** Reads that were forbidden, e.g. "list clusterrolebindings.rbac.authorization.k8s.io (cluster-wide)". */
  missing: string[];
}

type RbacResource = 'roles' | 'rolebindings' | 'clusterroles' | 'clusterrolebindings';
const TYPES = { roles: RESOURCES.roles, rolebindings: RESOURCES.roleBindings, clusterroles: RESOURCES.clusterRoles, clusterrolebindings: RESOURCES.clusterRoleBindings } as const;

async function listItems<T>(client: KubeClient, resource: RbacResource, namespace?: string): Promise<T[]> {
  return (await listPath<T>(client, resourcePath(TYPES[resource], namespace ? { namespace } : {}))).items;
}

export interface LoadScope {
  /**
   * Only Roles and RoleBindings of this namespace are needed ('' : none at
   * all, for a cluster-scoped question). Undefined: every namespace's.
   */
  onlyNamespace?: string;
}

/**
 * Lists roles and bindings cluster-wide (or, for a question about one
 * namespace, that namespace's); where a cluster-wide list is forbidden and a
 * namespace is known, falls back to that namespace and notes the gap.
 */
export async function loadRbac(client: KubeClient, namespace: string, scope: LoadScope = {}): Promise<LoadedRbac> {
  const missing: string[] = [];
  const forbidden = (err: unknown): boolean => apiStatusOf(err)?.code === 403;
  const attempt = async <T>(resource: RbacResource, namespaced: boolean): Promise<T[]> => {
    try {
      return await listItems<T>(client, resource);
    } catch (err) {
      if (!forbidden(err)) throw client.error(`list ${resource}`, err);
      if (!namespaced || !namespace) {
        missing.push(`list ${resource}.rbac.authorization.k8s.io${namespaced ? ' in all namespaces' : ''}`);
        return [];
      }
      missing.push(`list ${resource}.rbac.authorization.k8s.io in all namespaces (only namespace ${namespace} was read)`);
      try {
        return await listItems<T>(client, resource, namespace);
      } catch (err2) {
        if (!forbidden(err2)) throw client.error(`list ${resource} in ${namespace}`, err2);
        missing.push(`list ${resource}.rbac.authorization.k8s.io in namespace ${namespace}`);
        return [];
      }
    }
  };
  const namespaced = async <T>(resource: RbacResource): Promise<T[]> => {
    if (scope.onlyNamespace === undefined) return attempt<T>(resource, true);
    if (scope.onlyNamespace === '') return [];
    try {
      return await listItems<T>(client, resource, scope.onlyNamespace);
    } catch (err) {
      if (!forbidden(err)) throw client.error(`list ${resource} in ${scope.onlyNamespace}`, err);
      missing.push(`list ${resource}.rbac.authorization.k8s.io in namespace ${scope.onlyNamespace}`);
      return [];
    }
  };
  const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all([
    namespaced<V1Role>('roles'),
    attempt<V1ClusterRole>('clusterroles', false),
    namespaced<V1RoleBinding>('rolebindings'),
    attempt<V1ClusterRoleBinding>('clusterrolebindings', false),
  ]);
  return { data: { roles, clusterRoles, roleBindings, clusterRoleBindings }, missing };
}
