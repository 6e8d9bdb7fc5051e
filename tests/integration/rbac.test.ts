/**
 * RBAC analysis against the API server's own authorizer: a generated set
 * of roles and bindings that exercises every matching rule, and hundreds of
 * questions answered both ways.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import type { V1PolicyRule } from '@kubernetes/client-node';

import { connect } from '../../src/kube/client.js';
import { loadRbac } from '../../src/rbac/load.js';
import {
  allows,
  implicitGroups,
  matchesRule,
  RbacIndex,
  serviceAccountUsername,
  type RequestAttributes,
  type UserInfo,
} from '../../src/rbac/match.js';
import { subjectAccessReview } from '../../src/kube/reviews.js';
import { reviewAttributes } from '../../src/rbac/whocan.js';
import { resourcePath } from '../../src/kube/url.js';
import { mapLimit } from '../../src/base/concurrency.js';
import {
  apis,
  auditMark,
  cluster,
  eventually,
  kubectl,
  mintUser,
  runPlugin,
  suffix,
  testNamespace,
  writesBy,
} from '../support/cluster.js';

const RBAC = 'rbac.authorization.k8s.io';

function adminClient(): ReturnType<typeof connect> {
  return connect({
    kubeconfig: cluster().adminKubeconfig,
    allNamespaces: false,
    asGroups: [],
    requestTimeoutMs: 30_000,
  });
}

interface Fixture {
  id: string;
  a: string;
  b: string;
  users: Record<string, UserInfo>;
}

async function fixture(t: TestContext): Promise<Fixture> {
  const id = suffix();
  const a = await testNamespace(t, 'rbac-a');
  const b = await testNamespace(t, 'rbac-b');
  const { rbac } = apis();
  const role = (ns: string, name: string, rules: V1PolicyRule[]) =>
    rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name }, rules } });
  const rb = (
    ns: string,
    name: string,
    roleRef: { kind: string; name: string },
    subjects: Array<{ kind: string; name: string; namespace?: string }>,
  ) =>
    rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name },
        roleRef: { apiGroup: RBAC, ...roleRef },
        subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: RBAC, ...s })),
      },
    });
  const cr = (name: string, rules: V1PolicyRule[] | undefined, extra: Record<string, unknown> = {}) =>
    rbac.createClusterRole({
      body: {
        metadata: { name: `kstudy-${id}-${name}`, ...(extra.metadata as object) },
        rules,
        ...(extra.aggregationRule ? { aggregationRule: extra.aggregationRule } : {}),
      },
    });
  const crb = (name: string, roleName: string, subjects: Array<{ kind: string; name: string; namespace?: string }>) =>
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `kstudy-${id}-${name}` },
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `kstudy-${id}-${roleName}` },
        subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: RBAC, ...s })),
      },
    });
  t.after(async () => {
    for (const n of ['urls', 'special', 'agg', 'secrets'])
      await rbac.deleteClusterRoleBinding({ name: `kstudy-${id}-${n}` }).catch(() => {});
    for (const n of ['urls', 'special', 'agg-parent', 'agg-child', 'secrets'])
      await rbac.deleteClusterRole({ name: `kstudy-${id}-${n}` }).catch(() => {});
  });

  await role(a, 'star-verbs', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }]);
  await role(a, 'named', [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cm1'], verbs: ['get', 'update', 'list'] },
  ]);
  await role(a, 'subres', [
    { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['get', 'update'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
  ]);
  await role(b, 'all-core', [{ apiGroups: [''], resources: ['*'], verbs: ['list'] }]);
  await role(a, 'any-group', [{ apiGroups: ['*'], resources: ['statefulsets'], verbs: ['watch'] }]);
  await cr('secrets', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  await cr('urls', [{ nonResourceURLs: [`/kstudy-${id}/*`, `/kstudy-exact-${id}`], verbs: ['get'] }]);
  await cr('special', [
    { apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] },
    { apiGroups: [RBAC], resources: ['roles', 'clusterroles'], verbs: ['bind', 'escalate'] },
    {
      apiGroups: ['certificates.k8s.io'],
      resources: ['signers'],
      resourceNames: ['example.com/signer'],
      verbs: ['approve', 'sign'],
    },
  ]);
  await cr('agg-parent', undefined, {
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`kstudy.test/agg-${id}`]: 'true' } }] },
  });
  await cr('agg-child', [{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'get'] }], {
    metadata: { labels: { [`kstudy.test/agg-${id}`]: 'true' } },
  });

  const u = (n: string): string => `${n}-${id}`;
  await rb(a, 'star', { kind: 'Role', name: 'star-verbs' }, [{ kind: 'User', name: u('u1') }]);
  await rb(a, 'secrets', { kind: 'ClusterRole', name: `kstudy-${id}-secrets` }, [{ kind: 'Group', name: u('g1') }]);
  await rb(a, 'named', { kind: 'Role', name: 'named' }, [{ kind: 'ServiceAccount', name: 'sa1' }]);
  await rb(b, 'all-core', { kind: 'Role', name: 'all-core' }, [{ kind: 'ServiceAccount', name: 'sa2', namespace: a }]);
  await rb(a, 'subres', { kind: 'Role', name: 'subres' }, [{ kind: 'User', name: u('u4') }]);
  await rb(a, 'any-group', { kind: 'Role', name: 'any-group' }, [
    { kind: 'Group', name: `system:serviceaccounts:${a}` },
  ]);
  await rb(a, 'dangling', { kind: 'Role', name: 'does-not-exist' }, [{ kind: 'User', name: u('u1') }]);
  await crb('urls', 'urls', [{ kind: 'Group', name: u('g2') }]);
  await crb('special', 'special', [{ kind: 'User', name: u('u2') }]);
  await crb('agg', 'agg-parent', [{ kind: 'User', name: u('u3') }]);
  // Bootstrap roles (aggregated edit, view) through a RoleBinding and a ClusterRoleBinding.
  await rb(a, 'edit', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'User', name: u('u5') }]);
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `kstudy-${id}-view` },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: RBAC, kind: 'Group', name: u('g3') }],
    },
  });
  t.after(() => rbac.deleteClusterRoleBinding({ name: `kstudy-${id}-view` }).catch(() => {}));
  await eventually(
    'the aggregated ClusterRole to be filled',
    async () => ((await rbac.readClusterRole({ name: `kstudy-${id}-agg-parent` })).rules ?? []).length > 0,
  );
  const users: Record<string, UserInfo> = {};
  const add = (key: string, username: string, groups: string[] = []): void => {
    users[key] = { username, groups: implicitGroups(username, groups) };
  };
  add('u1', u('u1'));
  add('u2', u('u2'));
  add('u3', u('u3'));
  add('u4', u('u4'));
  add('g1', u('member'), [u('g1')]);
  add('g2', u('member2'), [u('g2')]);
  add('sa1', serviceAccountUsername(a, 'sa1'));
  add('sa2', serviceAccountUsername(a, 'sa2'));
  add('u5', u('u5'));
  add('g3', u('member3'), [u('g3')]);
  add('master', u('root'), ['system:masters']);
  add('nobody', u('nobody'));
  add('anonymous', 'system:anonymous', []);
  // Let the authorizer's caches catch up with the last binding.
  await eventually(
    'the authorizer to see the bindings',
    async () =>
      (
        await subjectAccessReview(
          adminClient(),
          { user: u('u3'), groups: ['system:authenticated'] },
          { verb: 'list', group: '', resource: 'nodes' },
        )
      ).allowed,
  );
  return { id, a, b, users };
}

/** A deterministic pseudo-random stream, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

test('rule analysis and the API server answer hundreds of questions the same way', async (t) => {
  const fx = await fixture(t);
  const client = adminClient();
  const index = new RbacIndex((await loadRbac(client, '')).data);
  const resources: Array<[string, string, string, boolean]> = [
    ['', 'configmaps', '', true],
    ['', 'secrets', '', true],
    ['', 'pods', '', true],
    ['', 'pods', 'log', true],
    ['', 'pods', 'exec', true],
    ['apps', 'deployments', '', true],
    ['apps', 'deployments', 'scale', true],
    ['apps', 'statefulsets', 'scale', true],
    ['apps', 'statefulsets', '', true],
    ['', 'nodes', '', false],
    ['', 'users', '', false],
    ['', 'groups', '', false],
    [RBAC, 'roles', '', true],
    [RBAC, 'clusterroles', '', false],
    ['certificates.k8s.io', 'signers', '', false],
    ['', 'namespaces', '', false],
    ['', 'serviceaccounts', '', true],
  ];
  // Common verbs weigh more; the special ones are all there.
  const verbs = [
    'get',
    'get',
    'get',
    'list',
    'list',
    'list',
    'watch',
    'watch',
    'create',
    'create',
    'update',
    'patch',
    'delete',
    'deletecollection',
    'impersonate',
    'bind',
    'escalate',
    'approve',
    'sign',
  ];
  const names = ['', 'cm1', 'other', 'example.com/signer'];
  const namespaces = [fx.a, fx.b, 'default'];
  const users = Object.values(fx.users);
  const questions: Array<{ user: UserInfo; req: RequestAttributes }> = [];
  const random = rng(42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
  // Every subject against the resources its bindings name, plus a random spread of the rest.
  for (const user of users) {
    for (const [group, resource, sub, namespaced] of resources) {
      const verb = pick(verbs);
      questions.push({
        user,
        req: {
          verb,
          apiGroup: group,
          resource,
          subresource: sub,
          name: '',
          namespace: namespaced ? pick(namespaces) : '',
        },
      });
    }
  }
  while (questions.length < 1000) {
    const [group, resource, sub, namespaced] = pick(resources);
    const verb = pick(verbs);
    const name = ['list', 'create', 'deletecollection'].includes(verb) ? '' : pick(names);
    questions.push({
      user: pick(users),
      req: { verb, apiGroup: group, resource, subresource: sub, name, namespace: namespaced ? pick(namespaces) : '' },
    });
  }
  // Pointed questions for each rule form.
  const q = (key: string, req: Partial<RequestAttributes>): void => {
    questions.push({
      user: fx.users[key]!,
      req: { verb: 'get', apiGroup: '', resource: '', subresource: '', name: '', namespace: '', ...req },
    });
  };
  q('u1', { verb: 'patch', resource: 'configmaps', namespace: fx.a });
  q('u1', { verb: 'patch', resource: 'configmaps', namespace: fx.b });
  q('sa1', { verb: 'get', resource: 'configmaps', name: 'cm1', namespace: fx.a });
  q('sa1', { verb: 'get', resource: 'configmaps', name: 'cm2', namespace: fx.a });
  q('sa1', { verb: 'list', resource: 'configmaps', namespace: fx.a });
  q('sa2', { verb: 'list', resource: 'pods', namespace: fx.b });
  q('sa2', { verb: 'list', resource: 'pods', subresource: 'log', namespace: fx.b });
  q('sa2', { verb: 'list', apiGroup: 'apps', resource: 'deployments', namespace: fx.b });
  q('u4', { verb: 'update', apiGroup: 'apps', resource: 'statefulsets', subresource: 'scale', namespace: fx.a });
  q('u4', { verb: 'update', apiGroup: 'apps', resource: 'statefulsets', namespace: fx.a });
  q('u4', { verb: 'get', resource: 'pods', subresource: 'log', namespace: fx.a });
  q('sa1', { verb: 'watch', apiGroup: 'apps', resource: 'statefulsets', namespace: fx.a });
  q('u2', { verb: 'approve', apiGroup: 'certificates.k8s.io', resource: 'signers', name: 'example.com/signer' });
  q('u2', { verb: 'approve', apiGroup: 'certificates.k8s.io', resource: 'signers', name: 'example.com/other' });
  q('u3', { verb: 'get', resource: 'nodes', name: 'kwok-node-1' });
  for (const path of [
    `/kstudy-${fx.id}/a/b`,
    `/kstudy-${fx.id}`,
    `/kstudy-${fx.id}/`,
    `/kstudy-exact-${fx.id}`,
    `/kstudy-exact-${fx.id}/x`,
    '/healthz',
    '/metrics',
    '/api',
  ]) {
    for (const key of ['g2', 'nobody', 'anonymous', 'u1']) {
      for (const verb of ['get', 'post']) q(key, { verb, path });
    }
  }
  assert.ok(questions.length >= 1000);

  const answers = await mapLimit(questions, 24, async ({ user, req }) => {
    const rbac = allows(index, user, req).length > 0 || user.groups.includes('system:masters');
    const server = (
      await subjectAccessReview(client, { user: user.username, groups: user.groups }, reviewAttributes(req))
    ).allowed;
    return { user: user.username, req, rbac, server };
  });
  const disagreements = answers.filter((a) => a.rbac !== a.server);

  // whocan itself, over the fixture's questions: every subject it names is confirmed (--verify) by the authorizer.
  const whocanQuestions = [
    ['patch', 'configmaps', '-n', fx.a],
    ['get', 'configmaps', 'cm1', '-n', fx.a],
    ['delete', 'configmaps', '-n', fx.a],
    ['get', 'secrets', '-n', fx.a],
    ['list', 'pods', '-n', fx.b],
    ['get', 'pods/log', '-n', fx.a],
    ['create', 'pods/exec', '-n', fx.a],
    ['update', 'statefulsets/scale', '-n', fx.a],
    ['watch', 'statefulsets', '-n', fx.a],
    ['create', 'deployments.apps', '-n', fx.b],
    ['escalate', 'roles.rbac.authorization.k8s.io', '-n', fx.a],
    ['bind', 'clusterroles.rbac.authorization.k8s.io'],
    ['impersonate', 'users'],
    ['approve', 'signers.certificates.k8s.io', 'example.com/signer'],
    ['get', 'nodes', 'kwok-node-1'],
    ['list', 'namespaces'],
    ['get', '--url', `/kstudy-${fx.id}/a/b`],
    ['get', '--url', `/kstudy-exact-${fx.id}`],
    ['get', '--url', '/healthz'],
  ];
  const env = { KUBECONFIG: cluster().adminKubeconfig };
  const whocanRuns = await mapLimit(whocanQuestions, 4, async (args) => {
    const r = await runPlugin('kubectl-whocan', [...args, '--verify', '-o', 'json'], { env, timeoutMs: 120_000 });
    let rows: Array<{ subject: { kind: string; name: string }; scope: string; verified?: unknown }> = [];
    try {
      rows = (JSON.parse(r.stdout) as { subjects: typeof rows }).subjects;
    } catch {
      // counted below as a question with no rows, and failed after the count is reported
    }
    return { args, code: r.code, stderr: r.stderr, rows };
  });
  const whocanRows = whocanRuns.flatMap((w) => w.rows.map((row) => ({ args: w.args, ...row })));
  const unconfirmed = whocanRows.filter((row) => row.verified !== true);
  // Reported before anything is asserted, so a failing run still says how far the two agree.
  const agree = answers.length - disagreements.length + whocanRows.length - unconfirmed.length;
  t.diagnostic(
    `whocan vs SubjectAccessReview: rule analysis ${answers.length - disagreements.length} of ${answers.length} questions, ` +
      `whocan --verify ${whocanRows.length - unconfirmed.length} of ${whocanRows.length} subjects over ${whocanQuestions.length} questions`,
  );
  t.diagnostic(`agreement whocan-sar: ${agree} of ${answers.length + whocanRows.length}`);

  assert.deepEqual(disagreements, [], `${disagreements.length} of ${answers.length} answers differ`);
  for (const w of whocanRuns)
    assert.ok(w.code === 0 || w.code === 1, `whocan ${w.args.join(' ')}: exit ${w.code}\n${w.stderr}`);
  assert.deepEqual(
    unconfirmed.map(
      (row) =>
        `whocan ${row.args.join(' ')}: ${row.subject.kind} ${row.subject.name} (${row.scope}): ${JSON.stringify(row.verified)}`,
    ),
    [],
    'every subject whocan names is allowed by the authorizer',
  );
  for (const w of whocanRuns) assert.ok(w.rows.length > 0, `whocan ${w.args.join(' ')} names someone`);
  const yes = answers.filter((a) => a.server).length;
  assert.ok(yes > 100 && yes < answers.length - 100, `a mix of yes (${yes}) and no (${answers.length - yes})`);
});

test('whocan names every grant with -A, --url prefixes, near misses and --verify, and writes nothing but reviews', async (t) => {
  const fx = await fixture(t);
  const op = `rbac-op-${suffix()}`;
  const env = { KUBECONFIG: mintUser(op, ['system:masters']) };
  const mark = auditMark();
  const r = await runPlugin('kubectl-whocan', ['get', 'secrets', '-n', fx.a, '--verify', '-o', 'json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    subjects: Array<{
      subject: { kind: string; name: string };
      binding: { kind: string; name: string; namespace?: string };
      role: { kind: string; name: string };
      verified: boolean;
    }>;
    disagreements: unknown[];
    incomplete: boolean;
  };
  const g1 = res.subjects.find((s) => s.subject.name === `g1-${fx.id}`);
  assert.deepEqual(g1?.binding, { kind: 'RoleBinding', name: 'secrets', namespace: fx.a });
  assert.equal(g1?.role.kind, 'ClusterRole');
  assert.equal(g1?.verified, true);
  assert.deepEqual(res.disagreements, []);
  assert.equal(res.incomplete, false);

  // One namespace's question reads that namespace's bindings and the roles they name; -A reads every namespace, and says so.
  const narrow = await runPlugin('kubectl-whocan', ['get', 'secrets', '-n', fx.a, '--verbose', '-o', 'json'], { env });
  assert.match(narrow.stderr, new RegExp(`^verbose: listed \\d+ RoleBindings? in namespace ${fx.a}$`, 'm'));
  assert.doesNotMatch(narrow.stderr, /every namespace/);
  assert.deepEqual(
    (JSON.parse(narrow.stdout) as { subjects: unknown[] }).subjects,
    res.subjects.map(({ verified: _v, ...rest }) => rest),
    'the same answer as with --verify, less the verdicts',
  );
  const wide = await runPlugin('kubectl-whocan', ['list', 'pods', '-A', '--verbose'], { env });
  assert.match(wide.stderr, /^verbose: reading the roles and bindings of every namespace \(-A\)$/m);
  assert.match(wide.stderr, /^verbose: listed [\d,]+ RoleBindings in every namespace$/m);

  const all = JSON.parse((await runPlugin('kubectl-whocan', ['list', 'pods', '-A', '-o', 'json'], { env })).stdout) as {
    subjects: Array<{
      subject: { kind: string; name: string; namespace?: string };
      scope: string;
      binding: { kind: string };
    }>;
  };
  assert.ok(
    all.subjects.some(
      (s) =>
        s.subject.kind === 'ServiceAccount' &&
        s.subject.name === 'sa2' &&
        s.subject.namespace === fx.a &&
        s.scope === fx.b,
    ),
    'a RoleBinding in another namespace is kept with -A',
  );
  assert.ok(all.subjects.some((s) => s.binding.kind === 'ClusterRoleBinding'));

  const url = await runPlugin('kubectl-whocan', ['get', '--url', `/kstudy-${fx.id}/deep/path`], { env });
  assert.equal(url.code, 0);
  assert.match(url.stdout, new RegExp(`g2-${fx.id}\\s+Group\\s+ClusterRoleBinding/kstudy-${fx.id}-urls`));

  const named = await runPlugin('kubectl-whocan', ['get', 'cm', 'cm9', '-n', fx.a, '--near-misses'], { env });
  assert.match(
    named.stdout,
    /ResourceNamesRestricted: RoleBinding\/.*\/named \(Role\/named\): the rule allows only the names cm1/,
  );
  assert.match(named.stdout, /RoleMissing: RoleBinding\/.*\/dangling \(Role\/does-not-exist\)/);
  const wrongNs = await runPlugin('kubectl-whocan', ['list', 'po', '-n', fx.a, '--near-misses'], { env });
  assert.match(
    wrongNs.stdout,
    new RegExp(`WrongNamespace: RoleBinding/${fx.b}/all-core .*allows it in namespace ${fx.b}, not in ${fx.a}`),
  );

  const special = await runPlugin('kubectl-whocan', ['impersonate', 'users'], { env });
  assert.match(special.stdout, new RegExp(`u2-${fx.id}\\s+User`));
  const bind = await runPlugin('kubectl-whocan', ['bind', 'clusterroles.rbac.authorization.k8s.io'], { env });
  assert.match(bind.stdout, new RegExp(`u2-${fx.id}`));
  const sub = await runPlugin('kubectl-whocan', ['update', 'deploy/scale', '-n', fx.a], { env });
  assert.match(sub.stdout, new RegExp(`u4-${fx.id}\\s+User\\s+RoleBinding/${fx.a}/subres`));

  // --as impersonates the caller, as in kubectl: as "nobody" nothing can be read, and the answer says so.
  const asNobody = await runPlugin(
    'kubectl-whocan',
    ['create', 'pods/eviction', '-n', fx.a, '--as', 'nobody', '-o', 'json'],
    { env },
  );
  assert.equal(asNobody.code, 3, `an incomplete "nobody" is not an answer: ${asNobody.stderr}`);
  // Without bindings there is no role to read: the answer names the reads it lacked, and only those.
  assert.deepEqual((JSON.parse(asNobody.stdout) as { incomplete: boolean; missing: string[] }).missing.sort(), [
    'list clusterrolebindings.rbac.authorization.k8s.io',
    `list rolebindings.rbac.authorization.k8s.io in namespace ${fx.a}`,
  ]);
  const unknown = await runPlugin('kubectl-whocan', ['get', 'deploymnts'], { env });
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /^error: the server has no resource type "deploymnts"\nhint: did you mean "deployments"\?/,
  );
  const noName = await runPlugin('kubectl-whocan', ['list', 'pods', 'x'], { env });
  assert.equal(noName.code, 2);

  const writes = writesBy(mark, op).map((w) => w.objectRef?.resource);
  assert.ok(writes.length > 0 && writes.every((w) => w === 'subjectaccessreviews'), JSON.stringify(writes));
});

test('a caller who may list RoleBindings but not ClusterRoleBindings gets an answer marked incomplete', async (t) => {
  const fx = await fixture(t);
  const reader = `partial-${suffix()}`;
  const { rbac } = apis();
  await rbac.createClusterRole({
    body: {
      metadata: { name: `kstudy-${reader}` },
      rules: [
        { apiGroups: [RBAC], resources: ['roles', 'rolebindings', 'clusterroles'], verbs: ['list', 'get'] },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `kstudy-${reader}` },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `kstudy-${reader}` },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: reader }],
    },
  });
  t.after(async () => {
    await rbac.deleteClusterRoleBinding({ name: `kstudy-${reader}` }).catch(() => {});
    await rbac.deleteClusterRole({ name: `kstudy-${reader}` }).catch(() => {});
  });
  const env = { KUBECONFIG: mintUser(reader) };
  await eventually(
    'the reader binding to work',
    async () => (await runPlugin('kubectl-whocan', ['get', 'secrets', '-n', fx.a, '-o', 'json'], { env })).code === 0,
  );
  const r = await runPlugin('kubectl-whocan', ['get', 'secrets', '-n', fx.a, '-o', 'json'], { env });
  const res = JSON.parse(r.stdout) as {
    incomplete: boolean;
    missing: string[];
    subjects: Array<{ subject: { name: string } }>;
  };
  assert.equal(res.incomplete, true);
  assert.deepEqual(res.missing, ['list clusterrolebindings.rbac.authorization.k8s.io']);
  assert.ok(
    res.subjects.some((s) => s.subject.name === `g1-${fx.id}`),
    'what could be read is still answered',
  );
  const table = await runPlugin('kubectl-whocan', ['get', 'secrets', '-n', fx.a], { env });
  assert.match(table.stdout, /INCOMPLETE: you may not list clusterrolebindings\.rbac\.authorization\.k8s\.io/);
});

test('the access matrix of a service account and of a user agrees with SelfSubjectRulesReview and SubjectAccessReview', async (t) => {
  const fx = await fixture(t);
  const op = `access-op-${suffix()}`;
  const env = { KUBECONFIG: mintUser(op, ['system:masters']) };
  interface Matrix {
    confirmedBy: string;
    disagreements: unknown[];
    rows: Array<{
      group: string;
      resource: string;
      namespaced: boolean;
      cells: Record<string, { allowed: boolean; verified?: unknown; namesOnly?: string[] }>;
    }>;
    risky: Array<{ permission: string }>;
  }
  // Every answer first, then the count, then the assertions: a failing run still reports how far they agree.
  const subjects = await mapLimit(
    [
      [['--sa', `${fx.a}/sa1`], serviceAccountUsername(fx.a, 'sa1'), []],
      [['--as', `u1-${fx.id}`], `u1-${fx.id}`, []],
    ] as Array<[string[], string, string[]]>,
    2,
    async ([args, username, groups]) => {
      const run = await runPlugin('kubectl-study_access', [...args, '-n', fx.a, '-o', 'json'], {
        env,
        timeoutMs: 120_000,
      });
      let matrix: Matrix | undefined;
      try {
        matrix = JSON.parse(run.stdout) as Matrix;
      } catch {
        // no matrix: its cells cannot be counted, and the exit code assertion below says why
      }
      // SelfSubjectRulesReview, asked as the subject (impersonated by the admin).
      const imp = connect({
        kubeconfig: cluster().adminKubeconfig,
        allNamespaces: false,
        as: username,
        asGroups: implicitGroups(username, groups),
        requestTimeoutMs: 30_000,
      });
      const ssrr = await imp.request<{ status?: { resourceRules?: V1PolicyRule[] } }>(
        'POST',
        resourcePath({ group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectrulesreviews' }),
        {
          body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: fx.a } },
        },
      );
      const rules = (ssrr.status?.resourceRules ?? []).map((x) => ({
        verbs: x.verbs,
        apiGroups: x.apiGroups,
        resources: x.resources,
        resourceNames: x.resourceNames,
      }));
      // The cells come partly from rules reviews: each is held against its own SubjectAccessReview, asked here.
      const admin = connect({
        kubeconfig: cluster().adminKubeconfig,
        allNamespaces: false,
        asGroups: [],
        requestTimeoutMs: 30_000,
      });
      const asked = (matrix?.rows ?? []).flatMap((row) =>
        Object.keys(row.cells).map((verb) => ({
          row,
          verb,
          req: {
            verb,
            apiGroup: row.group,
            resource: row.resource,
            subresource: '',
            name: '',
            namespace: row.namespaced ? fx.a : '',
          },
        })),
      );
      const sar = await mapLimit(asked, 16, async (q) => {
        const answer = await subjectAccessReview(
          admin,
          { user: username, groups: implicitGroups(username, groups) },
          reviewAttributes(q.req),
        );
        return answer.allowed;
      });
      return {
        username,
        run,
        matrix,
        rules,
        sar: new Map(asked.map((q, i) => [`${q.row.resource}.${q.row.group} ${q.verb}`, sar[i]!])),
      };
    },
  );
  const cells = subjects.flatMap(({ username, matrix, rules, sar }) =>
    (matrix?.rows ?? []).flatMap((row) =>
      Object.entries(row.cells).map(([verb, cell]) => {
        const req = { verb, apiGroup: row.group, resource: row.resource, subresource: '', name: '', namespace: fx.a };
        const bySsrr = row.namespaced ? rules.some((rule) => matchesRule(rule as V1PolicyRule, req)) : undefined;
        return { username, verb, row, cell, bySsrr, bySar: sar.get(`${row.resource}.${row.group} ${verb}`) };
      }),
    ),
  );
  const bySar = cells.filter((c) => c.cell.verified === c.bySar && c.cell.allowed === c.bySar).length;
  const namespaced = cells.filter((c) => c.bySsrr !== undefined);
  const bySsrr = namespaced.filter((c) => c.bySsrr === c.cell.allowed).length;
  t.diagnostic(
    `study-access matrix of ${subjects.length} subjects in ${fx.a}: ${bySar} of ${cells.length} cells as SubjectAccessReview answers, ` +
      `${bySsrr} of ${namespaced.length} namespaced cells as SelfSubjectRulesReview's rules allow`,
  );
  t.diagnostic(`agreement access-sar: ${bySar} of ${cells.length}`);

  for (const { username, run, matrix } of subjects) {
    assert.equal(run.code, 0, run.stderr);
    assert.ok(matrix);
    // The admin may impersonate the subject: its rules reviews answer what they decide, SubjectAccessReview the rest.
    assert.equal(matrix.confirmedBy, 'SelfSubjectRulesReview and SubjectAccessReview');
    assert.deepEqual(matrix.disagreements, [], 'every cell confirmed by the API server');
    assert.ok(matrix.rows.length > 30);
    for (const c of cells.filter((x) => x.username === username)) {
      assert.equal(
        c.cell.verified,
        c.bySar,
        `${username} ${c.verb} ${c.row.resource}.${c.row.group}: confirmed as ${JSON.stringify(c.cell.verified)}, SubjectAccessReview ${c.bySar}`,
      );
      assert.equal(
        c.cell.allowed,
        c.bySar,
        `${username} ${c.verb} ${c.row.resource}.${c.row.group}: ours ${c.cell.allowed}, SubjectAccessReview ${c.bySar}`,
      );
      if (c.bySsrr !== undefined)
        assert.equal(
          c.cell.allowed,
          c.bySsrr,
          `${username} ${c.verb} ${c.row.resource}.${c.row.group}: ours ${c.cell.allowed}, SelfSubjectRulesReview ${c.bySsrr}`,
        );
    }
    if (username.startsWith('system:serviceaccount')) {
      assert.deepEqual(matrix.rows.find((x) => x.resource === 'configmaps')?.cells.get, {
        allowed: false,
        namesOnly: ['cm1'],
        verified: false,
      });
    } else {
      assert.equal(matrix.rows.find((x) => x.resource === 'configmaps')?.cells.delete?.allowed, true);
    }
  }
  const why = await runPlugin(
    'kubectl-study_access',
    ['why', 'get', 'configmaps', 'cm1', '--sa', `${fx.a}/sa1`, '-n', fx.a],
    { env },
  );
  assert.equal(why.code, 0, why.stderr);
  assert.match(
    why.stdout,
    /may get configmaps cm1 in .*:\n {2}RoleBinding\/.*\/named -> Role\/named -> get,update,list configmaps \[cm1\] \(core\)/,
  );
  const whyNot = await runPlugin('kubectl-study_access', ['why', 'list', 'pods', '--sa', `${fx.a}/sa2`, '-n', fx.a], {
    env,
  });
  assert.equal(whyNot.code, 1);
  assert.match(whyNot.stdout, /no rule grants .*Near misses:\n {2}RoleBinding\/.*\/all-core .*allows it in namespace/s);
  const risky = await runPlugin('kubectl-study_access', ['--as', `u2-${fx.id}`, '-n', fx.a], { env });
  assert.match(
    risky.stdout,
    /impersonate users \(cluster\): can act as any user\n\s+via ClusterRoleBinding\/kstudy-.*-special -> ClusterRole\/kstudy-.*-special/,
  );
  assert.match(risky.stdout, /escalate clusterroles/);
});

test('reviews the caller may not create are error cells: whocan and study-access finish and say the answer is incomplete', async (t) => {
  const ns = await testNamespace(t, 'rbac-err');
  const id = suffix();
  const user = `reader-${id}`;
  const { rbac } = apis();
  // May read RBAC (so the analysis is whole) but may not create SubjectAccessReviews.
  await rbac.createClusterRole({
    body: {
      metadata: { name: `kstudy-${id}-reader` },
      rules: [
        {
          apiGroups: [RBAC],
          resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `kstudy-${id}-reader` },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `kstudy-${id}-reader` },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: user }],
    },
  });
  t.after(async () => {
    await rbac.deleteClusterRoleBinding({ name: `kstudy-${id}-reader` }).catch(() => {});
    await rbac.deleteClusterRole({ name: `kstudy-${id}-reader` }).catch(() => {});
  });
  await rbac.createNamespacedRole({
    namespace: ns,
    body: { metadata: { name: 'viewer' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'viewer' },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'viewer' },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: `jane-${id}` }],
    },
  });
  const env = { KUBECONFIG: mintUser(user) };
  const r = await eventually('the reader to be allowed to list bindings', async () => {
    const out = await runPlugin('kubectl-whocan', ['get', 'pods', '-n', ns, '--verify', '-o', 'json'], { env });
    return out.code === 0 ? out : undefined;
  });
  const result = JSON.parse(r.stdout) as {
    subjects: Array<{ subject: { name: string }; verified: unknown }>;
    incomplete: boolean;
    missing: string[];
  };
  const jane = result.subjects.find((s) => s.subject.name === `jane-${id}`);
  assert.ok(jane, r.stdout);
  assert.match(JSON.stringify(jane.verified), /"error":".*forbidden/);
  assert.equal(result.incomplete, true);
  assert.ok(
    result.missing.some((m) => /^confirm with SubjectAccessReview: .*forbidden/.test(m)),
    result.missing.join('\n'),
  );
  const table = await runPlugin('kubectl-whocan', ['get', 'pods', '-n', ns, '--verify'], { env });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^INCOMPLETE answer: who can get pods in namespace/);
  assert.match(
    table.stdout,
    new RegExp(`jane-${id}\\s+User\\s+RoleBinding/${ns}/viewer\\s+Role/viewer\\s+${ns}\\s+error`),
  );
  assert.equal(table.stderr, '', 'no stack trace, no abort');
});

test("a namespace's own RoleBindings grant verbs on the namespace object itself, as the authorizer decides; -n on a cluster-scoped resource is said not to apply", async (t) => {
  const ns = await testNamespace(t, 'rbac-ns');
  const id = suffix();
  const user = `ns-admin-${id}`;
  const { rbac } = apis();
  await rbac.createNamespacedRole({
    namespace: ns,
    body: {
      metadata: { name: 'self' },
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['delete', 'get'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'self' },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'self' },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: user }],
    },
  });
  const env = { KUBECONFIG: mintUser(`rbac-op-${id}`, ['system:masters']) };
  const authorizer = await eventually('the authorizer to see the binding', async () => {
    const a = await subjectAccessReview(
      adminClient(),
      { user, groups: ['system:authenticated'] },
      { verb: 'delete', group: '', resource: 'namespaces', name: ns, namespace: ns },
    );
    return a.allowed ? a : undefined;
  });
  assert.equal(authorizer.allowed, true);
  const who = await runPlugin('kubectl-whocan', ['delete', 'namespaces', ns, '-o', 'json'], { env });
  assert.equal(who.code, 0, who.stderr);
  const subjects = (JSON.parse(who.stdout) as { subjects: Array<{ subject: { name: string }; scope: string }> })
    .subjects;
  assert.deepEqual(
    subjects.filter((s) => s.subject.name === user).map((s) => s.scope),
    [ns],
  );
  const why = await runPlugin('kubectl-study_access', ['why', 'delete', 'namespaces', ns, '--as', user], { env });
  assert.equal(why.code, 0, why.stderr);
  assert.match(
    why.stdout,
    new RegExp(`${user} may delete namespaces ${ns} in ${ns}:\\n {2}RoleBinding/${ns}/self -> Role/self`),
  );
  const other = await runPlugin('kubectl-whocan', ['delete', 'namespaces', 'kube-system', '-o', 'json'], { env });
  assert.ok(
    !(JSON.parse(other.stdout) as { subjects: Array<{ subject: { name: string } }> }).subjects.some(
      (s) => s.subject.name === user,
    ),
    'not on another namespace',
  );
  const nodes = await runPlugin('kubectl-whocan', ['get', 'nodes', '-n', ns], { env });
  assert.equal(nodes.code, 0, nodes.stderr);
  assert.match(nodes.stderr, /^warning: nodes is cluster-scoped: -n .* does not apply$/m);
  const typo = await runPlugin('kubectl-whocan', ['gte', 'pods', '-n', ns], { env });
  assert.match(typo.stderr, /^warning: "gte" is not a known verb/m);
  const gone = await runPlugin('kubectl-whocan', ['get', 'pods', '-n', `no-such-ns-${id}`], { env });
  assert.match(gone.stderr, new RegExp(`^warning: namespace no-such-ns-${id} does not exist$`, 'm'));
  const psp = await runPlugin('kubectl-whocan', ['use', 'podsecuritypolicies.policy', 'restricted'], { env });
  // Only system:masters, who may do anything anyway: the answer is "nobody" (exit 1), the row still shown.
  assert.equal(psp.code, 1, psp.stderr);
  assert.match(psp.stdout, /system:masters/);
});

test('a user who may not read RBAC gets the API server\u2019s definite answer for themselves (as kubectl auth can-i), the explanation marked incomplete', async (t) => {
  const ns = await testNamespace(t, 'rbac-self');
  const user = `self-${suffix()}`;
  const { rbac } = apis();
  await rbac.createNamespacedRole({
    namespace: ns,
    body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'pod-reader' },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'pod-reader' },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: user }],
    },
  });
  const env = { KUBECONFIG: mintUser(user) };
  // The binding takes effect when the authorizer's cache has it: kubectl auth can-i says when.
  await eventually(
    'the binding to work',
    async () => (await kubectl(['auth', 'can-i', 'get', 'pods', '-n', ns], { env })).code === 0,
  );
  for (const [verb, canI] of [
    ['get', 0],
    ['delete', 1],
  ] as const) {
    assert.equal((await kubectl(['auth', 'can-i', verb, 'pods', '-n', ns], { env })).code, canI);
    const why = await runPlugin('kubectl-study_access', ['why', verb, 'pods', '-n', ns], { env });
    assert.equal(why.code, canI, `why ${verb}: the exit code of kubectl auth can-i\n${why.stdout}${why.stderr}`);
    assert.match(
      why.stdout,
      canI === 0
        ? new RegExp(
            `^${user} may get pods in ${ns}: the API server allows it \\(SelfSubjectAccessReview\\); no rule in what could be read grants it\\.$`,
            'm',
          )
        : new RegExp(
            `^no rule grants ${user} delete pods in ${ns}\\.\\nThe API server denies it \\(SelfSubjectAccessReview\\): the answer is no\\.$`,
            'm',
          ),
    );
    assert.match(
      why.stdout,
      /^INCOMPLETE: you may not list .*: the explanation may lack the bindings and rules that could not be read$/m,
    );
    const json = JSON.parse(
      (await runPlugin('kubectl-study_access', ['why', verb, 'pods', '-n', ns, '-o', 'json'], { env })).stdout,
    ) as { allowed: boolean; verified: unknown; confirmedBy: string; incomplete: boolean };
    assert.deepEqual(
      { allowed: json.allowed, verified: json.verified, confirmedBy: json.confirmedBy, incomplete: json.incomplete },
      { allowed: false, verified: canI === 0, confirmedBy: 'SelfSubjectAccessReview', incomplete: true },
    );
  }
  // The matrix: every cell the API server's answer, so whole (exit 0) and headed so; the pod cell is "yes".
  const m = await runPlugin('kubectl-study_access', ['-n', ns], { env });
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.match(
    m.stdout,
    /^Answered by the API server \(SelfSubjectRulesReview and SelfSubjectAccessReview\): the RBAC rules could not all be read/m,
  );
  assert.match(m.stdout, /^pods +ns +yes +- +- +- +- +- +- +-$/m);
  assert.doesNotMatch(m.stdout, /Disagreements/, 'a grant the caller could not read is no disagreement');
  // Without RBAC read and without a server answer (another subject, no SubjectAccessReview allowed): no answer, exit 3.
  const other = await runPlugin('kubectl-study_access', ['why', 'get', 'pods', '-n', ns, '--as', `other-${user}`], {
    env,
  });
  assert.equal(other.code, 3, other.stdout + other.stderr);
  assert.match(other.stdout, /INCOMPLETE: .*: a rule that grants it may be in what could not be read$/m);
});

test('names hold what requests carry: who may impersonate groups system:masters, approve for a signer, bind a system: cluster role', async (t) => {
  const id = suffix();
  const { rbac } = apis();
  const env = { KUBECONFIG: cluster().adminKubeconfig };
  const grants: Array<{ user: string; rule: V1PolicyRule; ask: string[]; canI?: string }> = [
    {
      user: `impersonator-${id}`,
      rule: { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['system:masters'] },
      ask: ['impersonate', 'groups', 'system:masters'],
      canI: 'groups/system:masters',
    },
    {
      user: `approver-${id}`,
      rule: {
        apiGroups: ['certificates.k8s.io'],
        resources: ['signers'],
        verbs: ['approve'],
        resourceNames: ['kubernetes.io/kube-apiserver-client'],
      },
      ask: ['approve', 'signers.certificates.k8s.io', 'kubernetes.io/kube-apiserver-client'],
    },
    {
      user: `binder-${id}`,
      rule: {
        apiGroups: [RBAC],
        resources: ['clusterroles'],
        verbs: ['bind'],
        resourceNames: ['system:aggregate-to-edit'],
      },
      ask: ['bind', 'clusterroles', 'system:aggregate-to-edit'],
    },
  ];
  for (const g of grants) {
    await rbac.createClusterRole({ body: { metadata: { name: `kstudy-${g.user}` }, rules: [g.rule] } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `kstudy-${g.user}` },
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `kstudy-${g.user}` },
        subjects: [{ apiGroup: RBAC, kind: 'User', name: g.user }],
      },
    });
    t.after(async () => {
      await rbac.deleteClusterRoleBinding({ name: `kstudy-${g.user}` }).catch(() => {});
      await rbac.deleteClusterRole({ name: `kstudy-${g.user}` }).catch(() => {});
    });
  }
  for (const g of grants) {
    // The API server answers it (a SubjectAccessReview); so must whocan, found through the rule and confirmed.
    await eventually(`the API server to allow ${g.user} to ${g.ask.join(' ')}`, async () => {
      const a = await subjectAccessReview(
        adminClient(),
        { user: g.user, groups: ['system:authenticated'] },
        { verb: g.rule.verbs[0]!, group: g.rule.apiGroups![0]!, resource: g.rule.resources![0]!, name: g.ask[2]! },
      );
      return a.allowed;
    });
    const who = await runPlugin('kubectl-whocan', [...g.ask, '--verify', '-o', 'json'], { env });
    assert.equal(who.code, 0, `${g.ask.join(' ')}: ${who.stderr}`);
    const rows = (JSON.parse(who.stdout) as { subjects: Array<{ subject: { name: string }; verified?: unknown }> })
      .subjects;
    assert.deepEqual(
      rows.filter((r) => r.subject.name === g.user).map((r) => r.verified),
      [true],
      g.ask.join(' '),
    );
    const why = await runPlugin('kubectl-study_access', ['why', ...g.ask, '--as', g.user], { env });
    assert.equal(why.code, 0, why.stdout + why.stderr);
    assert.match(why.stdout, new RegExp(`^${g.user} may ${g.ask[0]} `, 'm'));
  }
  // kubectl auth can-i answers the first as whocan does (it cannot name a signer's group: no discovery lists signers).
  const canI = await kubectl(['auth', 'can-i', 'impersonate', grants[0]!.canI!, '--as', grants[0]!.user]);
  assert.equal(canI.stdout.trim(), 'yes', canI.stderr);
  // The same names for a resource that does not take them are still refused, naming the rule.
  const pod = await runPlugin('kubectl-whocan', ['get', 'pods', 'system:masters'], { env });
  assert.equal(pod.code, 2);
  assert.match(pod.stderr, /^error: "system:masters" is not a valid object name\nhint: object names are lower-case/m);
});
