import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildInventory, certInfo, displayServer, type InventoryDeps } from '../../../src/ctx/inventory.js';
import { contextDetail, maskExecArgs, REDACTED } from '../../../src/ctx/detail.js';
import type { CertSummary } from '../../../src/kube/credentials.js';
import { mergeKubeconfigs, type KubeconfigFile } from '../../../src/kube/kubeconfig.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const days = (n: number): string => new Date(NOW.getTime() + n * 86_400_000).toISOString();

/** Certificates by their inline data, so tests need no real PEM here. */
const certs: Record<string, CertSummary> = {
  good: { source: 'data', location: 'inline', ok: true, subject: 'CN=alice', notAfter: days(200) },
  soon: { source: 'data', location: 'inline', ok: true, subject: 'CN=bob', notAfter: days(10) },
  old: { source: 'data', location: 'inline', ok: true, subject: 'CN=old', notAfter: days(-3) },
};

const deps: InventoryDeps = {
  now: NOW,
  readCert: (file, data) => {
    if (data) return certs[data] ?? { source: 'data', location: 'inline', ok: false, error: 'not a PEM certificate' };
    if (file) return { source: 'file', location: file, ok: false, error: 'file does not exist' };
    return undefined;
  },
  commandExists: (c) => c === 'kubelogin',
  fileReadable: (f) => f === '/ok/token',
};

const main: KubeconfigFile = {
  path: '/k/main',
  config: {
    'current-context': 'gone',
    clusters: [
      { name: 'prod', cluster: { server: 'https://prod.example:6443' } },
      { name: 'plain', cluster: { server: 'http://plain.example:8080' } },
      { name: 'lax', cluster: { server: 'https://lax.example', 'insecure-skip-tls-verify': true } },
      { name: 'noserver', cluster: {} },
    ],
    users: [
      { name: 'alice', user: { 'client-certificate-data': 'good', 'client-key-data': 'k' } },
      { name: 'bob', user: { 'client-certificate-data': 'soon', 'client-key-data': 'k' } },
      { name: 'old', user: { 'client-certificate-data': 'old' } },
      { name: 'tok', user: { token: 'abc' } },
      { name: 'tf', user: { tokenFile: '/missing/token' } },
      { name: 'sso', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'kubelogin' } } },
      {
        name: 'aws',
        user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws-iam-authenticator' } },
      },
      { name: 'oidc', user: { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } } },
      { name: 'basic', user: { username: 'admin', password: 'pw' } },
    ],
    contexts: [
      { name: 'prod', context: { cluster: 'prod', user: 'alice', namespace: 'web' } },
      { name: 'bob', context: { cluster: 'prod', user: 'bob' } },
      { name: 'old', context: { cluster: 'prod', user: 'old' } },
      { name: 'plain', context: { cluster: 'plain', user: 'tok' } },
      { name: 'lax', context: { cluster: 'lax', user: 'tf' } },
      { name: 'sso', context: { cluster: 'prod', user: 'sso' } },
      { name: 'aws', context: { cluster: 'prod', user: 'aws' } },
      { name: 'oidc', context: { cluster: 'prod', user: 'oidc' } },
      { name: 'basic', context: { cluster: 'noserver', user: 'basic' } },
      { name: 'orphan', context: { cluster: 'nowhere', user: 'nobody' } },
    ],
  },
};
const second: KubeconfigFile = {
  path: '/k/second',
  config: {
    clusters: [{ name: 'prod', cluster: { server: 'https://other' } }],
    contexts: [{ name: 'prod', context: { cluster: 'x' } }],
  },
};

const list = buildInventory(
  mergeKubeconfigs([
    main,
    second,
    { path: '/k/broken', error: 'is not valid YAML: bad' },
    { path: '/k/none', missing: true },
  ]),
  deps,
);

function codes(subject: string): string[] {
  return list.problems
    .filter((p) => p.subject.name === subject)
    .map((p) => p.code)
    .sort();
}

test('every context is listed with its auth method and certificate expiry', () => {
  const byName = new Map(list.contexts.map((c) => [c.name, c]));
  assert.deepEqual([...byName.keys()], ['prod', 'bob', 'old', 'plain', 'lax', 'sso', 'aws', 'oidc', 'basic', 'orphan']);
  assert.equal(byName.get('prod')?.auth.method, 'client-certificate');
  assert.equal(byName.get('prod')?.cert?.status, 'ok');
  assert.equal(byName.get('prod')?.cert?.daysLeft, 200);
  assert.equal(byName.get('bob')?.cert?.status, 'expiring');
  assert.equal(byName.get('old')?.cert?.status, 'expired');
  assert.equal(byName.get('plain')?.auth.method, 'token');
  assert.equal(byName.get('lax')?.auth.method, 'token-file');
  assert.deepEqual(byName.get('sso')?.auth, { method: 'exec', methods: ['exec'], detail: 'kubelogin' });
  assert.equal(byName.get('oidc')?.auth.detail, 'oidc');
  assert.equal(byName.get('basic')?.auth.method, 'basic');
  assert.equal(byName.get('prod')?.namespace, 'web');
  assert.equal(byName.get('prod')?.files.context, '/k/main');
  assert.equal(list.currentContext, 'gone');
  assert.deepEqual(
    list.files.map((f) => f.status),
    ['loaded', 'loaded', 'error', 'missing'],
  );
});

test('problems are found, each with a stable code and a reason', () => {
  assert.deepEqual(codes('gone'), ['CurrentContextMissing']);
  assert.deepEqual(codes('orphan'), ['ContextClusterMissing', 'ContextUserMissing']);
  assert.deepEqual(codes('bob'), ['CertExpiringSoon']);
  assert.deepEqual(codes('old'), ['CertExpired', 'KeyMissing']);
  assert.deepEqual(codes('plain'), ['PlaintextCredentials']);
  assert.deepEqual(codes('lax'), ['InsecureSkipTLS']);
  assert.deepEqual(codes('tf'), ['TokenFileUnreadable']);
  assert.deepEqual(codes('sso'), ['ExecApiVersion']);
  assert.deepEqual(codes('aws'), ['ExecNotFound']);
  assert.deepEqual(codes('noserver'), ['ClusterNoServer']);
  assert.deepEqual(codes('/k/broken'), ['FileUnreadable']);
  const shadowed = list.problems.filter((p) => p.code === 'Shadowed');
  assert.deepEqual(
    shadowed.map((p) => p.message),
    [
      'cluster "prod" in /k/second is ignored: /k/main defines it first and wins',
      'context "prod" in /k/second is ignored: /k/main defines it first and wins',
    ],
  );
  for (const p of list.problems) assert.ok(p.why.length > 10, p.code);
  assert.equal(list.problems.find((p) => p.code === 'CertExpired')?.severity, 'error');
  assert.equal(list.problems.find((p) => p.code === 'CertExpiringSoon')?.severity, 'warning');
});

test('problem counts per context include those of its cluster and user', () => {
  const old = list.contexts.find((c) => c.name === 'old');
  assert.equal(old?.problems, 2);
  assert.equal(list.contexts.find((c) => c.name === 'prod')?.problems, 0);
});

test('certInfo classifies expiry against now', () => {
  assert.equal(certInfo(certs.good, NOW)?.status, 'ok');
  assert.equal(
    certInfo({ source: 'file', location: '/x', ok: false, error: 'file does not exist' }, NOW)?.status,
    'unreadable',
  );
  assert.equal(certInfo(undefined, NOW), undefined);
});

test('server addresses lose embedded credentials for display', () => {
  assert.equal(displayServer('https://user:secret@h.example:6443'), 'https://h.example:6443');
  assert.equal(displayServer('https://h.example'), 'https://h.example');
});

test('exec args: no value shows, whatever its form', () => {
  // Only argument names show: every value, bare or after a flag, is masked.
  assert.deepEqual(
    maskExecArgs([
      'eks',
      'get-token',
      '--cluster-name',
      'prod',
      '--token=abc',
      '--password:pw',
      '-p',
      'xyz',
      'A'.repeat(40),
      '--verbose',
    ]),
    [
      REDACTED,
      REDACTED,
      '--cluster-name',
      REDACTED,
      `--token=${REDACTED}`,
      `--password:${REDACTED}`,
      '-p',
      REDACTED,
      REDACTED,
      '--verbose',
    ],
  );
});

test('the detail view never carries a secret', () => {
  const canary = 'CANARY-7f3a9c';
  const file: KubeconfigFile = {
    path: '/k/c',
    config: {
      'current-context': 'c',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: `https://u:${canary}@h:6443`,
            'certificate-authority-data': canary,
            'proxy-url': `http://p:${canary}@proxy:3128`,
          },
        },
      ],
      users: [
        {
          name: 'u',
          user: {
            token: canary,
            password: canary,
            username: 'admin',
            'client-certificate-data': canary,
            'client-key-data': canary,
            'auth-provider': { name: 'oidc', config: { 'id-token': canary, 'refresh-token': canary } },
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: 'x',
              args: [`--token=${canary}`],
              env: [{ name: 'SECRET', value: canary }],
            },
            'x-unknown-field': canary,
          },
        },
      ],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    },
  };
  const merged = mergeKubeconfigs([file]);
  const inv = buildInventory(merged, deps);
  const d = contextDetail(merged, 'c', inv.problems, deps);
  const text = JSON.stringify({ d, inv });
  assert.ok(!text.includes(canary), text);
  assert.equal(d.user.token?.value, REDACTED);
  assert.equal(d.user.password?.value, REDACTED);
  assert.equal(d.user.exec?.env[0]?.value, REDACTED);
  assert.deepEqual(Object.values(d.user.authProvider?.config ?? {}), [REDACTED, REDACTED]);
  assert.equal(d.user.username, 'admin');
});

test('no kubeconfig at all is "not found" (exit 5), as in every command that needs one; other errors block (3)', async () => {
  const { listExitCode } = await import('../../../src/ctx/run.js');
  const { ExitCode } = await import('../../../src/base/errors.js');
  const none = buildInventory(mergeKubeconfigs([{ path: '/k/none', missing: true }]), deps);
  assert.deepEqual(
    none.problems.map((p) => p.code),
    ['NoKubeconfig'],
  );
  assert.equal(listExitCode(none), ExitCode.NOT_FOUND);
  assert.equal(listExitCode(list), ExitCode.BLOCKED);
});
