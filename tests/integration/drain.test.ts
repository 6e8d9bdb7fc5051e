/**
 * kubectl study-drain on nodes of each test's own pool, against the real
 * API server, controllers and scheduler.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { spawn } from 'node:child_process';

import * as k8s from '@kubernetes/client-node';

const JSON_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

import {
  apis,
  auditMark,
  cluster,
  eventually,
  kubectl,
  mintUser,
  pluginCommand,
  runPlugin,
  suffix,
  tempDir,
  testNamespace,
  writesBy,
} from '../support/cluster.js';
import {
  allReady,
  barePod,
  createPool,
  daemonSet,
  deployment,
  isReady,
  pdb,
  pdbsSettled,
  podsIn,
  readyWatcher,
  setCordoned,
  statefulSet,
  template,
  type Pool,
} from '../support/workloads.js';

/** For the tests that signal a running drain. */
const drainCommand = pluginCommand('kubectl-study_drain');

/** A user of its own in system:masters, so the audit log attributes this test's writes exactly. */
function operator(): { name: string; env: NodeJS.ProcessEnv } {
  const name = `operator-${suffix()}`;
  return { name, env: { KUBECONFIG: mintUser(name, ['system:masters']) } };
}

/** Creates workloads while every other node of the pool is cordoned, so they land on the first node. */
async function onFirstNode(pool: Pool, create: () => Promise<void>, readyCount: number, ns: string): Promise<void> {
  for (const n of pool.nodes.slice(1)) await setCordoned(n, true);
  await create();
  await allReady(ns, readyCount);
  for (const n of pool.nodes.slice(1)) await setCordoned(n, false);
}

interface PlanJson {
  verdict: string;
  blockers: string[];
  pods: Array<{
    name: string;
    action: string;
    workload: string;
    owners: Array<{ kind: string; name: string }>;
    reasons: Array<{ code: string; severity: string; message: string }>;
    placement?: { node?: string; outcome: string };
  }>;
  pdbs: Array<{ name: string; verdict: string; disruptionsAllowed: number }>;
  nodes: Array<{ name: string; reasons: Array<{ code: string }> }>;
}

function byName(plan: PlanJson, prefix: string): PlanJson['pods'] {
  return plan.pods.filter((p) => p.name.startsWith(prefix));
}

test('the plan classifies every kind of pod as kubectl drain does, flags the extra risks, and writes nothing', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{ cpu: '8' }, { cpu: '2' }]);
  const [target] = pool.nodes as [string];
  await onFirstNode(
    pool,
    async () => {
      await deployment(ns, pool, 'web', 3);
      await pdb(ns, 'web', 'web', { minAvailable: 2 });
      await statefulSet(ns, pool, 'db', 2);
      await daemonSet(ns, pool, 'agent');
      await barePod(ns, pool, 'bare');
      await deployment(ns, pool, 'scratch', 1, { emptyDir: true });
      await deployment(ns, pool, 'solo', 1);
      await deployment(ns, pool, 'big', 1, { cpu: '3' });
    },
    3 + 2 + 1 + 1 + 1 + 1 + 1,
    ns,
  );
  await pdbsSettled(ns);
  const op = operator();
  const mark = auditMark();
  const r = await runPlugin('kubectl-study_drain', [target, '--dry-run', '-o', 'json'], { env: op.env });
  assert.equal(r.code, 3, `a plan with blocks exits 3\n${r.stderr}`);
  const plan = JSON.parse(r.stdout) as PlanJson;
  const codes = (prefix: string): string[] =>
    byName(plan, prefix).flatMap((p) => [
      `${p.action}:${p.reasons
        .map((x) => x.code)
        .sort()
        .join('+')}`,
    ]);
  // All three ready replicas of web are here: an outage, and its PDB lets them go one by one.
  assert.deepEqual(codes('web-'), [
    'evict:PdbSerial+WorkloadOutage',
    'evict:PdbSerial+WorkloadOutage',
    'evict:PdbSerial+WorkloadOutage',
  ]);
  assert.deepEqual(codes('db-'), ['evict:WorkloadOutage', 'evict:WorkloadOutage']);
  assert.deepEqual(codes('agent-'), ['blocked:DaemonSetPod']);
  assert.deepEqual(codes('bare'), ['blocked:Unmanaged']);
  assert.deepEqual(codes('scratch-'), ['blocked:LocalStorage']);
  assert.deepEqual(codes('solo-'), ['evict:WorkloadOutage']);
  // 3 cpu fits on no other node: the scheduler would leave its replacement Pending.
  assert.deepEqual(codes('big-'), ['blocked:WontFit+WorkloadOutage']);
  assert.deepEqual(
    byName(plan, 'web-').map((p) => p.placement?.node),
    [pool.nodes[1], pool.nodes[1], pool.nodes[1]],
    'the replacements go to the other node',
  );
  assert.equal(byName(plan, 'web-')[0]?.workload, 'Deployment/web');
  assert.equal(byName(plan, 'web-')[0]?.owners[0]?.kind, 'ReplicaSet');
  const wontFit = byName(plan, 'big-')[0]?.reasons.find((x) => x.code === 'WontFit')?.message ?? '';
  assert.match(
    wontFit,
    /^0\/\d+ nodes are available: .*\b1 Insufficient cpu\b/,
    'the other node of the pool is too small',
  );
  assert.match(wontFit, /\b\d+ node\(s\) were unschedulable\b/, 'the drained node is cordoned');
  assert.deepEqual(
    plan.pdbs.map((p) => `${p.name}:${p.verdict}`),
    ['web:one-by-one'],
  );
  assert.deepEqual(plan.blockers.sort(), [
    'DaemonSetPod: --ignore-daemonsets overrides it',
    'LocalStorage: --delete-emptydir-data overrides it',
    'Unmanaged: --force overrides it',
    'WontFit: --allow-unplaceable overrides it',
  ]);

  // kubectl drain decides the same: the same pods block it, the same pods are evicted once overridden.
  const k = await kubectl(['drain', target, '--dry-run=client'], { env: op.env });
  assert.notEqual(k.code, 0);
  const kubectlBlocked = [
    ...new Set([...k.stderr.matchAll(new RegExp(`${ns}/([a-z0-9-]+)`, 'g'))].map((m) => m[1]!)),
  ].sort();
  // WontFit is a check of ours, not kubectl's.
  const ourBlocked = plan.pods
    .filter((p) => p.reasons.some((x) => x.severity === 'block' && x.code !== 'WontFit'))
    .map((p) => p.name)
    .sort();
  assert.deepEqual(ourBlocked, kubectlBlocked);
  const kAll = await kubectl(
    ['drain', target, '--dry-run=client', '--ignore-daemonsets', '--force', '--delete-emptydir-data'],
    { env: op.env },
  );
  assert.equal(kAll.code, 0, kAll.stderr);
  const kubectlEvicts = [...kAll.stdout.matchAll(new RegExp(`evicting pod ${ns}/([a-z0-9-]+)`, 'g'))]
    .map((m) => m[1]!)
    .sort();
  const all = JSON.parse(
    (
      await runPlugin(
        'kubectl-study_drain',
        [
          target,
          '--dry-run',
          '--ignore-daemonsets',
          '--force',
          '--delete-emptydir-data',
          '--allow-unplaceable',
          '-o',
          'json',
        ],
        { env: op.env },
      )
    ).stdout,
  ) as PlanJson;
  assert.deepEqual(
    all.pods
      .filter((p) => p.action === 'evict')
      .map((p) => p.name)
      .sort(),
    kubectlEvicts,
  );
  assert.equal(all.verdict, 'proceed');

  // The human plan names what blocks and how to override it.
  const table = await runPlugin('kubectl-study_drain', [target, '--dry-run'], { env: op.env });
  assert.match(table.stdout, /^NAMESPACE\s+NAME\s+OWNER\s+ACTION\s+REASON$/m);
  assert.match(table.stdout, new RegExp(`^${ns}\\s+bare\\s+<none>\\s+blocked\\s+Unmanaged$`, 'm'));
  assert.match(table.stdout, /Verdict: BLOCKED\n {2}- /);

  assert.deepEqual(
    writesBy(mark, op.name)
      .map((w) => `${w.verb} ${w.objectRef?.resource}`)
      .filter((w) => !w.endsWith('selfsubjectaccessreviews')),
    [],
    'the plan writes nothing',
  );
  assert.equal((await apis().core.readNode({ name: target })).spec?.unschedulable, undefined, 'not cordoned');
});

test('the drain holds every PDB, evicts all that is evictable, and leaves the node cordoned', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target] = pool.nodes as [string];
  await onFirstNode(
    pool,
    async () => {
      await deployment(ns, pool, 'web', 4);
      await pdb(ns, 'web', 'web', { minAvailable: 3 });
      await statefulSet(ns, pool, 'db', 2);
      await pdb(ns, 'db', 'db', { maxUnavailable: 1 });
      await daemonSet(ns, pool, 'agent');
      await deployment(ns, pool, 'scratch', 1, { emptyDir: true });
    },
    4 + 2 + 1 + 1,
    ns,
  );
  await pdbsSettled(ns);
  const watchers = { web: readyWatcher(ns, 'web'), db: readyWatcher(ns, 'db') };
  const r = await runPlugin(
    'kubectl-study_drain',
    [target, '--ignore-daemonsets', '--delete-emptydir-data', '--yes', '--timeout', '90s', '-o', 'json'],
    {
      env: operator().env,
      timeoutMs: 120_000,
    },
  );
  const minWeb = await watchers.web.stop();
  const minDb = await watchers.db.stop();
  assert.equal(r.code, 0, r.stderr);
  assert.ok(minWeb >= 3, `web never below its minAvailable 3 (saw ${minWeb})`);
  assert.ok(minDb >= 1, `db never below 1 ready (maxUnavailable 1 of 2; saw ${minDb})`);
  const result = JSON.parse(r.stdout) as {
    outcome: string;
    cordoned: Array<{ node: string; changed: boolean }>;
    pods: Array<{ name: string; status: string }>;
  };
  assert.equal(result.outcome, 'drained');
  assert.deepEqual(result.cordoned, [{ node: target, changed: true }]);
  assert.deepEqual(
    [...new Set(result.pods.filter((p) => !p.name.startsWith('agent-')).map((p) => p.status))],
    ['gone'],
  );
  assert.equal(result.pods.find((p) => p.name.startsWith('agent-'))?.status, 'skipped');
  assert.ok(r.stderr.includes(`node/${target} cordoned`));
  const left = (await podsIn(ns)).filter((p) => p.spec?.nodeName === target && !p.metadata?.deletionTimestamp);
  assert.deepEqual(
    left.map((p) => p.metadata?.name?.replace(/-[a-z0-9]+$/, '')),
    ['agent'],
    'only the DaemonSet pod stays',
  );
  assert.equal((await apis().core.readNode({ name: target })).spec?.unschedulable, true);
  await allReady(ns, 4 + 2 + 2 + 1);
});

test('two pods of a PDB that allows one: the second waits for the first replacement, then the drain finishes', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target, spare] = pool.nodes as [string, string];
  // Two replicas on the target, one on the spare: minAvailable 2 of 3 allows one disruption.
  await setCordoned(spare, true);
  // Replacements take 2 s to become Ready, so the second eviction must wait for the budget.
  await deployment(ns, pool, 'api', 2, { labels: { tier: 'api' }, annotations: { 'kstudy.test/ready-after': '2s' } });
  await allReady(ns, 2);
  await setCordoned(spare, false);
  await setCordoned(target, true);
  await apis().apps.patchNamespacedDeploymentScale(
    { name: 'api', namespace: ns, body: { spec: { replicas: 3 } } },
    (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
  );
  await allReady(ns, 3);
  await setCordoned(target, false);
  await pdb(ns, 'api', 'api', { minAvailable: 2 });
  await pdbsSettled(ns);
  const watcher = readyWatcher(ns, 'api');
  const r = await runPlugin('kubectl-study_drain', [target, '--yes', '--timeout', '60s'], {
    env: operator().env,
    timeoutMs: 90_000,
  });
  const min = await watcher.stop();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(min >= 2, `never below minAvailable 2 (saw ${min})`);
  assert.match(
    r.stderr,
    new RegExp(`waiting to evict ${ns}/api-\\S+: PDB ${ns}/api: it needs 2 healthy pods and has 2(;|$)`, 'm'),
  );
  assert.match(r.stdout, /Result: drained/);
  assert.equal((await podsIn(ns, 'app=api')).filter((p) => p.spec?.nodeName === target).length, 0);
});

test('a PDB that allows no disruption: blocked up front when it never can, timed out naming it when it cannot now', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target] = pool.nodes as [string];
  await onFirstNode(
    pool,
    async () => {
      await deployment(ns, pool, 'strict', 2, { labels: { tier: 'strict' } });
      await pdb(ns, 'strict', { tier: 'strict' }, { minAvailable: 2 });
    },
    2,
    ns,
  );
  await pdbsSettled(ns);
  const op = operator();
  const never = await runPlugin('kubectl-study_drain', [target, '--yes'], { env: op.env });
  assert.equal(never.code, 3);
  assert.match(
    never.stdout,
    /PdbNeverAllows: PDB .*\/strict allows 0 disruptions \(2 healthy, 2 required of 2\): it can never allow one/,
  );
  assert.match(never.stderr, /nothing was changed \(the node was not cordoned\)/);
  assert.equal((await apis().core.readNode({ name: target })).spec?.unschedulable, undefined);

  // Now a budget that is exhausted only because another pod of it crash-loops: the drain starts, waits, times out.
  await apis().policy.deleteNamespacedPodDisruptionBudget({ name: 'strict', namespace: ns });
  await deployment(ns, pool, 'strict-canary', 1, { image: 'registry.local/app:crashloop', labels: { tier: 'strict' } });
  await pdb(ns, 'budget', { tier: 'strict' }, { minAvailable: 2 });
  await eventually('the budget to be exhausted by the unhealthy pod', async () => {
    const b = await apis().policy.readNamespacedPodDisruptionBudget({ name: 'budget', namespace: ns });
    return b.status?.expectedPods === 3 && b.status.currentHealthy === 2 && b.status.disruptionsAllowed === 0;
  });
  const r = await runPlugin(
    'kubectl-study_drain',
    [target, '--yes', '--timeout', '6s', '--pod-selector', 'tier=strict'],
    { env: op.env, timeoutMs: 120_000 },
  );
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`blocked by PDB ${ns}/budget: it needs 2 healthy pods and has 2`));
  assert.match(r.stdout, /Result: timed out/);
  assert.match(r.stdout, /stays cordoned/);
  assert.equal(
    (await podsIn(ns, 'app=strict')).filter((p) => p.spec?.nodeName === target && isReady(p)).length,
    2,
    'both healthy pods are still there',
  );
});

test('an interrupted drain stops starting evictions, reports exactly, and leaves the node cordoned', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target] = pool.nodes as [string];
  await onFirstNode(
    pool,
    async () => {
      // One at a time (minAvailable 5 of 6), each terminating slowly: an interrupt lands mid-way.
      await deployment(ns, pool, 'slow', 6, { annotations: { 'kstudy.test/ignore-sigterm': 'true' }, grace: 2 });
      await pdb(ns, 'slow', 'slow', { minAvailable: 5 });
    },
    6,
    ns,
  );
  await pdbsSettled(ns);
  const child = spawn(drainCommand.cmd, [...drainCommand.args, target, '--yes', '-o', 'json'], {
    env: { ...process.env, ...operator().env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await eventually('the first eviction', async () => /evicted pod/.test(stderr), 30_000, 50);
  child.kill('SIGINT');
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /SIGINT received: finishing nothing new/);
  const result = JSON.parse(stdout) as {
    outcome: string;
    pods: Array<{ name: string; uid: string; status: string }>;
    cordoned: Array<{ changed: boolean }>;
  };
  assert.equal(result.outcome, 'interrupted');
  assert.deepEqual(
    result.cordoned.map((c) => c.changed),
    [true],
  );
  const evicted = result.pods.filter((p) => p.status === 'gone' || p.status === 'evicted');
  const untouched = result.pods.filter((p) => p.status === 'not-attempted' || p.status === 'blocked');
  assert.ok(evicted.length >= 1 && untouched.length >= 1, JSON.stringify(result.pods));
  assert.equal(evicted.length + untouched.length, 6);
  // The report matches the cluster: untouched pods are still running there, evicted ones are gone or going.
  const now = await podsIn(ns, 'app=slow');
  for (const p of untouched) {
    const live = now.find((x) => x.metadata?.uid === p.uid);
    assert.ok(live && !live.metadata?.deletionTimestamp, `${p.name} reported untouched and is untouched`);
  }
  for (const p of evicted) {
    const live = now.find((x) => x.metadata?.uid === p.uid);
    assert.ok(!live || live.metadata?.deletionTimestamp, `${p.name} reported evicted and is gone or terminating`);
  }
  assert.equal((await apis().core.readNode({ name: target })).spec?.unschedulable, true);
});

test('bad input and faults: one clear line and the right exit code', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target] = pool.nodes as [string];
  await onFirstNode(pool, () => deployment(ns, pool, 'web', 3), 3, ns);
  const op = operator();

  const unknown = await runPlugin('kubectl-study_drain', ['no-such-node', '--dry-run'], { env: op.env });
  assert.equal(unknown.code, 5);
  assert.equal(unknown.stderr, 'error: node "no-such-node" not found\nhint: list the nodes with "kubectl get nodes"\n');

  const twice = await runPlugin('kubectl-study_drain', [target, target], { env: op.env });
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /^error: node ".*" is named twice\nhint: name each node once\n$/);

  // A user who may read everything but not evict: refused before cordoning.
  const viewer = `viewer-${suffix()}`;
  await apis().rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `kstudy-${viewer}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: viewer, apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  await apis().rbac.createClusterRole({
    body: {
      metadata: { name: `kstudy-${viewer}-nodes` },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }],
    },
  });
  await apis().rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `kstudy-${viewer}-nodes` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `kstudy-${viewer}-nodes` },
      subjects: [{ kind: 'User', name: viewer, apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  t.after(async () => {
    for (const name of [`kstudy-${viewer}`, `kstudy-${viewer}-nodes`])
      await apis()
        .rbac.deleteClusterRoleBinding({ name })
        .catch(() => {});
    await apis()
      .rbac.deleteClusterRole({ name: `kstudy-${viewer}-nodes` })
      .catch(() => {});
  });
  const denied = await runPlugin('kubectl-study_drain', [target, '--yes', '--pod-selector', 'app=web'], {
    env: { KUBECONFIG: mintUser(viewer) },
  });
  assert.equal(denied.code, 3, denied.stdout + denied.stderr);
  assert.match(denied.stdout, /you may not patch nodes: ask for that permission/);
  assert.match(denied.stdout, new RegExp(`you may not create pods/eviction in namespace ${ns}`));
  assert.match(denied.stderr, /^error: the drain is blocked; nothing was changed/m);
  assert.equal((await apis().core.readNode({ name: target })).spec?.unschedulable, undefined, 'still schedulable');

  // Someone who may not even read the cluster: every missing permission is named at once, not the first 403.
  const stranger = await runPlugin('kubectl-study_drain', [target, '--dry-run'], {
    env: { KUBECONFIG: mintUser(`stranger-${suffix()}`) },
  });
  assert.equal(stranger.code, 3, stranger.stdout + stranger.stderr);
  assert.match(
    stranger.stderr,
    /^error: cannot plan the drain: you may not get nodes, patch nodes, list pods, get pods, watch pods, list poddisruptionbudgets\.policy, create pods\/eviction; nothing was changed$/m,
  );

  // The API server goes away mid-drain: a TCP proxy in front of it is closed after the first eviction;
  // the drain rides it out for --api-outage-timeout, then stops.
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(cluster().ports.apiserver, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as net.AddressInfo).port;
  const dir = tempDir('kstudy-proxy-');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const original = (await import('node:fs')).readFileSync(mintUser(`operator-${suffix()}`, ['system:masters']), 'utf8');
  writeFileSync(kubeconfig, original.replace(cluster().server, `https://127.0.0.1:${port}`));
  await deployment(ns, pool, 'slowpod', 4, { annotations: { 'kstudy.test/ignore-sigterm': 'true' }, grace: 3 });
  await pdb(ns, 'slowpod', 'slowpod', { maxUnavailable: 1 });
  await allReady(ns, 7);
  await pdbsSettled(ns);
  const child = spawn(
    drainCommand.cmd,
    [...drainCommand.args, target, '--yes', '--pod-selector', 'app=slowpod', '--api-outage-timeout', '5s'],
    {
      env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await eventually('the first eviction through the proxy', async () => /evicted pod/.test(err), 30_000, 50);
  proxy.close();
  for (const s of sockets) s.destroy();
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  assert.equal(code, 6, out + err);
  assert.match(out, /Result: not drained .*connection refused/);
  assert.match(out, /stays cordoned/);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  await setCordoned(target, false);
});

test('--skip-wait-for-delete-timeout: evicted pods stuck deleting past their deadline for longer are not waited for, as kubectl does', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  const pool = await createPool(t, [{}, {}]);
  // A finalizer keeps each pod after its 1 s grace period: stuck deleting, as a pod on a dead kubelet is.
  await onFirstNode(
    pool,
    () => deployment(ns, pool, 'stuck', 2, { grace: 1, finalizers: ['kstudy.test/hold'] }),
    2,
    ns,
  );
  t.after(async () => {
    for (const p of await podsIn(ns, 'app=stuck')) {
      await apis()
        .core.patchNamespacedPod(
          { name: p.metadata!.name!, namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
          JSON_PATCH,
        )
        .catch(() => {});
    }
  });
  const target = pool.nodes[0]!;
  const r = await runPlugin(
    'kubectl-study_drain',
    [target, '--ignore-daemonsets', '--yes', '--skip-wait-for-delete-timeout', '2', '-o', 'json'],
    { env: op.env, timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const result = JSON.parse(r.stdout) as { outcome: string; pods: Array<{ status: string; message?: string }> };
  assert.equal(result.outcome, 'drained');
  assert.deepEqual(
    result.pods.map((p) => p.status),
    ['not-waited', 'not-waited'],
  );
  assert.equal(
    (await podsIn(ns, 'app=stuck')).filter((p) => p.spec?.nodeName === target && p.metadata?.deletionTimestamp).length,
    2,
    'still there, deleting: not waited for',
  );
});

interface ResultJson {
  outcome: string;
  replacements: Array<{ namespace: string; name: string; workload: string; reason: string }>;
}

test('a replacement that fits nowhere: named Pending, in the scheduler\u2019s words, while the drain runs and in its result; the drain still drains', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target] = pool.nodes as [string];
  // One pod per node (required anti-affinity), and a third that is Pending before the drain: it is no replacement.
  const spec = template(pool, 'spread');
  spec.spec!.affinity = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  };
  await apis().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'spread' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'spread' } }, template: spec },
    },
  });
  await allReady(ns, 2);
  const pendingBefore = await eventually('the third replica to be unschedulable', async () =>
    (await podsIn(ns)).find((p) =>
      p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'),
    ),
  );
  const before = new Set((await podsIn(ns)).map((p) => p.metadata?.uid));

  const r = await runPlugin('kubectl-study_drain', [target, '--yes', '--allow-unplaceable', '-o', 'json'], {
    env: operator().env,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, `stuck replacements do not change the outcome\n${r.stderr}`);
  const result = JSON.parse(r.stdout) as ResultJson;
  assert.equal(result.outcome, 'drained');
  const replacement = (await podsIn(ns)).find((p) => !before.has(p.metadata?.uid) && !p.metadata?.deletionTimestamp);
  assert.ok(replacement, 'the ReplicaSet made a replacement');
  const name = replacement.metadata!.name!;
  assert.match(
    r.stderr,
    new RegExp(
      `^replacement ${ns}/${name} of Deployment/spread is Pending, unschedulable: 0/\\d+ nodes are available: .*didn't match pod anti-affinity rules`,
      'm',
    ),
  );
  assert.equal(result.replacements.length, 1, JSON.stringify(result.replacements));
  assert.deepEqual(
    { ...result.replacements[0], reason: '' },
    { namespace: ns, name, workload: 'Deployment/spread', reason: '' },
  );
  assert.match(
    result.replacements[0]!.reason,
    /^Pending, unschedulable: 0\/\d+ nodes are available: .*didn't match pod anti-affinity rules/,
  );
  assert.ok(
    !r.stderr.includes(pendingBefore.metadata!.name!),
    'the pod Pending before the drain is not called a replacement',
  );
});

test('a replacement that cannot pull its image: named while --wait-healthy waits, and in the timed-out report', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target] = pool.nodes as [string];
  // A bare ReplicaSet keeps its running pod when its template changes: only the replacement gets the image that fails.
  await onFirstNode(
    pool,
    async () => {
      await apis().apps.createNamespacedReplicaSet({
        namespace: ns,
        body: {
          metadata: { name: 'pull' },
          spec: { replicas: 1, selector: { matchLabels: { app: 'pull' } }, template: template(pool, 'pull') },
        },
      });
    },
    1,
    ns,
  );
  await apis().apps.patchNamespacedReplicaSet(
    {
      name: 'pull',
      namespace: ns,
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/app:2.0-fail-pull' },
      ],
    },
    JSON_PATCH,
  );
  const r = await runPlugin('kubectl-study_drain', [target, '--yes', '--wait-healthy', '--timeout', '20s'], {
    env: { ...operator().env, NO_COLOR: '1' },
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 4, `--wait-healthy times out: the workload never gets its replica back\n${r.stdout}${r.stderr}`);
  const line = new RegExp(
    `^replacement ${ns}/(pull-[a-z0-9]+) of ReplicaSet/pull is ImagePullBackOff: Back-off pulling image "registry\\.local/app:2\\.0-fail-pull"`,
    'm',
  );
  assert.match(r.stderr, line);
  const name = line.exec(r.stderr)![1]!;
  assert.match(
    r.stdout,
    new RegExp(`^${ns}/ReplicaSet/pull: not Available in time: ${name} is ImagePullBackOff$`, 'm'),
  );
  assert.match(
    r.stdout,
    new RegExp(`^Replacements that cannot start .*\n {2}${ns}/${name} of ReplicaSet/pull: ImagePullBackOff`, 'm'),
  );
  assert.match(r.stdout, /Result: timed out/);
});
