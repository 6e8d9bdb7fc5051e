/**
 * kubectl study-rollout against real Deployments, StatefulSets and
 * DaemonSets, beside kubectl rollout on the same objects.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import { REPO_ROOT } from '../cluster/paths.js';
import {
  apis,
  auditMark,
  eventually,
  kubectl,
  mintUser,
  pluginCommand,
  recordingProxy,
  runCommand,
  runPlugin,
  serverOnlyKubeconfig,
  suffix,
  testNamespace,
  writesBy,
} from '../support/cluster.js';
import { screen } from '../support/terminal.js';

function operator(): { name: string; env: NodeJS.ProcessEnv } {
  const name = `deployer-${suffix()}`;
  return { name, env: { KUBECONFIG: mintUser(name, ['system:masters']) } };
}

function deployment(name: string, image: string, extra: Partial<k8s.V1DeploymentSpec> = {}): k8s.V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image, env: [{ name: 'MODE', value: 'one' }], resources: { requests: { cpu: '10m' } } },
          ],
        },
      },
      ...extra,
    },
  };
}

const JSON_PATCH = k8s.setHeaderOptions('Content-Type', 'application/json-patch+json');

async function setImageAndEnv(ns: string, name: string, image: string, mode: string, cause: string): Promise<void> {
  await apis().apps.patchNamespacedDeployment(
    {
      name,
      namespace: ns,
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: image },
        { op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: mode },
        { op: 'add', path: '/metadata/annotations', value: { 'kubernetes.io/change-cause': cause } },
      ],
    },
    JSON_PATCH,
  );
}

async function rolledOut(ns: string, name: string, revision: string): Promise<void> {
  await eventually(
    `${name} at revision ${revision}, rolled out`,
    async () => {
      const d = await apis().apps.readNamespacedDeployment({ name, namespace: ns });
      const st = d.status;
      return (
        d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision &&
        st?.observedGeneration === d.metadata?.generation &&
        st?.updatedReplicas === d.spec?.replicas &&
        st?.availableReplicas === d.spec?.replicas &&
        st?.replicas === d.spec?.replicas
      );
    },
    60_000,
  );
}

test('a Deployment through three revisions: history agrees with kubectl, diff shows exactly what changed', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  await apis().apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 'registry.local/web:1.0') });
  await rolledOut(ns, 'web', '1');
  await setImageAndEnv(ns, 'web', 'registry.local/web:2.0', 'two', 'upgrade to 2.0');
  await rolledOut(ns, 'web', '2');
  await setImageAndEnv(ns, 'web', 'registry.local/web:3.0', 'three', 'upgrade to 3.0');
  await rolledOut(ns, 'web', '3');

  const mark = auditMark();
  const ours = await runPlugin('kubectl-study_rollout', ['history', 'deployment/web', '-n', ns, '-o', 'json'], {
    env: op.env,
  });
  assert.equal(ours.code, 0, ours.stderr);
  const h = JSON.parse(ours.stdout) as {
    revisions: Array<{
      revision: number;
      images: string[];
      changeCause: string;
      current: boolean;
      replicas: { ready: number; desired: number };
    }>;
  };
  const theirs = await kubectl(['rollout', 'history', 'deployment/web', '-n', ns], { env: op.env });
  const kubectlRows = theirs.stdout
    .split('\n')
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => {
      const [rev, ...cause] = l.trim().split(/\s+/);
      return { revision: Number(rev), cause: cause.join(' ') === '<none>' ? '' : cause.join(' ') };
    });
  assert.deepEqual(
    h.revisions.map((r) => ({ revision: r.revision, cause: r.changeCause })),
    kubectlRows,
  );
  assert.deepEqual(
    h.revisions.map((r) => r.images),
    [['app=registry.local/web:1.0'], ['app=registry.local/web:2.0'], ['app=registry.local/web:3.0']],
  );
  assert.deepEqual(
    h.revisions.map((r) => r.current),
    [false, false, true],
  );
  assert.deepEqual(h.revisions.at(-1)?.replicas, { ready: 2, desired: 2 });
  for (const rev of [1, 2, 3]) {
    const one = await runPlugin(
      'kubectl-study_rollout',
      ['history', 'deployment/web', '-n', ns, '--revision', String(rev)],
      { env: op.env },
    );
    const k = await kubectl(['rollout', 'history', 'deployment/web', '-n', ns, '--revision', String(rev)], {
      env: op.env,
    });
    const image = /Image:\s+(\S+)/.exec(k.stdout)?.[1];
    assert.ok(image && one.stdout.includes(`image: ${image}`), `revision ${rev}: kubectl says ${image}`);
  }

  const diff = await runPlugin('kubectl-study_rollout', ['history', 'deployment/web', '-n', ns, 'diff', '1', '3'], {
    env: op.env,
  });
  assert.equal(diff.code, 0, diff.stderr);
  const changed = diff.stdout
    .split('\n')
    .filter((l) => /^[-+](?![-+])/.test(l))
    .map((l) => l.replace(/\s+/g, ' '));
  assert.deepEqual(
    changed.sort(),
    ['+ value: three', '+ image: registry.local/web:3.0', '- value: one', '- image: registry.local/web:1.0'].sort(),
  );
  assert.doesNotMatch(diff.stdout, /pod-template-hash|deployment\.kubernetes\.io\/revision/);
  const same = await runPlugin('kubectl-study_rollout', ['history', 'deployment/web', '-n', ns, 'diff', '3', 'live'], {
    env: op.env,
  });
  assert.match(same.stdout, /have the same pod template/);

  await runPlugin('kubectl-study_rollout', ['status', 'deployment/web', '-n', ns], { env: op.env });
  await runPlugin('kubectl-study_rollout', ['undo', 'deployment/web', '-n', ns, '--dry-run'], { env: op.env });
  assert.deepEqual(writesBy(mark, op.name), [], 'status, history, diff and undo --dry-run write nothing');
});

test('a rollout to an image that fails to pull: the reason in seconds, failure at the deadline, early with --fail-fast', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  // A deadline far away first: --fail-fast must end the wait on the pull error, not on the deadline.
  await apis().apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment('api', 'registry.local/api:1.0', { progressDeadlineSeconds: 600 }),
  });
  await rolledOut(ns, 'api', '1');
  await apis().apps.patchNamespacedDeployment(
    {
      name: 'api',
      namespace: ns,
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/api:2.0-fail-pull' },
      ],
    },
    JSON_PATCH,
  );
  const fast = await runPlugin(
    'kubectl-study_rollout',
    ['status', 'deployment/api', '-n', ns, '--fail-fast', '-o', 'json'],
    { env: op.env, timeoutMs: 300_000 },
  );
  assert.equal(fast.code, 3, fast.stdout + fast.stderr);
  assert.doesNotMatch(
    fast.stdout,
    /DeadlineExceeded|exceeded its progress deadline/,
    'ended by --fail-fast, not by the deadline',
  );
  const lines = fast.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { problems?: Array<{ code: string; message: string }>; kind: string });
  const withPull = lines.find((l) => l.problems?.some((p) => p.code === 'ImagePull'));
  assert.ok(withPull, fast.stdout);
  assert.match(
    withPull.problems!.find((p) => p.code === 'ImagePull')!.message,
    /ImagePullBackOff for registry\.local\/api:2\.0-fail-pull/,
  );
  assert.equal(lines.at(-1)?.kind, 'RolloutStatusSummary');

  await apis().apps.patchNamespacedDeployment(
    { name: 'api', namespace: ns, body: [{ op: 'replace', path: '/spec/progressDeadlineSeconds', value: 6 }] },
    JSON_PATCH,
  );
  const slow = await runPlugin('kubectl-study_rollout', ['status', 'deployment/api', '-n', ns, '--timeout', '120s'], {
    env: op.env,
    timeoutMs: 180_000,
  });
  assert.equal(slow.code, 3, slow.stdout + slow.stderr);
  assert.match(slow.stdout, /deployment "api" exceeded its progress deadline/);
  assert.match(slow.stdout, /ImagePull/);
  // The error line on stderr is kubectl's.
  const k = await kubectl(['rollout', 'status', 'deployment/api', '-n', ns, '--timeout=5s'], { env: op.env });
  assert.match(k.stderr, /^error: deployment "api" exceeded its progress deadline$/m);
  assert.match(slow.stderr, /^error: deployment "api" exceeded its progress deadline\nhint: /);

  const once = await runPlugin('kubectl-study_rollout', ['status', 'deployment/api', '-n', ns, '--watch=false'], {
    env: op.env,
  });
  assert.equal(once.code, 3);
  const timeout = await runPlugin('kubectl-study_rollout', ['status', 'deployment/nope', '-n', ns], { env: op.env });
  assert.equal(timeout.code, 5);
  assert.match(timeout.stderr, /^error: deployment "nope" not found in namespace/);
});

test('a paused rollout says so, --watch=false says "not done" with exit 1, and undo refuses a paused Deployment', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  await apis().apps.createNamespacedDeployment({ namespace: ns, body: deployment('paused', 'registry.local/p:1.0') });
  await rolledOut(ns, 'paused', '1');
  await apis().apps.patchNamespacedDeployment(
    {
      name: 'paused',
      namespace: ns,
      body: [
        { op: 'add', path: '/spec/paused', value: true },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/p:2.0' },
      ],
    },
    JSON_PATCH,
  );
  await eventually('the pause to be observed', async () => {
    const d = await apis().apps.readNamespacedDeployment({ name: 'paused', namespace: ns });
    return d.status?.observedGeneration === d.metadata?.generation;
  });
  const once = await runPlugin('kubectl-study_rollout', ['status', 'deployment/paused', '-n', ns, '--watch=false'], {
    env: op.env,
  });
  assert.equal(once.code, 1, once.stdout + once.stderr);
  assert.match(once.stdout, /Paused: the rollout is paused; resume it with: kubectl rollout resume deployment\/paused/);
  const kOnce = await kubectl(['rollout', 'status', 'deployment/paused', '-n', ns, '--watch=false'], { env: op.env });
  assert.equal(kOnce.code, 0, 'kubectl exits 0 here; we do not');
  // kubectl's order: the revision first (paused, the Deployment made no second one), then the pause.
  const none = await runPlugin('kubectl-study_rollout', ['undo', 'deployment/paused', '-n', ns], { env: op.env });
  const kNone = await kubectl(['rollout', 'undo', 'deployment/paused', '-n', ns], { env: op.env });
  assert.equal(none.code, 5, none.stderr);
  assert.match(none.stderr, /^error: no rollout history found for deployment "paused"\n/);
  assert.match(kNone.stderr, /no rollout history found for deployment "paused"/);
  // Resumed, rolled out to revision 2, paused again: now the pause refuses, in kubectl's words; --dry-run still previews.
  const pause = async (paused: boolean): Promise<void> => {
    await apis().apps.patchNamespacedDeployment(
      { name: 'paused', namespace: ns, body: [{ op: 'replace', path: '/spec/paused', value: paused }] },
      JSON_PATCH,
    );
  };
  await pause(false);
  await rolledOut(ns, 'paused', '2');
  await pause(true);
  const undo = await runPlugin('kubectl-study_rollout', ['undo', 'deployment/paused', '-n', ns], { env: op.env });
  const kUndo = await kubectl(['rollout', 'undo', 'deployment/paused', '-n', ns], { env: op.env });
  assert.equal(undo.code, 3, undo.stderr);
  assert.match(
    undo.stderr,
    /^error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again\nhint: kubectl rollout resume deployment\/paused/,
  );
  assert.match(
    kUndo.stderr,
    /you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again/,
  );
  const preview = await runPlugin('kubectl-study_rollout', ['undo', 'deployment/paused', '-n', ns, '--dry-run'], {
    env: op.env,
  });
  assert.equal(preview.code, 0, preview.stderr);
  assert.match(preview.stdout, /registry\.local\/p:1\.0/);
});

test('StatefulSets with a partition and with OnDelete: progress as kubectl reports it, counts where kubectl has none', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  const sts = (name: string, strategy: k8s.V1StatefulSetUpdateStrategy): k8s.V1StatefulSet => ({
    metadata: { name },
    spec: {
      replicas: 3,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      updateStrategy: strategy,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'db', image: 'registry.local/db:1' }] },
      },
    },
  });
  await apis().apps.createNamespacedStatefulSet({
    namespace: ns,
    body: sts('part', { type: 'RollingUpdate', rollingUpdate: { partition: 2 } }),
  });
  await apis().apps.createNamespacedStatefulSet({ namespace: ns, body: sts('ondel', { type: 'OnDelete' }) });
  for (const name of ['part', 'ondel']) {
    await eventually(
      `${name} ready`,
      async () => (await apis().apps.readNamespacedStatefulSet({ name, namespace: ns })).status?.readyReplicas === 3,
      60_000,
    );
    await apis().apps.patchNamespacedStatefulSet(
      {
        name,
        namespace: ns,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/db:2' }],
      },
      JSON_PATCH,
    );
  }
  // Partition 2 of 3: only the last pod moves; both tools call it complete once it has.
  const part = await runPlugin('kubectl-study_rollout', ['status', 'sts/part', '-n', ns, '--timeout', '60s'], {
    env: op.env,
    timeoutMs: 90_000,
  });
  assert.equal(part.code, 0, part.stdout + part.stderr);
  const kPart = await kubectl(['rollout', 'status', 'sts/part', '-n', ns, '--timeout=30s'], { env: op.env });
  const kLast = kPart.stdout.trim().split('\n').at(-1) ?? '';
  assert.match(kLast, /partitioned roll out complete: 1 new pods have been updated/);
  assert.ok(part.stdout.includes(kLast.trim()), `ours: ${part.stdout}\nkubectl: ${kLast}`);

  // OnDelete: kubectl gives up; we count pods at the update revision.
  const kOnDel = await kubectl(['rollout', 'status', 'sts/ondel', '-n', ns, '--watch=false'], { env: op.env });
  assert.match(kOnDel.stderr, /only available for RollingUpdate strategy type/);
  const before = await runPlugin(
    'kubectl-study_rollout',
    ['status', 'sts/ondel', '-n', ns, '--watch=false', '-o', 'json'],
    { env: op.env },
  );
  assert.equal(before.code, 1);
  const b = JSON.parse(before.stdout) as { items: Array<{ message: string; replicas: { updated: number } }> };
  assert.match(
    b.items[0]!.message,
    /Waiting for OnDelete roll out: 0 of 3 pods are at revision ondel-\w+ \(0 ready\); delete the old pods/,
  );
  await apis().core.deleteNamespacedPod({ name: 'ondel-0', namespace: ns });
  await eventually(
    'ondel-0 replaced at the new revision',
    async () => {
      const r = await runPlugin(
        'kubectl-study_rollout',
        ['status', 'sts/ondel', '-n', ns, '--watch=false', '-o', 'json'],
        { env: op.env },
      );
      return (JSON.parse(r.stdout) as typeof b).items[0]!.replicas.updated === 1;
    },
    30_000,
    500,
  );
  // Watch first, and only once it has reported the 1-of-3 state delete the other pods.
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'kubectl-study_rollout'), 'status', 'sts/ondel', '-n', ns, '--timeout', '60s'],
    {
      env: { ...process.env, ...op.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  await eventually('the watch to report 1 of 3', async () => /1 of 3 pods are at revision/.test(out), 30_000, 50);
  await apis().core.deleteNamespacedPod({ name: 'ondel-1', namespace: ns });
  await apis().core.deleteNamespacedPod({ name: 'ondel-2', namespace: ns });
  assert.equal(await closed, 0, out);
  assert.match(out, /OnDelete roll out complete: 3 pods at revision/);
});

test('a workload deleted while its rollout is watched: the watch ends, "object has been deleted" as kubectl says, exit 5', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  await apis().apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment('gone', 'registry.local/g:1.0-fail-pull'),
  });
  const { cmd, args } = pluginCommand('kubectl-study_rollout');
  const child = spawn(cmd, [...args, 'status', 'deployment/gone', '-n', ns, '--timeout', '120s'], {
    env: { ...process.env, ...op.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  await eventually(
    'the watch to report the rollout under way',
    async () => /Waiting for deployment "gone" rollout to finish/.test(out),
    60_000,
    50,
  );
  await apis().apps.deleteNamespacedDeployment({ name: 'gone', namespace: ns });
  assert.equal(await closed, 5, out);
  assert.match(out, /^error: object has been deleted$/m);
});

test('undo --to-revision yields the same pod template as kubectl rollout undo on an identical twin', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  for (const name of ['mine', 'twin']) {
    await apis().apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, 'registry.local/x:1') });
  }
  for (const name of ['mine', 'twin']) await rolledOut(ns, name, '1');
  for (const [i, image] of ['registry.local/x:2', 'registry.local/x:3'].entries()) {
    for (const name of ['mine', 'twin']) await setImageAndEnv(ns, name, image, `m${i + 2}`, `to ${image}`);
    for (const name of ['mine', 'twin']) await rolledOut(ns, name, String(i + 2));
  }
  const dry = await runPlugin(
    'kubectl-study_rollout',
    ['undo', 'deployment/mine', '-n', ns, '--to-revision', '1', '--dry-run'],
    { env: op.env },
  );
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^-\s+image: registry\.local\/x:3$/m);
  assert.match(dry.stdout, /^\+\s+image: registry\.local\/x:1$/m);
  assert.match(dry.stdout, /nothing was changed/);
  const mark = auditMark();
  const ours = await runPlugin('kubectl-study_rollout', ['undo', 'deployment/mine', '-n', ns, '--to-revision', '1'], {
    env: op.env,
  });
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(ours.stdout, /deployment\.apps\/mine rolled back to revision 1/);
  assert.deepEqual(
    writesBy(mark, op.name).map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`),
    ['patch deployments/mine'],
  );
  const theirs = await kubectl(['rollout', 'undo', 'deployment/twin', '-n', ns, '--to-revision=1'], { env: op.env });
  assert.equal(theirs.code, 0, theirs.stderr);
  const [mine, twin] = await Promise.all(
    ['mine', 'twin'].map((name) => apis().apps.readNamespacedDeployment({ name, namespace: ns })),
  );
  const norm = (d: k8s.V1Deployment): unknown =>
    JSON.parse(JSON.stringify(d.spec?.template).replaceAll('"twin"', '"mine"'));
  assert.deepEqual(norm(mine!), norm(twin!));
  assert.equal(
    mine!.metadata?.annotations?.['kubernetes.io/change-cause'],
    twin!.metadata?.annotations?.['kubernetes.io/change-cause'],
  );
  await rolledOut(ns, 'mine', '4');
  const hist = await runPlugin('kubectl-study_rollout', ['history', 'deployment/mine', '-n', ns], { env: op.env });
  assert.match(hist.stdout, /^4 \(was 1\)\s/m);
  assert.match(hist.stdout, /Revision 4 is revision 1 restored by a rollback/);
  const again = await runPlugin('kubectl-study_rollout', ['undo', 'deployment/mine', '-n', ns, '--to-revision', '4'], {
    env: op.env,
  });
  assert.match(again.stdout, /skipped rollback \(current template already matches revision 4\)/);
  // Revision 1 was re-numbered away: gone, for --revision and --to-revision alike, as kubectl says.
  for (const args of [
    ['history', 'deployment/mine', '--revision', '1'],
    ['undo', 'deployment/mine', '--to-revision', '1'],
  ]) {
    const gone = await runPlugin('kubectl-study_rollout', [...args, '-n', ns], { env: op.env });
    assert.equal(gone.code, 5, gone.stderr);
    const words =
      args[0] === 'undo'
        ? 'unable to find specified revision 1 in history'
        : 'unable to find the specified revision 1 of deployment\\/mine';
    assert.match(
      gone.stderr,
      new RegExp(`^error: ${words}\\nhint: revision 1 was restored by a rollback and is revision 4 now\\n$`),
    );
  }
  const kUndo = await kubectl(['rollout', 'undo', 'deployment/mine', '-n', ns, '--to-revision=1'], { env: op.env });
  assert.match(kUndo.stderr, /unable to find specified revision 1 in history/);
  const k = await kubectl(['rollout', 'history', 'deployment/mine', '-n', ns, '--revision=1'], { env: op.env });
  assert.match(k.stderr, /unable to find the specified revision/);
});

test('several workloads at once, a DaemonSet among them, with a summary', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  await apis().apps.createNamespacedDeployment({ namespace: ns, body: deployment('a', 'registry.local/a:1') });
  await apis().apps.createNamespacedDaemonSet({
    namespace: ns,
    body: {
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { containers: [{ name: 'agent', image: 'registry.local/agent:1' }] },
        },
      },
    },
  });
  const r = await runPlugin(
    'kubectl-study_rollout',
    ['status', 'deployment/a', 'daemonset/agent', '-n', ns, '--timeout', '60s'],
    { env: op.env, timeoutMs: 90_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^NAME\s+STATE\s+MESSAGE\s+WHY$/m);
  assert.match(r.stdout, /^deployment\/a\s+complete\s/m);
  assert.match(r.stdout, /^daemonset\/agent\s+complete\s+daemon set "agent" successfully rolled out/m);
  // A DaemonSet update whose new image crash-loops names the stragglers' nodes.
  await apis().apps.patchNamespacedDaemonSet(
    {
      name: 'agent',
      namespace: ns,
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/agent:2-crashloop' },
      ],
    },
    JSON_PATCH,
  );
  const bad = await runPlugin('kubectl-study_rollout', ['status', 'ds/agent', '-n', ns, '--fail-fast', '-o', 'json'], {
    env: op.env,
    timeoutMs: 60_000,
  });
  assert.equal(bad.code, 3, bad.stdout);
  const last = bad.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { stragglers?: string[]; problems?: Array<{ code: string }> })
    .filter((l) => l.problems)
    .at(-1)!;
  assert.ok(last.problems!.some((p) => p.code === 'CrashLoop'));
  assert.ok((last.stragglers ?? []).length >= 1);
});

test('a finished rollout is answered from one read, as kubectl answers it; one under way is watched to its end', async (t) => {
  const ns = await testNamespace(t);
  await apis().apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 'registry.local/web:1.0') });
  await rolledOut(ns, 'web', '1');
  const proxy = await recordingProxy(t);
  const env = { KUBECONFIG: serverOnlyKubeconfig(proxy.server, ns) };
  const done = await runPlugin('kubectl-study_rollout', ['status', 'deployment/web'], { env });
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /deployment "web" successfully rolled out/);
  assert.deepEqual(
    proxy.requests.filter((r) => r !== 'GET /version'),
    [`GET /apis/apps/v1/namespaces/${ns}/deployments/web`],
    'one read, no list, no watch (besides the server version, until it is cached)',
  );

  const d = deployment('web', 'registry.local/web:2.0');
  d.spec!.template.metadata!.annotations = { 'kstudy.test/ready-after': '2s' };
  await apis().apps.replaceNamespacedDeployment({ name: 'web', namespace: ns, body: d });
  proxy.requests.length = 0;
  const watched = await runPlugin('kubectl-study_rollout', ['status', 'deployment/web', '-o', 'json'], {
    env,
    timeoutMs: 120_000,
  });
  assert.equal(watched.code, 0, watched.stderr);
  const lines = watched.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; done?: boolean; ended?: string });
  assert.ok(
    lines.some((l) => l.kind === 'Deployment' && l.done === false),
    'it was seen under way',
  );
  const { serverRelease, rules, ...summary } = lines.at(-1) as { serverRelease?: string; rules?: string };
  assert.match(serverRelease ?? '', /^v1\.\d+\.\d+/, 'the release it was answered for');
  assert.match(rules ?? '', /^1\.3[2-7]$/);
  assert.deepEqual(summary, {
    kind: 'RolloutStatusSummary',
    apiVersion: 'study.kubectl.io/v1',
    ended: 'done',
    items: [
      {
        kind: 'Deployment',
        name: 'web',
        state: 'complete',
        done: true,
        message: 'deployment "web" successfully rolled out',
      },
    ],
  });
  assert.ok(
    proxy.requests.some((r) => /deployments\?.*watch=true/.test(r)),
    proxy.requests.join('\n'),
  );
});

test('the live view in a 60-column pseudo-terminal redraws in place: no stale lines, wrapped lines included', async (t) => {
  const ns = await testNamespace(t);
  const op = operator();
  const name = 'a-deployment-with-a-name-long-enough-to-wrap';
  const d = deployment(name, 'registry.local/api:1.0', { replicas: 3 });
  d.spec!.template.metadata!.annotations = { 'kstudy.test/ready-after': '2s' };
  await apis().apps.createNamespacedDeployment({ namespace: ns, body: d });
  await rolledOut(ns, name, '1');
  await apis().apps.patchNamespacedDeployment(
    {
      name,
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/api:2.0' }],
    },
    JSON_PATCH,
  );
  const bin = path.join(REPO_ROOT, 'bin', 'kubectl-study_rollout');
  const r = await runCommand(
    'script',
    ['-qfec', `stty cols 60 rows 60; ${process.execPath} ${bin} status deployment/${name} -n ${ns}`, '/dev/null'],
    {
      env: { ...op.env, CI: '', TERM: 'xterm', NO_COLOR: '1' },
      timeoutMs: 180_000,
    },
  );
  assert.equal(r.code, 0, r.stdout);
  // oxlint-disable-next-line no-control-regex -- a cursor-up escape is what is looked for
  assert.match(r.stdout, /\u001b\[\d*A/, 'the view was redrawn in place');
  const lines = screen(r.stdout, 60);
  const heads = lines.filter((l) => l.startsWith(`deployment/${name}`.slice(0, 60)));
  // One block left on the screen (the last), and the summary's row: every earlier frame was erased.
  assert.equal(heads.length, 2, lines.join('\n'));
  assert.ok(
    lines.some((l) => /successfully rolled out/.test(l)),
    lines.join('\n'),
  );
});
