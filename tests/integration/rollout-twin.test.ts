/**
 * The rollout views against the real `kubectl rollout` of the cluster's own
 * release, workload by workload.
 *
 * A spread of Deployments, StatefulSets and DaemonSets is built on a pool of
 * the test's own nodes, each left in a state of its own (complete,
 * progressing, paused, an image that cannot be pulled, a crash loop, past its
 * progress deadline, scaled to 0, rolled back; a StatefulSet partition,
 * OnDelete). For each, once it has settled:
 *
 * - status: `kubectl study-rollout status KIND/NAME --watch=false -o json`
 *   (done or not, failed or not, and kubectl's sentence in `message`) against
 *   `kubectl rollout status KIND/NAME --watch=false` (its exit code, its line
 *   on stdout, or its `error:` line). kubectl exits 0 for a rollout that is
 *   not done where study-rollout exits 1 (documented): done-ness is read from
 *   kubectl's sentence instead.
 * - history: `kubectl study-rollout history KIND/NAME -o json` (revisions and
 *   change causes) against `kubectl rollout history KIND/NAME`.
 *
 * One documented difference is counted as explained, not as agreement or
 * mismatch: kubectl has no status for an OnDelete StatefulSet or DaemonSet
 * ("rollout status is only available for RollingUpdate strategy type"),
 * where study-rollout counts the pods at the update revision. Anything else
 * fails the test with a table of the differences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import { mapLimit } from '../../src/base/concurrency.js';
import { apis, cluster, eventually, kubectl, runPlugin, testNamespace, type RunResult } from '../support/cluster.js';
import { table } from '../support/text.js';
import { createPool, template, type Pool } from '../support/workloads.js';

const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const READY_AFTER = 'kstudy.test/ready-after';
/** Longer than the test: a pod annotated so stays not Ready, and its rollout stays where it is. */
const NEVER = '30m';
const STRATEGIC = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

type Kind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

interface Case {
  kind: Kind;
  name: string;
  /** What the workload was built to be, for the check that the twins behaved as built. */
  expect: { done: boolean; failed?: boolean };
  /** Builds it and waits until it has settled in its state. */
  build: (ns: string, pool: Pool) => Promise<void>;
}

function ref(c: Pick<Case, 'kind' | 'name'>): string {
  return `${c.kind.toLowerCase()}/${c.name}`;
}

function podTemplate(pool: Pool, app: string, image: string): k8s.V1PodTemplateSpec {
  return template(pool, app, { image, cpu: '10m', memory: '16Mi', grace: 1 });
}

async function create(
  ns: string,
  kind: Kind,
  name: string,
  spec: { template: k8s.V1PodTemplateSpec } & Record<string, unknown>,
  cause?: string,
): Promise<void> {
  const metadata = { name, ...(cause ? { annotations: { [CHANGE_CAUSE]: cause } } : {}) };
  const selector = { matchLabels: { app: name } };
  const { apps } = apis();
  if (kind === 'Deployment')
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata, spec: { selector, ...spec } as k8s.V1DeploymentSpec },
    });
  else if (kind === 'StatefulSet')
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata,
        spec: { selector, serviceName: name, podManagementPolicy: 'Parallel', ...spec } as k8s.V1StatefulSetSpec,
      },
    });
  else
    await apps.createNamespacedDaemonSet({
      namespace: ns,
      body: { metadata, spec: { selector, ...spec } as k8s.V1DaemonSetSpec },
    });
}

async function read(ns: string, kind: Kind, name: string): Promise<Workload> {
  const { apps } = apis();
  if (kind === 'Deployment') return apps.readNamespacedDeployment({ name, namespace: ns });
  if (kind === 'StatefulSet') return apps.readNamespacedStatefulSet({ name, namespace: ns });
  return apps.readNamespacedDaemonSet({ name, namespace: ns });
}

/**
 * One change in one request, as `kubectl set image` with --record would make it: the image,
 * the template's annotations and the workload's change cause together, so the revision it
 * makes carries that cause.
 */
async function rollTo(
  ns: string,
  kind: Kind,
  name: string,
  change: { image: string; cause?: string; readyAfter?: string; spec?: Record<string, unknown> },
): Promise<void> {
  const body = {
    ...(change.cause ? { metadata: { annotations: { [CHANGE_CAUSE]: change.cause } } } : {}),
    spec: {
      ...change.spec,
      template: {
        ...(change.readyAfter ? { metadata: { annotations: { [READY_AFTER]: change.readyAfter } } } : {}),
        spec: { containers: [{ name: 'main', image: change.image }] },
      },
    },
  };
  const { apps } = apis();
  if (kind === 'Deployment') await apps.patchNamespacedDeployment({ name, namespace: ns, body }, STRATEGIC);
  else if (kind === 'StatefulSet') await apps.patchNamespacedStatefulSet({ name, namespace: ns, body }, STRATEGIC);
  else await apps.patchNamespacedDaemonSet({ name, namespace: ns, body }, STRATEGIC);
}

/** Waits (generously: the machine may be loaded) until the workload's status satisfies `settled`. */
async function settle<T extends Workload>(
  ns: string,
  kind: Kind,
  name: string,
  what: string,
  settled: (w: T) => boolean | Promise<boolean>,
): Promise<void> {
  await eventually(
    `${kind.toLowerCase()}/${name} ${what}`,
    async () => {
      const w = (await read(ns, kind, name)) as T;
      return (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 1) && (await settled(w));
    },
    180_000,
    250,
  );
}

const deploymentRolledOut =
  (revision?: string) =>
  (d: k8s.V1Deployment): boolean => {
    const st = d.status ?? {};
    const want = d.spec?.replicas ?? 1;
    return (
      (revision === undefined || d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision) &&
      (st.updatedReplicas ?? 0) === want &&
      (st.availableReplicas ?? 0) === want &&
      (st.replicas ?? 0) === want
    );
  };

const statefulSetReady = (s: k8s.V1StatefulSet): boolean =>
  (s.status?.readyReplicas ?? 0) === (s.spec?.replicas ?? 1) && s.status?.currentRevision === s.status?.updateRevision;

const daemonSetReady = (d: k8s.V1DaemonSet): boolean => {
  const st = d.status;
  return !!st && st.desiredNumberScheduled === 3 && st.numberAvailable === 3 && (st.updatedNumberScheduled ?? 0) === 3;
};

async function podsWith(ns: string, app: string, test: (p: k8s.V1Pod) => boolean): Promise<boolean> {
  const pods = await apis().core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` });
  return pods.items.some((p) => !p.metadata?.deletionTimestamp && test(p));
}

/** A Deployment of 2 at revision 1, then changed as `then` says and settled as `until` says. */
function deploymentCase(
  name: string,
  expect: Case['expect'],
  o: {
    replicas?: number;
    image?: string;
    spec?: Record<string, unknown>;
    then?: Parameters<typeof rollTo>[3];
    until?: (d: k8s.V1Deployment, ns: string) => boolean | Promise<boolean>;
  } = {},
): Case {
  return {
    kind: 'Deployment',
    name,
    expect,
    build: async (ns, pool) => {
      await create(ns, 'Deployment', name, {
        replicas: o.replicas ?? 2,
        template: podTemplate(pool, name, o.image ?? 'registry.local/app:1.0'),
        ...o.spec,
      });
      if (o.then) {
        await settle(ns, 'Deployment', name, 'rolled out at revision 1', deploymentRolledOut('1'));
        await rollTo(ns, 'Deployment', name, o.then);
      }
      await settle(ns, 'Deployment', name, 'settled', (d: k8s.V1Deployment) =>
        o.until ? o.until(d, ns) : deploymentRolledOut()(d),
      );
    },
  };
}

const CASES: Case[] = [
  deploymentCase('complete', { done: true }),
  deploymentCase('zero', { done: true }, { replicas: 0 }),
  deploymentCase(
    'progressing',
    { done: false },
    {
      then: { image: 'registry.local/app:2.0', readyAfter: NEVER, cause: 'to 2.0, slow to start' },
      until: (d) => d.status?.updatedReplicas === 1 && d.status?.replicas === 3,
    },
  ),
  deploymentCase(
    'paused',
    { done: false },
    {
      then: { image: 'registry.local/app:2.0', spec: { paused: true } },
      until: (d) => d.spec?.paused === true,
    },
  ),
  deploymentCase(
    'pull-fails',
    { done: false },
    {
      spec: { progressDeadlineSeconds: 600 },
      then: { image: 'registry.local/app:2.0-fail-pull', cause: 'to 2.0, not in the registry' },
      until: (d, ns) =>
        d.status?.updatedReplicas === 1 &&
        podsWith(ns, 'pull-fails', (p) =>
          (p.status?.containerStatuses ?? []).some((c) => /ImagePull/.test(c.state?.waiting?.reason ?? '')),
        ),
    },
  ),
  deploymentCase(
    'crashloop',
    { done: false },
    {
      then: { image: 'registry.local/app:2.0-crashloop' },
      until: (d, ns) =>
        d.status?.updatedReplicas === 1 &&
        podsWith(ns, 'crashloop', (p) => (p.status?.containerStatuses ?? []).some((c) => (c.restartCount ?? 0) > 0)),
    },
  ),
  deploymentCase(
    'deadline',
    { done: false, failed: true },
    {
      image: 'registry.local/app:1.0-fail-pull',
      spec: { progressDeadlineSeconds: 5 },
      until: (d) =>
        d.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded') ?? false,
    },
  ),
  {
    kind: 'Deployment',
    name: 'history',
    expect: { done: true },
    // Three revisions with their change causes, then a rollback to the first, which re-numbers it 4.
    build: async (ns, pool) => {
      await create(
        ns,
        'Deployment',
        'history',
        { replicas: 2, template: podTemplate(pool, 'history', 'registry.local/app:1.0') },
        'first: 1.0',
      );
      await settle(ns, 'Deployment', 'history', 'at revision 1', deploymentRolledOut('1'));
      for (const [revision, image] of [
        ['2', 'registry.local/app:2.0'],
        ['3', 'registry.local/app:3.0'],
      ] as const) {
        await rollTo(ns, 'Deployment', 'history', { image, cause: `then ${image}` });
        await settle(ns, 'Deployment', 'history', `at revision ${revision}`, deploymentRolledOut(revision));
      }
      const undo = await kubectl(['rollout', 'undo', 'deployment/history', '-n', ns, '--to-revision=1']);
      assert.equal(undo.code, 0, undo.stderr);
      await settle(ns, 'Deployment', 'history', 'rolled back, at revision 4', deploymentRolledOut('4'));
    },
  },
  ...statefulSetCases(),
  ...daemonSetCases(),
];

function statefulSetCases(): Case[] {
  const sts = (
    name: string,
    expect: Case['expect'],
    updateStrategy: k8s.V1StatefulSetUpdateStrategy,
    then: Parameters<typeof rollTo>[3],
    until: (s: k8s.V1StatefulSet) => boolean,
  ): Case => ({
    kind: 'StatefulSet',
    name,
    expect,
    build: async (ns, pool) => {
      await create(
        ns,
        'StatefulSet',
        name,
        { replicas: 3, updateStrategy, template: podTemplate(pool, name, 'registry.local/db:1') },
        'first: db 1',
      );
      await settle(ns, 'StatefulSet', name, 'ready at its first revision', statefulSetReady);
      await rollTo(ns, 'StatefulSet', name, then);
      await settle(ns, 'StatefulSet', name, 'settled', until);
    },
  });
  const moved = (s: k8s.V1StatefulSet): boolean =>
    !!s.status?.updateRevision && s.status.updateRevision !== s.status.currentRevision;
  return [
    sts(
      'sts-complete',
      { done: true },
      { type: 'RollingUpdate' },
      { image: 'registry.local/db:2', cause: 'then db 2' },
      (s) => statefulSetReady(s) && (s.status?.updatedReplicas ?? 0) === 3,
    ),
    sts(
      'sts-partition',
      { done: true },
      { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
      { image: 'registry.local/db:2', cause: 'then db 2 on the last pod' },
      (s) => moved(s) && s.status?.updatedReplicas === 1 && s.status?.readyReplicas === 3,
    ),
    sts(
      'sts-progressing',
      { done: false },
      { type: 'RollingUpdate' },
      { image: 'registry.local/db:2', readyAfter: NEVER },
      (s) => moved(s) && s.status?.updatedReplicas === 1 && s.status?.readyReplicas === 2,
    ),
    sts(
      'sts-ondelete',
      { done: false },
      { type: 'OnDelete' },
      { image: 'registry.local/db:2', cause: 'then db 2, on delete' },
      moved,
    ),
  ];
}

function daemonSetCases(): Case[] {
  const ds = (
    name: string,
    expect: Case['expect'],
    updateStrategy: k8s.V1DaemonSetUpdateStrategy,
    then: Parameters<typeof rollTo>[3],
    until: (d: k8s.V1DaemonSet) => boolean,
  ): Case => ({
    kind: 'DaemonSet',
    name,
    expect,
    build: async (ns, pool) => {
      await create(
        ns,
        'DaemonSet',
        name,
        { updateStrategy, template: podTemplate(pool, name, 'registry.local/agent:1') },
        'first: agent 1',
      );
      await settle(ns, 'DaemonSet', name, 'on the 3 nodes of the pool', daemonSetReady);
      await rollTo(ns, 'DaemonSet', name, then);
      await settle(ns, 'DaemonSet', name, 'settled', until);
    },
  });
  return [
    ds(
      'ds-complete',
      { done: true },
      { type: 'RollingUpdate' },
      { image: 'registry.local/agent:2', cause: 'then agent 2' },
      daemonSetReady,
    ),
    ds(
      'ds-progressing',
      { done: false },
      { type: 'RollingUpdate' },
      { image: 'registry.local/agent:2', readyAfter: NEVER, cause: 'then agent 2, slow to start' },
      (d) => d.status?.updatedNumberScheduled === 1 && d.status?.numberAvailable === 2,
    ),
    ds('ds-ondelete', { done: false }, { type: 'OnDelete' }, { image: 'registry.local/agent:2' }, () => true),
  ];
}

interface StatusItem {
  kind: string;
  name: string;
  done: boolean;
  failed: boolean;
  message: string;
  strategy: string;
}

interface Comparison {
  workload: string;
  view: 'status' | 'history';
  verdict: 'agree' | 'explained' | 'mismatch';
  ours: string;
  kubectl: string;
  note?: string;
}

/** kubectl's sentences for a finished rollout (polymorphichelpers/rollout_status.go, the same in 1.32 to 1.37). */
const KUBECTL_DONE = /successfully rolled out$|^partitioned roll out complete: |^statefulset rolling update complete /;
const KUBECTL_NO_ONDELETE = 'rollout status is only available for RollingUpdate strategy type';

function kubectlSays(k: RunResult): string {
  return k.code === 0 ? k.stdout.trim() : `exit ${k.code}: ${k.stderr.trim()}`;
}

/** Our status beside kubectl's, read until two kubectl answers around ours are the same (the state held still). */
async function statusPair(
  ns: string,
  c: Case,
  env: NodeJS.ProcessEnv,
): Promise<{ ours: RunResult; item?: StatusItem; kubectl: RunResult }> {
  let last: { ours: RunResult; item?: StatusItem; kubectl: RunResult } | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await kubectl(['rollout', 'status', ref(c), '-n', ns, '--watch=false']);
    const ours = await runPlugin('kubectl-study_rollout', ['status', ref(c), '-n', ns, '--watch=false', '-o', 'json'], {
      env,
    });
    const after = await kubectl(['rollout', 'status', ref(c), '-n', ns, '--watch=false']);
    let item: StatusItem | undefined;
    try {
      item = (JSON.parse(ours.stdout) as { items: StatusItem[] }).items[0];
    } catch {
      // no JSON: a mismatch, with our stderr in the table
    }
    last = { ours, item, kubectl: after };
    if (kubectlSays(before) === kubectlSays(after)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last!;
}

function compareStatus(c: Case, ours: RunResult, item: StatusItem | undefined, k: RunResult): Comparison {
  const base = { workload: ref(c), view: 'status' as const, kubectl: kubectlSays(k) };
  if (!item)
    return { ...base, verdict: 'mismatch', ours: `exit ${ours.code}: ${ours.stderr.trim()}`, note: 'no status' };
  const said = `${item.done ? 'done' : item.failed ? 'failed' : 'not done'}: ${item.message}`;
  const out = { ...base, ours: said };
  if (k.code !== 0) {
    const error = /^error: (.*)$/m.exec(k.stderr)?.[1] ?? '';
    if (item.failed && !item.done && error === item.message) return { ...out, verdict: 'agree' };
    if (error === KUBECTL_NO_ONDELETE && item.strategy === 'OnDelete')
      return {
        ...out,
        verdict: 'explained',
        note: 'kubectl has no status for OnDelete; study-rollout counts the pods at the update revision (README)',
      };
    return { ...out, verdict: 'mismatch' };
  }
  const message = k.stdout.trim();
  const kubectlDone = KUBECTL_DONE.test(message);
  if (!item.failed && item.done === kubectlDone && item.message === message) return { ...out, verdict: 'agree' };
  return { ...out, verdict: 'mismatch', note: `kubectl ${kubectlDone ? 'done' : 'not done'}` };
}

async function compareHistory(ns: string, c: Case, env: NodeJS.ProcessEnv): Promise<Comparison> {
  const [ours, k] = await Promise.all([
    runPlugin('kubectl-study_rollout', ['history', ref(c), '-n', ns, '-o', 'json'], { env }),
    kubectl(['rollout', 'history', ref(c), '-n', ns]),
  ]);
  const kubectlRows = k.stdout
    .split('\n')
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => {
      const [revision, ...cause] = l.trim().split(/\s+/);
      const text = cause.join(' ');
      return `${revision} ${text === '<none>' ? '' : text}`.trim();
    });
  let ourRows: string[] | undefined;
  try {
    ourRows = [
      ...(JSON.parse(ours.stdout) as { revisions: Array<{ revision: number; changeCause: string }> }).revisions,
    ]
      .sort((a, b) => a.revision - b.revision)
      // kubectl's table splits on runs of spaces: compare the causes the same way.
      .map((r) => `${r.revision} ${r.changeCause.split(/\s+/).join(' ')}`.trim());
  } catch {
    // no JSON: a mismatch
  }
  const base = { workload: ref(c), view: 'history' as const };
  const kubectlText = k.code === 0 ? kubectlRows.join(' | ') : `exit ${k.code}: ${k.stderr.trim()}`;
  if (!ourRows)
    return { ...base, verdict: 'mismatch', ours: `exit ${ours.code}: ${ours.stderr.trim()}`, kubectl: kubectlText };
  const agree = k.code === 0 && kubectlRows.length > 0 && JSON.stringify(ourRows) === JSON.stringify(kubectlRows);
  return { ...base, verdict: agree ? 'agree' : 'mismatch', ours: ourRows.join(' | '), kubectl: kubectlText };
}

test('the rollout views against the real kubectl rollout: status and history of every workload state', {
  timeout: 15 * 60_000,
}, async (t) => {
  const ns = await testNamespace(t, 'rollout-twin');
  const pool = await createPool(t, [{}, {}, {}]);
  const env = { KUBECONFIG: cluster().adminKubeconfig };
  await mapLimit(CASES, 6, (c) => c.build(ns, pool));

  const results = await mapLimit(CASES, 3, async (c) => {
    const { ours, item, kubectl: k } = await statusPair(ns, c, env);
    const status = compareStatus(c, ours, item, k);
    const anomalies: string[] = [];
    if (item && (item.done !== c.expect.done || item.failed !== (c.expect.failed ?? false)))
      anomalies.push(`${ref(c)}: built to be ${JSON.stringify(c.expect)}, study-rollout says ${status.ours}`);
    // Our own exit code follows our answer: 0 done, 1 not done, 3 failed (kubectl exits 0 for the first two).
    const exit = item ? (item.failed ? 3 : item.done ? 0 : 1) : undefined;
    if (item && ours.code !== exit) anomalies.push(`${ref(c)}: study-rollout exited ${ours.code} for ${status.ours}`);
    return { comparisons: [status, await compareHistory(ns, c, env)], anomalies };
  });
  const all = results.flatMap((r) => r.comparisons);
  const count = (v: Comparison['verdict']): number => all.filter((c) => c.verdict === v).length;
  t.diagnostic(
    `${all.length} comparisons (${CASES.length} workloads x status and history) with kubectl ${cluster().release.version}: ` +
      `${count('agree')} agree, ${count('explained')} explained, ${count('mismatch')} mismatches`,
  );
  for (const c of all)
    t.diagnostic(
      `  ${`${c.workload} ${c.view}`.padEnd(36)} ${c.verdict.padEnd(9)} ${c.ours}${c.note ? ` (${c.note})` : ''}`,
    );
  t.diagnostic(`agreement rollout: ${count('agree') + count('explained')} of ${all.length}`);

  assert.deepEqual(
    results.flatMap((r) => r.anomalies),
    [],
    'the workloads are in the states they were built for',
  );
  const mismatches = all.filter((c) => c.verdict === 'mismatch');
  assert.ok(
    mismatches.length === 0,
    `${mismatches.length} of ${all.length} comparisons disagree with kubectl rollout:\n${table([
      ['WORKLOAD', 'VIEW', 'STUDY-ROLLOUT', 'KUBECTL', 'NOTE'],
      ...mismatches.map((m) => [m.workload, m.view, m.ours, m.kubectl, m.note ?? '']),
    ])}`,
  );
  // The explained differences are the two OnDelete workloads' status, and nothing else.
  assert.deepEqual(
    all.filter((c) => c.verdict === 'explained').map((c) => `${c.workload} ${c.view}`),
    ['statefulset/sts-ondelete status', 'daemonset/ds-ondelete status'],
  );
});
