/**
 * study maintain on the local cluster, with the PDB watcher as today: the
 * wait for volumes to detach (kubelets are simulated and there is no CSI
 * driver, so each test creates the VolumeAttachments and sets the node's
 * status.volumesAttached itself), a window that closes mid-run (on the
 * test clock), and the --before and --after hooks.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { REPO_ROOT } from '../cluster/paths.js';
import {
  adminRequest,
  apis,
  cluster,
  eventually,
  mintUser,
  runPlugin,
  suffix,
  tempDir,
  testNamespace,
  type RunResult,
} from '../support/cluster.js';
import { allReady, createPool, deployment, pdb, pdbsSettled, readyWatcher, type Pool } from '../support/workloads.js';

interface Setup {
  ns: string;
  pool: Pool;
  nodes: string[];
  env: NodeJS.ProcessEnv;
  dir: string;
}

async function setup(t: TestContext, nodes: number, replicas: number): Promise<Setup> {
  const ns = await testNamespace(t, 'mst');
  const pool = await createPool(
    t,
    Array.from({ length: nodes }, () => ({})),
  );
  await deployment(ns, pool, 'web', replicas);
  await pdb(ns, 'web', 'web', { maxUnavailable: 1 });
  await allReady(ns, replicas);
  await pdbsSettled(ns);
  return {
    ns,
    pool,
    nodes: pool.nodes,
    env: { KUBECONFIG: mintUser(`mst-${suffix()}`, ['system:masters']) },
    dir: tempDir('kstudy-mst-'),
  };
}

/** The PDB watcher: the fewest ready pods of the app seen, sampled every 200 ms. */
const pdbWatcher = (ns: string): { stop: () => Promise<number> } => readyWatcher(ns, 'web', 200);

function maintainArgs(s: Setup, nodes: string[], run: string, extra: string[] = []): string[] {
  return [
    'maintain',
    ...nodes,
    '--run',
    run,
    '--lock-namespace',
    s.ns,
    '--yes',
    '--ignore-daemonsets',
    '--ready-timeout',
    '60s',
    '--recover-timeout',
    '120s',
    ...extra,
  ];
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<RunResult>;
}

/** Starts kubectl-study in the background, its output kept; `prefix`: argv that runs before node (unshare...). */
function start(args: string[], env: NodeJS.ProcessEnv, prefix: string[] = []): Running {
  const argv = [...prefix, process.execPath, path.join(REPO_ROOT, 'bin', 'kubectl-study'), ...args];
  const started = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : -1), stdout: out, stderr: err, ms: Date.now() - started }),
    ),
  );
  return { child, stderr: () => err, done };
}

const STORAGE = '/apis/storage.k8s.io/v1';

/**
 * A volume attached to a node, as a CSI driver and the attach/detach
 * controller would leave it: a PersistentVolume bound to a claim, a pod on
 * the node using it, a VolumeAttachment naming the node, and the node's
 * status.volumesAttached. detach() takes the last two away.
 */
async function attachVolume(
  t: TestContext,
  s: Setup,
  node: string,
): Promise<{ pv: string; claim: string; pod: string; detach: () => Promise<void> }> {
  const id = suffix();
  const pv = `kstudy-pv-${id}`;
  const handle = `vol-${id}`;
  const driver = 'csi.kstudy.test';
  const claim = 'data';
  const pod = 'holder';
  await apis().core.createPersistentVolume({
    body: {
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        claimRef: { namespace: s.ns, name: claim },
        csi: { driver, volumeHandle: handle },
      },
    },
  });
  t.after(async () => {
    await apis()
      .core.deletePersistentVolume({ name: pv })
      .catch(() => {});
  });
  await apis().core.createNamespacedPersistentVolumeClaim({
    namespace: s.ns,
    body: {
      metadata: { name: claim },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        volumeName: pv,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await apis().core.createNamespacedPod({
    namespace: s.ns,
    body: {
      metadata: { name: pod, labels: { app: 'holder' } },
      spec: {
        nodeName: node,
        tolerations: s.pool.placement.tolerations,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'main', image: 'registry.local/db:1.0' }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
      },
    },
  });
  const va = `kstudy-va-${id}`;
  const created = await adminRequest(cluster(), 'POST', `${STORAGE}/volumeattachments`, {
    metadata: { name: va },
    spec: { attacher: driver, nodeName: node, source: { persistentVolumeName: pv } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const setStatus = async (volumes: unknown): Promise<void> => {
    const r = await adminRequest(cluster(), 'PATCH', `/api/v1/nodes/${node}/status`, {
      status: { volumesAttached: volumes },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  await setStatus([{ name: `kubernetes.io/csi/${driver}^${handle}`, devicePath: '' }]);
  const detach = async (): Promise<void> => {
    await adminRequest(cluster(), 'DELETE', `${STORAGE}/volumeattachments/${va}`);
    await setStatus(null);
  };
  // The pool's nodes may be gone first: then so is what was attached to them.
  t.after(() => detach().catch(() => {}));
  return { pv, claim: `${s.ns}/${claim}`, pod: `${s.ns}/${pod}`, detach };
}

/** What the command sees when it starts: the node, its VolumeAttachments, its status.volumesAttached. */
function volumeCheckCommand(s: Setup, log: string): string {
  const kubectl = cluster().binaries.kubectl;
  return (
    `echo "$NODE vas=$(${kubectl} get volumeattachments -o jsonpath='{range .items[*]}{.spec.nodeName}{"\\n"}{end}' | grep -c "^$NODE$")` +
    ` status=$(${kubectl} get node "$NODE" -o jsonpath='{.status.volumesAttached}')" >> ${log}`
  );
}

test('volumes that detach a while after the drain: the plan lists them, the wait names them and their pods, and the command starts only once none is attached', async (t) => {
  const s = await setup(t, 3, 2);
  const [n1] = s.nodes as [string];
  const volume = await attachVolume(t, s, n1);
  const dry = await runPlugin('kubectl-study', [...maintainArgs(s, [n1], 'true', ['--force']), '--dry-run'], {
    env: s.env,
  });
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(
    dry.stdout,
    new RegExp(`attached to ${n1}: 1 volume: ${volume.pv} \\(claim ${volume.claim}, used by ${volume.pod}\\)`),
  );
  const log = path.join(s.dir, 'command.log');
  const watcher = pdbWatcher(s.ns);
  const run = start(maintainArgs(s, [n1], volumeCheckCommand(s, log), ['--force']), s.env);
  await eventually(
    'the run to wait for the volume',
    async () =>
      new RegExp(
        `${n1}: waiting for 1 volume: ${volume.pv} \\(claim ${volume.claim}, used by ${volume.pod}\\) to detach`,
      ).test(run.stderr()),
    120_000,
    100,
  );
  assert.equal(existsSync(log), false, 'the command has not started while the volume is attached');
  await volume.detach();
  const r = await run.done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(readFileSync(log, 'utf8').trim(), `${n1} vas=0 status=`, 'nothing attached when the command started');
  assert.ok((await watcher.stop()) >= 1, 'never below the PDB (2 replicas, maxUnavailable 1)');
});

test('volumes that never detach: the run stops at --volume-detach-timeout, the node named and cordoned, the command never run', async (t) => {
  const s = await setup(t, 3, 2);
  const [n1, n2] = s.nodes as [string, string];
  const volume = await attachVolume(t, s, n1);
  const log = path.join(s.dir, 'command.log');
  const watcher = pdbWatcher(s.ns);
  const r = await runPlugin(
    'kubectl-study',
    maintainArgs(s, [n1, n2], `echo "$NODE" >> ${log}`, ['--force', '--volume-detach-timeout', '8s']),
    { env: s.env, timeoutMs: 240_000 },
  );
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `${n1}\\s+failed\\s.*yes \\(by this run\\)\\s+1 volume: ${volume.pv} \\(claim ${volume.claim}, used by ${volume.pod}\\) ` +
        `still attached to ${n1} after --volume-detach-timeout 8s; the command was not run and ${n1} stays cordoned`,
    ),
  );
  assert.match(r.stdout, new RegExp(`${n2}\\s+not-started`));
  assert.equal(existsSync(log), false, 'the command never ran');
  assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, true, 'left cordoned');
  assert.equal((await apis().core.readNode({ name: n2 })).spec?.unschedulable, undefined, 'never touched');
  assert.ok((await watcher.stop()) >= 1, 'never below the PDB (2 replicas, maxUnavailable 1)');
});

interface StatusJson {
  lock?: { holder: string };
  current?: {
    id: string;
    state: string;
    attempt: { host: string; pid: number; user: string };
    done: string[];
    working: Array<{ node: string; phase: string }>;
    cordoned: Array<{ node: string; cordonedNow: boolean }>;
    commands: Array<{ node: string; host: string; pgid: number }>;
    lastError?: string;
  };
  last: Array<{ id: string; outcome: string; hosts: string[]; nodeCount: number }>;
  next?: string;
}

async function status(s: Setup, env: NodeJS.ProcessEnv = s.env): Promise<StatusJson> {
  const r = await runPlugin('kubectl-study', ['maintain', 'status', '--lock-namespace', s.ns, '-o', 'json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusJson;
}

test('a window that closes mid-run (the test clock): the next step waits, a resumed run keeps waiting, and goes on once a window opens', async (t) => {
  const s = await setup(t, 3, 2);
  const [n1, n2] = s.nodes as [string, string];
  const clock = path.join(s.dir, 'now');
  writeFileSync(clock, '2026-01-05T22:00:00Z');
  const env = { ...s.env, STUDY_TEST_CLOCK_FILE: clock };
  const log = path.join(s.dir, 'command.log');
  // The first node's command moves the clock past the window's end.
  const command = `echo "$NODE" >> ${log}; if [ "$NODE" = "${n1}" ]; then echo 2026-01-05T23:30:00Z > ${clock}; fi`;
  const watcher = pdbWatcher(s.ns);
  const first = start(maintainArgs(s, [n1, n2], command, ['--window', '22:00-23:00 UTC']), env);
  const waiting = new RegExp(
    `${n2}: outside the maintenance windows: waiting until Tue 2026-01-06 22:00 UTC \\(22:00-23:00 UTC\\)`,
  );
  await eventually('the second step to wait for the window', async () => waiting.test(first.stderr()), 120_000, 100);
  const during = await status(s, env);
  assert.equal(during.current?.state, 'running');
  assert.deepEqual(during.current?.done, [n1]);
  assert.match(during.next ?? '', /no window of the run is open: its next step waits until Tue 2026-01-06 22:00 UTC/);
  first.child.kill('SIGTERM');
  const stopped = await first.done;
  assert.equal(stopped.code, 130, stopped.stdout + stopped.stderr);
  assert.match(stopped.stdout, new RegExp(`${n2}\\s+not-started`));
  assert.equal((await apis().core.readNode({ name: n2 })).spec?.unschedulable, undefined, 'n2 never touched');

  // The same command without --window: the run keeps the window it has in its state.
  const second = start(maintainArgs(s, [n1, n2], command), env);
  await eventually('the resumed run to wait too', async () => waiting.test(second.stderr()), 120_000, 100);
  assert.match(second.stderr(), /warning: the run keeps the schedule in its state: windows 22:00-23:00 UTC/);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [n1], 'no step outside the window');
  writeFileSync(clock, '2026-01-06T22:00:00Z');
  const r = await second.done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [n1, n2]);
  assert.ok((await watcher.stop()) >= 1, 'never below the PDB (2 replicas, maxUnavailable 1)');
});

test('--before and --after across two nodes: before the drain and after the recovery, node after node; a failing hook stops the run saying what was not done', async (t) => {
  const s = await setup(t, 3, 2);
  const [n1, n2] = s.nodes as [string, string];
  const log = path.join(s.dir, 'events.log');
  const kubectl = cluster().binaries.kubectl;
  const event = (what: string): string =>
    `echo "${what} $NODE $(${kubectl} get node "$NODE" -o jsonpath='{.spec.unschedulable}')" >> ${log}`;
  const fixed = path.join(s.dir, 'fixed');
  const watcher = pdbWatcher(s.ns);
  const args = maintainArgs(s, [n1, n2], event('run'), [
    '--before',
    `${event('before')}; test "$STUDY_HOOK" = before`,
    '--after',
    `${event('after')}; test "$NODE" != "${n2}" || test -f ${fixed}`,
  ]);
  const first = await runPlugin('kubectl-study', args, { env: s.env, timeoutMs: 300_000 });
  assert.equal(first.code, 3, first.stdout + first.stderr);
  assert.match(
    first.stdout,
    new RegExp(
      `${n2}\\s+failed\\s.*the --after hook failed with exit code 1; all else was done on ${n2}: drained, the command run, ` +
        'Ready, uncordoned, its workloads Available',
    ),
  );
  // Each line: the event, the node, whether the node was cordoned then.
  assert.deepEqual(readFileSync(log, 'utf8').split('\n').filter(Boolean), [
    `before ${n1} `,
    `run ${n1} true`,
    `after ${n1} `,
    `before ${n2} `,
    `run ${n2} true`,
    `after ${n2} `,
  ]);
  writeFileSync(fixed, '');
  const second = await runPlugin('kubectl-study', args, { env: s.env, timeoutMs: 300_000 });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.deepEqual(
    readFileSync(log, 'utf8').split('\n').filter(Boolean).slice(6),
    [`after ${n2} `],
    'only the failed hook again',
  );
  assert.ok((await watcher.stop()) >= 1, 'never below the PDB (2 replicas, maxUnavailable 1)');
});

test('a failing --before hook: the run stops before the drain, the node untouched, and says so', async (t) => {
  const s = await setup(t, 2, 1);
  const [n1] = s.nodes as [string];
  const r = await runPlugin(
    'kubectl-study',
    maintainArgs(s, [n1], 'true', ['--before', 'echo "no silence for $NODE" >&2; exit 5']),
    {
      env: s.env,
      timeoutMs: 120_000,
    },
  );
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `${n1}\\s+failed\\s.*the --before hook failed with exit code 5: no silence for ${n1}; nothing else was done on ${n1}: it was not drained`,
    ),
  );
  assert.equal((await apis().core.readNode({ name: n1 })).spec?.unschedulable, undefined, 'not cordoned');
});

test('SIGKILL inside a hook: the hook goes on; the next run refuses while it lives, then takes it as done from its exit marker, never running it twice', async (t) => {
  const s = await setup(t, 2, 1);
  const [n1] = s.nodes as [string];
  const log = path.join(s.dir, 'hook.log');
  const hook = `echo "start $NODE" >> ${log}; sleep 6; echo "end $NODE" >> ${log}`;
  const args = maintainArgs(s, [n1], 'true', ['--after', hook, '--lock-duration', '8s']);
  const env = { ...s.env, HOME: tempDir('kstudy-home-') };
  const first = start(args, env);
  await eventually('the hook to start', async () => existsSync(log), 120_000, 100);
  first.child.kill('SIGKILL');
  await first.done;
  const during = await status(s);
  const hookRun = during.current?.commands.find((c) => c.node === n1);
  assert.ok(hookRun, JSON.stringify(during));
  assert.match(during.current?.working[0]?.phase ?? '', /^running the --after hook \(process group \d+ on /);
  const refused = await runPlugin('kubectl-study', args, { env, timeoutMs: 60_000 });
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `^error: the --after hook for ${n1}, started by an earlier run at .* \\(process group ${hookRun.pgid}\\), is still running; it is not started again`,
      'm',
    ),
  );
  await eventually('the hook to end', async () => /end/.test(readFileSync(log, 'utf8')), 60_000, 200);
  const resumed = await eventually(
    'the lock to expire and the run to resume',
    async () => {
      const r = await runPlugin('kubectl-study', args, { env, timeoutMs: 120_000 });
      return r.code === 0 ? r : /holds the lock/.test(r.stderr) ? undefined : assert.fail(r.stderr);
    },
    120_000,
    1000,
  );
  assert.match(
    resumed.stderr,
    /the --after hook for .*, finished \(exit code 0\) after that run stopped; it is not run again/,
  );
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [`start ${n1}`, `end ${n1}`], 'the hook ran once');
});
