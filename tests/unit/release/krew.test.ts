import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { parse } from 'yaml';

import { REPO_ROOT } from '../../cluster/paths.js';
import { manifest, PLUGINS } from '../../../scripts/release/krew.js';
import { archiveName, PLATFORMS } from '../../../scripts/release/platforms.js';

const SHA = 'a'.repeat(64);
const listed = (version: string) => PLATFORMS.map((p) => ({ os: p.os, arch: p.arch, exe: p.exe, archive: archiveName(p, version), sha256: SHA }));

test('krew-manifest.yaml is the krew-release-bot template of the manifest the release writes for study', () => {
  const template = readFileSync(path.join(REPO_ROOT, 'krew-manifest.yaml'), 'utf8');
  assert.match(template, /^# The umbrella plugin's manifest as a TEMPLATE in the krew-release-bot style/);
  // What krew-release-bot does at tag v0.1.0: every addURIAndSha becomes the uri and its sha256.
  const rendered = template
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\{\{ addURIAndSha "(.+)" \.TagName \}\}/g, (_m, uri: string) => `uri: ${uri}\n    sha256: ${SHA}`)
    .replace(/\{\{ \.TagName \}\}/g, 'v0.1.0');
  assert.equal(rendered, manifest(PLUGINS[0]!, 'v0.1.0', listed('v0.1.0')));
});

test('every manifest lists the five platforms, with the executable krew links for each', () => {
  for (const plugin of PLUGINS) {
    const m = parse(manifest(plugin, 'v0.1.0', listed('v0.1.0'))) as {
      metadata: { name: string };
      spec: { shortDescription: string; platforms: { selector: { matchLabels: { os: string; arch: string } }; uri: string; sha256: string; bin: string; files: { from: string }[] }[] };
    };
    assert.equal(m.metadata.name, plugin.name);
    assert.ok(m.spec.shortDescription.length <= 50, `${plugin.name}: krew-index wants a short description`);
    assert.deepEqual(
      m.spec.platforms.map((p) => [`${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`, p.bin, path.basename(p.uri)]),
      [
        ['linux/amd64', 'kubectl-study', 'kubectl-study_v0.1.0_linux_amd64.tar.gz'],
        ['linux/arm64', 'kubectl-study', 'kubectl-study_v0.1.0_linux_arm64.tar.gz'],
        ['darwin/arm64', 'kubectl-study', 'kubectl-study_v0.1.0_darwin_arm64.tar.gz'],
        ['darwin/amd64', 'kubectl-study', 'kubectl-study_v0.1.0_darwin_amd64.tar.gz'],
        ['windows/amd64', 'kubectl-study.exe', 'kubectl-study_v0.1.0_windows_amd64.zip'],
      ],
    );
    for (const p of m.spec.platforms) assert.deepEqual(p.files.map((f) => f.from), [p.bin, 'LICENSE']);
  }
});
