/**
 * Builds a release's cluster binaries from their Go modules, once, into a
 * cache outside the repository keyed by everything that determines them
 * (the release's Go module files, the multi-call main, the Go version). A
 * second run with the same key starts without compiling. Each release has
 * its own directory, k8s-<version>-<key>; a new build replaces only older
 * builds of the same release.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

import { KSTACK_SRC, cacheDir } from './paths.js';
import { selectedRelease, type Release } from './releases.js';

export interface Binaries {
  dir: string;
  /** The multi-call binary: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok. */
  kstack: string;
  /** A standalone kubectl of the same release, for PATH, the twin tests and fair start-up benchmarks. */
  kubectl: string;
}

function goVersion(): string {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Go is not installed (needed once to build the local cluster); install Go 1.26 or newer');
  }
}

/** The release's module file and its go.sum ("v1.32.mod" goes with "v1.32.sum", as go build -modfile pairs them). */
function moduleFiles(release: Release): [string, string] {
  return [release.modfile, `${release.modfile.replace(/\.mod$/, '')}.sum`];
}

export function buildKey(release: Release = selectedRelease()): string {
  const h = createHash('sha256');
  for (const f of [...moduleFiles(release), 'main.go']) h.update(readFileSync(path.join(KSTACK_SRC, f)));
  h.update(goVersion());
  return h.digest('hex').slice(0, 12);
}

function binDir(): string {
  return path.join(cacheDir(), 'bin');
}

export function binariesDir(release: Release = selectedRelease()): string {
  return path.join(binDir(), `k8s-${release.version}-${buildKey(release)}`);
}

function binariesIn(dir: string): Binaries {
  return { dir, kstack: path.join(dir, 'kstack'), kubectl: path.join(dir, 'kubectl') };
}

export function cachedBinaries(release: Release = selectedRelease()): Binaries | undefined {
  const b = binariesIn(binariesDir(release));
  return existsSync(b.kstack) && existsSync(b.kubectl) ? b : undefined;
}

function ldflags(version: string): string {
  const [major, minor] = version.slice(1).split('.');
  return [
    '-s',
    '-w',
    `-X k8s.io/component-base/version.gitVersion=${version}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
    `-X k8s.io/client-go/pkg/version.gitVersion=${version}`,
  ].join(' ');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The directories running processes were started from (Linux's /proc/PID/exe; elsewhere none). */
function directoriesInUse(): Set<string> {
  const dirs = new Set<string>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return dirs;
  }
  for (const pid of pids) {
    try {
      dirs.add(path.dirname(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')));
    } catch {
      // gone, or not ours to read
    }
  }
  return dirs;
}

/**
 * Removes what a new build of this release makes obsolete: its builds with another key
 * or an older patch (200 to 270 MB each), and unfinished builds of it whose process is
 * gone. Other releases' builds, builds still in progress, and builds a running cluster
 * was started from (another checkout's, on a shared machine) are left alone.
 */
function removeOlderBuilds(release: Release, keep: string): void {
  const prefix = `k8s-v${release.minor}.`;
  const inUse = directoriesInUse();
  for (const name of readdirSync(binDir())) {
    const full = path.join(binDir(), name);
    if (full === keep || !name.startsWith(prefix) || inUse.has(full)) continue;
    const tmp = /\.tmp-(\d+)$/.exec(name);
    if (tmp && pidAlive(Number(tmp[1]))) continue;
    rmSync(full, { recursive: true, force: true });
  }
}

export async function ensureBinaries(
  release: Release = selectedRelease(),
  log: (line: string) => void = () => {},
): Promise<Binaries> {
  const cached = cachedBinaries(release);
  if (cached) return cached;
  const dir = binariesDir(release);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(
    `building etcd ${release.etcd}, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (${release.version}) and kwok ${release.kwok} into ${dir}; this happens once and takes several minutes`,
  );
  const started = Date.now();
  const [modfile] = moduleFiles(release);
  await run(
    'go',
    [
      'build',
      '-trimpath',
      `-modfile=${path.join(KSTACK_SRC, modfile)}`,
      '-ldflags',
      ldflags(release.version),
      '-o',
      `${tmp}/`,
      '.',
      'k8s.io/kubernetes/cmd/kubectl',
    ],
    KSTACK_SRC,
  );
  if (!existsSync(path.join(tmp, 'kstack')) || !existsSync(path.join(tmp, 'kubectl'))) {
    throw new Error(`go build finished but ${tmp} lacks kstack or kubectl`);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(
    path.join(tmp, 'build.json'),
    `${JSON.stringify({ release: release.version, etcd: release.etcd, kwok: release.kwok, go: goVersion(), seconds, builtAt: new Date().toISOString() }, null, 2)}\n`,
  );
  if (cachedBinaries(release)) {
    // Another process built the same key meanwhile: keep its build.
    rmSync(tmp, { recursive: true, force: true });
  } else {
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  removeOlderBuilds(release, dir);
  log(`built ${release.version} in ${seconds}s`);
  return binariesIn(dir);
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed with exit code ${code}`)),
    );
  });
}

export const KREW_VERSION = 'v0.4.3';

/** krew, from its Go module, for the packaging test (built on first use, cached like the cluster). */
export async function ensureKrew(log: (line: string) => void = () => {}): Promise<string> {
  const dir = path.join(cacheDir(), 'bin', `krew-${KREW_VERSION}`);
  const bin = path.join(dir, 'krew');
  if (existsSync(bin)) return bin;
  log(`building krew ${KREW_VERSION} from its Go module`);
  mkdirSync(dir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', `sigs.k8s.io/krew/cmd/krew@${KREW_VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: dir },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install krew failed with exit code ${code}`)),
    );
  });
  return bin;
}
