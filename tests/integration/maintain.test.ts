/**
 * kubectl study maintain over pools of five simulated nodes of each
 * test's own, with the Lease in the test's namespace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO_ROOT } from '../cluster/paths.js';
import {
  apis,
  auditMark,
  cluster,
  eventually,
  mintUser,
  runCommand,
  runPlugin,
  suffix,
  tempDir,
  testNamespace,
  writesBy,
} from '../support/cluster.js';
import { maintainArgs, maintainSetup, type MaintainSetup } from '../support/maintain-cluster.js';
import { screen } from '../support/terminal.js';
import { allReady, createPool, readyWatcher, setCordoned, template } from '../support/workloads.js';

/** The waits of a run here: the pods are simulated, and ready at once. */
const FAST_WAITS = { ready: '30s', recover: '60s' };

interface Setup extends MaintainSetup {
  log: string;
  journal: string;
}

async function setup(
  t: Parameters<typeof testNamespace>[0],
  replicas = 5,
  extra: { slow?: boolean } = {},
): Promise<Setup> {
  const s = await maintainSetup(t, 'mnt', 5, replicas, extra.slow ? { slow: true, grace: 4 } : {});
  return { ...s, log: path.join(s.dir, 'work.log'), journal: path.join(s.dir, 'journal') };
}

/** The command each node gets: logs the node, whether it is cordoned, and how many pods of ours are on it. */
function workCommand(s: Setup, extra = ''): string {
  const kubectl = cluster().binaries.kubectl;
  return `echo "$NODE $(${kubectl} get node "$NODE" -o jsonpath='{.spec.unschedulable}') $(${kubectl} get pods -n ${s.ns} --field-selector spec.nodeName="$NODE" -o name | wc -l)" >> ${s.log}${extra}`;
}

function maintain(s: Setup, nodes: string[], args: string[], command = workCommand(s)) {
  return runPlugin('kubectl-study', maintainArgs(s, nodes, command, ['--journal', s.journal, ...args], FAST_WAITS), {
    env: s.env,
    timeoutMs: 180_000,
  });
}

interface Entry {
  node: string;
  step: string;
  run: string;
}

function journal(s: Setup): Entry[] {
  return readFileSync(s.journal, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Entry);
}

test('three nodes, one after another: drained, worked on, uncordoned, workloads back, PDB held', async (t) => {
  const s = await setup(t);
  const [n1, n2, n3] = s.nodes as [string, string, string];
  const watcher = readyWatcher(s.ns, 'web');
  const r = await maintain(s, [n1, n2, n3], []);
  const min = await watcher.stop();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(min >= 4, `the PDB (maxUnavailable 1 of 5) held: ${min} ready at least`);
  const lines = readFileSync(s.log, 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(' ')[0]),
    [n1, n2, n3],
    'in order, once each',
  );
  for (const l of lines) {
    const [, cordoned, pods] = l.split(' ');
    assert.equal(cordoned, 'true', `${l}: cordoned while worked on`);
    assert.equal(pods, '0', `${l}: none of the workload's pods on it while worked on`);
  }
  const steps = journal(s).map((e) => `${e.node}:${e.step}`);
  for (const [i, n] of [n1, n2, n3].entries()) {
    const at = (step: string): number => steps.indexOf(`${n}:${step}`);
    assert.ok(
      at('cordoned') < at('drained') &&
        at('drained') < at('command-done') &&
        at('command-done') < at('uncordoned') &&
        at('uncordoned') < at('recovered') &&
        at('recovered') < at('done'),
      steps.join(' '),
    );
    const next = [n1, n2, n3][i + 1];
    if (next)
      assert.ok(at('done') < steps.indexOf(`${next}:cordoned`), 'the next node starts after this one recovered');
  }
  for (const n of [n1, n2, n3])
    assert.equal((await apis().core.readNode({ name: n })).spec?.unschedulable, undefined, `${n} uncordoned`);
  assert.match(r.stdout, /Result: done/);
  // The lock is released.
  await assert.rejects(apis().coordination.readNamespacedLease({ name: 'kubectl-study-maintain', namespace: s.ns }));
});

test('a command that fails on the second node: stop, report, leave it cordoned; then resume there', async (t) => {
  const s = await setup(t);
  const [n1, n2, n3] = s.nodes as [string, string, string];
  const fixed = path.join(s.dir, 'fixed');
  const command = `${workCommand(s)}; test "$NODE" != "${n2}" || test -f ${fixed}`;
  const first = await maintain(s, [n1, n2, n3], [], command);
  assert.equal(first.code, 3, first.stdout + first.stderr);
  assert.match(
    first.stdout,
    new RegExp(`${n2}\\s+failed\\s.*yes \\(by this run\\)\\s+the command failed with exit code 1`),
  );
  assert.match(first.stdout, new RegExp(`${n3}\\s+not-started`));
  assert.match(
    first.stdout,
    /Next: fix the cause on .*, then run the same command again: it resumes where it stopped and skips finished nodes; or give up with: kubectl study-drain uncordon/,
  );
  assert.equal((await apis().core.readNode({ name: n2 })).spec?.unschedulable, true, 'left cordoned');
  assert.equal((await apis().core.readNode({ name: n3 })).spec?.unschedulable, undefined, 'never touched');

  writeFileSync(fixed, 'ok');
  const second = await maintain(s, [n1, n2, n3], [], command);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, new RegExp(`already done in an earlier run \\(skipped\\): ${n1}`));
  assert.match(
    second.stdout,
    new RegExp(`resumed from the run's state: ${n2} \\(cordoned, drained, volumes-detached, command-started\\)`),
  );
  const worked = readFileSync(s.log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]);
  assert.deepEqual(worked, [n1, n2, n2, n3], 'the first node is never touched again');
  const drainedTwice = journal(s)
    .filter((e) => e.step === 'drained')
    .map((e) => e.node);
  assert.deepEqual(drainedTwice, [n1, n2, n3]);
  assert.equal((await apis().core.readNode({ name: n2 })).spec?.unschedulable, undefined);
});

test('killed with SIGKILL mid-drain: the lock is taken over only after it expired, and nothing is drained twice', async (t) => {
  const s = await setup(t, 5, { slow: true });
  const [n1, n2] = s.nodes as [string, string];
  // A lock long enough that the second run surely starts before it expires, however loaded the machine.
  const args = maintainArgs(
    s,
    [n1, n2],
    workCommand(s),
    ['--journal', s.journal, '--lock-duration', '30s'],
    FAST_WAITS,
  );
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kubectl-study'), ...args], {
    env: { ...process.env, ...s.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await eventually('the first eviction', async () => /evicted pod/.test(err), 60_000, 50);
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  assert.ok(existsSync(s.journal));
  const again = await runPlugin('kubectl-study', args, { env: s.env, timeoutMs: 60_000 });
  assert.equal(again.code, 3, again.stdout + again.stderr);
  assert.match(
    again.stderr,
    /^error: another maintenance run holds the lock .*kubectl-study-maintain: .*pid-\d+.*\(renewed \d+s ago, expires in \d+s unless renewed\)/m,
  );
  // Wait for the event itself: the dead run's lease expiring.
  await eventually(
    'the killed run\u2019s lock to expire',
    async () => {
      const lease = await apis().coordination.readNamespacedLease({ name: 'kubectl-study-maintain', namespace: s.ns });
      const renewed = new Date(lease.spec?.renewTime ?? 0).getTime();
      return Date.now() > renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000 + 500;
    },
    90_000,
    500,
  );
  const resumed = await runPlugin('kubectl-study', args, { env: s.env, timeoutMs: 180_000 });
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stderr, /took over the expired lock of .*pid-\d+/);
  assert.match(
    resumed.stderr,
    new RegExp(`${n1}: resuming: draining \\(cordoned by an earlier run of this command\\)`),
  );
  const entries = journal(s);
  assert.deepEqual(
    entries.filter((e) => e.step === 'cordoned').map((e) => e.node),
    [n1, n2],
    'each node cordoned (and recorded) once',
  );
  assert.deepEqual(
    entries.filter((e) => e.step === 'drained').map((e) => e.node),
    [n1, n2],
    'each node drained to the end once',
  );
  assert.equal(new Set(entries.map((e) => e.run)).size, 2, 'two runs wrote the journal');
  for (const n of [n1, n2]) assert.equal((await apis().core.readNode({ name: n })).spec?.unschedulable, undefined);
});

test('two runs at once: the second refuses, naming the holder', async (t) => {
  const s = await setup(t, 3);
  const [n1, , , n4] = s.nodes as [string, string, string, string];
  const slow = runPlugin(
    'kubectl-study',
    [
      'maintain',
      n1,
      '--run',
      'sleep 4',
      '--journal',
      s.journal,
      '--lock-namespace',
      s.ns,
      '--yes',
      '--ignore-daemonsets',
    ],
    { env: s.env, timeoutMs: 120_000 },
  );
  await eventually(
    'the first run to hold the lock',
    async () =>
      Boolean(await apis().coordination.readNamespacedLease({ name: 'kubectl-study-maintain', namespace: s.ns })),
    60_000,
    100,
  );
  const other = await runPlugin(
    'kubectl-study',
    [
      'maintain',
      n4,
      '--run',
      'true',
      '--journal',
      path.join(s.dir, 'other.journal'),
      '--lock-namespace',
      s.ns,
      '--yes',
      '--ignore-daemonsets',
    ],
    { env: s.env },
  );
  assert.equal(other.code, 3, other.stdout + other.stderr);
  assert.match(other.stderr, /error: another maintenance run holds the lock/);
  assert.equal(
    (await apis().core.readNode({ name: n4 })).spec?.unschedulable,
    undefined,
    'the refused run touched nothing',
  );
  assert.equal((await slow).code, 0);
});

test('two runs started at the same instant: exactly one holds the lock, the other is refused and touches nothing', async (t) => {
  const s = await setup(t, 3);
  const [n1, , , n4] = s.nodes as [string, string, string, string];
  const run = (node: string, journal: string) =>
    runPlugin(
      'kubectl-study',
      [
        'maintain',
        node,
        '--run',
        'sleep 10',
        '--journal',
        path.join(s.dir, journal),
        '--lock-namespace',
        s.ns,
        '--yes',
        '--ignore-daemonsets',
      ],
      { env: s.env, timeoutMs: 180_000 },
    );
  const [a, b] = await Promise.all([run(n1, 'a.journal'), run(n4, 'b.journal')]);
  assert.deepEqual(
    [a.code, b.code].sort((x, y) => (x ?? 0) - (y ?? 0)),
    [0, 3],
    `${a.stderr}\n${b.stderr}`,
  );
  const refused = a.code === 3 ? a : b;
  assert.match(refused.stderr, /error: another maintenance run (holds|took) the lock/);
  const untouched = a.code === 3 ? n1 : n4;
  assert.equal(
    (await apis().core.readNode({ name: untouched })).spec?.unschedulable,
    undefined,
    'the refused run touched nothing',
  );
});

test('a node cordoned before the run stays cordoned after it; --dry-run plans and touches nothing', async (t) => {
  const s = await setup(t, 3);
  const [n1, n2] = s.nodes as [string, string];
  await setCordoned(n2, true);
  const dry = await runPlugin(
    'kubectl-study',
    ['maintain', n1, n2, '--dry-run', '--ignore-daemonsets', '--max-unavailable', '2', '-o', 'json'],
    { env: s.env },
  );
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as { outcome: string; plan: { order: string[][] } };
  assert.equal(plan.outcome, 'planned');
  assert.deepEqual(plan.plan.order, [[n1, n2]]);
  assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, undefined);
  const r = await maintain(s, [n1, n2], []);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`${n2}: stays cordoned: it was cordoned before this run`));
  assert.equal((await apis().core.readNode({ name: n2 })).spec?.unschedulable, true);
  assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, undefined);
  const bad = await runPlugin('kubectl-study', ['maintain', n1, '--journal', s.journal], { env: s.env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: say what to do on each node: --run COMMAND, or --wait-file FILE/);
});

test('--dry-run names another run holding the lock; a journal of another cluster or node list is refused, saying whose it is', async (t) => {
  const s = await setup(t, 3);
  const [n1, n2] = s.nodes as [string, string];
  const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  await apis().coordination.createNamespacedLease({
    namespace: s.ns,
    body: {
      metadata: { name: 'kubectl-study-maintain' },
      spec: {
        holderIdentity: 'other-host/pid-4242/abcd',
        leaseDurationSeconds: 600,
        acquireTime: now as never,
        renewTime: now as never,
      },
    },
  });
  const dry = await runPlugin(
    'kubectl-study',
    ['maintain', n1, '--dry-run', '--ignore-daemonsets', '--lock-namespace', s.ns],
    { env: s.env },
  );
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /Note: another run holds the maintenance lock now \(other-host\/pid-4242\/abcd\)/);
  const foreign = (cluster: { server: string; uid: string }, nodes: string[]): string => {
    const file = path.join(s.dir, `foreign-${suffix()}`);
    writeFileSync(
      file,
      `${JSON.stringify({ time: new Date().toISOString(), run: 'old', node: '', step: 'run', cluster, nodes })}\n`,
    );
    return file;
  };
  const uid = (await apis().core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
  for (const [file, why] of [
    [
      foreign({ server: 'https://elsewhere:6443', uid: 'another-uid' }, [n1]),
      /belongs to another cluster \(https:\/\/elsewhere:6443, kube-system uid another-uid\)/,
    ],
    [
      foreign({ server: cluster().server, uid }, [n1, n2]),
      new RegExp(`was written for the nodes ${n1}, ${n2}, not ${n1}`),
    ],
  ] as const) {
    const r = await runPlugin(
      'kubectl-study',
      ['maintain', n1, '--run', 'true', '--journal', file, '--yes', '--ignore-daemonsets', '--lock-namespace', s.ns],
      { env: s.env },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, undefined, 'nothing changed');
  }
});

test('the live table in a 60-column pseudo-terminal redraws in place, leaving no stale lines', async (t) => {
  const s = await setup(t, 2);
  const [n1, n2] = s.nodes as [string, string];
  const bin = path.join(REPO_ROOT, 'bin', 'kubectl-study');
  const args = maintainArgs(s, [n1, n2], '"sleep 2"', ['--journal', s.journal], FAST_WAITS);
  const r = await runCommand(
    'script',
    ['-qfec', `stty cols 60 rows 60; ${process.execPath} ${bin} ${args.join(' ')}`, '/dev/null'],
    {
      env: { ...s.env, CI: '', TERM: 'xterm', NO_COLOR: '1' },
      timeoutMs: 240_000,
    },
  );
  assert.equal(r.code, 0, r.stdout);
  // oxlint-disable-next-line no-control-regex -- a cursor-up escape is what is looked for
  assert.match(r.stdout, /\u001b\[\d*A/, 'the table was redrawn in place');
  const lines = screen(r.stdout, 60);
  assert.equal(lines.filter((l) => /^NODE\s+PHASE\s+ELAPSED/.test(l)).length, 1, lines.join('\n'));
  assert.equal(lines.filter((l) => /^NODE\s+RESULT/.test(l)).length, 1, 'and the report once');
  assert.equal(
    lines.filter((l) => l.startsWith(n1) && /\bdone\b/.test(l)).length,
    2,
    'each node once in the live table and once in the report',
  );
});

test('the whole run is planned from one read: a step whose replacements find no node blocks before anything changes, naming the --max-unavailable that fits; that run then succeeds', async (t) => {
  const ns = await testNamespace(t, 'mnt');
  const pool = await createPool(t, [{}, {}, {}, {}]);
  const [n1, n2, n3, spare] = pool.nodes as [string, string, string, string];
  // Three replicas that may not share a node, one on each of n1..n3; the spare node is empty.
  await setCordoned(spare, true);
  const spec = template(pool, 'solo');
  spec.spec!.affinity = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  };
  await apis().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'solo' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'solo' } }, template: spec },
    },
  });
  await allReady(ns, 3);
  await setCordoned(spare, false);
  const user = `maint-${suffix()}`;
  const env = { KUBECONFIG: mintUser(user, ['system:masters']) };
  const mark = auditMark();

  // Two at a time: the first step's two replacements have one free node between them.
  const two = await runPlugin(
    'kubectl-study',
    [
      'maintain',
      n1,
      n2,
      n3,
      '--dry-run',
      '--ignore-daemonsets',
      '--max-unavailable',
      '2',
      '--lock-namespace',
      ns,
      '-o',
      'json',
    ],
    { env },
  );
  assert.equal(two.code, 3, two.stderr);
  const report = JSON.parse(two.stdout) as {
    outcome: string;
    plan: {
      order: string[][];
      blocked: Array<{ node: string; blockers: string[] }>;
      steps: Array<{
        nodes: string[];
        evict: number;
        blocked: number;
        pending: Array<{ pod: string; message: string }>;
      }>;
      firstUnplaceableStep?: number;
      maxUnavailableThatFits?: number;
    };
  };
  assert.equal(report.outcome, 'blocked');
  assert.deepEqual(report.plan.order, [[n1, n2], [n3]]);
  assert.equal(report.plan.firstUnplaceableStep, 1);
  assert.equal(report.plan.maxUnavailableThatFits, 1);
  assert.equal((report.plan.steps[0]?.evict ?? 0) + (report.plan.steps[0]?.blocked ?? 0), 2);
  assert.equal(report.plan.steps[0]?.pending.length, 1);
  assert.match(report.plan.steps[0]?.pending[0]?.message ?? '', /didn't match pod anti-affinity rules/);
  assert.ok(
    report.plan.blocked.some(
      (b) => [n1, n2].includes(b.node) && b.blockers.some((x) => /^WontFit: --allow-unplaceable overrides it/.test(x)),
    ),
    JSON.stringify(report.plan.blocked),
  );
  const human = await runPlugin(
    'kubectl-study',
    ['maintain', n1, n2, n3, '--dry-run', '--ignore-daemonsets', '--max-unavailable', '2', '--lock-namespace', ns],
    { env },
  );
  assert.equal(human.code, 3);
  assert.match(
    human.stdout,
    /Step 1 is the first where a replacement finds no node; with --max-unavailable 1 every replacement finds one\./,
  );

  // One at a time: each replacement goes to the spare node, or to a node maintained before.
  const one = await runPlugin(
    'kubectl-study',
    ['maintain', n1, n2, n3, '--dry-run', '--ignore-daemonsets', '--lock-namespace', ns, '-o', 'json'],
    { env },
  );
  assert.equal(one.code, 0, one.stderr);
  const planned = JSON.parse(one.stdout) as typeof report;
  assert.deepEqual(
    planned.plan.steps.map((s) => s.pending.length),
    [0, 0, 0],
  );
  assert.equal(planned.plan.firstUnplaceableStep, undefined);
  assert.deepEqual(
    writesBy(mark, user).filter((e) => !/accessreviews/.test(e.objectRef?.resource ?? '')),
    [],
    'the plans write nothing',
  );

  const dir = tempDir('kstudy-maintain-');
  const run = await runPlugin(
    'kubectl-study',
    maintainArgs({ ns }, [n1, n2, n3], 'true', ['--journal', path.join(dir, 'journal')], FAST_WAITS),
    { env, timeoutMs: 240_000 },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const pods = (await apis().core.listNamespacedPod({ namespace: ns, labelSelector: 'app=solo' })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  assert.equal(pods.length, 3);
  assert.equal(new Set(pods.map((p) => p.spec?.nodeName)).size, 3, 'every replica found a node of its own');
});
