/**
 * study-access benchmark: the same RBAC load as bench/whocan.ts (2,000
 * Roles, 10,000 bindings); `kubectl study-access` beside rakkess, in the
 * same run, interleaved, on the same subject and namespace with the same
 * eight verbs. Reports medians of wall time and peak memory, how many
 * cells each answers (rakkess: its access reviews), and the ratio against
 * the aim (within 1.5x of rakkess).
 *
 *   RAKKESS=/path/to/rakkess npm run bench:access       BENCH_RUNS=N, BENCH_PROFILE=1
 *
 * rakkess is not built by this repository (go build it from its source);
 * without the variable only study-access is measured. study-access confirms
 * every cell, cluster-scoped resources included (two rules reviews, then an
 * access review for each cluster-scoped cell they do not allow); rakkess
 * with -n asks about the namespaced resources only, one review a cell.
 * Not a test: nothing fails on a number.
 */
import path from 'node:path';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import { BINDINGS, loadRbac, ROLES } from './rbac-load.js';
import { adminCluster, cell, machine, measure, profile, ratio, releaseNode, timed, type Case } from './support.js';

const VERBS = 'get,list,watch,create,update,patch,delete,deletecollection';

async function main(): Promise<void> {
  const { kc, env } = await adminCluster();
  await loadRbac(kc);
  const rakkess = process.env.RAKKESS;
  const subjects: Array<{ label: string; ours: string[]; theirs: string[] }> = [
    {
      label: '--as bench-user-3 -n bench-rbac-3',
      ours: ['--as', 'bench-user-3', '-n', 'bench-rbac-3'],
      theirs: ['--as', 'bench-user-3', '-n', 'bench-rbac-3'],
    },
    { label: 'yourself (the admin) -n bench-rbac-3', ours: ['-n', 'bench-rbac-3'], theirs: ['-n', 'bench-rbac-3'] },
  ];
  const out: string[] = [
    `study-access with ${ROLES} roles and ${BINDINGS} bindings, ${new Date().toISOString()}; ${machine()}`,
    '',
  ];
  out.push('| subject | study-access | rakkess | ratio |', '|---|---|---|---|');
  const profiled: Case[] = [];
  const node22 = await releaseNode();
  for (const s of subjects) {
    const mine: Case = {
      name: `study-access ${s.label}`,
      cmd: process.execPath,
      args: [path.join(REPO_ROOT, 'bin', 'kubectl-study_access'), ...s.ours],
      env,
    };
    const theirs: Case | undefined = rakkess
      ? { name: `rakkess ${s.label}`, cmd: rakkess, args: [...s.theirs, '--verbs', VERBS], env }
      : undefined;
    const mine22: Case = { ...mine, name: `${mine.name}, Node ${node22.version}`, cmd: node22.path };
    const [a, c, b] = await measure([mine, mine22, ...(theirs ? [theirs] : [])]);
    // How many cells we answer (from two rules reviews and the access reviews they leave open); rakkess's reviews, from its log.
    const matrix = JSON.parse((await timed({ ...mine, args: [...mine.args, '-o', 'json'] })).stdout) as {
      rows: Array<{ cells: Record<string, unknown> }>;
    };
    const ourCells = matrix.rows.reduce((n, r) => n + Object.keys(r.cells).length, 0);
    let row = `| ${s.label} | ${cell(a!)}, ${ourCells} cells |`;
    if (!b) row += ' | |';
    if (b && theirs) {
      const logged = await timed({ ...theirs, args: [...theirs.args, '-v', '6'] });
      const theirReviews = logged.stderr.split('\n').filter((l) => l.includes('selfsubjectaccessreviews')).length;
      row += ` ${cell(b)}, ${theirReviews} reviews | ${ratio(a!, b, 1.5)} |`;
    }
    row += `\n| ${s.label}, on Node ${node22.version} (the release binary's) | ${cell(c!)} | | ${b ? ratio(c!, b, 1.5) : ''} |`;
    out.push(row);
    profiled.push(mine);
  }
  out.push('');
  for (const c of profiled.slice(0, 1)) out.push(await profile(c));
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
