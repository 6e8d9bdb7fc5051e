import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1PolicyRule } from '@kubernetes/client-node';

import { resolveResource, type ApiResource } from '../../../src/kube/discovery.js';
import { computeMatrix, riskyPaths } from '../../../src/rbac/access.js';
import { NEWEST_RBAC_RULES } from '../../../src/rbac/rules.js';
import {
  allows,
  describeSubject,
  implicitGroups,
  matchesRule,
  RbacIndex,
  subjectApplies,
  whoCan,
  type RequestAttributes,
} from '../../../src/rbac/match.js';

const req = (r: Partial<RequestAttributes>): RequestAttributes => ({
  verb: 'get',
  apiGroup: '',
  resource: 'pods',
  subresource: '',
  name: '',
  namespace: 'ns',
  ...r,
});
const rule = (r: Partial<V1PolicyRule>): V1PolicyRule => ({
  verbs: ['get'],
  apiGroups: [''],
  resources: ['pods'],
  ...r,
});

test('rules match as the RBAC authorizer matches them', () => {
  const cases: Array<[string, V1PolicyRule, RequestAttributes, boolean]> = [
    ['exact', rule({}), req({}), true],
    ['verb *', rule({ verbs: ['*'] }), req({ verb: 'deletecollection' }), true],
    ['other verb', rule({}), req({ verb: 'list' }), false],
    [
      'group *',
      rule({ apiGroups: ['*'], resources: ['deployments'] }),
      req({ apiGroup: 'apps', resource: 'deployments' }),
      true,
    ],
    ['wrong group', rule({ resources: ['deployments'] }), req({ apiGroup: 'apps', resource: 'deployments' }), false],
    ['lone * covers subresources', rule({ resources: ['*'] }), req({ resource: 'pods', subresource: 'log' }), true],
    ['resource does not cover its subresource', rule({}), req({ subresource: 'log' }), false],
    ['resource/sub', rule({ resources: ['pods/log'] }), req({ subresource: 'log' }), true],
    [
      '*/sub',
      rule({ resources: ['*/scale'], apiGroups: ['apps'] }),
      req({ apiGroup: 'apps', resource: 'statefulsets', subresource: 'scale' }),
      true,
    ],
    [
      '*/sub is not the resource',
      rule({ resources: ['*/scale'], apiGroups: ['apps'] }),
      req({ apiGroup: 'apps', resource: 'statefulsets' }),
      false,
    ],
    ['*/sub needs the same subresource', rule({ resources: ['*/scale'] }), req({ subresource: 'status' }), false],
    ['resourceNames match a name', rule({ resourceNames: ['a'] }), req({ name: 'a' }), true],
    ['resourceNames: other name', rule({ resourceNames: ['a'] }), req({ name: 'b' }), false],
    [
      'resourceNames never match a request without a name',
      rule({ verbs: ['list'], resourceNames: ['a'] }),
      req({ verb: 'list' }),
      false,
    ],
    [
      'url exact',
      rule({ apiGroups: undefined, resources: undefined, nonResourceURLs: ['/healthz'] }),
      req({ path: '/healthz' }),
      true,
    ],
    [
      'url prefix',
      rule({ apiGroups: undefined, resources: undefined, nonResourceURLs: ['/logs/*'] }),
      req({ path: '/logs/a/b' }),
      true,
    ],
    [
      'url prefix without the slash',
      rule({ apiGroups: undefined, resources: undefined, nonResourceURLs: ['/logs*'] }),
      req({ path: '/logsx' }),
      true,
    ],
    [
      'url *',
      rule({ apiGroups: undefined, resources: undefined, nonResourceURLs: ['*'] }),
      req({ path: '/anything' }),
      true,
    ],
    [
      'url other',
      rule({ apiGroups: undefined, resources: undefined, nonResourceURLs: ['/logs/*'] }),
      req({ path: '/metrics' }),
      false,
    ],
    [
      'resource rule never matches a url',
      rule({ resources: ['*'], apiGroups: ['*'] }),
      req({ path: '/healthz' }),
      false,
    ],
  ];
  for (const [what, r, q, expected] of cases) assert.equal(matchesRule(r, q), expected, what);
});

test('subjects apply as rule.go applies them', () => {
  const user = { username: 'system:serviceaccount:ns:sa', groups: implicitGroups('system:serviceaccount:ns:sa', []) };
  assert.deepEqual(user.groups.sort(), ['system:authenticated', 'system:serviceaccounts', 'system:serviceaccounts:ns']);
  assert.equal(
    subjectApplies(user, { kind: 'ServiceAccount', name: 'sa' }, 'ns'),
    true,
    'namespace defaults to the binding',
  );
  assert.equal(
    subjectApplies(user, { kind: 'ServiceAccount', name: 'sa' }, ''),
    false,
    'no namespace in a ClusterRoleBinding reaches nobody',
  );
  assert.equal(subjectApplies(user, { kind: 'ServiceAccount', name: 'sa', namespace: 'other' }, 'ns'), false);
  assert.equal(subjectApplies(user, { kind: 'Group', name: 'system:serviceaccounts:ns' }, ''), true);
  assert.equal(
    subjectApplies(
      { username: 'system:anonymous', groups: implicitGroups('system:anonymous', []) },
      { kind: 'Group', name: 'system:unauthenticated' },
      '',
    ),
    true,
  );
  assert.equal(
    describeSubject({ kind: 'Group', name: 'system:serviceaccounts:ns' }),
    'every service account in namespace ns',
  );
  assert.equal(describeSubject({ kind: 'Group', name: 'system:authenticated' }), 'every authenticated user');
});

const index = new RbacIndex({
  clusterRoles: [
    { metadata: { name: 'reader' }, rules: [rule({ verbs: ['get', 'list'] })] },
    { metadata: { name: 'named' }, rules: [rule({ verbs: ['get'], resourceNames: ['only-me'] })] },
    { metadata: { name: 'all' }, rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] },
  ],
  roles: [
    { metadata: { name: 'local', namespace: 'ns' }, rules: [rule({ verbs: ['delete'] })] },
    { metadata: { name: 'local', namespace: 'other' }, rules: [rule({ verbs: ['delete'] })] },
  ],
  roleBindings: [
    {
      metadata: { name: 'rb-cr', namespace: 'ns' },
      roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'sa' }],
    },
    {
      metadata: { name: 'rb-role', namespace: 'ns' },
      roleRef: { apiGroup: '', kind: 'Role', name: 'local' },
      subjects: [{ kind: 'User', name: 'alice' }],
    },
    {
      metadata: { name: 'rb-other', namespace: 'other' },
      roleRef: { apiGroup: '', kind: 'Role', name: 'local' },
      subjects: [{ kind: 'User', name: 'bob' }],
    },
    {
      metadata: { name: 'rb-gone', namespace: 'ns' },
      roleRef: { apiGroup: '', kind: 'Role', name: 'gone' },
      subjects: [{ kind: 'User', name: 'carol' }],
    },
    {
      metadata: { name: 'rb-named', namespace: 'ns' },
      roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'named' },
      subjects: [{ kind: 'User', name: 'dave' }],
    },
  ],
  clusterRoleBindings: [
    {
      metadata: { name: 'crb-all' },
      roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'all' },
      subjects: [{ kind: 'Group', name: 'admins' }],
    },
    {
      metadata: { name: 'crb-sa' },
      roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'lost' }],
    },
  ],
});

test('whoCan keeps RoleBindings (also with -A), ClusterRoleBindings, and the near misses', () => {
  const r = whoCan(index, req({}), false);
  assert.deepEqual(
    r.grants.map((g) => `${g.subject.kind}:${g.subject.namespace ?? ''}/${g.subject.name}@${g.binding.name}`).sort(),
    ['Group:/admins@crb-all', 'ServiceAccount:ns/sa@rb-cr'],
  );
  assert.deepEqual(r.nearMisses.map((m) => m.code).sort(), [
    'ResourceNamesRestricted',
    'RoleMissing',
    'ServiceAccountWithoutNamespace',
  ]);
  const del = whoCan(index, req({ verb: 'delete' }), false);
  assert.ok(del.nearMisses.some((m) => m.code === 'WrongNamespace' && m.binding.namespace === 'other'));
  const all = whoCan(index, req({ verb: 'delete', namespace: '' }), true);
  assert.deepEqual(all.grants.map((g) => `${g.subject.name}@${g.scope || 'cluster'}`).sort(), [
    'admins@cluster',
    'alice@ns',
    'bob@other',
  ]);
  // A request without a namespace sees ClusterRoleBindings only.
  assert.deepEqual(
    whoCan(index, req({ verb: 'delete', namespace: '' }), false).grants.map((g) => g.subject.name),
    ['admins'],
  );
  // With -A, a cluster-scoped resource or a URL still sees ClusterRoleBindings only.
  assert.deepEqual(
    whoCan(index, req({ verb: 'delete', namespace: '' }), true, false).grants.map((g) => g.subject.name),
    ['admins'],
  );
  // (and the resource wildcard of "all" never reaches a URL: only nonResourceURLs rules do)
  assert.deepEqual(
    whoCan(index, req({ verb: 'get', path: '/healthz', namespace: '' }), true, true).grants.map((g) => g.subject.name),
    [],
  );
});

test('allows answers for one user; the matrix and risky paths follow from it', () => {
  assert.equal(allows(index, { username: 'alice', groups: [] }, req({ verb: 'delete' })).length, 1);
  assert.equal(allows(index, { username: 'alice', groups: [] }, req({ verb: 'delete', namespace: 'other' })).length, 0);
  const resources: ApiResource[] = [
    {
      group: '',
      version: 'v1',
      resource: 'pods',
      singular: 'pod',
      kind: 'Pod',
      shortNames: ['po'],
      namespaced: true,
      verbs: ['get', 'list', 'delete'],
      subresources: ['log', 'exec'],
    },
    {
      group: '',
      version: 'v1',
      resource: 'nodes',
      singular: 'node',
      kind: 'Node',
      shortNames: ['no'],
      namespaced: false,
      verbs: ['get', 'list'],
      subresources: [],
    },
  ];
  const dave = computeMatrix(index, { username: 'dave', groups: [] }, 'ns', resources);
  assert.deepEqual(dave[0]?.cells.get, { allowed: false, namesOnly: ['only-me'] });
  const sa = computeMatrix(index, { username: 'system:serviceaccount:ns:sa', groups: [] }, 'ns', resources);
  assert.deepEqual(
    Object.entries(sa[0]!.cells).map(([v, c]) => `${v}:${c!.allowed}`),
    ['get:true', 'list:true', 'delete:false'],
  );
  assert.deepEqual(sa[1]?.cells.get, { allowed: false });
  const admin = riskyPaths(index, { username: 'x', groups: ['admins'] }, 'ns', NEWEST_RBAC_RULES);
  assert.ok(admin.some((r) => r.permission === '* on *'));
  assert.ok(
    admin.some((r) => r.permission === 'create pods' && /can run a pod as any service account/.test(r.consequence)),
  );
  assert.deepEqual(riskyPaths(index, { username: 'alice', groups: [] }, 'ns', NEWEST_RBAC_RULES), []);
});

test('resources resolve as kubectl names them, with a suggestion for a typo', () => {
  const resources: ApiResource[] = [
    {
      group: '',
      version: 'v1',
      resource: 'events',
      singular: 'event',
      kind: 'Event',
      shortNames: ['ev'],
      namespaced: true,
      verbs: ['get'],
      subresources: [],
    },
    {
      group: 'events.k8s.io',
      version: 'v1',
      resource: 'events',
      singular: 'event',
      kind: 'Event',
      shortNames: ['ev'],
      namespaced: true,
      verbs: ['get'],
      subresources: [],
    },
    {
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      singular: 'deployment',
      kind: 'Deployment',
      shortNames: ['deploy'],
      namespaced: true,
      verbs: ['get'],
      subresources: ['scale', 'status'],
    },
  ];
  assert.deepEqual(resolveResource('deploy', resources), {
    group: 'apps',
    resource: 'deployments',
    subresource: '',
    namespaced: true,
  });
  assert.deepEqual(resolveResource('Deployment/scale', resources), {
    group: 'apps',
    resource: 'deployments',
    subresource: 'scale',
    namespaced: true,
  });
  assert.equal(resolveResource('events', resources).group, '', 'the core group wins, as in kubectl');
  assert.equal(resolveResource('events.events.k8s.io', resources).group, 'events.k8s.io');
  assert.deepEqual(resolveResource('users', resources), {
    group: '',
    resource: 'users',
    subresource: '',
    namespaced: false,
    virtual: true,
  });
  assert.equal(resolveResource('signers', resources).group, 'certificates.k8s.io');
  assert.throws(
    () => resolveResource('deploymnt', resources),
    (e: unknown) => /did you mean "deployments"/.test((e as { hint?: string }).hint ?? ''),
  );
  assert.throws(() => resolveResource('deploy/logs', resources), /has no subresource "logs"/);
});

test('the request as the authorizer sees it: a namespace object is its own namespace; -n on cluster-scoped resources is said not to apply', async () => {
  const { requestFor } = await import('../../../src/rbac/whocan.js');
  const { verbWarning } = await import('../../../src/rbac/verbs.js');
  const conn = (namespace?: string) => ({
    allNamespaces: false,
    asGroups: [],
    requestTimeoutMs: 0,
    ...(namespace ? { namespace } : {}),
  });
  const warnings: string[] = [];
  const nsObject = requestFor(
    { verb: 'delete', name: 'rx', connection: conn() },
    { group: '', resource: 'namespaces', subresource: '', namespaced: false },
    'default',
    warnings,
  );
  assert.equal(nsObject.namespace, 'rx');
  const list = requestFor(
    { verb: 'list', connection: conn() },
    { group: '', resource: 'namespaces', subresource: '', namespaced: false },
    'default',
    warnings,
  );
  assert.equal(list.namespace, '');
  assert.deepEqual(warnings, []);
  const nodes = requestFor(
    { verb: 'get', connection: conn('shop') },
    { group: '', resource: 'nodes', subresource: '', namespaced: false },
    'default',
    warnings,
  );
  assert.equal(nodes.namespace, '');
  assert.deepEqual(warnings, ['nodes is cluster-scoped: -n shop does not apply']);
  const pods = requestFor(
    { verb: 'get', connection: conn() },
    { group: '', resource: 'pods', subresource: '', namespaced: true },
    'default',
    [],
  );
  assert.equal(pods.namespace, 'default');
  assert.match(verbWarning('gte', false) ?? '', /"gte" is not a known verb/);
  assert.equal(verbWarning('use', false), undefined);
  assert.equal(verbWarning('post', true), undefined);
  assert.match(verbWarning('list', true) ?? '', /not a known verb for a non-resource URL/);
  // RoleBindings of the namespace grant verbs on the namespace object itself.
  const index = new RbacIndex({
    roles: [
      {
        metadata: { name: 'ns-admin', namespace: 'rx' },
        rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['delete'] }],
      },
    ],
    clusterRoles: [],
    roleBindings: [
      {
        metadata: { name: 'b', namespace: 'rx' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ns-admin' },
        subjects: [{ kind: 'User', name: 'ann' }],
      },
    ],
    clusterRoleBindings: [],
  });
  const { namespaced: _n, ...req } = nsObject;
  assert.deepEqual(
    whoCan(index, req, false, false).grants.map((g) => g.subject.name),
    ['ann'],
  );
  assert.equal(allows(index, { username: 'ann', groups: [] }, req).length, 1);
});

test('resources RBAC names that discovery does not list: PodSecurityPolicies, and any RESOURCE.GROUP spelled out', () => {
  assert.deepEqual(resolveResource('podsecuritypolicies.policy', []), {
    group: 'policy',
    resource: 'podsecuritypolicies',
    subresource: '',
    namespaced: false,
    virtual: true,
  });
  assert.deepEqual(resolveResource('psp', []), {
    group: 'policy',
    resource: 'podsecuritypolicies',
    subresource: '',
    namespaced: false,
    virtual: true,
  });
  assert.deepEqual(resolveResource('widgets.example.com', []), {
    group: 'example.com',
    resource: 'widgets',
    subresource: '',
    namespaced: true,
    notServed: true,
  });
  assert.throws(() => resolveResource('widgets', []), /the server has no resource type "widgets"/);
});
