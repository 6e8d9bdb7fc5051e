import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { NotFoundError, UsageError } from '../../../src/base/errors.js';
import { credentialProblems } from '../../../src/kube/credentials.js';
import { parseExecCredential, stderrGist } from '../../../src/kube/exec.js';
import {
  kubeconfigPaths,
  mergeKubeconfigs,
  parseKubeconfigText,
  resolveContext,
  shapeError,
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
  users: [
    { name: 'alice', user: { 'client-certificate': 'alice.crt', 'client-key': '/abs/alice.key', tokenFile: './tok' } },
  ],
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
  assert.deepEqual(m.shadowed.map((s) => `${s.kind}/${s.name}:${s.file}<${s.winner}`).sort(), [
    'cluster/prod:/etc/kube/b</home/u/.kube/a',
    'context/prod:/etc/kube/b</home/u/.kube/a',
    'user/alice:/etc/kube/b</home/u/.kube/a',
  ]);
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
  assert.deepEqual(
    kubeconfigPaths(undefined, { KUBECONFIG: `/a${path.delimiter}${path.delimiter}/b${path.delimiter}/a` }).paths,
    ['/a', '/b'],
  );
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
  assert.throws(
    () => resolveContext(m, { context: 'nope' }),
    (e: unknown) => e instanceof NotFoundError && /known contexts: prod, dev/.test(e.hint ?? ''),
  );
  const broken = mergeKubeconfigs([
    file('/f', { contexts: [{ name: 'x', context: { cluster: 'gone' } }], 'current-context': 'x' }),
  ]);
  assert.throws(
    () => resolveContext(broken, {}),
    (e: unknown) => e instanceof NotFoundError && /cluster "gone"/.test(e.message),
  );
  const none = mergeKubeconfigs([{ path: '/home/z/.kube/config', missing: true }]);
  assert.throws(
    () => resolveContext(none, {}),
    (e: unknown) =>
      e instanceof NotFoundError && /no kubeconfig found/.test(e.message) && /localhost:8080/.test(e.hint ?? ''),
  );
  const noCurrent = mergeKubeconfigs([a]);
  assert.throws(
    () => resolveContext(noCurrent, {}),
    (e: unknown) => e instanceof UsageError && /no current context/.test(e.message),
  );
});

test('a file whose fields have the wrong type is refused as kubectl refuses it, naming the field', () => {
  const cases: Array<[string, RegExp]> = [
    [
      'clusters:\n- name: k\n  cluster: {server: 8080}\n',
      /clusters\[0\] \("k"\)\.cluster\.server must be a string, not a number/,
    ],
    [
      'clusters:\n- name: k\n  cluster: {certificate-authority-data: 12345678}\n',
      /certificate-authority-data must be a string, not a number/,
    ],
    [
      'clusters:\n- name: k\n  cluster: {server: https://x, insecure-skip-tls-verify: maybe}\n',
      /insecure-skip-tls-verify must be true or false, not a string/,
    ],
    [
      'users:\n- name: u\n  user: {token: 123456789}\n',
      /users\[0\] \("u"\)\.user\.token must be a string, not a number \(quote the value\)/,
    ],
    ['users:\n- name: u\n  user: {as-groups: admins}\n', /as-groups must be a list of strings, not a string/],
    [
      'users:\n- name: u\n  user: {exec: {command: x, args: hello}}\n',
      /user\.exec\.args must be a list of strings, not a string/,
    ],
    [
      'users:\n- name: u\n  user: {auth-provider: {name: oidc, config: x}}\n',
      /auth-provider\.config must be a mapping/,
    ],
    ['users:\n- name: u\n  user: just-a-string\n', /users\[0\] \("u"\)\.user must be a mapping, not a string/],
    [
      'contexts:\n- name: c\n  context: {cluster: k, namespace: yes}\n',
      /contexts\[0\] \("c"\)\.context\.namespace must be a string, not a boolean/,
    ],
    ['contexts:\n- name: 7\n  context: {cluster: k}\n', /contexts\[0\]\.name must be a string/],
    ['current-context: [a]\n', /current-context must be a string, not a list/],
    [
      'clusters:\n- name: k\n  cluster: {server: https://a}\n- name: k\n  cluster: {server: https://b}\n',
      /clusters names "k" twice/,
    ],
  ];
  for (const [text, want] of cases) assert.match(parseKubeconfigText('/f', text).error ?? '', want, text);
  // Nulls are unset, and a right file has no shape error.
  assert.equal(
    shapeError({
      clusters: [
        {
          name: 'k',
          cluster: { server: 'https://x', 'insecure-skip-tls-verify': true, 'proxy-url': null as unknown as string },
        },
      ],
    }),
    undefined,
  );
  assert.equal(
    parseKubeconfigText('/f', 'users:\n- name: u\n  user: {exec: {command: x, args: [a, b], env: null}}\n').error,
    undefined,
  );
});

test('credentials no request could carry are refused before any request, naming the field and never the value', () => {
  const fields = (cluster: Record<string, unknown>, user: Record<string, unknown>): string[] =>
    credentialProblems('k', { server: 'https://x', ...cluster }, 'u', user).map(
      (p) => `${p.owner} ${p.field} ${p.problem}`,
    );
  assert.deepEqual(fields({ 'proxy-url': '::nope' }, {}), [
    'cluster "k" proxy-url is not a URL (e.g. http://proxy.example:3128)',
  ]);
  assert.match(fields({ 'proxy-url': 'ftp://p:21' }, {})[0] ?? '', /proxy-url has the scheme ftp/);
  assert.deepEqual(fields({ 'proxy-url': 'socks5://127.0.0.1:1080' }, {}), []);
  const secret = 'abc\ndef';
  const tok = fields({}, { token: secret });
  assert.match(tok[0] ?? '', /user "u" token holds a line break/);
  assert.ok(!tok.join().includes('abc'), 'the token is not shown');
  assert.match(
    fields({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1alpha1' } })[0] ?? '',
    /exec\.apiVersion is "client\.authentication\.k8s\.io\/v1alpha1"/,
  );
  assert.match(fields({}, { exec: { command: 'x' } })[0] ?? '', /exec\.apiVersion is not set/);
  assert.match(
    fields({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1' } })[0] ?? '',
    /exec\.command is empty/,
  );
  // interactiveMode as client-go checks it: required by v1, one of three.
  assert.match(
    fields({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1' } })[0] ?? '',
    /exec\.interactiveMode is not set; client\.authentication\.k8s\.io\/v1 needs Never, IfAvailable, Always/,
  );
  assert.match(
    fields(
      {},
      { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1beta1', interactiveMode: 'Sometimes' } },
    )[0] ?? '',
    /exec\.interactiveMode is "Sometimes"/,
  );
  assert.deepEqual(fields({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1beta1' } }), []);
  assert.deepEqual(
    fields(
      {},
      { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'IfAvailable' } },
    ),
    [],
  );
  // Empty data is unset, as for client-go.
  assert.deepEqual(fields({ 'certificate-authority-data': '' }, {}), []);
});

test("an exec credential whose certificate, key or token cannot be used is named as that plugin's failure", () => {
  const plugin = {
    userName: 'u',
    cluster: {},
    exec: { command: '/bin/get-cred', apiVersion: 'client.authentication.k8s.io/v1' },
  };
  const cred = (status: Record<string, unknown>): string =>
    JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', status });
  const refused = (status: Record<string, unknown>): string => {
    try {
      parseExecCredential(plugin as Parameters<typeof parseExecCredential>[0], cred(status));
    } catch (err) {
      assert.ok(err instanceof UsageError);
      return err.message;
    }
    return assert.fail('should be refused');
  };
  assert.match(
    refused({ clientCertificateData: 'junk', clientKeyData: 'junk' }),
    /\/bin\/get-cred.*status\.clientCertificateData is not a PEM certificate/,
  );
  assert.match(refused({ token: 'a\r\nb' }), /status\.token holds a line break/);
  assert.equal(
    parseExecCredential(plugin as Parameters<typeof parseExecCredential>[0], cred({ token: 'fine' })).token,
    'fine',
  );
});

test("an exec plugin's stderr is shown shortened, without what looks like a secret", () => {
  assert.equal(stderrGist('starting\nerror: token expired, log in again\n'), 'error: token expired, log in again');
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl';
  for (const line of [
    `refresh failed for ${jwt}`,
    'token=s3cr3t-value failed',
    'password: hunter2 rejected',
    'Authorization: Bearer abc.def',
    `key ${'A'.repeat(48)} unknown`,
  ]) {
    const gist = stderrGist(line);
    assert.ok(!/s3cr3t|hunter2|abc\.def|eyJ|AAAA/.test(gist), `${line} -> ${gist}`);
    assert.match(gist, /\(not shown\)/);
  }
  assert.ok(stderrGist('x'.repeat(500)).length <= 160);
});
