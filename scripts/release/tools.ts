/**
 * The programs a release uses beyond Node and npm. The release installs none of them; it
 * finds them and says what it could not do without them.
 *
 *   rcodesign            cargo install apple-codesign --no-default-features --root ~/.cache/kubectl-study/rcodesign
 *                        (or RCODESIGN=/path/to/rcodesign): ad-hoc signs the macOS binaries. Required for darwin.
 *   osslsigncode         apt-get install osslsigncode: strips node.exe's Authenticode signature. Required for windows.
 *   qemu-aarch64-static  apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross: the linux-arm64
 *                        code cache and smoke test. Without it: no code cache, not run.
 *   wine                 apt-get install wine64 (Debian's wine wrapper runs it): the windows-amd64 smoke test.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

import { cacheDir } from '../../tests/cluster/paths.js';

/** The first executable of that name on PATH. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Tools {
  rcodesign?: string;
  osslsigncode?: string;
  /** qemu-aarch64-static and the arm64 C library it loads the dynamic linker from. */
  qemu?: { bin: string; sysroot: string };
  wine?: string;
}

export const INSTALL_HINTS = {
  rcodesign: 'cargo install apple-codesign --no-default-features --root ~/.cache/kubectl-study/rcodesign',
  osslsigncode: 'apt-get install -y osslsigncode',
  qemu: 'apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross',
  wine: 'apt-get install -y wine64',
} as const;

export function findTools(): Tools {
  const cached = path.join(cacheDir(), 'rcodesign', 'bin', 'rcodesign');
  const rcodesign = process.env.RCODESIGN || (existsSync(cached) ? cached : which('rcodesign'));
  const qemuBin = which('qemu-aarch64-static') ?? which('qemu-aarch64');
  const sysroot = '/usr/aarch64-linux-gnu';
  return {
    rcodesign,
    osslsigncode: which('osslsigncode'),
    qemu: qemuBin && existsSync(path.join(sysroot, 'lib', 'ld-linux-aarch64.so.1')) ? { bin: qemuBin, sysroot } : undefined,
    wine: which('wine64') ?? which('wine'),
  };
}
