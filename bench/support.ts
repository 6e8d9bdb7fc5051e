/**
 * What the side-by-side benchmarks share: runs of several commands
 * interleaved (one of each in turn, so a machine that gets busier slows all
 * alike), medians, peak RSS (GNU time, else /proc), ratios against an aim,
 * and a CPU profile of one of our runs summarised by where the time went.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';

import * as k8s from '@kubernetes/client-node';

import { NODE_VERSION, PLATFORMS, unpackRuntime } from '../scripts/release/platforms.js';
import { up, type ClusterInfo } from '../tests/cluster/cluster.js';
import { stateDir } from '../tests/cluster/paths.js';

export function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

export const RUNS = Number(process.env.BENCH_RUNS || 5);

/**
 * The Node the release binary carries (unpacked from the cached npm tarball, fetched once), to time
 * the npm route on it too: start-up differs a lot between Node 20 and 22 (compile cache).
 */
export async function releaseNode(): Promise<{ path: string; version: string }> {
  const dir = path.join(stateDir(), 'bench-node');
  return { path: await unpackRuntime(PLATFORMS.find((p) => p.id === 'linux-amd64')!, dir, log), version: NODE_VERSION };
}

/** The local cluster (started if none runs), a client-node config and the environment of its admin. */
export async function adminCluster(): Promise<{ info: ClusterInfo; kc: k8s.KubeConfig; env: NodeJS.ProcessEnv }> {
  const info = await up({ log });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.adminKubeconfig);
  return { info, kc, env: { KUBECONFIG: info.adminKubeconfig } };
}

export interface Case {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Run {
  ms: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
  code: number;
}

const GNU_TIME = '/usr/bin/time';

/** One run, timed, with its peak resident set size. */
export async function timed(c: Case): Promise<Run> {
  const env = { ...process.env, NO_COLOR: '1', ...c.env };
  if (existsSync(GNU_TIME)) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(GNU_TIME, ['-f', '%M', c.cmd, ...c.args], {
      env,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const lines = (r.stderr ?? '').trimEnd().split('\n');
    return {
      ms,
      maxRssKb: Number(lines.at(-1)) || 0,
      stdout: r.stdout ?? '',
      stderr: lines.slice(0, -1).join('\n'),
      code: r.status ?? -1,
    };
  }
  // No GNU time: sample VmHWM (the peak) from /proc while the process runs.
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(c.cmd, c.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sample = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // exited between samples
      }
    }, 2);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, maxRssKb: peak, stdout, stderr, code: code ?? -1 });
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Measured {
  case: Case;
  runs: Run[];
  ms: number;
  rssMiB: number;
}

/** RUNS runs of every case, interleaved, after one warm-up each; a run that exits non-zero is reported. */
export async function measure(cases: Case[], runs = RUNS): Promise<Measured[]> {
  for (const c of cases) await timed(c);
  const all = cases.map(() => [] as Run[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, c] of cases.entries()) {
      const r = await timed(c);
      if (r.code !== 0) log(`${c.name} exited ${r.code}: ${r.stderr.split('\n').slice(-3).join(' / ')}`);
      all[k]!.push(r);
    }
  }
  return cases.map((c, k) => ({
    case: c,
    runs: all[k]!,
    ms: median(all[k]!.map((r) => r.ms)),
    rssMiB: median(all[k]!.map((r) => r.maxRssKb)) / 1024,
  }));
}

export function cell(m: Measured): string {
  return `${m.ms.toFixed(0)} ms, ${m.rssMiB.toFixed(0)} MiB`;
}

/** "1.42x (aim 2x: met)". */
export function ratio(ours: Measured, base: Measured, aim?: number): string {
  const r = ours.ms / base.ms;
  return `${r.toFixed(2)}x${aim ? ` (aim ${aim}x: ${r <= aim ? 'met' : 'MISSED'})` : ''}`;
}

export function machine(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${RUNS} interleaved runs each, medians`;
}

/**
 * With BENCH_PROFILE=1: one more run of the case under node --cpu-prof,
 * and where its CPU time went, by package or file, largest first.
 */
export async function profile(c: Case): Promise<string> {
  if (!process.env.BENCH_PROFILE) return '';
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-prof-'));
  try {
    await timed({ ...c, args: ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...c.args] });
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    return file
      ? `CPU profile of ${c.name}:\n${summarise(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile)}`
      : '';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** A bundle chunk named by what it holds (its source map's sources): "chunk-X.js (client.ts, transport.ts, ...)". */
const chunkNames = new Map<string, string>();
function bundled(url: string): string {
  const known = chunkNames.get(url);
  if (known) return known;
  const name = chunkName(url);
  chunkNames.set(url, name);
  return name;
}

function chunkName(url: string): string {
  try {
    const file = new URL(url).pathname;
    const sources = (JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] }).sources.map((s) =>
      s.includes('node_modules/') ? /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)![1]! : path.basename(s),
    );
    const unique = [...new Set(sources)];
    if (unique.length === 0) return `${path.basename(file)} (the bundler's module wrappers)`;
    return `${path.basename(file)} (${unique.slice(0, 4).join(', ')}${unique.length > 4 ? ', ...' : ''})`;
  } catch {
    return path.basename(url);
  }
}

/** Self time by where the code lives: a package, a file of ours, Node's own modules, GC, idle (waiting for the server). */
function summarise(p: CpuProfile): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const groups = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const { functionName, url } = byId.get(id)!.callFrame;
    let g: string;
    if (['(idle)', '(garbage collector)', '(program)'].includes(functionName)) g = functionName;
    else if (!url) g = `(native: ${functionName})`;
    else
      g =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
        (url.startsWith('node:') ? url.split('/')[0]! : bundled(url));
    groups.set(g, (groups.get(g) ?? 0) + dt);
  });
  const rows = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return `  total ${(total / 1000).toFixed(0)} ms\n${rows.map(([g, t]) => `  ${(t / 1000).toFixed(1).padStart(7)} ms  ${g}`).join('\n')}\n`;
}
