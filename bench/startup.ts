/**
 * Start-up benchmark: kubectl-study's entry points beside kubectl's own, on
 * the same machine and the same local cluster, in the same run.
 *
 *   npm run bench:startup            (20 runs each; BENCH_RUNS=N to change)
 *
 * Prints a table of medians and p90s, and each ratio against its kubectl
 * counterpart. Not a test: nothing here fails on a number.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

import { up } from '../tests/cluster/cluster.js';
import { REPO_ROOT, stateDir } from '../tests/cluster/paths.js';

const RUNS = Number(process.env.BENCH_RUNS || 20);

interface Case {
  name: string;
  cmd: string;
  args: string[];
  baseline?: string;
}

function time(c: Case, env: NodeJS.ProcessEnv): number[] {
  const samples: number[] = [];
  spawnSync(c.cmd, c.args, { env, stdio: 'ignore' }); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(c.cmd, c.args, { env, stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0 && r.status !== 3) throw new Error(`${c.name} exited ${r.status}`);
    samples.push(ms);
  }
  return samples.sort((a, b) => a - b);
}

const pct = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;

async function main(): Promise<void> {
  const info = await up({ log: (l) => process.stderr.write(`cluster: ${l}\n`) });
  const kubectl = info.binaries.kubectl;
  const pathDir = path.join(stateDir(), 'bench-path');
  rmSync(pathDir, { recursive: true, force: true });
  mkdirSync(pathDir, { recursive: true });
  symlinkSync(kubectl, path.join(pathDir, 'kubectl'));
  const env = {
    ...process.env,
    KUBECONFIG: info.adminKubeconfig,
    PATH: [pathDir, path.join(REPO_ROOT, 'bin'), process.env.PATH].join(path.delimiter),
  };
  const bin = (n: string): string => path.join(REPO_ROOT, 'bin', n);
  const cases: Case[] = [
    { name: 'kubectl version --client', cmd: kubectl, args: ['version', '--client'] },
    { name: 'kubectl-study --help', cmd: bin('kubectl-study'), args: ['--help'], baseline: 'kubectl version --client' },
    { name: 'kubectl-study version', cmd: bin('kubectl-study'), args: ['version'], baseline: 'kubectl version --client' },
    { name: 'kubectl-study_ctx (list, no API call)', cmd: bin('kubectl-study_ctx'), args: [], baseline: 'kubectl version --client' },
    { name: 'kubectl config view', cmd: kubectl, args: ['config', 'view'] },
    { name: 'kubectl study --help (via kubectl)', cmd: kubectl, args: ['study', '--help'], baseline: 'kubectl version --client' },
    { name: 'kubectl get --raw /version', cmd: kubectl, args: ['get', '--raw', '/version'] },
    { name: 'kubectl-study_ctx check (5 API steps)', cmd: bin('kubectl-study_ctx'), args: ['check'], baseline: 'kubectl get --raw /version' },
  ];
  // The self-contained binary of `npm run release`, when it has been built.
  const sea = path.join(REPO_ROOT, 'release', 'kubectl-study');
  if (existsSync(sea)) {
    const seaDir = path.join(stateDir(), 'bench-sea');
    rmSync(seaDir, { recursive: true, force: true });
    mkdirSync(seaDir, { recursive: true });
    for (const n of ['kubectl-study', 'kubectl-study_ctx', 'kubectl-whocan']) symlinkSync(sea, path.join(seaDir, n));
    cases.push(
      { name: 'binary: kubectl-study --help', cmd: path.join(seaDir, 'kubectl-study'), args: ['--help'], baseline: 'kubectl version --client' },
      { name: 'binary: kubectl-study version', cmd: path.join(seaDir, 'kubectl-study'), args: ['version'], baseline: 'kubectl version --client' },
      { name: 'binary: kubectl-study_ctx check', cmd: path.join(seaDir, 'kubectl-study_ctx'), args: ['check'], baseline: 'kubectl get --raw /version' },
      { name: 'binary: kubectl-whocan get pods', cmd: path.join(seaDir, 'kubectl-whocan'), args: ['get', 'pods'], baseline: 'kubectl get --raw /version' },
    );
  }
  const results = new Map<string, number[]>();
  for (const c of cases) results.set(c.name, time(c, env));
  const rows = cases.map((c) => {
    const s = results.get(c.name)!;
    const base = c.baseline ? results.get(c.baseline) : undefined;
    const ratio = base ? `${(pct(s, 50) / pct(base, 50)).toFixed(2)}x ${c.baseline}` : '';
    return `| ${c.name} | ${pct(s, 50).toFixed(1)} | ${pct(s, 90).toFixed(1)} | ${ratio} |`;
  });
  process.stdout.write(
    `Start-up, ${RUNS} runs each, node ${process.version}, ${new Date().toISOString()}\n\n| command | median ms | p90 ms | ratio (median) |\n|---|---|---|---|\n${rows.join('\n')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
