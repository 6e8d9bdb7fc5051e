/**
 * Builds the cluster's binaries from their Go modules, once, into a cache
 * outside the repository keyed by everything that determines them (the Go
 * module files, the multi-call main, the Go version). A second run with the
 * same key starts without compiling.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

import { K8S_VERSION, KSTACK_SRC, cacheDir } from './paths.js';

export interface Binaries {
  dir: string;
  /** The multi-call binary: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, kubectl. */
  kstack: string;
  /** A standalone kubectl, for PATH and fair start-up benchmarks. */
  kubectl: string;
}

function goVersion(): string {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Go is not installed (needed once to build the local cluster); install Go 1.26 or newer');
  }
}

export function buildKey(): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) h.update(readFileSync(path.join(KSTACK_SRC, f)));
  h.update(goVersion());
  return h.digest('hex').slice(0, 12);
}

export function binariesDir(): string {
  return path.join(cacheDir(), 'bin', `k8s-${K8S_VERSION}-${buildKey()}`);
}

export function cachedBinaries(): Binaries | undefined {
  const dir = binariesDir();
  const b = { dir, kstack: path.join(dir, 'kstack'), kubectl: path.join(dir, 'kubectl') };
  return existsSync(b.kstack) && existsSync(b.kubectl) ? b : undefined;
}

const LDFLAGS = [
  '-s',
  '-w',
  `-X k8s.io/component-base/version.gitVersion=${K8S_VERSION}`,
  `-X k8s.io/component-base/version.gitMajor=${K8S_VERSION.slice(1).split('.')[0]}`,
  `-X k8s.io/component-base/version.gitMinor=${K8S_VERSION.split('.')[1]}`,
  '-X k8s.io/component-base/version.gitTreeState=clean',
  `-X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}`,
].join(' ');

export async function ensureBinaries(log: (line: string) => void = () => {}): Promise<Binaries> {
  const cached = cachedBinaries();
  if (cached) return cached;
  const dir = binariesDir();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(
    `building etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok (${K8S_VERSION}) into ${dir}; this happens once and takes several minutes`,
  );
  const started = Date.now();
  await run(
    'go',
    ['build', '-trimpath', '-ldflags', LDFLAGS, '-o', `${tmp}/`, '.', 'k8s.io/kubernetes/cmd/kubectl'],
    KSTACK_SRC,
  );
  if (!existsSync(path.join(tmp, 'kstack')) || !existsSync(path.join(tmp, 'kubectl'))) {
    throw new Error(`go build finished but ${tmp} lacks kstack or kubectl`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  renameSync(tmp, dir);
  // Older builds (another version or key) are 270 MB each: keep only this one.
  for (const other of readdirSync(path.dirname(dir))) {
    const full = path.join(path.dirname(dir), other);
    if (full !== dir && other.startsWith('k8s-')) rmSync(full, { recursive: true, force: true });
  }
  log(`built in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return { dir, kstack: path.join(dir, 'kstack'), kubectl: path.join(dir, 'kubectl') };
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
