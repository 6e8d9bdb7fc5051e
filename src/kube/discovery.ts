/**
 * API discovery, and resource names resolved as kubectl resolves them:
 * plural, singular, short names, kinds, group-qualified (deployments.apps),
 * with a subresource (pods/log). Discovery itself is two requests
 * (aggregated discovery v2); resolution is pure.
 */
import { UsageError } from '../base/errors.js';
import type { KubeClient } from './client.js';

export interface ApiResource {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  shortNames: string[];
  namespaced: boolean;
  verbs: string[];
  subresources: string[];
}

interface DiscoveryV2 {
  kind?: string;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{
      version: string;
      resources?: Array<{
        resource: string;
        singularResource?: string;
        responseKind?: { kind?: string };
        scope?: string;
        verbs?: string[];
        shortNames?: string[];
        subresources?: Array<{ subresource: string }>;
      }>;
    }>;
  }>;
}

const ACCEPT_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

/** Every resource of the preferred version of every group, core first. */
export async function discover(client: KubeClient): Promise<ApiResource[]> {
  const out: ApiResource[] = [];
  for (const path of ['/api', '/apis']) {
    const doc = await client.call(`discover ${path}`, () => client.request<DiscoveryV2>('GET', path, { headers: { Accept: ACCEPT_V2 } }));
    if (doc.kind !== 'APIGroupDiscoveryList') throw new UsageError('the API server does not serve aggregated discovery (v2), which kubectl-study needs (Kubernetes 1.30+)');
    for (const group of doc.items ?? []) {
      const version = group.versions?.[0];
      if (!version) continue;
      for (const r of version.resources ?? []) {
        out.push({
          group: group.metadata?.name ?? '',
          version: version.version,
          resource: r.resource,
          singular: r.singularResource ?? '',
          kind: r.responseKind?.kind ?? '',
          shortNames: r.shortNames ?? [],
          namespaced: r.scope === 'Namespaced',
          verbs: r.verbs ?? [],
          subresources: (r.subresources ?? []).map((s) => s.subresource),
        });
      }
    }
  }
  return out;
}

export interface ResolvedResource {
  group: string;
  resource: string;
  subresource: string;
  namespaced: boolean;
  /** Not in discovery, known to RBAC all the same (impersonate users, sign signers...). */
  virtual?: boolean;
  /** Named with its group but not served by this cluster: RBAC rules can name it all the same. */
  notServed?: boolean;
}

/** Resources RBAC knows that discovery does not list. */
const VIRTUAL: Array<{ group: string; resource: string; names: string[]; namespaced: boolean }> = [
  { group: '', resource: 'users', names: ['users', 'user'], namespaced: false },
  { group: '', resource: 'groups', names: ['groups', 'group'], namespaced: false },
  { group: 'authentication.k8s.io', resource: 'uids', names: ['uids', 'uid'], namespaced: false },
  { group: 'authentication.k8s.io', resource: 'userextras', names: ['userextras'], namespaced: false },
  { group: 'certificates.k8s.io', resource: 'signers', names: ['signers', 'signer'], namespaced: false },
  // Removed from the API in 1.25, still named by the `use` verb in old RBAC rules.
  { group: 'policy', resource: 'podsecuritypolicies', names: ['podsecuritypolicies', 'podsecuritypolicy', 'psp'], namespaced: false },
];

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}

/** Resolves RESOURCE[.GROUP][/SUBRESOURCE] against discovery. Pure. */
export function resolveResource(text: string, resources: ApiResource[]): ResolvedResource {
  const [head, subresource = '', extra] = text.split('/');
  if (extra !== undefined || !head) throw new UsageError(`"${text}" is not RESOURCE or RESOURCE/SUBRESOURCE`);
  const lower = head.toLowerCase();
  if (lower === '*') return { group: '*', resource: '*', subresource, namespaced: true };
  const dot = lower.indexOf('.');
  const name = dot >= 0 ? lower.slice(0, dot) : lower;
  const group = dot >= 0 ? lower.slice(dot + 1) : undefined;
  const matches = resources.filter(
    (r) =>
      (group === undefined || r.group === group) &&
      (r.resource === name || r.singular === name || r.shortNames.includes(name) || r.kind.toLowerCase() === name),
  );
  if (matches.length > 0) {
    // kubectl prefers the core group, then discovery order.
    const r = matches.find((m) => m.group === '') ?? matches[0]!;
    if (subresource && !r.subresources.includes(subresource)) {
      throw new UsageError(`${r.resource}${r.group ? `.${r.group}` : ''} has no subresource "${subresource}"`, {
        hint: r.subresources.length ? `its subresources: ${r.subresources.join(', ')}` : 'it has no subresources',
      });
    }
    return { group: r.group, resource: r.resource, subresource, namespaced: r.namespaced };
  }
  const v = VIRTUAL.find((x) => x.names.includes(name) && (group === undefined || group === x.group));
  if (v) return { group: v.group, resource: v.resource, subresource, namespaced: v.namespaced, virtual: true };
  // RESOURCE.GROUP spelled out: RBAC can grant it whether or not this cluster serves it.
  if (group !== undefined && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(group)) {
    return { group, resource: name, subresource, namespaced: true, notServed: true };
  }
  const candidates = [...new Set(resources.flatMap((r) => [r.resource, ...r.shortNames]))];
  const best = candidates.map((c) => ({ c, d: distance(name, c) })).sort((a, b) => a.d - b.d)[0];
  throw new UsageError(`the server has no resource type "${head}"`, {
    hint: best && best.d <= 3 ? `did you mean "${best.c}"? ("kubectl api-resources" lists them all)` : 'run "kubectl api-resources" to list them',
  });
}
