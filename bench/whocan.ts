/**
 * whocan benchmark: the local cluster loaded with 2,000 Roles and 10,000
 * bindings (bench/rbac-load.ts); `kubectl whocan` and kubectl-who-can answer
 * the same questions in the same run, interleaved. Reports medians of wall
 * time and peak memory, the ratios against the aims, and where the two
 * tools disagree, which one the API server's authorizer agrees with.
 *
 *   KUBECTL_WHO_CAN=/path/to/kubectl-who-can npm run bench:whocan
 *   BENCH_RUNS=N (default 5), BENCH_PROFILE=1 (a CPU profile of each of our aims' commands)
 *
 * kubectl-who-can is not built by this repository (go build it from its
 * source); without the variable only kubectl whocan is measured. Aims:
 * `whocan get pods -n NS` within 1.5x of kubectl-who-can; `--verify` within
 * 1.5x of the same question without it; the 5,000-row table within 1.3x of
 * its JSON. Not a test: nothing fails on a number.
 */
import path from 'node:path';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import { loadRbac, BINDINGS, ROLES, WIDE_SUBJECTS } from './rbac-load.js';
import { adminCluster, cell, machine, measure, profile, ratio, releaseNode, timed, type Case } from './support.js';

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
  const { kc, env } = await adminCluster();
  await loadRbac(kc);
  const whoCan = process.env.KUBECTL_WHO_CAN;
  const whocan = (name: string, args: string[]): Case => ({
    name,
    cmd: process.execPath,
    args: [path.join(REPO_ROOT, 'bin', 'kubectl-whocan'), ...args],
    env,
  });
  const peer = (args: string[]): Case => ({ name: `kubectl-who-can ${args.join(' ')}`, cmd: whoCan!, args, env });

  const questions: string[][] = [
    ['get', 'pods', '-n', 'bench-rbac-3'],
    ['list', 'secrets', '-n', 'bench-rbac-7'],
    ['create', 'deployments', '-n', 'bench-rbac-11'],
    ['get', 'pods/log', '-n', 'bench-rbac-5'],
    ['delete', 'jobs', '-A'],
  ];
  const out: string[] = [
    `whocan with ${ROLES} roles and ${BINDINGS} bindings (and one of ${WIDE_SUBJECTS} subjects), ${new Date().toISOString()}; ${machine()}`,
    '',
  ];

  // Each question: whocan (-o json, to compare subjects) beside kubectl-who-can.
  out.push(
    `| question | kubectl whocan | ${whoCan ? 'kubectl-who-can | ratio | difference |' : ''}`,
    `|---|---|${whoCan ? '---|---|---|' : ''}`,
  );
  for (const q of questions) {
    const cases = [whocan(`whocan ${q.join(' ')}`, [...q, '-o', 'json']), ...(whoCan ? [peer(q)] : [])];
    const [a, b] = await measure(cases);
    const mine = ours(a!.runs[0]!.stdout);
    let row = `| ${q.join(' ')} | ${cell(a!)}, ${mine.size} subjects |`;
    if (b) {
      const other = theirs(b.runs[0]!.stdout);
      const onlyOurs = [...mine].filter((s) => !other.has(s)).length;
      const onlyTheirs = [...other].filter((s) => !mine.has(s)).length;
      row += ` ${cell(b)}, ${other.size} subjects | ${ratio(a!, b, q[0] === 'get' && q[1] === 'pods' ? 1.5 : undefined)} | ${onlyOurs} only ours, ${onlyTheirs} only theirs |`;
    }
    out.push(row);
  }

  // --verify against the same question without it; the big table against its JSON.
  const plain = whocan('whocan get pods -n bench-rbac-3 -o json', ['get', 'pods', '-n', 'bench-rbac-3', '-o', 'json']);
  const verify = whocan('whocan get pods -n bench-rbac-3 --verify -o json', [
    'get',
    'pods',
    '-n',
    'bench-rbac-3',
    '--verify',
    '-o',
    'json',
  ]);
  const json = whocan('whocan delete jobs -A -o json', ['delete', 'jobs', '-A', '-o', 'json']);
  const table = whocan('whocan delete jobs -A', ['delete', 'jobs', '-A']);
  const wide = whocan('whocan delete jobs -A -o wide', ['delete', 'jobs', '-A', '-o', 'wide']);
  const node22 = await releaseNode();
  const plain22: Case = { ...plain, name: `${plain.name}, Node ${node22.version}`, cmd: node22.path };
  const [mp, mv, mj, mt, mw, m22, mpeer] = await measure([
    plain,
    verify,
    json,
    table,
    wide,
    plain22,
    ...(whoCan ? [peer(['get', 'pods', '-n', 'bench-rbac-3'])] : []),
  ]);
  const rows = (JSON.parse(mj!.runs[0]!.stdout) as { subjects: unknown[] }).subjects.length;
  const reviews = (
    JSON.parse(mv!.runs[0]!.stdout) as {
      subjects: Array<{ subject: { kind: string; name: string; namespace?: string } }>;
    }
  ).subjects;
  const reviewedSubjects = new Set(reviews.map((r) => JSON.stringify(r.subject))).size;
  out.push(
    '',
    '| command | time, peak RSS | ratio |',
    '|---|---|---|',
    `| get pods -n bench-rbac-3 | ${cell(mp!)} | ${mpeer ? `${ratio(mp!, mpeer, 1.5)} of kubectl-who-can (${cell(mpeer)})` : ''} |`,
    `| get pods -n bench-rbac-3, on Node ${node22.version} (the release binary's, compile cache on) | ${cell(m22!)} | ` +
      `${mpeer ? `${ratio(m22!, mpeer, 1.5)} of kubectl-who-can` : ''} |`,
    `| get pods -n bench-rbac-3 --verify (${reviews.length} rows, ${reviewedSubjects} subjects) | ${cell(mv!)} | ` +
      `${ratio(mv!, mp!, 1.5)} of the same without --verify |`,
    `| delete jobs -A -o json (${rows} rows) | ${cell(mj!)} | |`,
    `| delete jobs -A, table | ${cell(mt!)} | ${ratio(mt!, mj!, 1.3)} of its JSON |`,
    `| delete jobs -A -o wide | ${cell(mw!)} | ${ratio(mw!, mj!, 1.3)} of its JSON |`,
  );

  // Where the tools differ, the authorizer decides: --verify confirms every grant we report.
  const check = await timed(
    whocan('whocan delete jobs -A --verify', ['delete', 'jobs', '-A', '--verify', '-o', 'json']),
  );
  const verified = JSON.parse(check.stdout) as { disagreements: unknown[]; subjects: unknown[] };
  out.push(
    '',
    `--verify on "delete jobs -A": ${verified.subjects.length} grants, ${verified.disagreements.length} disagreements with SubjectAccessReview (${check.ms.toFixed(0)} ms)`,
    '',
  );
  for (const c of [plain, verify, table]) {
    const p = await profile(c);
    if (p) out.push(p);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
