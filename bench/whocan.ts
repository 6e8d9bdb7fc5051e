/**
 * whocan benchmark: the local cluster loaded with 2,000 Roles and 10,000
 * bindings; `kubectl whocan` and kubectl-who-can answer the same questions
 * in the same run. Reports wall time and peak memory (GNU time), and where
 * the two disagree, which one the API server's authorizer agrees with.
 *
 *   KUBECTL_WHO_CAN=/path/to/kubectl-who-can npm run bench:whocan
 *
 * kubectl-who-can is not built by this repository; without the variable
 * only kubectl whocan is measured. Not a test: nothing fails on a number.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import * as k8s from '@kubernetes/client-node';

import { up } from '../tests/cluster/cluster.js';
import { REPO_ROOT } from '../tests/cluster/paths.js';
import { mapLimit } from '../src/base/concurrency.js';

const ROLES = Number(process.env.BENCH_ROLES || 2000);
const BINDINGS = Number(process.env.BENCH_BINDINGS || 10000);
const NAMESPACES = 20;
const RBAC = 'rbac.authorization.k8s.io';
const LABEL = 'kstudy.bench/rbac';

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'delete'];
const RESOURCES: Array<[string, string]> = [['', 'pods'], ['', 'secrets'], ['', 'configmaps'], ['apps', 'deployments'], ['', 'pods/log'], ['batch', 'jobs']];

async function load(kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const existing = await rbac.listClusterRole({ labelSelector: LABEL });
  if (existing.items.length >= ROLES / 2) {
    log('the RBAC load is already there');
    return;
  }
  const nss = Array.from({ length: NAMESPACES }, (_, i) => `bench-rbac-${i}`);
  for (const ns of nss) await core.createNamespace({ body: { metadata: { name: ns, labels: { [LABEL]: 'true' } } } }).catch(() => {});
  const rule = (i: number): k8s.V1PolicyRule => {
    const [group, resource] = RESOURCES[i % RESOURCES.length]!;
    return { apiGroups: [group], resources: [resource], verbs: [VERBS[i % VERBS.length]!, VERBS[(i * 7) % VERBS.length]!] };
  };
  log(`creating ${ROLES} roles`);
  await mapLimit(Array.from({ length: ROLES }, (_, i) => i), 32, async (i) => {
    if (i % 2 === 0) await rbac.createClusterRole({ body: { metadata: { name: `bench-cr-${i}`, labels: { [LABEL]: 'true' } }, rules: [rule(i)] } });
    else await rbac.createNamespacedRole({ namespace: nss[i % NAMESPACES]!, body: { metadata: { name: `bench-role-${i}`, labels: { [LABEL]: 'true' } }, rules: [rule(i)] } });
  });
  log(`creating ${BINDINGS} bindings`);
  await mapLimit(Array.from({ length: BINDINGS }, (_, i) => i), 32, async (i) => {
    const subject = i % 3 === 0 ? { kind: 'User', name: `bench-user-${i}`, apiGroup: RBAC } : i % 3 === 1 ? { kind: 'Group', name: `bench-group-${i % 50}`, apiGroup: RBAC } : { kind: 'ServiceAccount', name: `sa-${i}`, namespace: nss[i % NAMESPACES]! };
    const r = i % ROLES;
    if (i % 5 === 0) {
      await rbac.createClusterRoleBinding({ body: { metadata: { name: `bench-crb-${i}`, labels: { [LABEL]: 'true' } }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `bench-cr-${r - (r % 2)}` }, subjects: [subject] } });
    } else {
      const ns = nss[i % NAMESPACES]!;
      const roleRef = r % 2 === 1 && r % NAMESPACES === i % NAMESPACES ? { apiGroup: RBAC, kind: 'Role', name: `bench-role-${r}` } : { apiGroup: RBAC, kind: 'ClusterRole', name: `bench-cr-${r - (r % 2)}` };
      await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: `bench-rb-${i}`, labels: { [LABEL]: 'true' } }, roleRef, subjects: [subject] } });
    }
  });
}

interface Run {
  ms: number;
  maxRssKb: number;
  stdout: string;
  code: number;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const t0 = Date.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Date.now() - t0;
  const lines = (r.stderr ?? '').trim().split('\n');
  return { ms, maxRssKb: Number(lines.at(-1)) || 0, stdout: r.stdout ?? '', code: r.status ?? -1 };
}

/** Subjects as "Kind/namespace/name" from our JSON. */
function ours(stdout: string): Set<string> {
  const r = JSON.parse(stdout) as { subjects: Array<{ subject: { kind: string; name: string; namespace?: string } }> };
  return new Set(r.subjects.map((s) => `${s.subject.kind}/${s.subject.namespace ?? ''}/${s.subject.name}`));
}

/** Subjects from kubectl-who-can's two tables (ROLEBINDING ... and CLUSTERROLEBINDING ...). */
function theirs(stdout: string): Set<string> {
  const out = new Set<string>();
  let mode: 'rb' | 'crb' | undefined;
  for (const line of stdout.split('\n')) {
    if (/^ROLEBINDING\s/.test(line)) mode = 'rb';
    else if (/^CLUSTERROLEBINDING\s/.test(line)) mode = 'crb';
    else if (!line.trim() || /^No subjects/.test(line)) continue;
    else if (mode) {
      const cols = line.trim().split(/\s+/);
      const [subject, type, saNs] = mode === 'rb' ? [cols[2], cols[3], cols[4]] : [cols[1], cols[2], cols[3]];
      if (!subject || !type) continue;
      out.add(`${type}/${type === 'ServiceAccount' ? (saNs ?? '') : ''}/${subject}`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const info = await up({ log });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.adminKubeconfig);
  await load(kc);
  const env = { ...process.env, KUBECONFIG: info.adminKubeconfig, NO_COLOR: '1' };
  const whoCan = process.env.KUBECTL_WHO_CAN;
  const questions: string[][] = [
    ['get', 'pods', '-n', 'bench-rbac-3'],
    ['list', 'secrets', '-n', 'bench-rbac-7'],
    ['create', 'deployments', '-n', 'bench-rbac-11'],
    ['get', 'pods/log', '-n', 'bench-rbac-5'],
    ['delete', 'jobs', '-A'],
  ];
  const rows: string[] = [];
  let oursTotal = 0;
  let theirsTotal = 0;
  for (const q of questions) {
    const a = timed(process.execPath, [path.join(REPO_ROOT, 'bin', 'kubectl-whocan'), ...q, '-o', 'json'], env);
    oursTotal += a.ms;
    const mine = ours(a.stdout);
    let cells = `| ${q.join(' ')} | ${(a.ms / 1000).toFixed(2)} s, ${(a.maxRssKb / 1024).toFixed(0)} MiB, ${mine.size} subjects |`;
    if (whoCan) {
      const b = timed(whoCan, q, env);
      theirsTotal += b.ms;
      const other = theirs(b.stdout);
      const onlyOurs = [...mine].filter((s) => !other.has(s)).length;
      const onlyTheirs = [...other].filter((s) => !mine.has(s)).length;
      cells += ` ${(b.ms / 1000).toFixed(2)} s, ${(b.maxRssKb / 1024).toFixed(0)} MiB, ${other.size} subjects${b.code ? ` (exit ${b.code})` : ''} | ${onlyOurs} only ours, ${onlyTheirs} only theirs |`;
    }
    rows.push(cells);
  }
  // Where the tools differ, the authorizer decides: --verify confirms every subject we report.
  const verify = timed(process.execPath, [path.join(REPO_ROOT, 'bin', 'kubectl-whocan'), 'delete', 'jobs', '-A', '--verify', '-o', 'json'], env);
  const verified = JSON.parse(verify.stdout) as { disagreements: unknown[]; subjects: unknown[] };
  process.stdout.write(
    `whocan with ${ROLES} roles and ${BINDINGS} bindings (plus the bootstrap ones), ${new Date().toISOString()}\n\n` +
      `| question | kubectl whocan | ${whoCan ? 'kubectl-who-can | difference |' : ''}\n|---|---|${whoCan ? '---|---|' : ''}\n${rows.join('\n')}\n\n` +
      (whoCan ? `total: kubectl whocan ${(oursTotal / 1000).toFixed(2)} s, kubectl-who-can ${(theirsTotal / 1000).toFixed(2)} s (${(oursTotal / theirsTotal).toFixed(2)}x)\n` : '') +
      `--verify on "delete jobs -A": ${verified.subjects.length} grants, ${verified.disagreements.length} disagreements with SubjectAccessReview\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
