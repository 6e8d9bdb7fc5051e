/**
 * Start-up benchmark: kubectl-study's release binary and npm route beside kubectl's own,
 * on the same machine and the same local cluster, in the same run, twice over: with the
 * environment as it is, and with NODE_EXTRA_CA_CERTS unset (a large bundle there costs
 * Node 20 tens of milliseconds on every start).
 *
 *   npm run bench:startup            (20 runs of each; BENCH_RUNS=N to change)
 *
 * The runs are interleaved (one of each case in turn, repeated), so a machine that gets
 * busier half-way slows every case alike. Prints medians, p90s and each ratio against its
 * kubectl counterpart, and whether the aims are met:
 *   the release binary's --help within 1.2x of `kubectl version --client`;
 *   its `study-ctx check` within 2.5x of `kubectl get --raw /version`.
 * Not a test: nothing here fails on a number. The release binary is release/kubectl-study
 * (`npm run release`, or `npm run release -- --only linux-amd64`); without it those rows
 * are left out.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

import { up } from '../tests/cluster/cluster.js';
import { REPO_ROOT, stateDir } from '../tests/cluster/paths.js';
import { NODE_VERSION, PLATFORMS, unpackRuntime } from '../scripts/release/platforms.js';

const RUNS = Number(process.env.BENCH_RUNS || 20);
const AIMS: Record<string, number> = { 'kubectl version --client': 1.2, 'kubectl get --raw /version': 2.5 };

interface Case {
  name: string;
  cmd: string;
  args: string[];
  baseline?: string;
  /** Counts toward an aim (the release binary). */
  aim?: boolean;
}

interface Env {
  name: string;
  env: NodeJS.ProcessEnv;
}

function once(c: Case, env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { env, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status ?? r.signal}`);
  return ms;
}

const pct = (s: number[], p: number): number =>
  [...s].sort((a, b) => a - b)[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;

async function main(): Promise<void> {
  const info = await up({ log: (l) => process.stderr.write(`cluster: ${l}\n`) });
  const kubectl = info.binaries.kubectl;
  const links = path.join(stateDir(), 'bench-startup');
  rmSync(links, { recursive: true, force: true });
  mkdirSync(links, { recursive: true });
  const bin = (n: string): string => path.join(REPO_ROOT, 'bin', n);
  const node22 = await unpackRuntime(PLATFORMS.find((p) => p.id === 'linux-amd64')!, path.join(links, 'node22'), (l) =>
    process.stderr.write(`bench: ${l}\n`),
  );

  const cases: Case[] = [
    { name: 'kubectl version --client', cmd: kubectl, args: ['version', '--client'] },
    { name: 'kubectl get --raw /version', cmd: kubectl, args: ['get', '--raw', '/version'] },
  ];
  const sea = path.join(REPO_ROOT, 'release', 'kubectl-study');
  if (existsSync(sea)) {
    for (const n of ['kubectl-study', 'kubectl-study_ctx']) symlinkSync(sea, path.join(links, n));
    cases.push(
      {
        name: `release binary (Node ${NODE_VERSION}): --help`,
        cmd: path.join(links, 'kubectl-study'),
        args: ['--help'],
        baseline: 'kubectl version --client',
        aim: true,
      },
      {
        name: `release binary (Node ${NODE_VERSION}): study-ctx check`,
        cmd: path.join(links, 'kubectl-study_ctx'),
        args: ['check'],
        baseline: 'kubectl get --raw /version',
        aim: true,
      },
    );
  } else {
    process.stderr.write(
      'bench: no release/kubectl-study: run "npm run release -- --only linux-amd64" to time the release binary too\n',
    );
  }
  for (const [label, node] of [
    [`npm route (this machine's Node ${process.version.slice(1)})`, process.execPath],
    [`npm route (Node ${NODE_VERSION}, compile cache)`, node22],
  ] as const) {
    cases.push(
      {
        name: `${label}: --help`,
        cmd: node,
        args: [bin('kubectl-study'), '--help'],
        baseline: 'kubectl version --client',
      },
      {
        name: `${label}: study-ctx check`,
        cmd: node,
        args: [bin('kubectl-study_ctx'), 'check'],
        baseline: 'kubectl get --raw /version',
      },
    );
  }

  const asIs = { ...process.env, KUBECONFIG: info.adminKubeconfig };
  const withoutCa: NodeJS.ProcessEnv = { ...asIs };
  delete withoutCa.NODE_EXTRA_CA_CERTS;
  const envs: Env[] = [
    { name: `as is (NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS ?? 'unset'})`, env: asIs },
    { name: 'NODE_EXTRA_CA_CERTS unset', env: withoutCa },
  ];
  const samples = new Map<string, number[]>();
  const key = (c: Case, e: Env): string => `${e.name}\0${c.name}`;
  for (const e of envs) for (const c of cases) once(c, e.env); // warm the page cache and the compile cache
  for (let i = 0; i < RUNS; i++) {
    for (const e of envs) {
      for (const c of cases) {
        const list = samples.get(key(c, e)) ?? [];
        list.push(once(c, e.env));
        samples.set(key(c, e), list);
      }
    }
  }

  const cell = (c: Case, e: Env): string => {
    const s = samples.get(key(c, e))!;
    const base = c.baseline ? samples.get(key(cases.find((x) => x.name === c.baseline)!, e)) : undefined;
    const ratio = base ? ` | ${(pct(s, 50) / pct(base, 50)).toFixed(2)}x` : ' | ';
    return `${pct(s, 50).toFixed(1)} (${pct(s, 90).toFixed(1)})${ratio}`;
  };
  const rows = cases.map((c) => `| ${c.name} | ${envs.map((e) => cell(c, e)).join(' | ')} |`);
  const aims: string[] = [];
  for (const c of cases.filter((x) => x.aim)) {
    for (const e of envs) {
      const ratio =
        pct(samples.get(key(c, e))!, 50) / pct(samples.get(key(cases.find((x) => x.name === c.baseline)!, e))!, 50);
      const aim = AIMS[c.baseline!]!;
      aims.push(
        `- ${c.name} within ${aim}x of ${c.baseline}, ${e.name}: ${ratio <= aim ? 'met' : 'missed'} (${ratio.toFixed(2)}x)`,
      );
    }
  }
  process.stdout.write(
    `Start-up, ${RUNS} interleaved runs of each, ${new Date().toISOString()}; median ms (p90), ratio of medians to the kubectl command\n\n` +
      `| command | ${envs.map((e) => `${e.name} | ratio`).join(' | ')} |\n|---|${envs.map(() => '---|---').join('|')}|\n${rows.join('\n')}\n\n` +
      `${aims.length ? `Aims:\n${aims.join('\n')}\n` : ''}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
