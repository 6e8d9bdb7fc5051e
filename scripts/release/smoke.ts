/**
 * The release binaries run as released, against the local cluster: natively (linux-amd64),
 * under qemu-user (linux-arm64) and under wine (windows-amd64). Each command must exit 0,
 * say what it should, and print nothing on stderr: the runtime has nothing of its own to say.
 *
 * Output goes to files, not pipes: Node under wine cannot open a Unix pipe as stdout.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import { cacheDir } from '../../tests/cluster/paths.js';
import type { Platform } from './platforms.js';
import type { Tools } from './tools.js';

interface SmokeCase {
  name: string;
  /** The name the binary runs under (it serves each plugin by its name). */
  as: string;
  args: string[];
  expect: (stdout: string) => boolean;
}

const CASES: SmokeCase[] = [
  { name: '--help', as: 'kubectl-study', args: ['--help'], expect: (out) => /^Usage: kubectl study \[options\] \[command\]/m.test(out) },
  {
    name: 'study-ctx check',
    as: 'kubectl-study_ctx',
    args: ['check', '--timeout', '60s', '-o', 'json'],
    expect: (out) => {
      const list = JSON.parse(out) as { kind: string; checks: { ok: boolean }[] };
      return list.kind === 'ContextCheckList' && list.checks.length > 0 && list.checks.every((c) => c.ok);
    },
  },
  { name: 'whocan get pods', as: 'kubectl-whocan', args: ['get', 'pods'], expect: (out) => out.includes('system:masters') },
];

/** How this machine can run a platform's binary, or why it cannot. */
export interface Runnable {
  how: 'native' | 'qemu' | 'wine';
  prefix: string[];
  env: NodeJS.ProcessEnv;
  /** The kubeconfig's path as the binary sees it. */
  kubeconfig: (file: string) => string;
}
export type Runner = Runnable | { how: 'not run'; why: string };

export function runnerFor(p: Platform, tools: Tools): Runner {
  const same = (file: string): string => file;
  if (p.os === 'linux' && p.arch === 'amd64') {
    return process.platform === 'linux' && process.arch === 'x64' ? { how: 'native', prefix: [], env: {}, kubeconfig: same } : { how: 'not run', why: 'not a linux/amd64 machine' };
  }
  if (p.os === 'linux' && p.arch === 'arm64') {
    if (!tools.qemu) return { how: 'not run', why: 'qemu-aarch64-static or the arm64 C library not installed' };
    return { how: 'qemu', prefix: [tools.qemu.bin, '-L', tools.qemu.sysroot], env: {}, kubeconfig: same };
  }
  if (p.os === 'windows') {
    if (!tools.wine) return { how: 'not run', why: 'wine not installed' };
    // Outside the prefix wine sees the Unix file system as drive Z:.
    const env = { WINEPREFIX: path.join(cacheDir(), 'wine'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', NODE_EXTRA_CA_CERTS: undefined };
    return { how: 'wine', prefix: [tools.wine], env, kubeconfig: (file) => `Z:${file.replace(/\//g, '\\')}` };
  }
  return { how: 'not run', why: 'no macOS here: format, architecture and signature checked only' };
}

/** A wine prefix of our own (in the cache), reporting Windows 10: Node 22 refuses older ones. */
function prepareWine(runner: Runnable): void {
  const r = spawnSync(runner.prefix[0]!, ['winecfg', '/v', 'win10'], { env: { ...process.env, ...runner.env }, stdio: 'ignore', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`wine could not prepare its prefix ${runner.env.WINEPREFIX} (exit ${r.status})`);
}

/** Runs the smoke cases; returns the names of those that passed and the problems of the others. */
export function smokeTest(p: Platform, binary: string, runner: Runnable, kubeconfig: string, workDir: string): { passed: string[]; problems: string[] } {
  const dir = path.join(workDir, `smoke-${p.id}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (runner.how === 'wine') prepareWine(runner);
  const suffix = p.exe.endsWith('.exe') ? '.exe' : '';
  const passed: string[] = [];
  const problems: string[] = [];
  for (const c of CASES) {
    const exe = path.join(dir, `${c.as}${suffix}`);
    linkSync(binary, exe);
    const outFile = path.join(dir, `${c.as}.stdout`);
    const errFile = path.join(dir, `${c.as}.stderr`);
    const out = openSync(outFile, 'w');
    const err = openSync(errFile, 'w');
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', KUBECONFIG: runner.kubeconfig(kubeconfig), ...runner.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const [cmd, ...args] = [...runner.prefix, exe, ...c.args];
    const r = spawnSync(cmd!, args, { cwd: dir, env, stdio: ['ignore', out, err], timeout: 180_000 });
    closeSync(out);
    closeSync(err);
    const stdout = readFileSync(outFile, 'utf8');
    const stderr = readFileSync(errFile, 'utf8');
    let expected = false;
    try {
      expected = c.expect(stdout);
    } catch {
      // not the output it should be
    }
    const what = `${runner.how}: ${c.name}`;
    if (r.error) problems.push(`${what}: ${r.error.message}`);
    else if (r.status !== 0) problems.push(`${what}: exit ${r.status ?? r.signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    else if (!expected) problems.push(`${what}: unexpected output: ${stdout.slice(0, 200)}`);
    else if (stderr) problems.push(`${what}: stderr is not empty: ${stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
    else passed.push(c.name);
  }
  return { passed, problems };
}
