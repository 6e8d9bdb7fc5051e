/**
 * The local cluster itself: what every other integration test relies on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import {
  ADMIN_USER,
  addTestNodes,
  apis,
  auditEventsSince,
  auditMark,
  eventually,
  mintUser,
  removeTestNodes,
  suffix,
  testNamespace,
  writesBy,
} from '../support/cluster.js';

function deployment(name: string, replicas: number, image = 'registry.local/web:1.0'): k8s.V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image, resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
      },
    },
  };
}

async function runningPods(core: k8s.CoreV1Api, namespace: string, app: string): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

function isReady(p: k8s.V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

test('a 3-replica Deployment is spread over the simulated nodes and becomes Available', async (t) => {
  const ns = await testNamespace(t);
  const { apps, core } = apis();
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 3) });
  const d = await eventually('web to be available', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    return d.status?.availableReplicas === 3 ? d : undefined;
  });
  assert.equal(d.status?.readyReplicas, 3);
  const pods = await runningPods(core, ns, 'web');
  const nodes = new Set(pods.map((p) => p.spec?.nodeName));
  assert.equal(pods.length, 3);
  assert.ok(nodes.size >= 2, `expected the pods on several nodes, got ${[...nodes].join(',')}`);
  for (const p of pods) {
    assert.equal(p.status?.phase, 'Running');
    assert.match(p.status?.podIP ?? '', /^10\.244\./);
  }
});

test('the API server enforces a PDB on eviction, and the replacement lands on another node', async (t) => {
  const ns = await testNamespace(t);
  const { apps, core, policy } = apis();
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('api', 3) });
  await eventually(
    'api to be available',
    async () => (await apps.readNamespacedDeployment({ name: 'api', namespace: ns })).status?.availableReplicas === 3,
  );
  await policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { metadata: { name: 'api' }, spec: { minAvailable: 3, selector: { matchLabels: { app: 'api' } } } },
  });
  await eventually('the PDB status', async () => {
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: 'api', namespace: ns });
    return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.currentHealthy === 3;
  });
  const [victim] = await runningPods(core, ns, 'api');
  assert.ok(victim?.metadata?.name);
  const evict = (): Promise<unknown> =>
    core.createNamespacedPodEviction({
      name: victim.metadata!.name!,
      namespace: ns,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim.metadata!.name!, namespace: ns } },
    });
  await assert.rejects(evict(), (err: unknown) => {
    assert.ok(err instanceof k8s.ApiException, `expected an ApiException, got ${String(err)}`);
    assert.equal(err.code, 429);
    return true;
  });

  // Cordon the victim's node, as a drain would, so the replacement must go elsewhere.
  const node = victim.spec!.nodeName!;
  await core.patchNode(
    { name: node, body: { spec: { unschedulable: true } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  t.after(() =>
    core.patchNode(
      { name: node, body: { spec: { unschedulable: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    ),
  );
  await policy.patchNamespacedPodDisruptionBudget(
    { name: 'api', namespace: ns, body: { spec: { minAvailable: 2 } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await eventually('the PDB to allow one disruption', async () => {
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: 'api', namespace: ns });
    return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.disruptionsAllowed === 1;
  });
  await evict();
  await eventually('the evicted pod to be gone', async () => {
    const pods = await core.listNamespacedPod({
      namespace: ns,
      fieldSelector: `metadata.name=${victim.metadata!.name!}`,
    });
    return pods.items.length === 0;
  });
  const pods = await eventually('3 ready pods again', async () => {
    const pods = await runningPods(core, ns, 'api');
    return pods.length === 3 && pods.every(isReady) ? pods : undefined;
  });
  const replacement = pods.find(
    (p) => p.metadata?.uid !== victim.metadata?.uid && !p.metadata?.name?.startsWith(victim.metadata!.name!),
  );
  assert.ok(replacement);
  assert.ok(pods.every((p) => p.metadata?.name !== victim.metadata?.name));
  const fresh = pods.filter(
    (p) => Date.parse(String(p.metadata?.creationTimestamp)) >= Date.parse(String(victim.metadata?.creationTimestamp)),
  );
  assert.ok(fresh.length >= 1);
  const newest = pods.reduce((a, b) =>
    Date.parse(String(a.metadata?.creationTimestamp)) >= Date.parse(String(b.metadata?.creationTimestamp)) ? a : b,
  );
  assert.notEqual(newest.spec?.nodeName, node, 'the replacement must not land on the cordoned node');
});

test('a user bound to a namespaced Role is allowed and denied exactly as SelfSubjectAccessReview says', async (t) => {
  const home = await testNamespace(t);
  const other = await testNamespace(t);
  const { rbac } = apis();
  const user = `dev-${suffix()}`;
  await rbac.createNamespacedRole({
    namespace: home,
    body: {
      metadata: { name: 'pod-reader' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: home,
    body: {
      metadata: { name: 'pod-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  const mine = apis(mintUser(user, ['developers']));
  const cases: Array<{ namespace: string; verb: string; expected: boolean }> = [
    { namespace: home, verb: 'list', expected: true },
    { namespace: home, verb: 'get', expected: true },
    { namespace: home, verb: 'delete', expected: false },
    { namespace: other, verb: 'list', expected: false },
    { namespace: other, verb: 'get', expected: false },
  ];
  for (const c of cases) {
    const review = await mine.authz.createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { namespace: c.namespace, verb: c.verb, resource: 'pods' } } },
    });
    assert.equal(review.status?.allowed, c.expected, `SSAR ${c.verb} pods in ${c.namespace}`);
  }
  // And the real requests agree with the reviews.
  const listed = await mine.core.listNamespacedPod({ namespace: home });
  assert.ok(Array.isArray(listed.items));
  await assert.rejects(
    mine.core.listNamespacedPod({ namespace: other }),
    (err: unknown) => (err as k8s.ApiException<unknown>).code === 403,
  );
  await assert.rejects(
    mine.core.deleteCollectionNamespacedPod({ namespace: home }),
    (err: unknown) => (err as k8s.ApiException<unknown>).code === 403,
  );
});

test('reads leave no write in the audit log; a write appears in it', async (t) => {
  const ns = await testNamespace(t);
  const user = `auditor-${suffix()}`;
  const { rbac } = apis();
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  const mine = apis(mintUser(user));
  const mark = auditMark();
  await mine.core.listNamespacedPod({ namespace: ns });
  await mine.core.listNamespacedConfigMap({ namespace: ns });
  await mine.core.readNamespacedServiceAccount({ name: 'default', namespace: ns });
  assert.deepEqual(writesBy(mark, user), [], 'reads must not appear as writes');
  await mine.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'note' }, data: { a: 'b' } } });
  const writes = writesBy(mark, user);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.verb, 'create');
  assert.equal(writes[0]?.objectRef?.resource, 'configmaps');
  assert.equal(writes[0]?.objectRef?.namespace, ns);
  // The admin's own namespace creation is in the log too: every write is recorded.
  assert.ok(
    auditEventsSince(0).some(
      (e) => e.user.username === ADMIN_USER && e.objectRef?.resource === 'namespaces' && e.objectRef.name === ns,
    ),
  );
});

test('simulated nodes take labels and taints, stay Ready, and can be removed', async (t) => {
  const name = `kwok-extra-${suffix()}`;
  await addTestNodes([
    {
      name,
      cpu: '2',
      memory: '4Gi',
      pods: '20',
      labels: { pool: 'gpu' },
      taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    },
  ]);
  t.after(() => removeTestNodes([name]));
  const { core } = apis();
  const node = await core.readNode({ name });
  assert.equal(node.metadata?.labels?.pool, 'gpu');
  assert.deepEqual(
    node.spec?.taints?.filter((x) => x.key === 'dedicated').map((x) => `${x.key}=${x.value}:${x.effect}`),
    ['dedicated=gpu:NoSchedule'],
  );
  assert.equal(node.status?.allocatable?.cpu, '2');
  assert.equal(node.status?.allocatable?.pods, '20');
  // The node lifecycle controller must not taint it away as not-ready or unreachable: kwok keeps
  // its lease renewed, as a kubelet would. Wait for a renewal, the event itself.
  const { coordination } = apis();
  const leaseTime = async (): Promise<number> =>
    new Date(
      (await coordination.readNamespacedLease({ name, namespace: 'kube-node-lease' })).spec?.renewTime ?? 0,
    ).getTime();
  const first = await eventually('the node lease', async () => (await leaseTime()) || undefined, 60_000);
  await eventually('the node lease to be renewed', async () => (await leaseTime()) > first, 120_000, 500);
  const again = await core.readNode({ name });
  assert.ok(again.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  assert.ok(
    !again.spec?.taints?.some((x) => x.key.startsWith('node.kubernetes.io/')),
    JSON.stringify(again.spec?.taints),
  );
});

test('kwok stages: image pull failure, crash loop, and a pod that uses its whole grace period', async (t) => {
  const ns = await testNamespace(t);
  const { core } = apis();
  const pod = (name: string, image: string, annotations: Record<string, string> = {}, grace = 30): k8s.V1Pod => ({
    metadata: { name, annotations },
    spec: { terminationGracePeriodSeconds: grace, containers: [{ name: 'c', image }] },
  });
  await core.createNamespacedPod({ namespace: ns, body: pod('pull', 'registry.local/web:2.0-fail-pull') });
  await core.createNamespacedPod({ namespace: ns, body: pod('crash', 'registry.local/web:crashloop') });
  // A grace period far longer than the fast pod can take to go, even on a busy machine.
  await core.createNamespacedPod({
    namespace: ns,
    body: pod('slow', 'registry.local/web:1.0', { 'kstudy.test/ignore-sigterm': 'true' }, 12),
  });
  await core.createNamespacedPod({ namespace: ns, body: pod('fast', 'registry.local/web:1.0') });

  const pulled = await eventually('ImagePullBackOff', async () => {
    const p = await core.readNamespacedPod({ name: 'pull', namespace: ns });
    return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
  });
  assert.equal(pulled.status?.phase, 'Pending');
  assert.match(pulled.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /fail-pull/);

  const crashed = await eventually('CrashLoopBackOff with restarts', async () => {
    const p = await core.readNamespacedPod({ name: 'crash', namespace: ns });
    const s = p.status?.containerStatuses?.[0];
    return s?.state?.waiting?.reason === 'CrashLoopBackOff' && (s.restartCount ?? 0) >= 2 ? p : undefined;
  });
  assert.equal(crashed.status?.containerStatuses?.[0]?.lastState?.terminated?.reason, 'Error');
  assert.equal(isReady(crashed), false);

  await eventually('slow and fast to be Ready', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns });
    return ['slow', 'fast'].every((n) => pods.items.some((p) => p.metadata?.name === n && isReady(p)));
  });
  await core.deleteNamespacedPod({ name: 'slow', namespace: ns });
  await core.deleteNamespacedPod({ name: 'fast', namespace: ns });
  await eventually(
    'fast to be gone',
    async () =>
      (await core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=fast' })).items.length === 0,
    60_000,
    100,
  );
  // The events, not the clock: fast is gone while slow, deleted first, still terminates with its whole grace period.
  const still = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=slow' });
  assert.equal(still.items.length, 1, 'the pod that ignores SIGTERM is still terminating');
  assert.ok(still.items[0]?.metadata?.deletionTimestamp);
  assert.equal(still.items[0]?.metadata?.deletionGracePeriodSeconds, 12, 'it is given its 12 s grace period');
  await eventually(
    'slow to be gone',
    async () =>
      (await core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=slow' })).items.length === 0,
    60_000,
    100,
  );
});

test('a cluster that cannot start fails within a bounded time, with the tail of the failing log', async (t) => {
  const { createServer } = await import('node:net');
  const { runCommand, tempDir } = await import('../support/cluster.js');
  const { freePortBase } = await import('../support/net.js');
  const { ports } = await import('../cluster/paths.js');
  const offsets = Object.values(ports({ STUDY_CLUSTER_PORT_BASE: '0' }));
  const base = await freePortBase(27100, offsets);
  // Something else already holds the API server's port.
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(base + 443, '127.0.0.1', r));
  t.after(() => squatter.close());
  const dir = tempDir('kstudy-broken-');
  const env = { STUDY_CLUSTER_DIR: dir, STUDY_CLUSTER_PORT_BASE: String(base) };
  t.after(() => runCommand(process.execPath, ['--import', 'tsx', 'tests/cluster/cli.ts', 'down'], { env }));
  const r = await runCommand(process.execPath, ['--import', 'tsx', 'tests/cluster/cli.ts', 'up', '--nodes', '1'], {
    env,
    timeoutMs: 120_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /kube-apiserver exited while waiting for kube-apiserver to be ready; last lines of its log:/);
  assert.match(r.stderr, /address already in use/);
  // It gave up by itself (its waits are bounded), not when the test's outer limit killed it.
  assert.notEqual(r.code, 128, 'killed at the outer limit: the start did not fail by itself');
});
