import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  cacheRoot,
  discoveryCacheDir,
  DISCOVERY_TTL_MS,
  readDiscoveryCache,
  writeDiscoveryCache,
} from '../../../src/kube/discoverycache.js';
import { resourcesOf, splitAggregated, type DiscoveryV2 } from '../../../src/kube/discovery.js';

test('the cache directory is named as kubectl names it', () => {
  const cases: Array<[string, string]> = [
    ['https://127.0.0.1:6443', '127.0.0.1_6443'],
    ['http://127.0.0.1:8001/k8s/clusters/c-xyz', '127.0.0.1_8001/k8s/clusters/c_xyz'],
    ['https://[::1]:6443', '___1__6443'],
    ['https://api.example.com', 'api.example.com'],
    ['https://api-1.example.com:443/', 'api_1.example.com_443'],
  ];
  for (const [server, dir] of cases)
    assert.equal(discoveryCacheDir('/c', server), path.join('/c', 'discovery', dir), server);
  assert.equal(cacheRoot('/flag', { KUBECACHEDIR: '/env' }, '/home/u'), '/flag', '--cache-dir first');
  assert.equal(cacheRoot(undefined, { KUBECACHEDIR: '/env' }, '/home/u'), '/env');
  assert.equal(cacheRoot(undefined, {}, '/home/u'), path.join('/home/u', '.kube', 'cache'));
  assert.equal(DISCOVERY_TTL_MS, 6 * 3600 * 1000, "client-go's TTL as kubectl sets it");
});

const AGGREGATED: DiscoveryV2[] = [
  {
    kind: 'APIGroupDiscoveryList',
    items: [
      {
        metadata: {},
        versions: [
          {
            version: 'v1',
            resources: [
              {
                resource: 'pods',
                singularResource: 'pod',
                responseKind: { group: '', version: '', kind: 'Pod' },
                scope: 'Namespaced',
                verbs: ['get', 'list'],
                shortNames: ['po'],
                categories: ['all'],
                subresources: [
                  { subresource: 'log', responseKind: { group: '', version: '', kind: 'Pod' }, verbs: ['get'] },
                  { subresource: 'broken', verbs: ['get'] },
                ],
              },
              { resource: 'nokind', singularResource: 'nokind', scope: 'Cluster', verbs: ['get'] },
            ],
          },
        ],
      },
    ],
  },
  {
    kind: 'APIGroupDiscoveryList',
    items: [
      {
        metadata: { name: 'apps' },
        versions: [
          {
            version: 'v2',
            freshness: 'Stale',
            resources: [{ resource: 'widgets', responseKind: { kind: 'Widget' }, scope: 'Namespaced', verbs: [] }],
          },
          {
            version: 'v1',
            resources: [
              {
                resource: 'deployments',
                singularResource: 'deployment',
                responseKind: { group: '', version: '', kind: 'Deployment' },
                scope: 'Namespaced',
                verbs: ['get'],
                subresources: [
                  {
                    subresource: 'scale',
                    responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
                    verbs: ['get', 'update'],
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  },
];

test('aggregated discovery is split as client-go splits it, in its field order', () => {
  const { groups, lists } = splitAggregated(AGGREGATED);
  assert.equal(
    JSON.stringify(groups),
    '{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"","versions":[{"groupVersion":"v1","version":"v1"}],"preferredVersion":{"groupVersion":"v1","version":"v1"}},' +
      '{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]}',
    'the stale version is left out, the first fresh one preferred',
  );
  assert.equal(
    JSON.stringify(lists[0]),
    '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[' +
      '{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"],"categories":["all"]},' +
      '{"name":"pods/log","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get"]}]}',
    'a resource or subresource without a kind is dropped',
  );
  assert.equal(
    JSON.stringify(lists[1]?.resources[1]),
    '{"name":"deployments/scale","singularName":"deployment","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale","verbs":["get","update"]}',
  );
  const resources = resourcesOf(groups, lists);
  assert.deepEqual(
    resources.map((r) => [r.group, r.resource, r.subresources]),
    [
      ['', 'pods', ['log']],
      ['apps', 'deployments', ['scale']],
    ],
  );
});

test('the cache is read back while fresh, and not once older than the TTL', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-disco-')), 'discovery', 'h_1');
  const { groups, lists } = splitAggregated(AGGREGATED);
  assert.equal(writeDiscoveryCache(dir, groups, lists), true);
  const file = path.join(dir, 'apps', 'v1', 'serverresources.json');
  assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(lists[1])}\n`);
  assert.equal(statSync(file).mode & 0o777, 0o660);
  const back = readDiscoveryCache(dir);
  assert.deepEqual(back && resourcesOf(back.groups, back.lists), resourcesOf(groups, lists));
  const old = new Date(Date.now() - DISCOVERY_TTL_MS - 60_000);
  utimesSync(file, old, old);
  assert.equal(readDiscoveryCache(dir), undefined, 'one expired file sends the command to the server');
  // A file where a directory should be: nothing can be written under it.
  assert.equal(
    writeDiscoveryCache(path.join(file, 'below'), groups, lists),
    false,
    'a cache that cannot be written is no error',
  );
});
