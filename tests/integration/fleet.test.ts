/**
 * Fleet questions (--contexts, --all-contexts) on three real clusters side by
 * side: the suite's and two more (own state directories and ports), one
 * kubeconfig holding admin contexts for all three, a user on one of them who
 * may not read RBAC or workloads, two servers that accept connections and
 * never answer, an expired client certificate and an exec plugin that fails.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { addNodes, removeNodes, type ClusterInfo } from '../cluster/cluster.js';
import { REPO_ROOT } from '../cluster/paths.js';
import { cluster, runCommand, runPlugin, suffix, tempDir } from '../support/cluster.js';
import {
  adminContext,
  adminKubectl,
  auditSize,
  certificateContext,
  startExtraClusters,
  writeFleetKubeconfig,
  writesSince,
  type FleetContext,
} from '../support/fleet.js';
import { hangingListener } from '../support/net.js';

const DAY = 86_400_000;
const id = suffix();
const NS = `fleet-${id}`;
const NODE = `fleet-node-${id}`;
const TAINT = { key: 'kstudy.test/fleet', value: id, effect: 'NoSchedule' as const };
const ANSWERING = ['a', 'b', 'c', 'b-limited'];
const FLEET_ADMIN = `fleet-admin-${id}`;

let clusters: ClusterInfo[] = [];
let stopExtra: (() => Promise<void>) | undefined;
let closeListeners: Array<() => void> = [];
let env: NodeJS.ProcessEnv = {};
let execLog = '';

function deployment(image: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': NODE },
          tolerations: [{ key: TAINT.key, operator: 'Equal', value: id, effect: 'NoSchedule' }],
          containers: [{ name: 'web', image }],
        },
      },
    },
  });
}

const janeBinding = JSON.stringify({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'jane-edit', namespace: NS },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'jane' }],
});

before(async () => {
  const extra = await startExtraClusters(['b', 'c']);
  stopExtra = extra.stop;
  clusters = [cluster(), ...extra.clusters];
  const [a, b, c] = clusters as [ClusterInfo, ClusterInfo, ClusterInfo];
  // The same namespace, node and Deployment in each; web runs image 1.0 in a and b, 2.0 in c;
  // jane may edit in a and b, not in c.
  for (const [info, image] of [
    [a, 'registry.local/web:1.0'],
    [b, 'registry.local/web:1.0'],
    [c, 'registry.local/web:2.0'],
  ] as const) {
    await addNodes(info, [{ name: NODE, taints: [TAINT], labels: { 'kstudy.test/fleet': id } }]);
    adminKubectl(info, ['create', 'namespace', NS]);
    adminKubectl(info, ['apply', '-f', '-'], deployment(image));
    if (info !== c) adminKubectl(info, ['apply', '-f', '-'], janeBinding);
  }
  // c's Deployment gets a second revision: its history differs.
  adminKubectl(c, ['set', 'image', '-n', NS, 'deployment/web', 'web=registry.local/web:2.1']);
  for (const info of clusters) adminKubectl(info, ['rollout', 'status', '-n', NS, 'deployment/web', '--timeout=120s']);

  const dir = tempDir('kstudy-fleet-');
  const hangs = [await hangingListener(), await hangingListener()];
  closeListeners = hangs.map((h) => h.close);
  const failing = path.join(dir, 'failing-plugin.sh');
  writeFileSync(failing, '#!/bin/sh\necho "login expired: run sso-login" >&2\nexit 1\n');
  chmodSync(failing, 0o755);
  // The admins are users of this test's own (in system:masters): the audit log tells their requests
  // from those of the other tests that share the suite's cluster.
  const admin = (name: string, info: ClusterInfo): FleetContext =>
    certificateContext(name, info, FLEET_ADMIN, path.join(dir, `admin-${name}.yaml`), {}, ['system:masters']);
  const contexts: FleetContext[] = [
    admin('a', a),
    admin('b', b),
    admin('c', c),
    certificateContext('b-limited', b, `fleet-limited-${id}`, path.join(dir, 'limited.yaml')),
    ...hangs.map((h, i) => ({
      name: `hang-${i + 1}`,
      server: `https://127.0.0.1:${h.port}`,
      insecure: true,
      user: { token: 'not-a-secret' },
    })),
    certificateContext('expired', a, `fleet-expired-${id}`, path.join(dir, 'expired.yaml'), {
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
    {
      ...adminContext('exec-fails', a),
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: failing, interactiveMode: 'Never' } },
    },
  ];
  // Two contexts of one user whose exec plugin logs each run and gives a ServiceAccount token of a.
  adminKubectl(a, ['create', 'serviceaccount', '-n', NS, 'viewer']);
  adminKubectl(a, ['create', 'rolebinding', '-n', NS, 'viewer', '--clusterrole=view', `--serviceaccount=${NS}:viewer`]);
  const token = adminKubectl(a, ['create', 'token', '-n', NS, 'viewer', '--duration=2h']).trim();
  const plugin = path.join(dir, 'token-plugin.sh');
  execLog = path.join(dir, 'token-plugin.log');
  writeFileSync(
    plugin,
    `#!/bin/sh\necho run >> ${execLog}\nsleep 1\n` +
      `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}'\n`,
  );
  chmodSync(plugin, 0o755);
  const shared = { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' };
  for (const name of ['shared-1', 'shared-2', 'shared-3'])
    contexts.push({ ...adminContext(name, a), user: { exec: shared }, userName: 'shared-exec' });
  env = { KUBECONFIG: writeFleetKubeconfig(path.join(dir, 'fleet.kubeconfig'), contexts), KUBECACHEDIR: dir };
});

after(async () => {
  for (const close of closeListeners) close();
  if (clusters[0]) {
    await removeNodes(clusters[0], [NODE]).catch(() => {});
    adminKubectl(clusters[0], ['delete', 'namespace', NS, '--wait=false']);
  }
  await stopExtra?.();
});

type FleetItem = {
  context: string;
  outcome: string;
  exitCode: number;
  elapsedMs: number;
  result?: unknown;
  error?: { code: string; message: string; hint?: string };
};
type FleetDoc = {
  kind: string;
  exitCode: number;
  answered: number;
  failed: number;
  elapsedMs: number;
  items: FleetItem[];
};

/** What changes between two runs of the same question: times and ages. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !/^(age|elapsedMs|ms|time|rttMs)$/i.test(k))
        .map(([k, v]) => [k, stable(v)]),
    );
  return value;
}

async function fleet(executable: string, args: string[]): Promise<{ code: number; doc: FleetDoc; stderr: string }> {
  const r = await runPlugin(executable, [...args, '-o', 'json'], { env, timeoutMs: 180_000 });
  let doc: FleetDoc;
  try {
    doc = JSON.parse(r.stdout) as FleetDoc;
  } catch {
    return assert.fail(`${executable} ${args.join(' ')}: not JSON (exit ${r.code}): ${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

/**
 * The questions, and whether the answer depends on the whole cluster: a plan places replacements on
 * every node, whocan lists every ClusterRoleBinding, and on the suite's cluster (a) the other tests
 * add and remove nodes and bindings between two runs, so these are compared on b and c, the
 * clusters of this test alone.
 */
const QUESTIONS: Array<[string, string[], 'whole-cluster'?]> = [
  ['kubectl-whocan', ['delete', 'pods', '-n', NS], 'whole-cluster'],
  ['kubectl-whocan', ['get', 'secrets', '-n', NS, '--verify'], 'whole-cluster'],
  ['kubectl-study_access', ['--as', 'jane', '-n', NS]],
  ['kubectl-study_access', ['why', 'delete', 'pods', '--as', 'jane', '-n', NS]],
  ['kubectl-study_rollout', ['status', 'deployment/web', '-n', NS, '--watch=false']],
  ['kubectl-study_rollout', ['history', 'deployment/web', '-n', NS]],
  ['kubectl-study_drain', [NODE, '--dry-run', '--ignore-daemonsets'], 'whole-cluster'],
  ['kubectl-study', ['maintain', NODE, '--dry-run', '--ignore-daemonsets'], 'whole-cluster'],
];

test("each answering context's entry is exactly the one-context command's JSON and exit code; nothing is written", {
  timeout: 900_000,
}, async () => {
  const marks = clusters.map(auditSize);
  const mismatches: string[] = [];
  for (const [executable, args, scope] of QUESTIONS) {
    const { doc } = await fleet(executable, [...args, '--contexts', ANSWERING.join(',')]);
    assert.equal(doc.kind, 'FleetAnswer');
    assert.deepEqual(
      doc.items.map((i) => i.context),
      ANSWERING,
    );
    for (const item of doc.items) {
      if (scope === 'whole-cluster' && item.context === 'a') continue;
      const alone = await runPlugin(executable, [...args, '--context', item.context, '-o', 'json'], {
        env,
        timeoutMs: 120_000,
      });
      const label = `${executable} ${args.join(' ')} in ${item.context}`;
      if (item.outcome !== 'answered') {
        if (alone.stdout.trim())
          mismatches.push(`${label}: the fleet has no answer (${item.error?.message}), alone it has one`);
        else if (alone.code !== item.exitCode)
          mismatches.push(`${label}: exit ${item.exitCode} in the fleet, ${alone.code} alone`);
        continue;
      }
      if (alone.code !== item.exitCode)
        mismatches.push(`${label}: exit ${item.exitCode} in the fleet, ${alone.code} alone`);
      try {
        assert.deepEqual(stable(item.result), stable(JSON.parse(alone.stdout)));
      } catch (err) {
        mismatches.push(`${label}: ${(err as Error).message.slice(0, 600)}`);
      }
    }
  }
  assert.deepEqual(mismatches, []);
  const users = [FLEET_ADMIN, `fleet-limited-${id}`, `fleet-expired-${id}`, `system:serviceaccount:${NS}:viewer`];
  const writes = clusters.flatMap((info, i) => writesSince(info, marks[i]!, users).map((w) => `${'abc'[i]}: ${w}`));
  assert.deepEqual(writes, [], 'fleet questions write nothing but access reviews');
});

test('the contexts that cannot answer are rows with their error; the others answer; exit 8', {
  timeout: 300_000,
}, async () => {
  const { code, doc } = await fleet('kubectl-study_rollout', [
    'status',
    'deployment/web',
    '-n',
    NS,
    '--watch=false',
    '--all-contexts',
    '--context-timeout',
    '8s',
  ]);
  const rows = Object.fromEntries(doc.items.map((i) => [i.context, [i.outcome, i.error?.code ?? i.exitCode]]));
  assert.deepEqual(rows, {
    a: ['answered', 0],
    b: ['answered', 0],
    c: ['answered', 0],
    'b-limited': ['failed', 'forbidden'],
    'hang-1': ['failed', 'timeout'],
    'hang-2': ['failed', 'timeout'],
    expired: ['failed', 'unauthorized'],
    'exec-fails': ['failed', 'credential-error'],
    'shared-1': ['answered', 0],
    'shared-2': ['answered', 0],
    'shared-3': ['answered', 0],
  });
  const message = (c: string): string => {
    const error = doc.items.find((i) => i.context === c)?.error;
    return `${error?.message ?? ''} (${error?.hint ?? ''})`;
  };
  assert.match(message('expired'), /client certificate expired/);
  assert.match(message('exec-fails'), /exec plugin .* failed \(exit code 1\): login expired: run sso-login/);
  assert.match(message('hang-1'), /no answer within 8s/);
  assert.equal(code, 8);
  assert.equal(doc.exitCode, 8);
  // The two silent servers cost one deadline together, not one each.
  const sum = doc.items.reduce((n, i) => n + i.elapsedMs, 0);
  const slowest = Math.max(...doc.items.map((i) => i.elapsedMs));
  assert.ok(doc.elapsedMs < sum, `the whole (${doc.elapsedMs} ms) took less than the sum of its contexts (${sum} ms)`);
  assert.ok(
    doc.elapsedMs < slowest + (sum - slowest) / 2,
    `the whole (${doc.elapsedMs} ms) is about its slowest context (${slowest} ms), not their sum (${sum} ms)`,
  );
});

test('whocan across contexts: CONTEXT first, RBAC drift named, a forbidden reader marked; exit 7 when they differ', {
  timeout: 300_000,
}, async () => {
  const r = await runPlugin('kubectl-whocan', ['update', 'deployments', '-n', NS, '--contexts', 'a,b,c,b-limited'], {
    env,
    timeoutMs: 120_000,
  });
  assert.match(r.stdout, /^CONTEXT +SUBJECT +KIND +BINDING/m);
  assert.match(r.stdout, /^a +jane +User +RoleBinding\/.*jane-edit/m);
  assert.doesNotMatch(r.stdout, /^c +jane /m);
  assert.match(r.stdout, /User jane: allowed in 2 of 3: a, b\n/);
  assert.match(r.stdout, /Not compared \(INCOMPLETE answers\): b-limited\./);
  assert.match(r.stdout, /b-limited: INCOMPLETE: you may not list/);
  assert.match(r.stdout, /4 contexts: 4 answered differently: exit 0 in 3 \(a, b, c\), exit 3 in b-limited; exit 7/);
  assert.equal(r.code, 7);
  const same = await runPlugin('kubectl-whocan', ['update', 'deployments', '-n', NS, '--contexts', 'a,b'], { env });
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /every one answered the same way \(exit 0\); exit 0/);
});

test('--stream: one JSON line per context as it finishes, then the summary', { timeout: 300_000 }, async () => {
  const r = await runPlugin(
    'kubectl-whocan',
    ['get', 'pods', '-n', NS, '--all-contexts', '-o', 'json', '--stream', '--context-timeout', '5s'],
    { env, timeoutMs: 120_000 },
  );
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines.pop()!;
  assert.equal(last.kind, 'FleetAnswer');
  assert.equal(last.items, undefined);
  assert.equal((last.contexts as string[]).length, 11);
  assert.deepEqual(new Set(lines.map((l) => l.context)), new Set(last.contexts as string[]));
  const order = lines.map((l) => l.context as string);
  assert.ok(order.indexOf('hang-1') > order.indexOf('a'), 'a silent server comes last, when its deadline ends');
});

test('bad fleet input: a pattern that matches nothing names the contexts; --contexts with --context; a real drain', async () => {
  const none = await runPlugin('kubectl-whocan', ['get', 'pods', '--contexts', 'prod-*,staging'], { env });
  assert.equal(none.code, 5);
  assert.match(
    none.stderr,
    /^error: no context matches --contexts "prod-\*,staging"\nhint: the contexts are: a, b, c, b-limited/,
  );
  const both = await runPlugin('kubectl-whocan', ['get', 'pods', '--contexts', 'a', '--context', 'b'], { env });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^error: --context cannot be combined with --contexts/);
  const drain = await runPlugin('kubectl-study_drain', [NODE, '--all-contexts', '--yes'], { env });
  assert.equal(drain.code, 2);
  assert.match(
    drain.stderr,
    /a real drain changes one cluster per run; across contexts it can only plan\nhint: add --dry-run/,
  );
});

test('progress on a terminal while the contexts answer, nothing but the result off one', {
  timeout: 300_000,
}, async () => {
  const bin = path.join(REPO_ROOT, 'bin', 'kubectl-whocan');
  const args = `get pods -n ${NS} --contexts 'a,b,hang-1' --context-timeout 6s`;
  const tty = await runCommand(
    'script',
    ['-qfec', `stty cols 100 rows 40; ${process.execPath} ${bin} ${args} >/dev/null`, '/dev/null'],
    {
      env: { ...process.env, ...env, CI: '', TERM: 'xterm', NO_COLOR: '1' },
      timeoutMs: 180_000,
    },
  );
  assert.match(tty.stdout, /2 of 3 contexts answered, waiting for hang-1/);
  const piped = await runPlugin(
    'kubectl-whocan',
    ['get', 'pods', '-n', NS, '--contexts', 'a,b,hang-1', '--context-timeout', '6s'],
    {
      env: { ...env, CI: '' },
    },
  );
  assert.equal(piped.stderr, '', 'off a terminal, stderr stays empty');
  assert.match(piped.stdout, /^hang-1 +timeout +no answer within 6s/m);
});

test('an exec plugin shared by several contexts runs once for the whole command', { timeout: 300_000 }, async () => {
  writeFileSync(execLog, '');
  const r = await runPlugin(
    'kubectl-study_rollout',
    ['status', 'deployment/web', '-n', NS, '--watch=false', '--contexts', 'shared-*'],
    {
      env,
      timeoutMs: 120_000,
    },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^shared-3 +deployment\/web +complete +yes/m);
  assert.equal(readFileSync(execLog, 'utf8'), 'run\n', 'one run of the plugin for three contexts');
});
