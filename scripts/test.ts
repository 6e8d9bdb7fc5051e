/**
 * npm test: everything a clean machine needs, then every test.
 *
 *   1. bundle the CLI (dist/) and type-check the whole tree;
 *   2. build the cluster binaries if the cache lacks them, start the local
 *      cluster (or reuse a running one);
 *   3. run unit and integration tests with node's test runner;
 *   4. stop the cluster if this run started it;
 *   5. end with "N passed, N failed".
 *
 * npm test -- unit           only the unit tests (no cluster)
 * npm test -- integration    only the integration tests
 * npm test -- FILE...        only those test files
 * STUDY_K8S_VERSION=1.32     the cluster runs that Kubernetes release (default: the newest;
 *                            npm run test:versions runs the integration tests on each)
 * STUDY_KEEP_CLUSTER=1       leave the cluster running afterwards
 * STUDY_BIN=PATH             integration tests run that release binary instead of dist/
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import { selectedRelease } from '../tests/cluster/releases.js';
import {
  bundleAndTypecheck,
  integrationTests,
  isIntegrationTest,
  releaseEnv,
  runScript,
  runTests,
  scriptLog,
  totalsLine,
  unitTests,
  withCluster,
} from './test-support.js';

const log = scriptLog('test');

function selectFiles(argv: string[]): string[] {
  if (argv[0] === 'unit') return unitTests();
  if (argv[0] === 'integration') return integrationTests();
  if (argv.length) return argv.map((f) => path.resolve(f));
  return [...unitTests(), ...integrationTests()];
}

async function main(argv: string[]): Promise<number> {
  const files = selectFiles(argv);
  // Read before anything is built, so a misspelt release fails at once.
  const release = files.some(isIntegrationTest) ? selectedRelease() : undefined;

  if (process.env.STUDY_BIN) {
    const bin = path.resolve(process.env.STUDY_BIN);
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      log(`STUDY_BIN=${process.env.STUDY_BIN}: not an executable file`);
      return 1;
    }
    log(`the CLI under test: ${bin}`);
  }
  if (!(await bundleAndTypecheck(log))) return 1;

  const env = releaseEnv(release);
  const { code, totals } = release
    ? await withCluster(release, log, () => runTests(files, env, log))
    : await runTests(files, env, log);
  process.stdout.write(`${totalsLine(totals)}\n`);
  return code;
}

runScript(() => main(process.argv.slice(2)), log, true);
