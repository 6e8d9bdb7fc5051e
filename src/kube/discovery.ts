/**
 * API discovery, and resource names resolved as kubectl resolves them:
 * plural, singular, short names, kinds, group-qualified (deployments.apps),
 * with a subresource (pods/log). Discovery is kubectl's: from its disk
 * cache while that is fresh (discoverycache.ts), else two requests (aggregated
 * discovery v2) whose answer is cached for the next command; a name the
 * cache does not know sends one rediscovery, as kubectl's RESTMapper does.
 * The conversions and the resolution are pure.
 */
import { UsageError } from '../base/errors.js';
import type { KubeClient } from './client.js';
import {
  readDiscoveryCache,
  writeDiscoveryCache,
  type ApiGroup,
  type ApiGroupList,
  type ApiResourceEntry,
  type ApiResourceList,
} from './discoverycache.js';

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

interface GroupVersionKind {
  group?: string;
  version?: string;
  kind?: string;
}

export interface DiscoveryV2 {
  kind?: string;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{
      version: string;
      freshness?: string;
      resources?: Array<{
        resource: string;
        singularResource?: string;
        responseKind?: GroupVersionKind;
        scope?: string;
        verbs?: string[] | null;
        shortNames?: string[];
        categories?: string[];
        subresources?: Array<{ subresource: string; responseKind?: GroupVersionKind; verbs?: string[] | null }>;
      }>;
    }>;
  }>;
}

const ACCEPT_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

const hasKind = (k: GroupVersionKind | undefined): k is GroupVersionKind =>
  Boolean(k && (k.group || k.version || k.kind));

/** An APIResource with its fields in metav1's order and omitempty, so the JSON is byte for byte kubectl's. */
function resourceEntry(e: {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: GroupVersionKind;
  verbs: string[] | null | undefined;
  shortNames?: string[] | undefined;
  categories?: string[] | undefined;
}): ApiResourceEntry {
  const out: ApiResourceEntry = {
    name: e.name,
    singularName: e.singularName,
    namespaced: e.namespaced,
  } as ApiResourceEntry;
  if (e.kind.group) out.group = e.kind.group;
  if (e.kind.version) out.version = e.kind.version;
  out.kind = e.kind.kind ?? '';
  out.verbs = e.verbs ?? null;
  if (e.shortNames?.length) out.shortNames = e.shortNames;
  if (e.categories?.length) out.categories = e.categories;
  return out;
}

/**
 * Aggregated discovery (/api, then /apis) split into the group list and
 * one resource list per group version, as client-go's
 * SplitGroupsAndResources does: stale versions left out, the first version
 * preferred, subresources as "resource/subresource" entries. Pure.
 */
export function splitAggregated(docs: DiscoveryV2[]): { groups: ApiGroupList; lists: ApiResourceList[] } {
  const groups: ApiGroup[] = [];
  const lists: ApiResourceList[] = [];
  for (const doc of docs) {
    for (const item of doc.items ?? []) {
      const name = item.metadata?.name ?? '';
      const versions: ApiGroup['versions'] = [];
      let preferred: ApiGroup['preferredVersion'] | undefined;
      for (const v of item.versions ?? []) {
        if (v.freshness === 'Stale') continue;
        const gv = { groupVersion: name ? `${name}/${v.version}` : v.version, version: v.version };
        versions.push(gv);
        preferred ??= gv;
        const resources: ApiResourceEntry[] = [];
        for (const r of v.resources ?? []) {
          const parent = {
            name: r.resource,
            singularName: r.singularResource ?? '',
            namespaced: r.scope === 'Namespaced',
          };
          if (hasKind(r.responseKind))
            resources.push(
              resourceEntry({
                ...parent,
                kind: r.responseKind,
                verbs: r.verbs,
                shortNames: r.shortNames,
                categories: r.categories,
              }),
            );
          for (const sub of r.subresources ?? []) {
            if (!hasKind(sub.responseKind)) continue;
            resources.push(
              resourceEntry({
                ...parent,
                name: `${r.resource}/${sub.subresource}`,
                kind: sub.responseKind,
                verbs: sub.verbs,
              }),
            );
          }
        }
        lists.push({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv.groupVersion, resources });
      }
      groups.push({
        name,
        versions: versions.length ? versions : null,
        preferredVersion: preferred ?? { groupVersion: '', version: '' },
      });
    }
  }
  return { groups: { kind: 'APIGroupList', apiVersion: 'v1', groups }, lists };
}

/** Every resource of the preferred version of every group, core first, subresources folded in. Pure. */
export function resourcesOf(groups: ApiGroupList, lists: ApiResourceList[]): ApiResource[] {
  const byVersion = new Map(lists.map((l) => [l.groupVersion, l]));
  const out: ApiResource[] = [];
  for (const g of groups.groups) {
    const list = byVersion.get(g.preferredVersion.groupVersion);
    if (!list) continue;
    const byName = new Map<string, ApiResource>();
    for (const r of list.resources) {
      const [resource = '', subresource] = r.name.split('/');
      if (subresource !== undefined) {
        byName.get(resource)?.subresources.push(subresource);
        continue;
      }
      const entry: ApiResource = {
        group: g.name,
        version: g.preferredVersion.version,
        resource,
        singular: r.singularName,
        kind: r.kind,
        shortNames: r.shortNames ?? [],
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
        subresources: [],
      };
      byName.set(resource, entry);
      out.push(entry);
    }
  }
  return out;
}

export interface Discovery {
  resources: ApiResource[];
  /** Read from files this command did not write: a name they lack may be new on the server. */
  fromCache: boolean;
}

/**
 * The cluster's resources: from kubectl's disk cache when fresh (unless fresh is asked), else from the
 * server (and cached).
 */
export async function discover(client: KubeClient, opts: { fresh?: boolean } = {}): Promise<Discovery> {
  const dir = client.discoveryCacheDir;
  const cached = opts.fresh ? undefined : readDiscoveryCache(dir);
  if (cached) return { resources: resourcesOf(cached.groups, cached.lists), fromCache: true };
  const docs = await Promise.all(
    ['/api', '/apis'].map(async (path) => {
      const doc = await client.call(`discover ${path}`, () =>
        client.request<DiscoveryV2>('GET', path, { headers: { Accept: ACCEPT_V2 } }),
      );
      if (doc.kind !== 'APIGroupDiscoveryList')
        throw new UsageError(
          'the API server does not serve aggregated discovery (v2), which kubectl-study needs (Kubernetes 1.30+)',
        );
      return doc;
    }),
  );
  const { groups, lists } = splitAggregated(docs);
  writeDiscoveryCache(dir, groups, lists);
  return { resources: resourcesOf(groups, lists), fromCache: false };
}

/**
 * Resolves a resource name against discovery; a name that only a fresher
 * discovery could know (the cache predates a CRD) rediscovers once.
 */
export async function resolveDiscovered(
  client: KubeClient,
  text: string,
): Promise<{ resolved: ResolvedResource; resources: ApiResource[] }> {
  const first = await discover(client);
  try {
    const resolved = resolveResource(text, first.resources);
    if (!first.fromCache || !resolved.notServed) return { resolved, resources: first.resources };
  } catch (err) {
    if (!first.fromCache || !(err instanceof UsageError)) throw err;
  }
  const fresh = await discover(client, { fresh: true });
  return { resolved: resolveResource(text, fresh.resources), resources: fresh.resources };
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
  {
    group: 'policy',
    resource: 'podsecuritypolicies',
    names: ['podsecuritypolicies', 'podsecuritypolicy', 'psp'],
    namespaced: false,
  },
];

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(
        dp[i - 1]![j]! + 1,
        dp[i]![j - 1]! + 1,
        dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
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
    const preferred = matches.find((m) => m.group === '') ?? matches[0]!;
    if (subresource && !preferred.subresources.includes(subresource)) {
      throw new UsageError(
        `${preferred.resource}${preferred.group ? `.${preferred.group}` : ''} has no subresource "${subresource}"`,
        {
          hint: preferred.subresources.length
            ? `its subresources: ${preferred.subresources.join(', ')}`
            : 'it has no subresources',
        },
      );
    }
    return { group: preferred.group, resource: preferred.resource, subresource, namespaced: preferred.namespaced };
  }
  const virtual = VIRTUAL.find((x) => x.names.includes(name) && (group === undefined || group === x.group));
  if (virtual)
    return {
      group: virtual.group,
      resource: virtual.resource,
      subresource,
      namespaced: virtual.namespaced,
      virtual: true,
    };
  // RESOURCE.GROUP spelled out: RBAC can grant it whether or not this cluster serves it.
  if (
    group !== undefined &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) &&
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(group)
  ) {
    return { group, resource: name, subresource, namespaced: true, notServed: true };
  }
  const candidates = [...new Set(resources.flatMap((r) => [r.resource, ...r.shortNames]))];
  const best = candidates.map((c) => ({ c, d: distance(name, c) })).sort((a, b) => a.d - b.d)[0];
  throw new UsageError(`the server has no resource type "${head}"`, {
    hint:
      best && best.d <= 3
        ? `did you mean "${best.c}"? ("kubectl api-resources" lists them all)`
        : 'run "kubectl api-resources" to list them',
  });
}
