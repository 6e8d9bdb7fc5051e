/**
 * The faults of a real night, injected into study maintain on the local
 * cluster, each with a PDB watcher sampling every 200 ms that must see no
 * violation: the run killed while its command runs, a journal on a full or
 * read-only file system, a torn journal line, the API server unreachable
 * for 25 s mid-drain, and API Priority and Fairness throttling the run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { parseYaml, toYaml } from '../../src/base/yaml.js';
import { REPO_ROOT } from '../cluster/paths.js';
import {
  adminRequest,
  apis,
  cluster,
  eventually,
  mintUser,
  runCommand,
  runPlugin,
  suffix,
} from '../support/cluster.js';
import {
  maintainArgs as runArgs,
  maintainSetup,
  pdbWatcher,
  type MaintainSetup,
  type SetupOptions,
} from '../support/maintain-cluster.js';
import { outageProxy } from '../support/net.js';

const ROOT = process.getuid?.() === 0;

type Setup = MaintainSetup;
const setup = (t: TestContext, nodes: number, replicas: number, o?: SetupOptions): Promise<Setup> =>
  maintainSetup(t, 'mflt', nodes, replicas, o);

/** A real run with a journal. */
function maintainArgs(s: Setup, nodes: string[], journal: string, run: string, extra: string[] = []): string[] {
  return runArgs(s, nodes, run, ['--journal', journal, ...extra]);
}

function journalSteps(file: string): Array<{ node: string; step: string; command?: { pgid: number; marker: string } }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { node: string; step: string });
}

test('killed while its command runs: the rerun refuses to start the command again while it lives, then resumes without running it twice', async (t) => {
  const s = await setup(t, 3, 2);
  const [n1] = s.nodes as [string];
  const journal = path.join(s.dir, 'journal');
  const ran = path.join(s.dir, 'ran');
  const command = `echo "$NODE" >> ${ran}; sleep 6; echo finished`;
  const args = maintainArgs(s, [n1], journal, command, ['--lock-duration', '8s']);
  const watcher = pdbWatcher(s.ns, 'web');
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kubectl-study'), ...args], {
    env: { ...process.env, ...s.env, NO_COLOR: '1' },
    stdio: 'ignore',
  });
  const started = await eventually(
    'the command to start',
    // The command is recorded before its spawn (no process group yet) and with its process group, and it runs
    // once that is recorded (a run killed between the two never lets it start: tests/unit/maintain/gate.test.ts).
    async () =>
      existsSync(journal) && existsSync(ran)
        ? journalSteps(journal).find((e) => e.step === 'command-started' && (e.command?.pgid ?? 0) > 0)
        : undefined,
    120_000,
    100,
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  const pgid = started.command!.pgid;
  assert.ok(pgid > 0);
  const refused = await runPlugin('kubectl-study', args, { env: s.env, timeoutMs: 60_000 });
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `^error: the command for ${n1}, started by an earlier run at .* \\(process group ${pgid}\\), is still running; it is not started again`,
      'm',
    ),
  );
  assert.match(refused.stderr, new RegExp(`hint: .*kill -TERM -- -${pgid}`));
  await eventually('the first copy to finish', async () => existsSync(started.command!.marker), 60_000, 200);
  const resumed = await eventually(
    'the lock to expire and the run to resume',
    async () => {
      const r = await runPlugin('kubectl-study', args, { env: s.env, timeoutMs: 180_000 });
      return r.code === 0 ? r : /holds the lock/.test(r.stderr) ? undefined : assert.fail(r.stderr);
    },
    120_000,
    1000,
  );
  assert.match(resumed.stderr, /finished \(exit code 0\) after that run stopped; it is not run again/);
  assert.deepEqual(readFileSync(ran, 'utf8').trim().split('\n'), [n1], 'the command ran once');
  assert.ok((await watcher.stop()) >= 1, 'never below the PDB (2 replicas, maxUnavailable 1)');
  assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, undefined);
});

test('a journal that cannot be written is a usage error naming the file, before anything changes: full disk, read-only file system', {
  skip: ROOT ? false : 'needs root to mount a tmpfs and a read-only bind mount',
}, async (t) => {
  const s = await setup(t, 2, 1);
  const [n1] = s.nodes as [string];
  const full = path.join(s.dir, 'full');
  const ro = path.join(s.dir, 'ro');
  mkdirSync(full);
  mkdirSync(ro);
  assert.equal((await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', full])).code, 0);
  t.after(async () => {
    await runCommand('umount', ['-l', full]);
  });
  await runCommand('dd', ['if=/dev/zero', `of=${path.join(full, 'filler')}`, 'bs=1k', 'count=64']);
  assert.equal((await runCommand('mount', ['--bind', s.dir, ro])).code, 0);
  t.after(async () => {
    await runCommand('umount', ['-l', ro]);
  });
  assert.equal((await runCommand('mount', ['-o', 'remount,bind,ro', ro])).code, 0);
  for (const [journal, why] of [
    [path.join(full, 'journal'), /the disk is full/],
    [path.join(ro, 'journal'), /the file system is read-only/],
  ] as const) {
    const r = await runPlugin('kubectl-study', maintainArgs(s, [n1], journal, 'true'), {
      env: s.env,
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^error: cannot (write|open) the journal ${journal.replace(/[/.]/g, '\\$&')}: `, 'm'),
    );
    assert.match(r.stderr, why);
    assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, undefined, 'nothing changed');
  }
});

test('a disk that fills mid-run stops the run at a step boundary, the journal readable; once there is room, the same command resumes', {
  skip: ROOT ? false : 'needs root to mount a tmpfs',
}, async (t) => {
  const s = await setup(t, 3, 2);
  const [n1, n2] = s.nodes as [string, string];
  const dir = path.join(s.dir, 'small');
  mkdirSync(dir);
  assert.equal((await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir])).code, 0);
  t.after(async () => {
    await runCommand('umount', ['-l', dir]);
  });
  const journal = path.join(dir, 'journal');
  const filler = path.join(dir, 'filler');
  // The first node's command fills the disk; the run must stop cleanly at the next record.
  const command = `if [ "$NODE" = "${n1}" ] && [ ! -e ${dir}/filled ]; then dd if=/dev/zero of=${filler} bs=1k count=1024 2>/dev/null; touch ${dir}/filled 2>/dev/null; fi; true`;
  const watcher = pdbWatcher(s.ns, 'web');
  const first = await runPlugin('kubectl-study', maintainArgs(s, [n1, n2], journal, command), {
    env: s.env,
    timeoutMs: 240_000,
  });
  assert.equal(first.code, 2, first.stdout + first.stderr);
  assert.match(first.stderr + first.stdout, /cannot write the journal .*: the disk is full/);
  assert.match(first.stdout, /Result: failed/);
  const before = journalSteps(journal);
  assert.ok(before.length > 0, 'the journal is still readable');
  await runCommand('rm', ['-f', filler]);
  const second = await runPlugin('kubectl-study', maintainArgs(s, [n1, n2], journal, command), {
    env: s.env,
    timeoutMs: 240_000,
  });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  const steps = journalSteps(journal);
  assert.deepEqual(
    steps.filter((e) => e.step === 'drained').map((e) => e.node),
    [n1, n2],
    'each node drained once',
  );
  assert.deepEqual(
    steps.filter((e) => e.step === 'done').map((e) => e.node),
    [n1, n2],
  );
  assert.ok((await watcher.stop()) >= 1, 'never below the PDB (2 replicas, maxUnavailable 1)');
});

test('a torn last journal line is set aside with a warning, never appended onto, and the run resumes', async (t) => {
  const s = await setup(t, 2, 1);
  const [n1] = s.nodes as [string];
  const journal = path.join(s.dir, 'journal');
  writeFileSync(journal, '');
  appendFileSync(journal, '{"time":"2026-01-01T00:00:00Z","run":"old","node":"x","step":"cord');
  const r = await runPlugin('kubectl-study', maintainArgs(s, [n1], journal, 'true'), {
    env: s.env,
    timeoutMs: 180_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^warning: the journal's last line was cut short by an earlier crash; it was moved to .*journal\.torn-\d+$/m,
  );
  const aside = readdirSync(s.dir).filter((f) => f.startsWith('journal.torn-'));
  assert.equal(aside.length, 1);
  assert.doesNotThrow(() => journalSteps(journal), 'every line of the journal is whole');
  assert.equal(journalSteps(journal).findLast((e) => e.node !== '')?.step, 'done');
  assert.equal(journalSteps(journal).at(-1)?.step, 'ended', 'and the attempt says how it ended');
});

test('the API server unreachable for 25 s mid-drain: the run rides through and finishes, the PDB held', async (t) => {
  const s = await setup(t, 3, 4, { slow: true, grace: 4 });
  const [n1, n2] = s.nodes as [string, string];
  const proxy = await outageProxy(t, cluster().ports.apiserver);
  const doc = parseYaml(readFileSync(s.env.KUBECONFIG!, 'utf8')) as {
    clusters: Array<{ cluster: { server: string } }>;
  };
  doc.clusters[0]!.cluster.server = `https://127.0.0.1:${proxy.port}`;
  const kubeconfig = path.join(s.dir, 'via-proxy');
  writeFileSync(kubeconfig, toYaml(doc));
  const journal = path.join(s.dir, 'journal');
  const watcher = pdbWatcher(s.ns, 'web');
  const run = runPlugin('kubectl-study', maintainArgs(s, [n1, n2], journal, 'true', ['--lock-duration', '60s']), {
    env: { KUBECONFIG: kubeconfig },
    timeoutMs: 400_000,
  });
  await eventually(
    'the first eviction',
    async () => existsSync(journal) && journalSteps(journal).some((e) => e.step === 'cordoned'),
    120_000,
    100,
  );
  await new Promise((r) => setTimeout(r, 1000));
  await proxy.down();
  await new Promise((r) => setTimeout(r, 25_000));
  await proxy.up();
  const r = await run;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(
    journalSteps(journal)
      .filter((e) => e.step === 'done')
      .map((e) => e.node),
    [n1, n2],
  );
  assert.ok((await watcher.stop()) >= 3, 'never below the PDB (4 replicas, maxUnavailable 1)');
});

/** How many of a burst of concurrent access reviews, sent with a kubeconfig's client certificate, the API server throttles. */
async function throttledOfBurst(kubeconfig: string, count: number): Promise<number> {
  const doc = parseYaml(readFileSync(kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: Record<string, string> }>;
    users: Array<{ user: Record<string, string> }>;
  };
  const c = doc.clusters[0]!.cluster;
  const u = doc.users[0]!.user;
  const url = new URL(c.server!);
  const agent = new https.Agent({
    ca: Buffer.from(c['certificate-authority-data']!, 'base64'),
    cert: Buffer.from(u['client-certificate-data']!, 'base64'),
    key: Buffer.from(u['client-key-data']!, 'base64'),
    maxSockets: count,
  });
  const body = JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb: 'list', resource: 'pods' } },
  });
  const codes = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<number>((resolve) => {
          const req = https.request(
            {
              host: url.hostname,
              port: url.port,
              path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
              method: 'POST',
              agent,
              headers: { 'Content-Type': 'application/json' },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', () => resolve(0));
          req.end(body);
        }),
    ),
  );
  agent.destroy();
  return codes.filter((code) => code === 429).length;
}

test('API Priority and Fairness throttling the run: it finishes, reporting throttling, not PDB waits', async (t) => {
  const user = `apf-${suffix()}`;
  // Not in system:masters, which is exempt from API Priority and Fairness; an admin all the same.
  const s = await setup(t, 2, 12, { maxUnavailable: 12 });
  const env = { KUBECONFIG: mintUser(user) };
  const name = `kstudy-${suffix()}`;
  const rbac = `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`;
  await adminRequest(cluster(), 'POST', rbac, {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
  t.after(async () => {
    await adminRequest(cluster(), 'DELETE', `${rbac}/${name}`);
  });
  const fc = '/apis/flowcontrol.apiserver.k8s.io/v1';
  // One seat: an idle level with a large share leaves this one a single seat, so any two requests at once meet a 429.
  await adminRequest(cluster(), 'POST', `${fc}/prioritylevelconfigurations`, {
    metadata: { name: `${name}-ballast` },
    spec: {
      type: 'Limited',
      limited: {
        nominalConcurrencyShares: 1000,
        lendablePercent: 0,
        borrowingLimitPercent: 0,
        limitResponse: { type: 'Reject' },
      },
    },
  });
  await adminRequest(cluster(), 'POST', `${fc}/prioritylevelconfigurations`, {
    metadata: { name },
    spec: {
      type: 'Limited',
      limited: {
        nominalConcurrencyShares: 1,
        lendablePercent: 0,
        borrowingLimitPercent: 0,
        limitResponse: { type: 'Reject' },
      },
    },
  });
  await adminRequest(cluster(), 'POST', `${fc}/flowschemas`, {
    metadata: { name },
    spec: {
      priorityLevelConfiguration: { name },
      matchingPrecedence: 100,
      distinguisherMethod: { type: 'ByUser' },
      rules: [
        {
          subjects: [{ kind: 'User', user: { name: user } }],
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        },
      ],
    },
  });
  t.after(async () => {
    await adminRequest(cluster(), 'DELETE', `${fc}/flowschemas/${name}`);
    await adminRequest(cluster(), 'DELETE', `${fc}/prioritylevelconfigurations/${name}`);
    await adminRequest(cluster(), 'DELETE', `${fc}/prioritylevelconfigurations/${name}-ballast`);
  });
  // The event itself: the API server throttling a burst of this user's requests.
  await eventually(
    'the flow schema to throttle the user',
    async () => (await throttledOfBurst(env.KUBECONFIG, 60)) > 0,
    60_000,
    500,
  );
  const r = await runPlugin(
    'kubectl-study_drain',
    [s.nodes[0]!, '--ignore-daemonsets', '--yes', '--concurrency', '12', '-o', 'json'],
    { env, timeoutMs: 300_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const result = JSON.parse(r.stdout) as { outcome: string; throttled: number; pods: Array<{ message?: string }> };
  assert.equal(result.outcome, 'drained');
  assert.ok(
    result.throttled > 0,
    `the API server throttled the drain, and the drain says so (${r.stderr.split('\n').filter((l) => /throttl/.test(l)).length} throttling lines)`,
  );
  assert.ok(
    !result.pods.some((p) => /blocked by PDB/.test(p.message ?? '')),
    'throttling is not reported as a PDB wait',
  );
});
