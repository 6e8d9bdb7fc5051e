/**
 * npm run bench:agreement: the README's agreement table, measured. For each
 * Kubernetes release given (default: every one the local cluster is built
 * for), it starts that release's cluster (or reuses one of that release this
 * checkout runs), runs the integration tests that compare kubectl-study with
 * a peer of that release, reads the `agreement KEY: AGREE of TOTAL` lines
 * they report (t.diagnostic, counted before their assertions, so a failing
 * run still reports), stops the cluster it started, and prints one markdown
 * row per release with the command that measured each cell.
 *
 *   npm run bench:agreement                  1.32, 1.34 and 1.37, one after another
 *   npm run bench:agreement -- 1.32 1.34     those releases
 *
 * STUDY_CLUSTER_DIR and STUDY_CLUSTER_PORT_BASE place the cluster as for
 * npm test (then give one release a run); STUDY_KEEP_CLUSTER=1 leaves each running.
 */
import path from 'node:path';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import { findRelease, RELEASES, type Release } from '../tests/cluster/releases.js';
import {
  bundleAndTypecheck,
  runRelease,
  runScript,
  scriptLog,
  totalsLine,
  type Agreement,
  type ReleaseOutcome,
} from '../scripts/test-support.js';

const log = scriptLog('bench:agreement');

interface Column {
  header: string;
  /** The diagnostic key of the cell's number; `also` adds a second one in brackets (placement's pods). */
  key: string;
  also?: { key: string; unit: string };
  unit: string;
  file: string;
  test: string;
}

const COLUMNS: readonly Column[] = [
  {
    header: 'whocan vs SubjectAccessReview',
    key: 'whocan-sar',
    unit: 'answers',
    file: 'tests/integration/rbac.test.ts',
    test: 'rule analysis and the API server answer hundreds of questions the same way',
  },
  {
    header: 'study-access vs SubjectAccessReview',
    key: 'access-sar',
    unit: 'cells',
    file: 'tests/integration/rbac.test.ts',
    test: 'the access matrix of a service account and of a user agrees with SelfSubjectRulesReview and SubjectAccessReview',
  },
  {
    header: "drain plan vs that release's kubectl drain (twins)",
    key: 'twins',
    unit: 'comparisons',
    file: 'tests/integration/kubectl-twin.test.ts',
    test: 'the plan against the real kubectl drain on twin nodes: every pod kind under every flag combination',
  },
  {
    header: "placement vs that release's kube-scheduler",
    key: 'placement',
    also: { key: 'placement-pods', unit: 'pods' },
    unit: 'scenarios',
    file: 'tests/integration/placement.test.ts',
    test: 'a sample of 10 scenarios: the plan predicts the Pending replacements the scheduler leaves',
  },
  {
    header: "rollout vs that release's kubectl",
    key: 'rollout',
    unit: 'comparisons',
    file: 'tests/integration/rollout-twin.test.ts',
    test: 'the rollout views against the real kubectl rollout: status and history of every workload state',
  },
];

/** The command that measures a cell on its own: the test file on that release's cluster. */
function commandOf(release: Release, column: Column): string {
  return `STUDY_K8S_VERSION=${release.minor} npm test -- ${column.file}`;
}

function sum(agreements: Agreement[], key: string): { agree: number; total: number } | undefined {
  const mine = agreements.filter((a) => a.key === key);
  if (!mine.length) return undefined;
  return mine.reduce((s, a) => ({ agree: s.agree + a.agree, total: s.total + a.total }), { agree: 0, total: 0 });
}

const n = (x: number): string => x.toLocaleString('en-US');

/** One cell: "AGREE/TOTAL unit", or why there is no number. Pure. */
function cellText(agreements: Agreement[], column: Column): string {
  const main = sum(agreements, column.key);
  if (!main) return 'not measured (the test reported nothing)';
  const also = column.also && sum(agreements, column.also.key);
  return (
    `${n(main.agree)}/${n(main.total)} ${column.unit}` +
    (also && column.also ? ` (${n(also.agree)}/${n(also.total)} ${column.also.unit})` : '')
  );
}

/** The README's table, one row per release, each cell its number and the command that measured it. Pure. */
function markdownTable(rows: Array<{ release: Release; agreements: Agreement[] }>): string {
  const lines = [
    `| release | ${COLUMNS.map((c) => c.header).join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`,
  ];
  for (const { release, agreements } of rows)
    lines.push(
      `| ${release.minor} (${release.version}) | ${COLUMNS.map((c) => `${cellText(agreements, c)}: \`${commandOf(release, c)}\``).join(' | ')} |`,
    );
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const releases = argv.length ? argv.map(findRelease) : [...RELEASES];
  const files = [...new Set(COLUMNS.map((c) => path.join(REPO_ROOT, c.file)))];
  if (!(await bundleAndTypecheck(log))) return 1;
  const outcomes: ReleaseOutcome[] = [];
  for (const release of releases) outcomes.push(await runRelease(release, files, log, release.version));

  const out: string[] = [
    '',
    markdownTable(outcomes.map((o) => ({ release: o.release, agreements: o.totals.agreements }))),
  ];
  out.push('', 'Each cell is measured by one test:');
  for (const c of COLUMNS) out.push(`- ${c.header}: ${c.file}, '${c.test}'`);
  out.push('', 'Runs:');
  for (const o of outcomes) {
    const minutes = `${Math.floor(o.seconds / 60)}m${String(o.seconds % 60).padStart(2, '0')}s`;
    const what = o.error ? `could not run: ${o.error.split('\n')[0]}` : totalsLine(o.totals);
    const raw = o.totals.agreements.map((a) => `${a.key} ${a.agree}/${a.total}`).join(', ');
    out.push(`- ${o.release.version}: ${what} in ${minutes}; ${raw || 'no agreement reported'}`);
    for (const f of o.totals.failures)
      out.push(`  - failed: ${f.name}${f.file ? ` (${path.relative(REPO_ROOT, f.file)})` : ''}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  const full = outcomes.every(
    (o) =>
      !o.error &&
      o.totals.failed === 0 &&
      COLUMNS.every((c) => {
        const s = sum(o.totals.agreements, c.key);
        return s !== undefined && s.agree === s.total;
      }),
  );
  return full ? 0 : 1;
}

runScript(() => main(process.argv.slice(2)), log);
