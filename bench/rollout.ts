/**
 * rollout status benchmark, beside `kubectl rollout status` on the same
 * Deployment in the same run:
 *
 * - a finished rollout: both asked in turn (interleaved), medians of wall
 *   time and peak memory; aim: within 2x of kubectl;
 * - a rollout under way: both watch the same rollout at once, and each
 *   one's exit is timed from the moment the Deployment's status said
 *   complete, as a watch in this process saw it (medians over the rounds).
 *
 *   npm run bench:rollout          BENCH_RUNS=N (default 5), BENCH_PROFILE=1
 *
 * Not a test: nothing fails on a number.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import * as k8s from '@kubernetes/client-node';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import {
  adminCluster,
  cell,
  log,
  machine,
  measure,
  median,
  profile,
  ratio,
  releaseNode,
  RUNS,
  type Case,
} from './support.js';

const NS = 'bench-rollout';
const NAME = 'web';

function deployment(image: string): k8s.V1Deployment {
  return {
    metadata: { name: NAME },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: NAME } },
      template: {
        metadata: { labels: { app: NAME }, annotations: { 'kstudy.test/ready-after': '1s' } },
        spec: { containers: [{ name: 'app', image, resources: { requests: { cpu: '10m' } } }] },
      },
    },
  };
}

function complete(d: k8s.V1Deployment): boolean {
  const st = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    (d.metadata?.generation ?? 0) <= (st.observedGeneration ?? 0) &&
    st.updatedReplicas === want &&
    (st.replicas ?? 0) === want &&
    st.availableReplicas === want
  );
}

/** Resolves with the time (ms, hrtime) at which a watch sees the Deployment complete. */
function completion(kc: k8s.KubeConfig): { at: Promise<number>; stop: () => void } {
  let stop = (): void => {};
  const at = new Promise<number>((resolve, reject) => {
    void new k8s.Watch(kc)
      .watch(
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        { fieldSelector: `metadata.name=${NAME}` },
        (_type, obj: k8s.V1Deployment) => {
          if (complete(obj)) resolve(Number(process.hrtime.bigint()) / 1e6);
        },
        (err) => err && reject(err as Error),
      )
      .then((req) => (stop = () => req.abort()));
  });
  return { at, stop: () => stop() };
}

/** Starts a command; resolves with the time it exited, and its exit code. */
function exitTime(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ at: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ at: Number(process.hrtime.bigint()) / 1e6, code }));
  });
}

async function main(): Promise<void> {
  const { info, kc, env } = await adminCluster();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } }).catch(() => {});
  await apps.deleteNamespacedDeployment({ name: NAME, namespace: NS }).catch(() => {});
  for (let i = 0; i < 100; i++) {
    if (
      !(await apps.readNamespacedDeployment({ name: NAME, namespace: NS }).then(
        () => true,
        () => false,
      ))
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('registry.local/web:0') });
  const kubectl = info.binaries.kubectl;
  const study = path.join(REPO_ROOT, 'bin', 'kubectl-study_rollout');
  const ours: Case = {
    name: 'study-rollout status (finished)',
    cmd: process.execPath,
    args: [study, 'status', `deployment/${NAME}`, '-n', NS],
    env,
  };
  const theirs: Case = {
    name: 'kubectl rollout status (finished)',
    cmd: kubectl,
    args: ['rollout', 'status', `deployment/${NAME}`, '-n', NS],
    env,
  };
  for (let i = 0; i < 300 && !complete(await apps.readNamespacedDeployment({ name: NAME, namespace: NS })); i++)
    await new Promise((r) => setTimeout(r, 100));

  const node22 = await releaseNode();
  const ours22: Case = { ...ours, name: `study-rollout status (finished), Node ${node22.version}`, cmd: node22.path };
  // The release binary itself, when built (npm run release -- --only linux-amd64): what users download.
  const binary = path.join(REPO_ROOT, 'release', 'kubectl-study');
  const released: Case | undefined = existsSync(binary)
    ? {
        ...ours,
        name: 'release binary: study rollout status (finished)',
        cmd: binary,
        args: ['rollout', ...ours.args.slice(1)],
      }
    : undefined;
  const [a, b, c, d] = await measure([ours, theirs, ours22, ...(released ? [released] : [])]);
  const out = [
    `rollout status, ${new Date().toISOString()}; ${machine()}`,
    '',
    '| case | study-rollout | kubectl | ratio |',
    '|---|---|---|---|',
  ];
  out.push(
    `| a finished rollout (Node ${process.version.slice(1)}, this machine's) | ${cell(a!)} | ${cell(b!)} | ${ratio(a!, b!, 2)} |`,
  );
  out.push(
    `| a finished rollout (Node ${node22.version}, the release binary's, compile cache on) | ${cell(c!)} | | ${ratio(c!, b!, 2)} |`,
  );
  if (d)
    out.push(
      `| a finished rollout (the release binary, Node ${node22.version} with its code cache) | ${cell(d)} | | ${ratio(d, b!, 2)} |`,
    );
  else log('no release/kubectl-study: the release binary is not measured (npm run release -- --only linux-amd64)');

  // Rollouts under way: both watch the same one; each exit timed from the completion.
  const late = { ours: [] as number[], kubectl: [] as number[] };
  for (let round = 1; round <= RUNS; round++) {
    await apps.replaceNamespacedDeployment({
      name: NAME,
      namespace: NS,
      body: {
        ...(await apps.readNamespacedDeployment({ name: NAME, namespace: NS })),
        spec: deployment(`registry.local/web:${round}`).spec!,
      },
    });
    const done = completion(kc);
    const [x, y] = await Promise.all([
      exitTime(process.execPath, [study, 'status', `deployment/${NAME}`, '-n', NS, '--timeout', '120s'], env),
      exitTime(kubectl, ['rollout', 'status', `deployment/${NAME}`, '-n', NS, '--timeout=120s'], env),
    ]);
    const at = await done.at;
    done.stop();
    if (x.code !== 0 || y.code !== 0) log(`round ${round}: exit codes ${x.code} and ${y.code}`);
    late.ours.push(x.at - at);
    late.kubectl.push(y.at - at);
  }
  out.push(
    `| exit after the status said complete (median of ${RUNS} rollouts) | ${median(late.ours).toFixed(1)} ms | ${median(late.kubectl).toFixed(1)} ms | |`,
    '',
  );
  out.push(await profile(ours));
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
