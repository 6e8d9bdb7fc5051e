/**
 * npm run release: from a clean checkout, everything a release ships, in release/:
 *
 *   kubectl-study_vX_linux_amd64.tar.gz   the self-contained binary (Node single executable
 *                                         application: one CommonJS bundle, its blob made by the
 *                                         same Node that becomes the binary) and LICENSE
 *   kubectl-study-X.tgz                   npm pack, for the npm route (Node >= 20)
 *   krew/study.yaml, krew/study-drain.yaml, krew/whocan.yaml
 *                                         krew manifests, sha256 computed here, never by hand
 *
 * The binary serves every plugin by the name it is run as (kubectl-study, kubectl-study_drain,
 * kubectl-whocan, ... and kubectl_complete-* for shell completion). It is checked before it is
 * packed: it must print its version.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import path from 'node:path';

import { build } from 'esbuild';

import { REPO_ROOT } from '../tests/cluster/paths.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const VERSION = `v${pkg.version}`;
const OUT = path.join(REPO_ROOT, 'release');
const WORK = path.join(OUT, 'work');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const HOMEPAGE = 'https://github.com/kubectl-study/kubectl-study';

function log(line: string): void {
  process.stderr.write(`release: ${line}\n`);
}

function goOs(): string {
  return platform() === 'darwin' ? 'darwin' : platform() === 'win32' ? 'windows' : 'linux';
}

function goArch(): string {
  return arch() === 'x64' ? 'amd64' : arch();
}

export function archiveName(os = goOs(), cpu = goArch()): string {
  return `kubectl-study_${VERSION}_${os}_${cpu}.tar.gz`;
}

async function bundle(): Promise<string> {
  const file = path.join(WORK, 'study.cjs');
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: ['src/cli/sea.ts'],
    outfile: file,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    define: { __STUDY_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
  return file;
}

function seaBinary(bundleFile: string): string {
  const config = path.join(WORK, 'sea-config.json');
  const blob = path.join(WORK, 'sea-prep.blob');
  writeFileSync(config, JSON.stringify({ main: bundleFile, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bin = path.join(WORK, 'kubectl-study');
  copyFileSync(process.execPath, bin);
  chmodSync(bin, 0o755);
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'postject', 'dist', 'cli.js'), bin, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'ignore' });
  const version = execFileSync(bin, ['version'], { encoding: 'utf8' }).trim();
  if (version !== `kubectl-study ${pkg.version}`) throw new Error(`the binary says "${version}", expected kubectl-study ${pkg.version}`);
  return bin;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

interface PluginSpec {
  name: string;
  short: string;
  description: string;
}

const PLUGINS: PluginSpec[] = [
  {
    name: 'study',
    short: 'Safe drains, rollouts, kubeconfig and RBAC checks',
    description: `kubectl study bundles tools for cluster operators:
  kubectl study ctx       every kubeconfig context: auth, certificate expiry,
                          problems, and a parallel health check
  kubectl study drain     a read-only drain plan, then a drain that respects
                          PodDisruptionBudgets and can be interrupted safely
  kubectl study rollout   rollout status that says why it is stuck; history
                          with images and diffs; undo with a preview
  kubectl study whocan    who may do VERB on RESOURCE, through which binding
  kubectl study access    what one subject may do, and why
  kubectl study maintain  drain, upgrade and uncordon nodes one by one
`,
  },
  {
    name: 'study-drain',
    short: 'Plan a node drain, then drain respecting PDBs',
    description: `kubectl study-drain NODE first prints a read-only plan: every pod, what
the drain would do with it and why, PodDisruptionBudgets counted across the
whole drain, workloads that would lose every replica, and whether evicted pods
fit elsewhere. A blocked plan changes nothing. Then it cordons, evicts under
each PDB's budget, and waits for every pod to be gone.
`,
  },
  {
    name: 'whocan',
    short: 'Show who may do VERB on RESOURCE, and through what',
    description: `kubectl whocan VERB RESOURCE lists every subject RBAC allows, with the
binding, role and rule that grant it, matched exactly as the RBAC authorizer
matches; --verify confirms each with a SubjectAccessReview.
`,
  },
];

export function manifest(p: PluginSpec, sha: string, archive: string): string {
  const indent = (text: string): string =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  return `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: ${p.name}
spec:
  version: ${VERSION}
  homepage: ${HOMEPAGE}
  shortDescription: ${p.short}
  description: |
${indent(p.description)}
  caveats: |
    Read-only commands never change the cluster. Commands that do (drain,
    maintain, rollout undo, study-ctx use) show a plan first and ask on a
    terminal. Shell completion: see the README (krew does not install it).
  platforms:
  - selector:
      matchLabels:
        os: ${goOs()}
        arch: ${goArch()}
    uri: ${HOMEPAGE}/releases/download/${VERSION}/${archive}
    sha256: ${sha}
    bin: kubectl-study
    files:
    - from: kubectl-study
      to: .
    - from: LICENSE
      to: .
`;
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  log('bundling one CommonJS file');
  const file = await bundle();
  log('making the single executable');
  const bin = seaBinary(file);
  const archive = archiveName();
  copyFileSync(path.join(REPO_ROOT, 'LICENSE'), path.join(WORK, 'LICENSE'));
  execFileSync('tar', ['-czf', path.join(OUT, archive), '-C', WORK, 'kubectl-study', 'LICENSE']);
  const sha = sha256(path.join(OUT, archive));
  mkdirSync(path.join(OUT, 'krew'), { recursive: true });
  for (const p of PLUGINS) writeFileSync(path.join(OUT, 'krew', `${p.name}.yaml`), manifest(p, sha, archive));
  // npm pack ships dist/ (the npm route's bundle); `npm run release` builds it first.
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'main.js'))) throw new Error('dist/ is not built: run "npm run release" (or npm run build first)');
  log('npm pack');
  execFileSync('npm', ['pack', '--silent', '--pack-destination', OUT], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  copyFileSync(bin, path.join(OUT, 'kubectl-study'));
  rmSync(WORK, { recursive: true, force: true });
  process.stdout.write(`${path.join(OUT, archive)}\n${sha}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`release: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
