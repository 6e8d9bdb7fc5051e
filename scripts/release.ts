/**
 * npm run release: from a clean checkout, everything a release ships, in release/:
 *
 *   kubectl-study_vX_{linux,darwin}_{amd64,arm64}.tar.gz, kubectl-study_vX_windows_amd64.zip
 *       one self-contained executable each (a Node single executable application on the
 *       Node 22 runtime pinned in scripts/release/platforms.ts) and the LICENSE
 *   kubectl-study-X.tgz      npm pack, for the npm route (Node >= 20)
 *   krew/study.yaml, krew/study-drain.yaml, krew/whocan.yaml
 *                            krew manifests listing every platform built, sha256 computed here
 *   release.json             what was built and checked, for tests and tools
 *   kubectl-study            the linux-amd64 executable, unpacked (for the start-up benchmark)
 *
 * Every binary serves each plugin by the name it is run as. How each is made:
 *   1. one CommonJS bundle of src/cli/sea.ts;
 *   2. the SEA blob, made by a Node of the same version as the runtime (the format is tied
 *      to it): with a V8 code cache for linux-amd64 (natively) and linux-arm64 (under
 *      qemu-user), without one for the others (a code cache is tied to the CPU and V8 build
 *      that made it, and this machine runs neither macOS nor Windows);
 *   3. the runtime, checked against its recorded sha256; Windows: its Authenticode
 *      signature stripped (osslsigncode), since it cannot survive the injection;
 *   4. postject injects the blob; macOS: rcodesign signs the result ad hoc;
 *   5. checks: format and CPU, the blob where Node looks for it, the fuse, and for macOS
 *      every page hash of the signature (scripts/release/macho.ts);
 *   6. runs, against the local cluster, what this machine can run: linux-amd64 natively,
 *      linux-arm64 under qemu-user, windows-amd64 under wine (scripts/release/smoke.ts).
 *
 * Options: --only linux-amd64[,ID...] builds only those platforms (the manifests list only
 * them); --out DIR writes there instead of release/. It installs nothing system-wide: what
 * it lacks (scripts/release/tools.ts) it names, and it skips only what it can honestly
 * skip (a smoke test, the arm64 code cache), saying so in its table.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { build } from 'esbuild';

import { renderTable } from '../src/base/table.js';
import { plural } from '../src/base/text.js';
import { down, isHealthy, readClusterInfo, up } from '../tests/cluster/cluster.js';
import { REPO_ROOT } from '../tests/cluster/paths.js';
import { sharedOptions, version as pkgVersion } from './bundle.mjs';
import { writeTarGz, writeZip } from './release/archive.js';
import { checkExecutable, SEA_FUSE } from './release/executables.js';
import { manifest, PLUGINS, type ManifestPlatform } from './release/krew.js';
import { archiveName, NODE_VERSION, PLATFORMS, sha256File, unpackRuntime, type Platform } from './release/platforms.js';
import { runnerFor, smokeTest, type Runner } from './release/smoke.js';
import { findTools, INSTALL_HINTS, type Tools } from './release/tools.js';

const VERSION = `v${pkgVersion}`;

function log(line: string): void {
  process.stderr.write(`release: ${line}\n`);
}

interface Built {
  platform: string;
  archive: string;
  sha256: string;
  bytes: number;
  codeCache: string;
  format: string;
  signature: string;
  ran: string;
  problems: string[];
}

function parseArgs(argv: string[]): { platforms: Platform[]; out: string } {
  let platforms = [...PLATFORMS];
  let out = path.join(REPO_ROOT, 'release');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--only')) {
      const ids = value().split(',');
      const unknown = ids.filter((id) => !PLATFORMS.some((p) => p.id === id));
      if (unknown.length)
        throw new Error(`unknown platform ${unknown.join(', ')}: one of ${PLATFORMS.map((p) => p.id).join(', ')}`);
      platforms = PLATFORMS.filter((p) => ids.includes(p.id));
    } else if (a.startsWith('--out')) out = path.resolve(value());
    else throw new Error(`unknown argument ${a}`);
  }
  return { platforms, out };
}

function run(cmd: string, args: string[], cwd?: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(
      `${path.basename(cmd)} ${args.join(' ')}: ${(e.stderr?.toString() || e.stdout?.toString() || e.message).trim().split('\n').slice(-5).join('\n')}`,
    );
  }
}

async function bundle(work: string): Promise<string> {
  const file = path.join(work, 'study.cjs');
  await build({
    ...sharedOptions(`node${NODE_VERSION.split('.')[0]}`),
    entryPoints: ['src/cli/sea.ts'],
    outfile: file,
    format: 'cjs',
    legalComments: 'none',
  });
  return file;
}

/**
 * The SEA blob for a platform, made by `prefix node` (a Node of NODE_VERSION). It runs in
 * the bundle's directory and names the bundle by its base name, since the blob keeps that
 * name: no path of the build machine ends up in the binary.
 */
function makeBlob(prefix: string[], node: string, main: string, out: string, codeCache: boolean): string {
  const config = `${out}.json`;
  writeFileSync(
    config,
    JSON.stringify({
      main: path.basename(main),
      output: out,
      disableExperimentalSEAWarning: true,
      useCodeCache: codeCache,
    }),
  );
  const [cmd, ...args] = [...prefix, node, '--experimental-sea-config', config];
  run(cmd!, args, path.dirname(main));
  return out;
}

function requireTools(platforms: Platform[], tools: Tools): void {
  const missing: string[] = [];
  if (platforms.some((p) => p.os === 'darwin') && !tools.rcodesign)
    missing.push(`rcodesign (${INSTALL_HINTS.rcodesign})`);
  if (platforms.some((p) => p.os === 'windows') && !tools.osslsigncode)
    missing.push(`osslsigncode (${INSTALL_HINTS.osslsigncode})`);
  if (missing.length) throw new Error(`missing, needed for the platforms asked for: ${missing.join('; ')}`);
}

async function buildPlatform(
  p: Platform,
  ctx: {
    work: string;
    out: string;
    main: string;
    hostNode: string;
    plainBlob: () => string;
    tools: Tools;
    kubeconfig?: string;
  },
): Promise<Built> {
  const dir = path.join(ctx.work, p.id);
  mkdirSync(dir, { recursive: true });
  const runtime = p.id === 'linux-amd64' ? ctx.hostNode : await unpackRuntime(p, dir, log);
  let blob: string;
  let codeCache = 'no';
  if (p.codeCache === 'native') {
    blob = makeBlob([], runtime, ctx.main, path.join(dir, 'sea.blob'), true);
    codeCache = 'yes (native)';
  } else if (p.codeCache === 'qemu' && ctx.tools.qemu) {
    log(`${p.id}: making the code cache under qemu-user`);
    blob = makeBlob(
      [ctx.tools.qemu.bin, '-L', ctx.tools.qemu.sysroot],
      runtime,
      ctx.main,
      path.join(dir, 'sea.blob'),
      true,
    );
    codeCache = 'yes (qemu)';
  } else {
    blob = ctx.plainBlob();
    if (p.codeCache === 'qemu') codeCache = 'no (no qemu-user)';
  }
  const exe = path.join(dir, 'out', p.exe);
  mkdirSync(path.dirname(exe), { recursive: true });
  if (p.os === 'windows') run(ctx.tools.osslsigncode!, ['remove-signature', '-in', runtime, '-out', exe]);
  else copyFileSync(runtime, exe);
  chmodSync(exe, 0o755);
  log(`${p.id}: injecting the blob`);
  const postject = path.join(REPO_ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  run(process.execPath, [
    postject,
    exe,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    SEA_FUSE,
    ...(p.os === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []),
  ]);
  if (p.os === 'darwin') run(ctx.tools.rcodesign!, ['sign', '--binary-identifier', 'kubectl-study', exe]);
  const check = checkExecutable(p, readFileSync(exe), readFileSync(blob));
  const problems = [...check.problems];

  const runner: Runner = runnerFor(p, ctx.tools);
  let ran = `not run: ${runner.how === 'not run' ? runner.why : ''}`;
  if (runner.how !== 'not run' && !problems.length) {
    log(`${p.id}: running it (${runner.how})`);
    const smoke = smokeTest(p, exe, runner, ctx.kubeconfig!, dir);
    problems.push(...smoke.problems);
    ran = `${runner.how}: ${smoke.passed.join(', ') || 'nothing passed'}`;
  }

  copyFileSync(path.join(REPO_ROOT, 'LICENSE'), path.join(dir, 'out', 'LICENSE'));
  const archive = path.join(ctx.out, archiveName(p, VERSION));
  log(`${p.id}: packing ${path.basename(archive)}`);
  if (p.archive === 'zip') writeZip(archive, [exe, path.join(dir, 'out', 'LICENSE')]);
  else writeTarGz(archive, path.join(dir, 'out'), [p.exe, 'LICENSE']);
  if (p.id === 'linux-amd64') copyFileSync(exe, path.join(ctx.out, 'kubectl-study'));
  if (p.id !== 'linux-amd64') rmSync(dir, { recursive: true, force: true });
  return {
    platform: p.id,
    archive,
    sha256: await sha256File(archive),
    bytes: statSync(archive).size,
    codeCache,
    format: check.format,
    signature: check.signature,
    ran,
    problems,
  };
}

async function main(argv: string[]): Promise<number> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error('the release is made on linux/amd64 (it runs the linux-x64 runtime to make the blobs)');
  const { platforms, out } = parseArgs(argv);
  const tools = findTools();
  requireTools(platforms, tools);
  // npm pack ships dist/ (the npm route's bundle); `npm run release` builds it first.
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'main.js')))
    throw new Error('dist/ is not built: run "npm run release" (or npm run build first)');
  const work = path.join(out, 'work');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  log(`bundling one CommonJS file for Node ${NODE_VERSION}`);
  const main = await bundle(work);
  const hostPlatform = PLATFORMS.find((p) => p.id === 'linux-amd64')!;
  const hostNode = await unpackRuntime(hostPlatform, path.join(work, hostPlatform.id), log);
  let plain: string | undefined;
  const plainBlob = (): string => (plain ??= makeBlob([], hostNode, main, path.join(work, 'sea-plain.blob'), false));

  // The smoke tests talk to the local cluster: start it, or use the one running.
  let kubeconfig: string | undefined;
  let startedCluster = false;
  if (platforms.some((p) => runnerFor(p, tools).how !== 'not run')) {
    const existing = readClusterInfo();
    startedCluster = !(existing && (await isHealthy(existing)));
    kubeconfig = (await up({ log: (l) => log(`cluster: ${l}`) })).adminKubeconfig;
  }
  const built: Built[] = [];
  try {
    for (const p of platforms)
      built.push(await buildPlatform(p, { work, out, main, hostNode, plainBlob, tools, kubeconfig }));
  } finally {
    if (startedCluster) await down();
  }

  mkdirSync(path.join(out, 'krew'), { recursive: true });
  const listed: ManifestPlatform[] = built.map((b) => {
    const p = PLATFORMS.find((x) => x.id === b.platform)!;
    return { os: p.os, arch: p.arch, exe: p.exe, archive: path.basename(b.archive), sha256: b.sha256 };
  });
  for (const plugin of PLUGINS)
    writeFileSync(path.join(out, 'krew', `${plugin.name}.yaml`), manifest(plugin, VERSION, listed));
  log('npm pack');
  execFileSync('npm', ['pack', '--silent', '--pack-destination', out], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  rmSync(work, { recursive: true, force: true });
  writeFileSync(
    path.join(out, 'release.json'),
    `${JSON.stringify({ version: VERSION, node: NODE_VERSION, artifacts: built }, null, 2)}\n`,
  );

  const rows = built.map((b) => [
    b.platform,
    path.basename(b.archive),
    `${(b.bytes / 2 ** 20).toFixed(1)} MiB`,
    b.sha256.slice(0, 12),
    b.codeCache,
    b.format,
    b.signature || 'n/a',
    b.ran,
  ]);
  const shown = path.relative(process.cwd(), out);
  process.stdout.write(
    `kubectl-study ${VERSION} on Node ${NODE_VERSION}, in ${shown.startsWith('..') ? out : shown || '.'}/\n\n`,
  );
  process.stdout.write(
    renderTable(['platform', 'archive', 'size', 'sha256', 'code cache', 'format', 'signature', 'ran'], rows),
  );
  process.stdout.write(
    `\nkrew manifests: ${PLUGINS.map((p) => `krew/${p.name}.yaml`).join(', ')} (${built.length} ${plural(built.length, 'platform')} each); npm pack: kubectl-study-${pkgVersion}.tgz\n`,
  );
  const failed = built.filter((b) => b.problems.length);
  for (const b of failed) for (const problem of b.problems) process.stdout.write(`FAILED ${b.platform}: ${problem}\n`);
  return failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`release: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
