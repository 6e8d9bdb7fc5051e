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
 * npm test -- FILE...        only those test files
 * STUDY_KEEP_CLUSTER=1       leave the cluster running afterwards
 * STUDY_BIN=PATH             integration tests run that release binary instead of dist/
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { down, isHealthy, readClusterInfo, up } from '../tests/cluster/cluster.js';
import { REPO_ROOT } from '../tests/cluster/paths.js';

const log = (line: string): void => {
  process.stderr.write(`test: ${line}\n`);
};

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(argv: string[]): Promise<number> {
  const unitOnly = argv[0] === 'unit';
  const explicit = unitOnly ? [] : argv.map((f) => path.resolve(f));
  const unit = findTests(path.join(REPO_ROOT, 'tests', 'unit'));
  const integration = findTests(path.join(REPO_ROOT, 'tests', 'integration'));
  const files = explicit.length ? explicit : unitOnly ? unit : [...unit, ...integration];
  const needsCluster = files.some((f) => f.includes(`${path.sep}integration${path.sep}`));

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
  log('bundling and type-checking');
  if ((await run(process.execPath, ['scripts/build.mjs'])) !== 0) return 1;
  if (
    (await run(process.execPath, [
      path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.json',
    ])) !== 0
  ) {
    log('type errors: fix them first');
    return 1;
  }

  let startedHere = false;
  if (needsCluster) {
    const existing = readClusterInfo();
    startedHere = !(existing && (await isHealthy(existing)));
    const t0 = Date.now();
    await up({ log });
    log(`cluster ready after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }

  const totals = path.join(tmpdir(), `kstudy-totals-${process.pid}.json`);
  let code = 1;
  try {
    code = await run(process.execPath, [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${process.env.STUDY_TEST_CONCURRENCY ?? 4}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(REPO_ROOT, 'tests', 'support', 'count-reporter.mjs')}`,
      `--test-reporter-destination=${totals}`,
      ...files,
    ]);
  } finally {
    if (startedHere && !process.env.STUDY_KEEP_CLUSTER) await down();
  }
  let summary = { passed: 0, failed: 0, skipped: 0 };
  try {
    summary = JSON.parse(readFileSync(totals, 'utf8')) as typeof summary;
    rmSync(totals, { force: true });
  } catch {
    log('the test runner wrote no totals');
  }
  if (code !== 0 && summary.failed === 0) summary.failed = 1;
  process.stdout.write(
    `${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}\n`,
  );
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  },
);
