/**
 * API discovery cached on disk exactly as kubectl caches it: kubectl-study
 * reads what kubectl wrote, writes what kubectl writes, honours
 * --cache-dir and KUBECACHEDIR, does not use files past kubectl's TTL, and
 * rediscovers once when a name is missing from a cache it did not write.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { discoveryCacheDir, DISCOVERY_TTL_MS } from '../../src/kube/discoverycache.js';
import { cluster, kubectl, runPlugin, tempDir } from '../support/cluster.js';

/** Every file under a directory, relative to it, with its content. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.set(path.relative(dir, full), readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

interface ResourceList {
  resources: Array<{ name: string; singularName: string; namespaced: boolean; kind: string; verbs: string[] }>;
}

function editList(file: string, edit: (l: ResourceList) => void): void {
  const list = JSON.parse(readFileSync(file, 'utf8')) as ResourceList;
  edit(list);
  writeFileSync(file, `${JSON.stringify(list)}\n`);
}

test('kubectl and kubectl-study share one discovery cache: the same files, read both ways', async () => {
  const theirs = tempDir('kstudy-kcache-');
  const ours = tempDir('kstudy-ocache-');
  const r = await kubectl(['api-resources', '--cache-dir', theirs]);
  assert.equal(r.code, 0, r.stderr);
  const who = await runPlugin('kubectl-whocan', ['get', 'pods', '--cache-dir', ours], {
    env: { KUBECONFIG: cluster().adminKubeconfig },
  });
  assert.equal(who.code, 0, who.stderr);
  const dir = (root: string): string => discoveryCacheDir(root, cluster().server);
  const a = tree(dir(theirs));
  const b = tree(dir(ours));
  assert.ok(
    a.has('servergroups.json') && a.has(path.join('apps', 'v1', 'serverresources.json')),
    [...a.keys()].join(' '),
  );
  // Beside kubectl's files, ours keeps the server's /version (version.json), which kubectl asks for each time.
  assert.ok(b.has('version.json'), 'the server version is cached beside discovery');
  assert.deepEqual([...b.keys()].filter((f) => f !== 'version.json').sort(), [...a.keys()].sort(), 'the same files');
  for (const [file, text] of a) assert.equal(b.get(file), text, `${file} byte for byte`);
  assert.equal(statSync(path.join(dir(ours), 'servergroups.json')).mode & 0o777, 0o660);

  // What kubectl wrote is read: a resource only the cache knows resolves (and KUBECACHEDIR names the cache).
  const core = path.join(dir(theirs), 'v1', 'serverresources.json');
  editList(core, (l) =>
    l.resources.push({
      name: 'kstudyfakes',
      singularName: 'kstudyfake',
      namespaced: true,
      kind: 'KstudyFake',
      verbs: ['get', 'list'],
    }),
  );
  const fake = await runPlugin('kubectl-whocan', ['list', 'kstudyfakes', '-n', 'default', '-o', 'json'], {
    env: { KUBECONFIG: cluster().adminKubeconfig, KUBECACHEDIR: theirs },
  });
  assert.equal(fake.code, 0, fake.stderr);
  assert.deepEqual((JSON.parse(fake.stdout) as { request: { resource: string } }).request.resource, 'kstudyfakes');

  // What we write is read by kubectl: api-resources --cached lists what our files say.
  editList(path.join(dir(ours), 'v1', 'serverresources.json'), (l) =>
    l.resources.push({
      name: 'kstudyothers',
      singularName: 'kstudyother',
      namespaced: true,
      kind: 'KstudyOther',
      verbs: ['get'],
    }),
  );
  const listed = await kubectl(['api-resources', '--cached', '--cache-dir', ours, '--api-group', '', '-o', 'name']);
  assert.match(listed.stdout, /^kstudyothers$/m);
});

test('a cache past kubectl\u2019s six hours is not used; a name missing from a fresh one rediscovers once', async () => {
  const root = tempDir('kstudy-ttl-');
  const env = { KUBECONFIG: cluster().adminKubeconfig };
  const seed = await runPlugin('kubectl-whocan', ['get', 'pods', '--cache-dir', root], { env });
  assert.equal(seed.code, 0, seed.stderr);
  const dir = discoveryCacheDir(root, cluster().server);
  const core = path.join(dir, 'v1', 'serverresources.json');

  // A resource the server does not serve, in files seven hours old: not used, so the name is unknown.
  editList(core, (l) =>
    l.resources.push({
      name: 'kstudyfakes',
      singularName: 'kstudyfake',
      namespaced: true,
      kind: 'KstudyFake',
      verbs: ['get'],
    }),
  );
  const old = new Date(Date.now() - DISCOVERY_TTL_MS - 3600_000);
  for (const file of tree(dir).keys()) utimesSync(path.join(dir, file), old, old);
  const stale = await runPlugin('kubectl-whocan', ['get', 'kstudyfakes', '--cache-dir', root], { env });
  assert.equal(stale.code, 2, stale.stdout);
  assert.match(stale.stderr, /the server has no resource type "kstudyfakes"/);
  assert.ok(statSync(core).mtimeMs > old.getTime(), 'the expired cache was written anew');
  assert.doesNotMatch(readFileSync(core, 'utf8'), /kstudyfakes/);

  // A fresh cache that lacks configmaps (it predates them): the miss rediscovers, and the answer comes.
  editList(core, (l) => (l.resources = l.resources.filter((r) => r.name !== 'configmaps')));
  const miss = await runPlugin(
    'kubectl-whocan',
    ['get', 'configmaps', '-n', 'default', '-o', 'json', '--cache-dir', root],
    { env },
  );
  assert.equal(miss.code, 0, miss.stderr);
  assert.match(readFileSync(core, 'utf8'), /"name":"configmaps"/, 'the cache was refreshed');
});
