/**
 * The release table of the local cluster: how STUDY_K8S_VERSION picks a
 * release, each release's own state directory and ports, and the table
 * agreeing with the Go module files the binaries are built from.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { KSTACK_SRC, ports, stateDir } from '../../cluster/paths.js';
import { DEFAULT_RELEASE, findRelease, RELEASES, selectedRelease } from '../../cluster/releases.js';

test('STUDY_K8S_VERSION names a release by minor or exact version, with or without v', () => {
  for (const name of ['1.32', 'v1.32', '1.32.13', 'v1.32.13', ' 1.32 ']) assert.equal(findRelease(name).minor, '1.32');
  assert.equal(selectedRelease({}), DEFAULT_RELEASE);
  assert.equal(selectedRelease({ STUDY_K8S_VERSION: '' }), DEFAULT_RELEASE);
  assert.equal(selectedRelease({ STUDY_K8S_VERSION: '1.34' }).version, 'v1.34.4');
});

test('a release or patch that is not built is refused with the list of those that are', () => {
  assert.throws(
    () => findRelease('1.32.5'),
    /1\.32 is built as v1\.32\.13, not v1\.32\.5; releases: 1\.32 \(v1\.32\.13\)/,
  );
  assert.throws(() => findRelease('1.31'), /no local cluster for Kubernetes 1\.31; releases: 1\.32/);
  assert.throws(() => findRelease('latest'), /"latest" is not a Kubernetes release/);
});

test('the default release is the newest', () => {
  const minors = RELEASES.map((r) => Number(r.minor.split('.')[1]));
  assert.deepEqual(
    minors,
    [...minors].sort((a, b) => a - b),
    'the table goes from oldest to newest',
  );
  assert.equal(DEFAULT_RELEASE, RELEASES[RELEASES.length - 1]);
});

test('each release has its own state directory and ports; the default keeps those it had', () => {
  const env = { XDG_CACHE_HOME: '/c' };
  assert.equal(stateDir(env, DEFAULT_RELEASE), '/c/kubectl-study/cluster');
  assert.equal(ports(env, DEFAULT_RELEASE).apiserver, 26443);
  assert.equal(stateDir({ ...env, STUDY_K8S_VERSION: '1.32' }), '/c/kubectl-study/cluster-1.32');
  assert.equal(ports({ STUDY_K8S_VERSION: '1.32' }).apiserver, 31443);
  // The overrides win for every release.
  const moved = { ...env, STUDY_K8S_VERSION: '1.32', STUDY_CLUSTER_DIR: '/tmp/x', STUDY_CLUSTER_PORT_BASE: '30000' };
  assert.equal(stateDir(moved), '/tmp/x');
  assert.equal(ports(moved).apiserver, 30443);

  const dirs = new Set(RELEASES.map((r) => stateDir(env, r)));
  assert.equal(dirs.size, RELEASES.length, 'no two releases share a state directory');
  const bases = RELEASES.map((r) => r.portBase).sort((a, b) => a - b);
  for (let i = 1; i < bases.length; i++) assert.ok(bases[i]! - bases[i - 1]! >= 1000, `port bases ${bases.join(', ')}`);
  for (const r of RELEASES) {
    if (r === DEFAULT_RELEASE) continue;
    // 26000-29999 are the default cluster's and the benchmarks' (bench:plan uses 27000).
    assert.ok(r.portBase >= 30000, `${r.minor}'s port base ${r.portBase} is clear of 26000-29999`);
  }
});

/** The requirements and replacements of a go.mod-format file. */
function readModfile(file: string): { require: Map<string, string>; replace: Map<string, string> } {
  const require = new Map<string, string>();
  const replace = new Map<string, string>();
  let block = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === ')') block = '';
    else if (/^(require|replace) \($/.test(line)) block = line.split(' ')[0]!;
    else if (block === 'require' && line) {
      const [mod, version] = line.split(/\s+/);
      require.set(mod!, version!);
    } else if (block === 'replace' && line) {
      const [mod, , , version] = line.split(/\s+/);
      replace.set(mod!, version!);
    }
  }
  return { require, replace };
}

test('each release is built from a module file that pins what the table says', () => {
  for (const r of RELEASES) {
    const { require, replace } = readModfile(path.join(KSTACK_SRC, r.modfile));
    assert.equal(require.get('k8s.io/kubernetes'), r.version, `${r.modfile}: k8s.io/kubernetes`);
    assert.equal(require.get('go.etcd.io/etcd/server/v3'), r.etcd, `${r.modfile}: etcd`);
    assert.equal(require.get('sigs.k8s.io/kwok'), r.kwok, `${r.modfile}: kwok`);
    // Every k8s.io staging module at the release's own version (v0.32.13 for v1.32.13), but those pinned.
    const staging = r.version.replace(/^v1\./, 'v0.');
    assert.ok(replace.size > 20, `${r.modfile} replaces the staging modules`);
    for (const [mod, version] of replace) assert.equal(version, r.pinned[mod] ?? staging, `${r.modfile}: ${mod}`);
    for (const [mod, version] of Object.entries(r.pinned)) {
      assert.equal(replace.get(mod) ?? require.get(mod), version, `${r.modfile}: ${mod} is pinned`);
    }
    // go build -modfile=v1.32.mod reads v1.32.sum.
    readFileSync(path.join(KSTACK_SRC, r.modfile.replace(/\.mod$/, '.sum')));
  }
});
