/**
 * The one URL builder: every request kubectl-study sends, list, watch,
 * review or write, gets its path from resourcePath() and its URL from
 * apiUrl(). A server URL with a path of its own (Rancher's
 * https://host/k8s/clusters/c-xyz, API gateways) keeps that path, as
 * client-go keeps it. Pure.
 */

/** An API resource: core resources have group ''. */
export interface ResourceType {
  group: string;
  version: string;
  /** The plural resource name: pods, deployments. */
  resource: string;
  namespaced: boolean;
}

export const RESOURCES = {
  nodes: { group: '', version: 'v1', resource: 'nodes', namespaced: false },
  pods: { group: '', version: 'v1', resource: 'pods', namespaced: true },
  namespaces: { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
  serviceAccounts: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  events: { group: '', version: 'v1', resource: 'events', namespaced: true },
  configMaps: { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
  persistentVolumes: { group: '', version: 'v1', resource: 'persistentvolumes', namespaced: false },
  persistentVolumeClaims: { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true },
  replicationControllers: { group: '', version: 'v1', resource: 'replicationcontrollers', namespaced: true },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  statefulSets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true },
  daemonSets: { group: 'apps', version: 'v1', resource: 'daemonsets', namespaced: true },
  replicaSets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true },
  controllerRevisions: { group: 'apps', version: 'v1', resource: 'controllerrevisions', namespaced: true },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs', namespaced: true },
  cronJobs: { group: 'batch', version: 'v1', resource: 'cronjobs', namespaced: true },
  storageClasses: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false },
  volumeAttachments: { group: 'storage.k8s.io', version: 'v1', resource: 'volumeattachments', namespaced: false },
  podDisruptionBudgets: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true },
  roles: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', namespaced: true },
  roleBindings: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', namespaced: true },
  clusterRoles: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', namespaced: false },
  clusterRoleBindings: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'clusterrolebindings',
    namespaced: false,
  },
  selfSubjectAccessReviews: {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'selfsubjectaccessreviews',
    namespaced: false,
  },
  selfSubjectRulesReviews: {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'selfsubjectrulesreviews',
    namespaced: false,
  },
  subjectAccessReviews: {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'subjectaccessreviews',
    namespaced: false,
  },
  selfSubjectReviews: {
    group: 'authentication.k8s.io',
    version: 'v1',
    resource: 'selfsubjectreviews',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;

export interface ObjectRef {
  /** Omit for a cluster-scoped resource, or for every namespace of a namespaced one. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** /api/v1/namespaces/NS/pods/NAME/eviction, /apis/apps/v1/deployments, ... */
export function resourcePath(type: Pick<ResourceType, 'group' | 'version' | 'resource'>, ref: ObjectRef = {}): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  const name = ref.name !== undefined ? `/${encodeURIComponent(ref.name)}` : '';
  const sub = ref.name !== undefined && ref.subresource ? `/${ref.subresource}` : '';
  return `${base}${ns}/${type.resource}${name}${sub}`;
}

export type Query = Record<string, string | number | boolean | undefined>;

/**
 * The full URL of an API path on a server: the server's own path (if any)
 * comes first, as client-go joins them. `path` may carry its query already.
 */
export function apiUrl(server: string, path: string, query: Query = {}): string {
  const [pathname, existing] = path.split('?', 2) as [string, string | undefined];
  const params = new URLSearchParams(existing);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const search = params.toString();
  // The path is resourcePath()'s, already encoded: joined, not parsed again (every request comes here).
  return `${serverBase(server)}${pathname.startsWith('/') ? '' : '/'}${pathname}${search ? `?${search}` : ''}`;
}

let lastServer: { server: string; base: string } | undefined;

/** The server's origin and path prefix, parsed once per server (every request asks). */
function serverBase(server: string): string {
  if (lastServer?.server !== server) {
    const u = new URL(server);
    lastServer = { server, base: `${u.origin}${u.pathname.replace(/\/+$/, '')}` };
  }
  return lastServer.base;
}
