/**
 * The README's samples: found, run and compared. `npm run docs` rewrites
 * their outputs from a fresh run; tests/integration/readme.test.ts runs
 * them again and fails, with a diff, on any that no longer matches.
 *
 * A sample is a ```console block right after a line `<!-- sample -->`.
 * Each `$ COMMAND` line in it is run by /bin/sh, in order, with the
 * plugins and the cluster's kubectl first on PATH; what follows the line,
 * up to the next `$ ` line, is its output (stdout, then stderr). Setup
 * steps are ordinary `$ ` lines with their own output: nothing is hidden.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

import { createTwoFilesPatch } from 'diff';

import { REPO_ROOT } from '../cluster/paths.js';

export interface SampleStep {
  command: string;
  output: string;
}

export interface Sample {
  /** 1-based line of the block's first `$ ` line in the file. */
  line: number;
  steps: SampleStep[];
}

const MARKER = '<!-- sample -->';

/** Every sample of a markdown text, in order. */
export function parseSamples(markdown: string): Sample[] {
  const lines = markdown.split('\n');
  const samples: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== MARKER) continue;
    if (!/^```console$/.test(lines[i + 1] ?? ''))
      throw new Error(`line ${i + 1}: ${MARKER} is not followed by a console block`);
    const sample: Sample = { line: i + 3, steps: [] };
    let j = i + 2;
    for (; j < lines.length && lines[j] !== '```'; j++) {
      const text = lines[j]!;
      if (text.startsWith('$ ')) sample.steps.push({ command: text.slice(2), output: '' });
      else {
        const step = sample.steps.at(-1);
        if (!step) throw new Error(`line ${j + 1}: output before the first "$ " line of a sample`);
        step.output += step.output || text ? `${step.output ? '\n' : ''}${text}` : '';
      }
    }
    if (j === lines.length) throw new Error(`line ${i + 1}: the sample's block never ends`);
    samples.push(sample);
    i = j;
  }
  return samples;
}

/** The markdown with each sample's outputs replaced, in order, by `outputs`. */
export function writeOutputs(markdown: string, outputs: string[][]): string {
  const lines = markdown.split('\n');
  const out: string[] = [];
  let sample = 0;
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]!);
    if (lines[i] !== MARKER) continue;
    out.push(lines[i + 1]!);
    let step = 0;
    let j = i + 2;
    for (; j < lines.length && lines[j] !== '```'; j++) {
      if (!lines[j]!.startsWith('$ ')) continue;
      out.push(lines[j]!);
      const text = outputs[sample]?.[step++];
      if (text) out.push(text);
    }
    out.push('```');
    sample++;
    i = j;
  }
  return out.join('\n');
}

/**
 * What changes from run to run and says nothing about the plugins, made
 * equal on both sides before comparing:
 * - generated pod names (the 5-character suffix a controller adds);
 * - ages, durations and days left (3m, 2.3s, 364d);
 * - the API server's port (the README's cluster and the test's differ);
 * - counts of resource types the cluster serves;
 * - a watch prints one line per change it sees, and how many it sees
 *   depends on timing: consecutive progress lines of one workload count
 *   as their last;
 * - runs of spaces (column widths follow the values above).
 */
export function normalize(output: string): string {
  const lines = output
    .replace(/-[bcdfghjklmnpqrstvwxz2456789]{5}\b/g, '-xxxxx')
    .replace(/\b\d+(\.\d+)?(ms|[smhd])(\d+[smh])?\b/g, '<t>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\(\d+ resource types/g, '(N resource types')
    .split('\n')
    .map((l) => l.replace(/ {2,}/g, ' ').replace(/\s+$/, ''));
  const out: string[] = [];
  for (const line of lines) {
    const workload = /^([a-z]+\/[a-z0-9.-]+): /.exec(line)?.[1];
    const previous = out.at(-1);
    if (workload && previous?.startsWith(`${workload}: `)) out[out.length - 1] = line;
    else out.push(line);
  }
  return out.join('\n').trim();
}

/** A unified diff of a sample's expected and actual output, or undefined when they agree once normalized. */
export function sampleDiff(where: string, step: SampleStep, actual: string): string | undefined {
  const want = normalize(step.output);
  const got = normalize(actual);
  if (want === got) return undefined;
  return createTwoFilesPatch(`README (${where})`, 'this run', `${want}\n`, `${got}\n`, `$ ${step.command}`, '', {
    context: 3,
  });
}

export interface SampleEnvironment {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * The environment samples run in: kubectl and the plugins first on PATH
 * (the release binary under every plugin name when STUDY_BIN is set),
 * the cluster's admin kubeconfig, no colour, a scratch directory as cwd.
 */
export function sampleEnvironment(kubectl: string, kubeconfig: string, scratch: string): SampleEnvironment {
  rmSync(scratch, { recursive: true, force: true });
  const pathDir = path.join(scratch, 'path');
  mkdirSync(pathDir, { recursive: true });
  symlinkSync(kubectl, path.join(pathDir, 'kubectl'));
  let plugins = path.join(REPO_ROOT, 'bin');
  if (process.env.STUDY_BIN) {
    plugins = pathDir;
    for (const name of ['study', 'study_ctx', 'study_drain', 'study_rollout', 'study_access', 'whocan']) {
      symlinkSync(path.resolve(process.env.STUDY_BIN), path.join(pathDir, `kubectl-${name}`));
    }
  }
  const work = path.join(scratch, 'work');
  mkdirSync(work, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    KUBECONFIG: kubeconfig,
    PATH: [pathDir, plugins, ...(process.env.PATH ?? '').split(path.delimiter)]
      .filter((d, i, all) => d && existsSync(d) && all.indexOf(d) === i)
      .join(path.delimiter),
  };
  delete env.KUBECACHEDIR;
  return { env, cwd: work };
}

/** Runs a shell command in the samples' environment: its exit code, and stdout then stderr. */
export function runShell(
  command: string,
  where: SampleEnvironment,
  timeoutMs = 180_000,
): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: where.env,
      cwd: where.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output: `${stdout.replace(/\s+$/, '')}\n${stderr.replace(/\s+$/, '')}`.trim() });
    });
  });
}

/** Runs one sample command as the README shows it: stdout, then stderr, trailing blank lines cut. */
export async function runSampleCommand(command: string, where: SampleEnvironment): Promise<string> {
  return (await runShell(command, where)).output;
}

/** The commands of the block after `<!-- commands -->`: one per line, comments left out. */
export function parseCommandBlock(markdown: string): string[] {
  const block = /<!-- commands -->\n```sh\n([\s\S]*?)\n```/.exec(markdown)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** A documented JSON field: whether it is a list, and the fields of its items or value when documented. */
export interface JsonField {
  list: boolean;
  /** Marked `?`: printed only when it applies. */
  optional: boolean;
  fields?: Map<string, JsonField>;
}

/**
 * The fields of a README JSON line: `a`, `b[]`, `c: x|y` (values after
 * the colon), `g?` (printed only when it applies), and `d[]` (`e`, `f`)
 * for the fields of d's items.
 */
export function parseJsonFields(text: string): Map<string, JsonField> {
  let i = 0;
  const parse = (): Map<string, JsonField> => {
    const out = new Map<string, JsonField>();
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === ')') {
        i++;
        return out;
      }
      if (ch !== '`') {
        i++;
        continue;
      }
      const close = text.indexOf('`', i + 1);
      if (close < 0) throw new Error(`unclosed backtick in "${text}"`);
      const marked = text
        .slice(i + 1, close)
        .split(':')[0]!
        .trim();
      const optional = marked.endsWith('?');
      const raw = marked.replace(/\?$/, '');
      i = close + 1;
      const field: JsonField = { list: raw.endsWith('[]'), optional };
      while (text[i] === ' ') i++;
      if (text[i] === '(') {
        i++;
        field.fields = parse();
      }
      out.set(raw.replace(/\[\]$/, ''), field);
    }
    return out;
  };
  return parse();
}

/** The README's JSON documentation: `- \`Kind\` (...): fields` lines, by kind. */
export function documentedJson(markdown: string): Map<string, Map<string, JsonField>> {
  const out = new Map<string, Map<string, JsonField>>();
  for (const m of markdown.matchAll(/^- `([A-Z][A-Za-z]+)` \(.*?\): (.*)$/gm)) out.set(m[1]!, parseJsonFields(m[2]!));
  return out;
}

/** Paths of a JSON value that its documentation does not name. */
export function undocumentedFields(value: unknown, fields: Map<string, JsonField>, where = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => undocumentedFields(v, fields, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    const field = fields.get(key);
    if (!field) out.push(`${where}.${key}`.replace(/^\./, ''));
    else if (field.fields) out.push(...undocumentedFields(inner, field.fields, `${where}.${key}`));
  }
  return out;
}

/**
 * A fresh cluster of its own for the samples (its own state directory and
 * ports, so it runs beside the test suite's), seeded with the demo's
 * workloads. Returns what the samples run with and how to stop it.
 */
export async function freshSampleCluster(
  log: (line: string) => void,
): Promise<{ where: SampleEnvironment; stop: () => Promise<void> }> {
  const { cacheDir } = await import('../cluster/paths.js');
  // The README's samples are runs on the newest release, whatever release the suite runs on.
  delete process.env.STUDY_K8S_VERSION;
  process.env.STUDY_CLUSTER_DIR = path.join(cacheDir(), 'readme-cluster');
  process.env.STUDY_CLUSTER_PORT_BASE = '25000';
  const { down, up } = await import('../cluster/cluster.js');
  const { kubectlRunner, seedDemo } = await import('../cluster/demo.js');
  await down();
  const info = await up({ log });
  const where = sampleEnvironment(info.binaries.kubectl, info.adminKubeconfig, path.join(info.dir, 'samples'));
  await seedDemo(kubectlRunner(info.binaries.kubectl, where.env), log);
  return { where, stop: () => down() };
}
