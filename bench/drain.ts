/**
 * Drain benchmark: two identical nodes, each carrying 100 pods of five
 * Deployments (20 replicas each, a PDB of maxUnavailable 5 on each), with
 * two spare nodes per side. `kubectl drain` drains one, `kubectl
 * study-drain` the other, in the same run on the same cluster. Reports wall
 * time, API requests (kubectl's counted from its -v=6 request log, ours
 * from the result) and whether every PDB held (sampled every 100 ms).
 *
 *   npm run bench:drain            BENCH_PODS=100 BENCH_DEPLOYMENTS=5
 *
 * Not a test: nothing here fails on a number.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import * as k8s from '@kubernetes/client-node';

import { addNodes, removeNodes, up, type ClusterInfo } from '../tests/cluster/cluster.js';
import { REPO_ROOT } from '../tests/cluster/paths.js';

const PODS = Number(process.env.BENCH_PODS || 100);
const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS || 5);
const PER = Math.ceil(PODS / DEPLOYMENTS);
const MAX_UNAVAILABLE = Math.max(1, Math.floor(PER / 4));
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

interface Side {
  name: string;
  ns: string;
  pool: string;
  target: string;
  spares: string[];
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function prepare(info: ClusterInfo, kc: k8s.KubeConfig, side: Side): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const taint = { key: 'kstudy.bench/pool', value: side.pool, effect: 'NoSchedule' as const };
  await addNodes(
    info,
    [side.target, ...side.spares].map((name) => ({
      name,
      cpu: '64',
      memory: '256Gi',
      pods: '250',
      labels: { 'kstudy.bench/pool': side.pool },
      taints: [taint],
    })),
  );
  for (const n of side.spares) await core.patchNode({ name: n, body: { spec: { unschedulable: true } } }, MERGE);
  await core.createNamespace({ body: { metadata: { name: side.ns } } });
  await until('the default service account', async () =>
    Boolean(await core.readNamespacedServiceAccount({ name: 'default', namespace: side.ns })),
  );
  for (let d = 0; d < DEPLOYMENTS; d++) {
    const app = `app-${d}`;
    await apps.createNamespacedDeployment({
      namespace: side.ns,
      body: {
        metadata: { name: app },
        spec: {
          replicas: PER,
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app } },
            spec: {
              nodeSelector: { 'kstudy.bench/pool': side.pool },
              tolerations: [{ key: taint.key, operator: 'Equal', value: taint.value, effect: 'NoSchedule' }],
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  name: 'main',
                  image: 'registry.local/app:1.0',
                  resources: { requests: { cpu: '10m', memory: '16Mi' } },
                },
              ],
            },
          },
        },
      },
    });
    await policy.createNamespacedPodDisruptionBudget({
      namespace: side.ns,
      body: { metadata: { name: app }, spec: { maxUnavailable: MAX_UNAVAILABLE, selector: { matchLabels: { app } } } },
    });
  }
  await until(`${PER * DEPLOYMENTS} ready pods on ${side.target}`, async () => {
    const pods = await core.listNamespacedPod({ namespace: side.ns });
    return (
      pods.items.filter(
        (p) =>
          p.spec?.nodeName === side.target &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length ===
      PER * DEPLOYMENTS
    );
  });
  for (const n of side.spares) await core.patchNode({ name: n, body: { spec: { unschedulable: null } } }, MERGE);
  await until('PDBs to settle', async () => {
    const list = await policy.listNamespacedPodDisruptionBudget({ namespace: side.ns });
    return list.items.every(
      (p) =>
        p.status?.observedGeneration === p.metadata?.generation && p.status?.disruptionsAllowed === MAX_UNAVAILABLE,
    );
  });
}

/** Samples ready pods per app every 100 ms; returns the fewest seen per app. */
function pdbWatcher(kc: k8s.KubeConfig, ns: string): { stop: () => Promise<Map<string, number>> } {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const min = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const pods = await core.listNamespacedPod({ namespace: ns }).catch(() => undefined);
      if (pods) {
        const ready = new Map<string, number>();
        for (const p of pods.items) {
          const app = p.metadata?.labels?.app ?? '';
          const ok =
            !p.metadata?.deletionTimestamp &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          ready.set(app, (ready.get(app) ?? 0) + (ok ? 1 : 0));
        }
        for (const [app, n] of ready) min.set(app, Math.min(min.get(app) ?? Infinity, n));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return min;
    },
  };
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - t0 }));
  });
}

async function main(): Promise<void> {
  const info = await up({ log });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.adminKubeconfig);
  const id = Math.random().toString(36).slice(2, 7);
  const sides: Side[] = ['kubectl', 'study'].map((name) => ({
    name,
    ns: `bench-${name}-${id}`,
    pool: `${name}-${id}`,
    target: `kwok-bench-${name}-${id}-target`,
    spares: [0, 1].map((i) => `kwok-bench-${name}-${id}-spare-${i}`),
  }));
  try {
    log(
      `setting up 2 x ${PER * DEPLOYMENTS} pods (${DEPLOYMENTS} Deployments of ${PER}, PDB maxUnavailable ${MAX_UNAVAILABLE} each)`,
    );
    await Promise.all(sides.map((s) => prepare(info, kc, s)));
    const env = { ...process.env, KUBECONFIG: info.adminKubeconfig, NO_COLOR: '1' };
    const results: Array<{ name: string; ms: number; requests: number; held: boolean; code: number; detail: string }> =
      [];
    for (const side of sides) {
      log(`draining ${side.target} with ${side.name}`);
      const watcher = pdbWatcher(kc, side.ns);
      const r =
        side.name === 'kubectl'
          ? await run(
              info.binaries.kubectl,
              ['drain', side.target, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=10m', '-v=6'],
              env,
            )
          : await run(
              process.execPath,
              [
                path.join(REPO_ROOT, 'bin', 'kubectl-study_drain'),
                side.target,
                '--ignore-daemonsets',
                '--yes',
                '--timeout',
                '10m',
                '-o',
                'json',
              ],
              env,
            );
      const mins = await watcher.stop();
      const held = [...mins.values()].every((m) => m >= PER - MAX_UNAVAILABLE);
      const requests =
        side.name === 'kubectl'
          ? (r.stderr.match(/"Response" verb="[A-Z]+" url="/g) ?? []).length
          : (JSON.parse(r.stdout) as { requests: number }).requests;
      results.push({
        name: side.name === 'kubectl' ? 'kubectl drain' : 'kubectl study-drain',
        ms: r.ms,
        requests,
        held,
        code: r.code,
        detail: `min ready per Deployment ${Math.min(...mins.values())} of ${PER}`,
      });
    }
    const [k, s] = results as [(typeof results)[0], (typeof results)[0]];
    process.stdout.write(
      `Drain of a node with ${PER * DEPLOYMENTS} pods (${DEPLOYMENTS} Deployments, PDB maxUnavailable ${MAX_UNAVAILABLE} of ${PER} each), ${new Date().toISOString()}\n\n` +
        `| tool | exit | wall time | API requests | every PDB held | |\n|---|---|---|---|---|---|\n` +
        results
          .map(
            (r) =>
              `| ${r.name} | ${r.code} | ${(r.ms / 1000).toFixed(1)} s | ${r.requests} | ${r.held ? 'yes' : 'NO'} | ${r.detail} |`,
          )
          .join('\n') +
        `\n\nstudy-drain / kubectl drain: time ${(s.ms / k.ms).toFixed(2)}x, requests ${(s.requests / Math.max(1, k.requests)).toFixed(2)}x\n`,
    );
  } finally {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (const s of sides) await core.deleteNamespace({ name: s.ns }).catch(() => {});
    await removeNodes(
      info,
      sides.flatMap((s) => [s.target, ...s.spares]),
    ).catch(() => {});
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
