import assert from 'node:assert/strict';
import { test } from 'node:test';

import { apiUrl, resourcePath, RESOURCES } from '../../../src/kube/url.js';

test('one URL builder: the server keeps its path, the query is encoded once', () => {
  assert.equal(
    apiUrl('https://h:6443', resourcePath(RESOURCES.pods, { namespace: 'a b', name: 'p/1' })),
    'https://h:6443/api/v1/namespaces/a%20b/pods/p%2F1',
  );
  assert.equal(
    apiUrl('https://h:6443/', '/api', { limit: 500, continue: undefined, labelSelector: 'app in (a b),x=y' }),
    'https://h:6443/api?limit=500&labelSelector=app+in+%28a+b%29%2Cx%3Dy',
  );
  assert.equal(
    apiUrl('http://h/k8s/clusters/c-1/', '/apis/apps/v1/deployments?watch=true', { resourceVersion: '7' }),
    'http://h/k8s/clusters/c-1/apis/apps/v1/deployments?watch=true&resourceVersion=7',
  );
  assert.equal(apiUrl('https://[::1]:6443', '/version'), 'https://[::1]:6443/version');
  assert.equal(
    apiUrl('https://other:443', '/version'),
    'https://other/version',
    'a second server is not the first one',
  );
});
