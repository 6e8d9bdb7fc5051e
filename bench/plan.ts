/**
 * The drain plan beside `kubectl drain --dry-run=server`, on a cluster of its
 * own: 50 kwok nodes and 2,000 pods (Deployments and StatefulSets under PDBs
 * across 12 namespaces, two DaemonSets, some emptyDir volumes, requests from
 * 5m to 100m cpu and 32Mi to 256Mi), in one run:
 *
 * - one node: `kubectl study-drain NODE --dry-run` and
 *   `kubectl drain NODE --dry-run=server`;
 * - a 10-node maintenance run: `kubectl study maintain NODE1..NODE10 --dry-run`
 *   and `kubectl drain NODE1 ... NODE10 --dry-run=server`;
 *
 * each with --ignore-daemonsets --delete-emptydir-data, so both look at the
 * same pods. Wall time and peak RSS: medians of BENCH_RUNS (5) interleaved
 * runs straight to the API server, after one warm-up each. API requests: one
 * more run of each through a counting proxy on loopback (plain HTTP in, the
 * admin's TLS out; the one-node commands run through it first to warm the
 * discovery cache, which both tools share and key by server). Aim: the
 * 10-node plan within 2x of kubectl's server dry run in wall time and in
 * requests.
 *
 * kubectl's client keeps to client-go's default 5 requests a second (burst
 * 10), so its 10-node server dry run (about 440 requests) takes over a
 * minute a run, and the whole bench about 10 minutes (BENCH_RUNS=3: 7).
 *
 *   npm run bench:plan        BENCH_RUNS=5  BENCH_KEEP_CLUSTER=1 (leave the bench cluster running)
 *
 * The cluster lives in /tmp/kstudy-plan-bench on ports 27xxx (STUDY_CLUSTER_DIR and
 * STUDY_CLUSTER_PORT_BASE override both), never the shared test cluster; building it
 * and its pods takes a few minutes the first time, and a running one is reused.
 *
 * Not a test: nothing fails on a number.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import * as k8s from '@kubernetes/client-node';

import { mapLimit } from '../src/base/concurrency.js';
import {
  addNodes,
  defaultNodes,
  down,
  isHealthy,
  readClusterInfo,
  up,
  type ClusterInfo,
} from '../tests/cluster/cluster.js';
import { startAdminProxy } from '../tests/cluster/proxy.js';
import { REPO_ROOT } from '../tests/cluster/paths.js';
import { log, machine, measure, RUNS, type Case, type Measured } from './support.js';

// A cluster of its own (read when the cluster helpers are called, after these lines).
process.env.STUDY_CLUSTER_DIR ||= '/tmp/kstudy-plan-bench';
process.env.STUDY_CLUSTER_PORT_BASE ||= '27000';

const NODES = 50;
const PODS = 2000;
const NAMESPACES = 12;
const DAEMONSETS = ['node-agent', 'log-shipper'];
const FLAGS = ['--ignore-daemonsets', '--delete-emptydir-data'];
const ONE = 'kwok-node-1';
const TEN = Array.from({ length: 10 }, (_, i) => `kwok-node-${i + 1}`);

interface Workload {
  ns: string;
  name: string;
  kind: 'Deployment' | 'StatefulSet';
  replicas: number;
  cpu: string;
  memory: string;
  emptyDir: boolean;
  pdb: { maxUnavailable?: number | string; minAvailable?: number | string };
}

/** The same workloads every time: sizes, requests and PDBs from fixed cycles. */
function workloads(): Workload[] {
  const sizes = [3, 5, 8, 12, 20, 2, 6, 10, 15, 4];
  const cpus = ['5m', '10m', '20m', '50m', '100m'];
  const mems = ['32Mi', '64Mi', '128Mi', '256Mi'];
  const pdbs: Workload['pdb'][] = [{ maxUnavailable: 1 }, { minAvailable: '50%' }, { maxUnavailable: '25%' }];
  const out: Workload[] = [];
  let left = PODS - DAEMONSETS.length * NODES;
  for (let i = 0; left > 0; i++) {
    const replicas = Math.min(sizes[i % sizes.length]!, left);
    left -= replicas;
    out.push({
      ns: `bench-plan-team-${String(i % NAMESPACES).padStart(2, '0')}`,
      name: `app-${String(i).padStart(3, '0')}`,
      kind: i % 10 === 9 ? 'StatefulSet' : 'Deployment',
      replicas,
      cpu: cpus[i % cpus.length]!,
      memory: mems[(i * 3) % mems.length]!,
      emptyDir: i % 4 === 1,
      pdb: pdbs[i % pdbs.length]!,
    });
  }
  return out;
}

function podTemplate(
  app: string,
  cpu: string,
  memory: string,
  emptyDir: boolean,
  tolerateAll = false,
): k8s.V1PodTemplateSpec {
  return {
    metadata: { labels: { app } },
    spec: {
      terminationGracePeriodSeconds: 30,
      tolerations: tolerateAll ? [{ operator: 'Exists' }] : undefined,
      containers: [
        {
          name: 'main',
          image: 'registry.local/app:1.0',
          resources: { requests: { cpu, memory } },
          volumeMounts: emptyDir ? [{ name: 'scratch', mountPath: '/scratch' }] : undefined,
        },
      ],
      volumes: emptyDir ? [{ name: 'scratch', emptyDir: {} }] : undefined,
    },
  };
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

async function until(what: string, fn: () => Promise<string | true>, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let said = 0;
  while (Date.now() < deadline) {
    const r = await fn().catch((err: unknown) => String(err));
    if (r === true) return;
    if (r !== last && Date.now() - said > 10_000) {
      log(`${what}: ${r}`);
      said = Date.now();
    }
    last = r;
    await new Promise((res) => setTimeout(res, 2000));
  }
  throw new Error(`timed out waiting for ${what}: ${last}`);
}

/** 50 nodes, 2,000 pods, every PDB settled; what exists already is kept. */
async function populate(info: ClusterInfo, kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  await addNodes(info, defaultNodes(NODES));
  const list = workloads();
  const namespaces = [...new Set(list.map((w) => w.ns)), 'bench-plan-system'];
  for (const name of namespaces) await ignoreExists(core.createNamespace({ body: { metadata: { name } } }));
  await until('default service accounts', async () => {
    for (const ns of namespaces) await core.readNamespacedServiceAccount({ name: 'default', namespace: ns });
    return true;
  });
  for (const name of DAEMONSETS) {
    await ignoreExists(
      apps.createNamespacedDaemonSet({
        namespace: 'bench-plan-system',
        body: {
          metadata: { name },
          spec: {
            selector: { matchLabels: { app: name } },
            template: podTemplate(name, '10m', '32Mi', name === 'log-shipper', true),
          },
        },
      }),
    );
  }
  await mapLimit(list, 8, async (w) => {
    const spec = {
      replicas: w.replicas,
      selector: { matchLabels: { app: w.name } },
      template: podTemplate(w.name, w.cpu, w.memory, w.emptyDir),
    };
    await ignoreExists(
      w.kind === 'Deployment'
        ? apps.createNamespacedDeployment({ namespace: w.ns, body: { metadata: { name: w.name }, spec } })
        : apps.createNamespacedStatefulSet({
            namespace: w.ns,
            body: {
              metadata: { name: w.name },
              spec: { ...spec, serviceName: w.name, podManagementPolicy: 'Parallel' },
            },
          }),
    );
    await ignoreExists(
      policy.createNamespacedPodDisruptionBudget({
        namespace: w.ns,
        body: { metadata: { name: w.name }, spec: { ...w.pdb, selector: { matchLabels: { app: w.name } } } },
      }),
    );
  });
  await until(`${PODS} ready pods`, async () => {
    const pods = await core.listPodForAllNamespaces({ labelSelector: 'app' });
    const ready = pods.items.filter(
      (p) =>
        p.metadata?.namespace?.startsWith('bench-plan-') &&
        !p.metadata.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    return ready === PODS || `${ready} of ${PODS}`;
  });
  await until('PDBs to settle', async () => {
    const pdbs = (await policy.listPodDisruptionBudgetForAllNamespaces()).items.filter((p) =>
      p.metadata?.namespace?.startsWith('bench-plan-'),
    );
    const stale = pdbs.filter(
      (p) =>
        p.status?.observedGeneration !== p.metadata?.generation || p.status?.currentHealthy !== p.status?.expectedPods,
    );
    return (pdbs.length === list.length && stale.length === 0) || `${pdbs.length - stale.length} of ${list.length}`;
  });
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** "GET /api/v1/pods?fieldSelector=..." -> "GET pods (list)": what a run asked for, by kind of request. */
export function requestKind(line: string): string {
  const [method, url = ''] = line.split(' ');
  const p = url.split('?')[0]!;
  const parts = p.split('/').filter(Boolean);
  const i = parts[0] === 'api' ? 2 : 3;
  const rest = parts.slice(i);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest.splice(0, 2);
  if (!rest.length) return `${method} ${p} (discovery)`;
  const [resource, name, sub] = rest;
  const list = method === 'GET' && !name ? (/watch=(1|true)/.test(url) ? ' (watch)' : ' (list)') : '';
  return `${method} ${resource}${sub ? `/${sub}` : ''}${list}${/dryRun=All/.test(url) ? ' (dry run)' : ''}`;
}

function breakdown(lines: string[]): string {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(requestKind(l), (counts.get(requestKind(l)) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

function kubeconfigFor(server: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'proxy.kubeconfig');
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${server}"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n`,
  );
  return file;
}

async function main(): Promise<void> {
  const existing = readClusterInfo();
  const startedHere = !(existing && (await isHealthy(existing)));
  const info = await up({ nodes: NODES, log });
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(info.adminKubeconfig);
    log(`populating ${info.dir}: ${NODES} nodes, ${PODS} pods`);
    const t0 = Date.now();
    await populate(info, kc);
    log(`cluster ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const kubectl = info.binaries.kubectl;
    const bin = (name: string): string => path.join(REPO_ROOT, 'bin', name);
    const admin = { KUBECONFIG: info.adminKubeconfig };
    const pairs: Array<{ what: string; ours: Case; theirs: Case }> = [
      {
        what: `one node (${ONE})`,
        ours: {
          name: 'study-drain --dry-run',
          cmd: process.execPath,
          args: [bin('kubectl-study_drain'), ONE, '--dry-run', ...FLAGS],
          env: admin,
        },
        theirs: {
          name: 'kubectl drain --dry-run=server',
          cmd: kubectl,
          args: ['drain', ONE, '--dry-run=server', ...FLAGS],
          env: admin,
        },
      },
      {
        what: `10 nodes (${TEN[0]} .. ${TEN.at(-1)})`,
        ours: {
          name: 'study maintain --dry-run',
          cmd: process.execPath,
          args: [bin('kubectl-study'), 'maintain', ...TEN, '--dry-run', ...FLAGS],
          env: admin,
        },
        theirs: {
          name: 'kubectl drain --dry-run=server',
          cmd: kubectl,
          args: ['drain', ...TEN, '--dry-run=server', ...FLAGS],
          env: admin,
        },
      },
    ];

    // Requests, through the counting proxy, one counted run each, after the one-node commands have
    // warmed the discovery cache the tools share (keyed by server, so the proxy's is a cache of its own).
    const proxy = await startAdminProxy(info);
    const proxyEnv = { KUBECONFIG: kubeconfigFor(proxy.server, path.join(info.dir, 'bench')) };
    const requests = new Map<Case, { count: number; kinds: string; code: number }>();
    try {
      for (const c of [pairs[0]!.ours, pairs[0]!.theirs]) await run(c.cmd, c.args, proxyEnv);
      proxy.take();
      for (const c of pairs.flatMap((p) => [p.ours, p.theirs])) {
        const r = await run(c.cmd, c.args, proxyEnv);
        const lines = proxy.take();
        if (r.code !== 0)
          log(
            `${c.name} ${c.args.slice(-6).join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
          );
        requests.set(c, { count: lines.length, kinds: breakdown(lines), code: r.code });
      }
    } finally {
      proxy.close();
    }

    // Wall time and peak RSS, straight to the API server, interleaved.
    log(`timing: ${RUNS} interleaved runs of each, after a warm-up`);
    const measured = await measure(pairs.flatMap((p) => [p.ours, p.theirs]));
    const m = new Map<Case, Measured>(measured.map((x) => [x.case, x]));

    const rows: string[] = [];
    const notes: string[] = [];
    for (const p of pairs) {
      const [o, t] = [m.get(p.ours)!, m.get(p.theirs)!];
      const [ro, rt] = [requests.get(p.ours)!, requests.get(p.theirs)!];
      const ratios = [o.ms / t.ms, ro.count / Math.max(1, rt.count), o.rssMiB / t.rssMiB].map(
        (x) => `${x.toFixed(2)}x`,
      );
      rows.push(
        `| ${p.what} | ${p.ours.name} | ${o.ms.toFixed(0)} ms | ${ro.count} | ${o.rssMiB.toFixed(0)} MiB | ` +
          `${ratios.join(' | ')} |`,
      );
      rows.push(`| | ${p.theirs.name} | ${t.ms.toFixed(0)} ms | ${rt.count} | ${t.rssMiB.toFixed(0)} MiB | | | |`);
      notes.push(`${p.what}, ${p.ours.name}: ${ro.kinds}`);
      notes.push(`${p.what}, ${p.theirs.name}: ${rt.kinds}`);
    }
    const [, ten] = pairs as [unknown, (typeof pairs)[1]];
    const tenTime = m.get(ten.ours)!.ms / m.get(ten.theirs)!.ms;
    const tenReq = requests.get(ten.ours)!.count / Math.max(1, requests.get(ten.theirs)!.count);
    const aim = (r: number): string => `${r.toFixed(2)}x (aim 2x: ${r <= 2 ? 'met' : 'MISSED'})`;
    process.stdout.write(
      [
        `The drain plan beside kubectl drain --dry-run=server, ${NODES} nodes, ${PODS} pods, flags ${FLAGS.join(' ')}; ${machine()}`,
        '',
        '| nodes | command | wall time | API requests | peak RSS | time ratio | request ratio | RSS ratio |',
        '|---|---|---|---|---|---|---|---|',
        ...rows,
        '',
        `10-node plan against kubectl's server dry run: wall time ${aim(tenTime)}, requests ${aim(tenReq)}`,
        '',
        'Requests by kind (one counted run each):',
        ...notes.map((n) => `  ${n}`),
        '',
      ].join('\n'),
    );
  } finally {
    if (startedHere && !process.env.BENCH_KEEP_CLUSTER) await down({ log });
    else
      log(
        `left running: STUDY_CLUSTER_DIR=${process.env.STUDY_CLUSTER_DIR} STUDY_CLUSTER_PORT_BASE=${process.env.STUDY_CLUSTER_PORT_BASE} npm run -s cluster:down stops it`,
      );
  }
}

main().catch((err: unknown) => {
  log(`error: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
