/**
 * npm run test:versions: the integration suite against each Kubernetes
 * release the local cluster is built for (tests/cluster/releases.ts), one
 * release after another, each on its own cluster (started and stopped here,
 * or reused if one of that release runs), built first if the cache lacks it.
 * Ends with a summary per release and one "N passed, N failed" line over all.
 *
 * npm run test:versions -- 1.32 1.34     only those releases
 * npm run test:versions -- 1.32 -- FILE  only those test files
 * STUDY_KEEP_CLUSTER=1                   leave each cluster running afterwards
 */
import path from 'node:path';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import { findRelease, RELEASES, type Release } from '../tests/cluster/releases.js';
import {
  bundleAndTypecheck,
  integrationTests,
  noTotals,
  runRelease,
  runScript,
  scriptLog,
  totalsLine,
  type ReleaseOutcome,
} from './test-support.js';

const log = scriptLog('test:versions');

function parseArgs(argv: string[]): { releases: Release[]; files: string[] } {
  const cut = argv.indexOf('--');
  const names = cut >= 0 ? argv.slice(0, cut) : argv;
  const files = cut >= 0 ? argv.slice(cut + 1).map((f) => path.resolve(f)) : integrationTests();
  return { releases: names.length ? names.map(findRelease) : [...RELEASES], files };
}

async function main(argv: string[]): Promise<number> {
  const { releases, files } = parseArgs(argv);
  if (!(await bundleAndTypecheck(log))) {
    process.stdout.write('0 passed, 1 failed\n');
    return 1;
  }
  const outcomes: ReleaseOutcome[] = [];
  for (const release of releases)
    outcomes.push(
      await runRelease(release, files, log, `${release.version} (etcd ${release.etcd}, kwok ${release.kwok})`),
    );

  const all = noTotals();
  process.stdout.write('\nintegration tests by Kubernetes release:\n');
  for (const o of outcomes) {
    all.passed += o.totals.passed;
    all.failed += o.totals.failed;
    all.skipped += o.totals.skipped;
    const minutes = `${Math.floor(o.seconds / 60)}m${String(o.seconds % 60).padStart(2, '0')}s`;
    const what = o.error ? `could not run: ${o.error.split('\n')[0]}` : totalsLine(o.totals);
    process.stdout.write(`  ${o.release.version.padEnd(9)} ${what} (${minutes})\n`);
    for (const f of o.totals.failures) {
      process.stdout.write(`    ✖ ${f.name}${f.file ? ` (${path.relative(REPO_ROOT, f.file)})` : ''}\n`);
    }
  }
  process.stdout.write(`${totalsLine(all)}\n`);
  return all.failed === 0 ? 0 : 1;
}

runScript(() => main(process.argv.slice(2)), log, true);
