/**
 * What `npm test` and `npm run test:versions` share: finding the test files,
 * bundling and type-checking once, a cluster of one release started (or
 * reused) around a run and stopped after if the run started it, and node's
 * test runner with its totals read back for the closing line.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { down, isHealthy, readClusterInfo, up } from '../tests/cluster/cluster.js';
import { REPO_ROOT, stateDir } from '../tests/cluster/paths.js';
import type { Release } from '../tests/cluster/releases.js';

export type Log = (line: string) => void;

/** A log that says which script speaks: "NAME: line" on stderr. */
export function scriptLog(name: string): Log {
  return (line) => {
    process.stderr.write(`${name}: ${line}\n`);
  };
}

/**
 * Runs a script's main and exits with its code. An error it did not plan for is one line, and (for the
 * test runners, `totals`) a last line "0 passed, 1 failed" that CI can read.
 */
export function runScript(main: () => Promise<number>, log: Log, totals = false): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`error: ${err instanceof Error ? err.message : String(err)}`);
      if (totals) process.stdout.write('0 passed, 1 failed\n');
      process.exit(1);
    },
  );
}

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
  /** The failed tests, by name and file. */
  failures: Array<{ name: string; file?: string }>;
  /** What the tests that compare with a peer reported: `agreement KEY: AGREE of TOTAL` (t.diagnostic). */
  agreements: Agreement[];
}

export interface Agreement {
  key: string;
  agree: number;
  total: number;
  file?: string;
}

export const noTotals = (): Totals => ({ passed: 0, failed: 0, skipped: 0, failures: [], agreements: [] });

export function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

export const unitTests = (): string[] => findTests(path.join(REPO_ROOT, 'tests', 'unit'));
export const integrationTests = (): string[] => findTests(path.join(REPO_ROOT, 'tests', 'integration'));

export function isIntegrationTest(file: string): boolean {
  return file.includes(`${path.sep}integration${path.sep}`);
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Bundles the CLI into dist/ and type-checks the whole tree; false (and a line saying so) on failure. */
export async function bundleAndTypecheck(log: Log): Promise<boolean> {
  log('bundling and type-checking');
  if ((await run(process.execPath, ['scripts/build.mjs'])) !== 0) return false;
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if ((await run(process.execPath, [tsc, '-p', 'tsconfig.json'])) !== 0) {
    log('type errors: fix them first');
    return false;
  }
  return true;
}

/**
 * Runs fn with the release's cluster up: started (or reused, if one of that release
 * already runs in its state directory) and stopped afterwards if started here, unless
 * STUDY_KEEP_CLUSTER is set.
 */
export async function withCluster<T>(release: Release, log: Log, fn: () => Promise<T>): Promise<T> {
  const existing = readClusterInfo(stateDir(process.env, release));
  const startedHere = !(existing && (await isHealthy(existing, release)));
  const t0 = Date.now();
  await up({ log, release });
  log(`${release.version} cluster ready after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  try {
    return await fn();
  } finally {
    if (startedHere && !process.env.STUDY_KEEP_CLUSTER) await down({ release });
  }
}

/**
 * The environment of a test run against a release: STUDY_K8S_VERSION names it, so the
 * tests (and whatever they start, such as cluster:up) find its cluster.
 */
export function releaseEnv(release: Release | undefined): NodeJS.ProcessEnv {
  return release ? { ...process.env, STUDY_K8S_VERSION: release.minor } : process.env;
}

/** Node's test runner over the files; the exit code and the totals its count reporter wrote. */
export async function runTests(
  files: string[],
  env: NodeJS.ProcessEnv,
  log: Log,
): Promise<{ code: number; totals: Totals }> {
  const totalsFile = path.join(tmpdir(), `kstudy-totals-${process.pid}-${Date.now()}.json`);
  const code = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${process.env.STUDY_TEST_CONCURRENCY ?? 4}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(REPO_ROOT, 'tests', 'support', 'count-reporter.mjs')}`,
      `--test-reporter-destination=${totalsFile}`,
      ...files,
    ],
    env,
  );
  let totals = noTotals();
  try {
    totals = { ...noTotals(), ...(JSON.parse(readFileSync(totalsFile, 'utf8')) as Partial<Totals>) };
    rmSync(totalsFile, { force: true });
  } catch {
    log('the test runner wrote no totals');
  }
  if (code !== 0 && totals.failed === 0) totals.failed = 1;
  return { code, totals };
}

/** How the tests went on one release's cluster. */
export interface ReleaseOutcome {
  release: Release;
  totals: Totals;
  seconds: number;
  /** Why the run could not start (a build or a cluster that failed), if it could not. */
  error?: string;
}

/** The files on the release's cluster (withCluster); a cluster that could not start is one failure, said why. */
export async function runRelease(release: Release, files: string[], log: Log, title: string): Promise<ReleaseOutcome> {
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  log(`── ${title} ──`);
  try {
    const { totals } = await withCluster(release, log, () => runTests(files, releaseEnv(release), log));
    return { release, totals, seconds: seconds() };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`${release.version}: ${error}`);
    return { release, totals: { ...noTotals(), failed: 1 }, seconds: seconds(), error };
  }
}

export function totalsLine(t: Totals): string {
  return `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`;
}
