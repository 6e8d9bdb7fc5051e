import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { NotFoundError, UsageError } from '../../../src/base/errors.js';
import {
  kubeconfigPaths,
  mergeKubeconfigs,
  parseKubeconfigText,
  resolveContext,
  type KubeconfigFile,
  type RawKubeconfig,
} from '../../../src/kube/kubeconfig.js';

function file(p: string, config: RawKubeconfig): KubeconfigFile {
  return { path: p, config };
}

const a = file('/home/u/.kube/a', {
  'current-context': '',
  clusters: [
    { name: 'prod', cluster: { server: 'https://prod-a', 'certificate-authority': 'certs/ca.crt' } },
    { name: 'dev', cluster: { server: 'https://dev-a' } },
  ],
  users: [{ name: 'alice', user: { 'client-certificate': 'alice.crt', 'client-key': '/abs/alice.key', tokenFile: './tok' } }],
  contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'alice', namespace: 'web' } }],
});
const b = file('/etc/kube/b', {
  'current-context': 'dev',
  clusters: [{ name: 'prod', cluster: { server: 'https://prod-b' } }],
  users: [
    { name: 'alice', user: { token: 'ignored' } },
    { name: 'bob', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'bin/get-token' } } },
    { name: 'carol', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } } },
  ],
  contexts: [
    { name: 'dev', context: { cluster: 'dev', user: 'bob' } },
    { name: 'prod', context: { cluster: 'dev', user: 'bob' } },
  ],
});
const c = file('/tmp/c', { 'current-context': 'prod' });

test('the first file that defines a name wins, and later ones are reported as shadowed', () => {
  const m = mergeKubeconfigs([a, b]);
  assert.equal(m.clusters.get('prod')?.value.server, 'https://prod-a');
  assert.equal(m.clusters.get('prod')?.file, a.path);
  assert.equal(m.users.get('alice')?.value.token, undefined);
  assert.equal(m.contexts.get('prod')?.value.user, 'alice');
  assert.equal(m.users.get('bob')?.file, b.path);
  assert.deepEqual(
    m.shadowed.map((s) => `${s.kind}/${s.name}:${s.file}<${s.winner}`).sort(),
    ['cluster/prod:/etc/kube/b</home/u/.kube/a', 'context/prod:/etc/kube/b</home/u/.kube/a', 'user/alice:/etc/kube/b</home/u/.kube/a'],
  );
});

test('the first non-empty current-context wins', () => {
  assert.equal(mergeKubeconfigs([a, b, c]).currentContext, 'dev');
  assert.equal(mergeKubeconfigs([a, b, c]).currentContextFile, b.path);
  assert.equal(mergeKubeconfigs([a, c, b]).currentContext, 'prod');
  assert.equal(mergeKubeconfigs([a]).currentContext, '');
});

test('missing and broken files are skipped in the merge', () => {
  const m = mergeKubeconfigs([{ path: '/nope', missing: true }, { path: '/bad', error: 'is not valid YAML' }, b]);
  assert.equal(m.currentContext, 'dev');
  assert.equal(m.clusters.get('prod')?.value.server, 'https://prod-b');
  assert.equal(m.files.length, 3);
});

test('relative paths resolve against the file that names them; PATH commands stay as they are', () => {
  const m = mergeKubeconfigs([a, b]);
  assert.equal(m.clusters.get('prod')?.value['certificate-authority'], '/home/u/.kube/certs/ca.crt');
  const alice = m.users.get('alice')?.value;
  assert.equal(alice?.['client-certificate'], '/home/u/.kube/alice.crt');
  assert.equal(alice?.['client-key'], '/abs/alice.key');
  assert.equal(alice?.tokenFile, '/home/u/.kube/tok');
  assert.equal(m.users.get('bob')?.value.exec?.command, '/etc/kube/bin/get-token');
  assert.equal(m.users.get('carol')?.value.exec?.command, 'aws');
});

test('kubeconfigPaths follows --kubeconfig, then KUBECONFIG, then ~/.kube/config', () => {
  assert.deepEqual(kubeconfigPaths('/x/config', { KUBECONFIG: '/a:/b' }), { paths: ['/x/config'], explicit: true });
  assert.deepEqual(kubeconfigPaths(undefined, { KUBECONFIG: `/a${path.delimiter}${path.delimiter}/b${path.delimiter}/a` }).paths, ['/a', '/b']);
  assert.deepEqual(kubeconfigPaths(undefined, {}, '/home/z').paths, ['/home/z/.kube/config']);
  assert.deepEqual(kubeconfigPaths(undefined, { KUBECONFIG: '' }, '/home/z').paths, ['/home/z/.kube/config']);
});

test('parseKubeconfigText reports YAML and shape errors instead of throwing', () => {
  assert.match(parseKubeconfigText('/f', 'clusters: [').error ?? '', /not valid YAML/);
  assert.match(parseKubeconfigText('/f', '- a\n- b\n').error ?? '', /mapping/);
  assert.match(parseKubeconfigText('/f', 'clusters: nope\n').error ?? '', /"clusters" must be a list/);
  assert.deepEqual(parseKubeconfigText('/f', '').config, {});
  // Go's YAML reads "2024-01-01" as a string, not a date.
  const cfg = parseKubeconfigText('/f', 'current-context: 2024-01-01\n').config;
  assert.equal(cfg?.['current-context'], '2024-01-01');
});

test('resolveContext applies --context, --cluster, --user and -n as kubectl does', () => {
  const m = mergeKubeconfigs([a, b]);
  const cur = resolveContext(m, {});
  assert.equal(cur.contextName, 'dev');
  assert.equal(cur.cluster.server, 'https://dev-a');
  assert.equal(cur.namespace, 'default');
  const prod = resolveContext(m, { context: 'prod' });
  assert.equal(prod.namespace, 'web');
  assert.equal(prod.userName, 'alice');
  const over = resolveContext(m, { context: 'prod', cluster: 'dev', user: 'bob', namespace: 'ops' });
  assert.equal(over.cluster.server, 'https://dev-a');
  assert.equal(over.userName, 'bob');
  assert.equal(over.namespace, 'ops');
  assert.equal(over.namespaceFromFlag, true);
});

test('resolveContext refuses a missing context, cluster or kubeconfig, never falling back to localhost', () => {
  const m = mergeKubeconfigs([a, b]);
  assert.throws(() => resolveContext(m, { context: 'nope' }), (e: unknown) => e instanceof NotFoundError && /known contexts: prod, dev/.test(e.hint ?? ''));
  const broken = mergeKubeconfigs([file('/f', { contexts: [{ name: 'x', context: { cluster: 'gone' } }], 'current-context': 'x' })]);
  assert.throws(() => resolveContext(broken, {}), (e: unknown) => e instanceof NotFoundError && /cluster "gone"/.test(e.message));
  const none = mergeKubeconfigs([{ path: '/home/z/.kube/config', missing: true }]);
  assert.throws(() => resolveContext(none, {}), (e: unknown) => e instanceof NotFoundError && /no kubeconfig found/.test(e.message) && /localhost:8080/.test(e.hint ?? ''));
  const noCurrent = mergeKubeconfigs([a]);
  assert.throws(() => resolveContext(noCurrent, {}), (e: unknown) => e instanceof UsageError && /no current context/.test(e.message));
});
