/**
 * The release as users get it: krew (built from its Go module) installs each
 * manifest from the release archive into a temporary KREW_ROOT, and a real
 * kubectl runs the plugins and their completion.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { ensureKrew } from '../cluster/build.js';
import { cluster, runCommand, tempDir } from '../support/cluster.js';

test('krew installs the study, study-drain and whocan manifests from the release archive, and kubectl runs them', async (t) => {
  // release.ts itself, not `npm run release`: that would rebuild dist/ under the other tests' feet.
  // linux-amd64 only: the other platforms need rcodesign, qemu and wine (npm run release).
  const out = tempDir('kstudy-release-');
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const release = await runCommand(
    process.execPath,
    ['--import', 'tsx', 'scripts/release.ts', '--only', 'linux-amd64', '--out', out],
    { timeoutMs: 300_000 },
  );
  assert.equal(release.code, 0, `${release.stdout}${release.stderr}`);
  const built = JSON.parse(readFileSync(path.join(out, 'release.json'), 'utf8')) as {
    artifacts: { platform: string; archive: string; sha256: string; ran: string }[];
  };
  assert.equal(built.artifacts.length, 1);
  const { archive, sha256: sha, ran } = built.artifacts[0]!;
  assert.equal(ran, 'native: --help, study-ctx check, whocan get pods', release.stdout);
  assert.match(release.stdout, /^linux-amd64 +kubectl-study_v0\.1\.0_linux_amd64\.tar\.gz /m);
  const manifests = path.join(out, 'krew');
  assert.deepEqual(readdirSync(manifests).sort(), ['study-drain.yaml', 'study.yaml', 'whocan.yaml']);
  for (const m of readdirSync(manifests)) {
    const text = readFileSync(path.join(manifests, m), 'utf8');
    assert.ok(text.includes(`sha256: ${sha}`), `${m} carries the archive's sha256`);
  }

  const krew = await ensureKrew();
  const root = tempDir('kstudy-krew-');
  const krewRoot = path.join(root, 'krew');
  const tools = path.join(root, 'tools');
  mkdirSync(tools);
  symlinkSync(krew, path.join(tools, 'kubectl-krew'));
  symlinkSync(cluster().binaries.kubectl, path.join(tools, 'kubectl'));
  // Only the temporary krew bin and the tools: nothing of the checkout, no Node on PATH.
  const env = {
    KREW_ROOT: krewRoot,
    PATH: `${path.join(krewRoot, 'bin')}:${tools}:/usr/bin:/bin`,
    KUBECONFIG: cluster().adminKubeconfig,
    HOME: root,
  };
  for (const m of ['study', 'study-drain', 'whocan']) {
    const r = await runCommand(
      'kubectl',
      ['krew', 'install', `--manifest=${path.join(manifests, `${m}.yaml`)}`, `--archive=${archive}`],
      { env, timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, `${m}: ${r.stdout}${r.stderr}`);
  }
  const list = await runCommand('kubectl', ['plugin', 'list'], { env });
  for (const name of ['kubectl-study', 'kubectl-study_drain', 'kubectl-whocan'])
    assert.match(list.stdout, new RegExp(`/${name}\\n`));
  const study = await runCommand('kubectl', ['study', '--help'], { env });
  assert.equal(study.code, 0, study.stderr);
  assert.match(study.stdout, /Usage: kubectl study \[options\] \[command\]/);
  const drain = await runCommand('kubectl', ['study-drain', '--help'], { env });
  assert.match(drain.stdout, /Usage: kubectl study-drain/);
  const whocan = await runCommand('kubectl', ['whocan', '--help'], { env });
  assert.match(whocan.stdout, /Usage: kubectl whocan/);
  // Read-only commands that succeed print nothing on stderr: no runtime warnings.
  for (const args of [
    ['study', 'ctx', 'check'],
    ['whocan', 'get', 'pods'],
  ]) {
    const r = await runCommand('kubectl', args, { env });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', `kubectl ${args.join(' ')} prints nothing on stderr`);
  }
  // And the binary does real work through kubectl: the node names.
  const plan = await runCommand(
    'kubectl',
    ['study-drain', 'kwok-node-1', '--dry-run', '--ignore-daemonsets', '-o', 'json'],
    { env },
  );
  assert.ok([0, 3].includes(plan.code), plan.stderr);
  assert.equal((JSON.parse(plan.stdout) as { kind: string }).kind, 'DrainPlan');
  // Completion: the same binary, linked as kubectl_complete-study_drain.
  symlinkSync(path.join(krewRoot, 'bin', 'kubectl-study_drain'), path.join(tools, 'kubectl_complete-study_drain'));
  const comp = await runCommand('kubectl', ['__complete', 'study-drain', 'kwok-node-'], { env });
  assert.match(comp.stdout, /^kwok-node-1\nkwok-node-2\nkwok-node-3\n/m);
  assert.match(comp.stdout, /^:4$/m);
});
