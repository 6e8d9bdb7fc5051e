import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';

import { deploymentHistory, findRevision, templateDiff } from '../../../src/rollout/history.js';
import { parseTargets } from '../../../src/rollout/model.js';
import { deletedStatus, podProblems, rolloutStatus, statusLine } from '../../../src/rollout/status.js';
import { statusExitCode } from '../../../src/rollout/run.js';
import { ExitCode } from '../../../src/base/errors.js';
import { planRollback } from '../../../src/rollout/rollback.js';
import { NEWEST_ROLLOUT_RULES } from '../../../src/rollout/rules.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const RULES = NEWEST_ROLLOUT_RULES;

function deploy(status: Partial<NonNullable<V1Deployment['status']>>, extra: Partial<V1Deployment> = {}): V1Deployment {
  return {
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'd1',
      generation: 2,
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i:2' }] } },
    },
    status: { observedGeneration: 2, ...status },
    ...extra,
  } as V1Deployment;
}

test('Deployment completion follows kubectl word for word', () => {
  const cases: Array<[Partial<NonNullable<V1Deployment['status']>>, string, boolean]> = [
    [{ observedGeneration: 1 }, 'Waiting for deployment spec update to be observed...', false],
    [
      { updatedReplicas: 1, replicas: 4, availableReplicas: 3 },
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
      false,
    ],
    [
      { updatedReplicas: 3, replicas: 4, availableReplicas: 3 },
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
      false,
    ],
    [
      { updatedReplicas: 3, replicas: 3, availableReplicas: 2 },
      'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
      false,
    ],
    [{ updatedReplicas: 3, replicas: 3, availableReplicas: 3 }, 'deployment "web" successfully rolled out', true],
  ];
  for (const [st, message, done] of cases) {
    const s = rolloutStatus({
      kind: 'Deployment',
      obj: deploy(st),
      pods: [],
      replicaSets: [],
      events: [],
      now: NOW,
      rules: RULES,
    });
    assert.equal(s.message, message);
    assert.equal(s.done, done);
  }
  const failed = rolloutStatus({
    kind: 'Deployment',
    obj: deploy({
      updatedReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-2" has timed out progressing.',
        },
      ],
    }),
    pods: [],
    replicaSets: [],
    events: [],
    now: NOW,
    rules: RULES,
  });
  assert.equal(failed.failed, true);
  assert.equal(failed.message, 'deployment "web" exceeded its progress deadline');
  assert.deepEqual(
    failed.problems.map((p) => p.code),
    ['DeadlineExceeded'],
  );
  assert.equal(
    rolloutStatus({
      kind: 'Deployment',
      obj: deploy({}, { spec: { ...deploy({}).spec!, strategy: { type: 'Recreate' } } }),
      pods: [],
      replicaSets: [],
      events: [],
      now: NOW,
      rules: RULES,
    }).strategy,
    'Recreate',
  );
});

function pod(name: string, statuses: NonNullable<V1Pod['status']>): V1Pod {
  return { metadata: { name }, status: statuses } as V1Pod;
}

test('pod problems: image pull, crash loop, unschedulable, failing readiness', () => {
  const pull = pod('a', {
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'c',
        image: 'x:bad',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } },
      },
    ],
  });
  assert.deepEqual(podProblems(pull, [], NOW), [
    { code: 'ImagePull', pod: 'a', message: 'ImagePullBackOff for x:bad: not found' },
  ]);
  const crash = pod('b', {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'c',
        image: 'x',
        imageID: '',
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
      },
    ],
  });
  assert.equal(
    podProblems(crash, [], NOW)[0]?.message,
    'container c restarted 4 times; last exit: OOMKilled (code 137)',
  );
  const unsched = pod('c', {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/3 nodes are available: 3 Insufficient cpu.',
      },
    ],
  });
  assert.deepEqual(
    podProblems(unsched, [], NOW).map((p) => `${p.code}: ${p.message}`),
    ['Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.'],
  );
  const unready = pod('d', {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date('2026-06-01T11:59:00Z') }],
  });
  assert.match(podProblems(unready, [], NOW)[0]?.message ?? '', /not Ready for 60s/);
  const probe = podProblems(
    unready,
    [
      {
        metadata: {},
        involvedObject: { name: 'd' },
        reason: 'Unhealthy',
        message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      },
    ],
    NOW,
  );
  assert.equal(probe[0]?.message, 'Readiness probe failed: HTTP probe failed with statuscode: 503');
});

test('StatefulSet OnDelete progress is counted from the pods, where kubectl gives up', () => {
  const sts = {
    metadata: { name: 'db', namespace: 'ns', uid: 's1', generation: 2 },
    spec: { replicas: 3, updateStrategy: { type: 'OnDelete' }, selector: {}, serviceName: 'db', template: {} },
    status: { observedGeneration: 2, replicas: 3, updateRevision: 'db-new', currentRevision: 'db-old' },
  } as unknown as V1StatefulSet;
  const p = (name: string, rev: string, ready = true): V1Pod =>
    ({
      metadata: {
        name,
        labels: { 'controller-revision-hash': rev },
        ownerReferences: [{ uid: 's1', controller: true, kind: 'StatefulSet', name: 'db', apiVersion: 'apps/v1' }],
      },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    }) as V1Pod;
  const mid = rolloutStatus({
    kind: 'StatefulSet',
    obj: sts,
    pods: [p('db-0', 'db-new'), p('db-1', 'db-old'), p('db-2', 'db-old')],
    events: [],
    now: NOW,
    rules: RULES,
  });
  assert.equal(mid.done, false);
  assert.equal(mid.replicas.updated, 1);
  assert.match(mid.message, /1 of 3 pods are at revision db-new/);
  const end = rolloutStatus({
    kind: 'StatefulSet',
    obj: sts,
    pods: [p('db-0', 'db-new'), p('db-1', 'db-new'), p('db-2', 'db-new')],
    events: [],
    now: NOW,
    rules: RULES,
  });
  assert.equal(end.done, true);
  assert.equal(statusLine(end), 'statefulset/db: OnDelete roll out complete: 3 pods at revision db-new');
});

function rs(name: string, revision: string, image: string, extra: Record<string, string> = {}): V1ReplicaSet {
  return {
    metadata: {
      name,
      creationTimestamp: new Date('2026-06-01T11:00:00Z'),
      annotations: { 'deployment.kubernetes.io/revision': revision, ...extra },
      ownerReferences: [{ uid: 'd1', controller: true, kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }],
    },
    spec: {
      replicas: 0,
      selector: {},
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': name } },
        spec: { containers: [{ name: 'c', image }] },
      },
    },
    status: { replicas: 0 },
  } as V1ReplicaSet;
}

test('history: revisions sorted, the current one marked, re-numbered ones said so', () => {
  const h = deploymentHistory(
    {
      metadata: { uid: 'd1', name: 'web', namespace: 'ns', annotations: { 'deployment.kubernetes.io/revision': '4' } },
    },
    [
      rs('web-b', '2', 'i:2'),
      rs('web-a', '4', 'i:1', {
        'deployment.kubernetes.io/revision-history': '1',
        'kubernetes.io/change-cause': 'first',
      }),
      rs('web-c', '3', 'i:3'),
      { ...rs('other', '9', 'x'), metadata: { ...rs('other', '9', 'x').metadata, ownerReferences: [] } },
    ],
    NOW,
  );
  assert.deepEqual(
    h.revisions.map((r) => [r.revision, r.current, r.previousRevisions, r.changeCause]),
    [
      [2, false, [], ''],
      [3, false, [], ''],
      [4, true, [1], 'first'],
    ],
  );
  assert.equal(h.revisions[0]?.age, '60m');
  // The diff leaves the hash label out, so two revisions with the same template are the same.
  assert.equal(
    templateDiff(
      h.revisions[0]!.template,
      'a',
      { ...h.revisions[0]!.template, metadata: { labels: { app: 'web', 'pod-template-hash': 'zzz' } } },
      'b',
    ),
    '',
  );
  assert.match(
    templateDiff(h.revisions[0]!.template, 'a', h.revisions[1]!.template, 'b'),
    /-\s+- image: i:2\n\+\s+- image: i:3/,
  );
  // Rolling back picks the previous revision by default, and restores the revision's own annotations.
  const plan = planRollback(
    'Deployment',
    deploy(
      {},
      {
        metadata: {
          name: 'web',
          namespace: 'ns',
          uid: 'd1',
          annotations: { 'deployment.kubernetes.io/revision': '4', keep: 'no' },
        },
      },
    ),
    h,
    0,
    [],
  );
  assert.equal(plan.toRevision, 3);
  const patch = plan.patch as Array<{
    path: string;
    value: { metadata?: { labels?: Record<string, string> } } & Record<string, string>;
  }>;
  assert.equal(patch[0]?.path, '/spec/template');
  assert.equal(patch[0]?.value.metadata?.labels?.['pod-template-hash'], undefined);
  assert.deepEqual(patch[1]?.value, { 'deployment.kubernetes.io/revision': '4' });
  // kubectl's order and words: the revision first, then the pause (which a preview does not mind).
  const paused = deploy({}, { spec: { ...deploy({}).spec!, paused: true } });
  assert.throws(
    () => planRollback('Deployment', paused, h, 0, []),
    /^BlockedError: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again$/,
  );
  assert.throws(
    () => planRollback('Deployment', paused, h, 7, []),
    /^NotFoundError: unable to find specified revision 7 in history$/,
  );
  assert.equal(planRollback('Deployment', paused, h, 0, [], true).toRevision, 3);
  assert.throws(
    () => planRollback('Deployment', deploy({}), { ...h, revisions: h.revisions.slice(0, 1) }, 0, []),
    /^NotFoundError: no rollout history found for deployment "web"$/,
  );
  assert.throws(
    () => planRollback('StatefulSet', deploy({}), { ...h, revisions: [] }, 0, []),
    /^NotFoundError: no last revision to roll back to$/,
  );
  // A number a rollback re-numbered away is gone, for --revision and undo --to-revision alike.
  assert.throws(
    () => planRollback('Deployment', deploy({}), h, 1, []),
    (e: unknown) =>
      /unable to find specified revision 1 in history/.test((e as Error).message) &&
      /is revision 4 now/.test((e as { hint?: string }).hint ?? ''),
  );
  assert.throws(() => findRevision(h, 1), /unable to find the specified revision 1/);
});

test("history: CHANGE-CAUSE is the ReplicaSet's, else its pod template's, as kubectl shows it", () => {
  const templated = rs('web-t', '5', 'i:5');
  templated.spec!.template!.metadata!.annotations = { 'kubernetes.io/change-cause': 'kubectl apply -f web.yaml' };
  const both = rs('web-u', '6', 'i:6', { 'kubernetes.io/change-cause': 'its own' });
  both.spec!.template!.metadata!.annotations = { 'kubernetes.io/change-cause': 'the template' };
  const h = deploymentHistory(
    { metadata: { uid: 'd1', name: 'web', namespace: 'ns', annotations: {} } },
    [templated, both],
    NOW,
  );
  assert.deepEqual(
    h.revisions.map((r) => r.changeCause),
    ['kubectl apply -f web.yaml', 'its own'],
  );
});

test('a workload deleted while its rollout is watched: failed, "object has been deleted", exit 5', () => {
  const s = deletedStatus('Deployment', deploy({}));
  assert.deepEqual(
    [s.failed, s.done, s.message, s.problems[0]?.code],
    [true, false, 'object has been deleted', 'Deleted'],
  );
  const summary = {
    kind: 'RolloutStatusSummary' as const,
    apiVersion: 'study.kubectl.io/v1' as const,
    serverRelease: 'v1.37.2',
    rules: '1.37',
    ended: 'done' as const,
    timeoutMs: 0,
    failFast: false,
    items: [{ target: { kind: 'Deployment' as const, name: 'web' }, status: s, finished: true }],
  };
  assert.equal(statusExitCode(summary), ExitCode.NOT_FOUND);
});

test('targets are parsed as kubectl takes them', () => {
  assert.deepEqual(parseTargets(['deploy/web', 'sts/db'], undefined).targets, [
    { kind: 'Deployment', name: 'web' },
    { kind: 'StatefulSet', name: 'db' },
  ]);
  assert.deepEqual(parseTargets(['deployments.apps', 'a', 'b'], undefined).targets, [
    { kind: 'Deployment', name: 'a' },
    { kind: 'Deployment', name: 'b' },
  ]);
  assert.deepEqual(parseTargets(['ds'], 'app=x'), { targets: [], selectorKind: 'DaemonSet' });
  assert.throws(() => parseTargets(['pod/x'], undefined), /not a kind rollouts apply to/);
  assert.throws(() => parseTargets(['deploy/a', 'deploy/a'], undefined), /named twice/);
  assert.throws(() => parseTargets(['deploy'], undefined), /give -l SELECTOR/);
});

test('replica counts are never impossible: a revision scaling down shows what goes away', async () => {
  const { replicasText } = await import('../../../src/rollout/print.js');
  assert.equal(replicasText(1, 2), '1/2');
  assert.equal(replicasText(2, 2), '2/2');
  assert.equal(replicasText(3, 2), '2/2 (+1 going away)');
  assert.equal(replicasText(1, 0), '0/0 (+1 going away)');
});

test('across contexts, a workload whose status was never read (a watch cut off first) is unknown, not done', async () => {
  const { notDoneByContext, statusRows } = await import('../../../src/rollout/print.js');
  const summary = (status?: ReturnType<typeof deletedStatus>) => ({
    kind: 'RolloutStatusSummary' as const,
    apiVersion: 'study.kubectl.io/v1' as const,
    serverRelease: 'v1.37.2',
    rules: '1.37',
    ended: 'timeout' as const,
    timeoutMs: 0,
    failFast: false,
    items: [{ target: { kind: 'Deployment' as const, name: 'web' }, ...(status ? { status } : {}), finished: false }],
  });
  assert.deepEqual(statusRows(summary()).rows, [['deployment/web', 'unknown', 'no', '', '']]);
  const deleted = deletedStatus('Deployment', deploy({}));
  assert.deepEqual(
    notDoneByContext([
      { context: 'a', result: summary() },
      { context: 'b', result: summary(deleted) },
    ]),
    ['Not done in 2 of 2 contexts:', '  a: deployment/web (unknown)', `  b: deployment/web (${deleted.state})`],
  );
});

test('across contexts, history rows say what a rollback renumbered, as the one-context table does', async () => {
  const { historyRows } = await import('../../../src/rollout/print.js');
  const revision = {
    revision: 4,
    previousRevisions: [2],
    age: '1m',
    images: ['app:2.0'],
    changeCause: '',
    replicas: { ready: 2, desired: 2 },
    current: true,
  };
  const rows = historyRows(
    { history: { workload: { kind: 'Deployment', name: 'web' }, revisions: [revision] } } as unknown as Parameters<
      typeof historyRows
    >[0],
    false,
  ).rows;
  assert.deepEqual(rows, [['deployment/web', '4 (was 2)', '1m', 'app:2.0', '', '2/2', '*']]);
});
