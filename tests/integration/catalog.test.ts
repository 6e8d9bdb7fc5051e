/**
 * The catalog of bad input, faults and misuse: every case through the real
 * executables against the real cluster, each asserting the exit code, one
 * `error:` line naming the cause (and a hint), no stack trace, and that
 * neither the cluster nor the kubeconfig changed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { mapLimit } from '../../src/base/concurrency.js';
import { parseYaml, toYaml } from '../../src/base/yaml.js';
import { createCa, issue } from '../cluster/pki.js';
import {
  apis,
  auditMark,
  mintUser,
  runPlugin,
  serviceAccountToken,
  suffix,
  tempDir,
  testNamespace,
  writesBy,
  type RunResult,
} from '../support/cluster.js';
import { closedPort, hangingListener } from '../support/net.js';
import { allReady, createPool, deployment } from '../support/workloads.js';

type Doc = {
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: Array<{ name: string; context: Record<string, unknown> }>;
  'current-context': string;
};

interface Case {
  group: string;
  name: string;
  plugin: string;
  args: string[];
  /** A kubeconfig file of the catalog (written by `kubeconfigs`), or the test user's. */
  kubeconfig?: string;
  code: number;
  /** The one error line, without its "error: " prefix. */
  error: RegExp;
  /** Warning lines that must be there too. */
  warning?: RegExp;
}

const STACK = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

function sha(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return 'absent';
  }
}

/** A loopback web server that answers every request with a web page, as a server address that is no API server. */
async function webPage(): Promise<{ port: number; close: () => void }> {
  const s = http.createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Welcome</body></html>'),
  );
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

/** Broken and odd kubeconfigs, each a variation of a working one for the test user. */
/** A JWT with these claims, as an oidc id-token carries them (its signature is never checked here). */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.kstudy-secret-signature`;
}

/** An oidc auth-provider user; `issuer` is a listener that counts who asks it (nobody should). */
function oidcUser(issuer: number, config: Record<string, string | undefined>): Record<string, unknown> {
  const all: Record<string, string | undefined> = {
    'idp-issuer-url': `https://127.0.0.1:${issuer}/realms/ops`,
    'client-id': 'kubectl',
    ...config,
  };
  const defined = Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined);
  return { 'auth-provider': { name: 'oidc', config: Object.fromEntries(defined) } };
}

function kubeconfigs(
  dir: string,
  base: string,
  ports: { hang: number; closed: number; issuer: number; page: number },
): Record<string, string> {
  const doc = parseYaml(readFileSync(base, 'utf8')) as Doc;
  const out: Record<string, string> = {};
  const write = (name: string, mutate: (d: Doc) => unknown, raw?: string): void => {
    const file = path.join(dir, name);
    if (raw !== undefined) writeFileSync(file, raw);
    else {
      const d = JSON.parse(JSON.stringify(doc)) as Doc;
      mutate(d);
      writeFileSync(file, toYaml(d));
    }
    out[name] = file;
  };
  const c = (d: Doc): Record<string, unknown> => d.clusters[0]!.cluster;
  const u = (d: Doc): Record<string, unknown> => d.users[0]!.user;
  const exec =
    (command: string, args: string[], apiVersion = 'client.authentication.k8s.io/v1') =>
    (d: Doc) => {
      d.users[0]!.user = { exec: { apiVersion, command, args, interactiveMode: 'Never' } };
    };
  const ca = createCa('catalog-other-ca', 1, true);
  const expired = issue(createCa('catalog-ca', 1, true), {
    commonName: 'x',
    notBefore: new Date(Date.now() - 9 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
    reuseKey: true,
  });
  mkdirSync(path.join(dir, 'a-directory'), { recursive: true });
  const script = path.join(dir, 'plugin.sh');
  writeFileSync(
    script,
    '#!/bin/sh\necho "{\\"kind\\":\\"ExecCredential\\",\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"status\\":{}}"\n',
  );
  chmodSync(script, 0o755);
  const notExecutable = path.join(dir, 'plugin-not-x.sh');
  writeFileSync(notExecutable, '#!/bin/sh\necho hi\n');
  write('good', () => {});
  write('not-yaml', () => {}, 'apiVersion: v1\nclusters: [\n');
  write('top-list', () => {}, '- a\n- b\n');
  write('clusters-not-list', () => {}, 'apiVersion: v1\nclusters: {a: b}\n');
  write('empty', () => {}, '');
  write('unknown-current', (d) => (d['current-context'] = 'gone'));
  write('no-current', (d) => (d['current-context'] = ''));
  write('context-no-cluster', (d) => delete d.contexts[0]!.context.cluster);
  write('context-cluster-missing', (d) => (d.contexts[0]!.context.cluster = 'nowhere'));
  write('context-user-missing', (d) => (d.contexts[0]!.context.user = 'nobody'));
  write('no-server', (d) => delete c(d).server);
  write('bad-port', (d) => (c(d).server = 'https://127.0.0.1:70000'));
  write('bad-scheme', (d) => (c(d).server = 'ftp://127.0.0.1:6443'));
  write('not-url', (d) => (c(d).server = 'https://'));
  write('ca-not-base64', (d) => (c(d)['certificate-authority-data'] = '%%% not base64 %%%'));
  write('ca-not-cert', (d) => (c(d)['certificate-authority-data'] = Buffer.from('hello').toString('base64')));
  write('ca-dir', (d) => {
    delete c(d)['certificate-authority-data'];
    c(d)['certificate-authority'] = path.join(dir, 'a-directory');
  });
  write('ca-missing-file', (d) => {
    delete c(d)['certificate-authority-data'];
    c(d)['certificate-authority'] = path.join(dir, 'no-such-ca.crt');
  });
  write('cert-not-base64', (d) => (u(d)['client-certificate-data'] = 'not base64 at all!'));
  write(
    'cert-not-cert',
    (d) =>
      (u(d)['client-certificate-data'] = Buffer.from(
        '-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n',
      ).toString('base64')),
  );
  write('key-not-key', (d) => (u(d)['client-key-data'] = Buffer.from('not a key').toString('base64')));
  write('key-dir', (d) => {
    delete u(d)['client-key-data'];
    u(d)['client-key'] = path.join(dir, 'a-directory');
  });
  write('cert-without-key', (d) => delete u(d)['client-key-data']);
  write('token-file-missing', (d) => (d.users[0]!.user = { tokenFile: path.join(dir, 'no-such-token') }));
  write('exec-missing', exec('kstudy-no-such-sso-helper', ['--password', 'hunter2']));
  write('exec-fails', exec('sh', ['-c', 'echo "token expired, log in again" >&2; exit 3']));
  write('exec-junk', exec('sh', ['-c', 'echo not json']));
  write('exec-kind', exec('sh', ['-c', 'echo \'{"kind":"Status"}\'']));
  write(
    'exec-version',
    exec('sh', [
      '-c',
      'echo \'{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}\'',
    ]),
  );
  write('exec-empty', exec(script, []));
  write('exec-not-executable', exec(notExecutable, []));
  write('auth-provider', (d) => (d.users[0]!.user = { 'auth-provider': { name: 'keystone', config: {} } }));
  // Every auth-provider configuration: each refused before any request, naming the provider and what is wrong.
  const expiredToken = jwt({ sub: 'kstudy-secret-sub', exp: Math.floor(Date.now() / 1000) - 3600 });
  const oidc = (name: string, config: Record<string, string | undefined>): void =>
    write(name, (d) => (d.users[0]!.user = oidcUser(ports.issuer, config)));
  oidc('oidc-no-issuer', { 'idp-issuer-url': undefined, 'id-token': expiredToken });
  oidc('oidc-no-client-id', { 'client-id': undefined, 'id-token': expiredToken });
  oidc('oidc-no-id-token', {});
  oidc('oidc-not-jwt', { 'id-token': 'kstudy-secret-not-a-jwt' });
  oidc('oidc-expired', { 'id-token': expiredToken });
  oidc('oidc-no-exp', { 'id-token': jwt({ sub: 'kstudy-secret-sub' }) });
  oidc('oidc-expired-refresh', { 'id-token': expiredToken, 'refresh-token': 'kstudy-secret-refresh' });
  oidc('oidc-refresh-only', { 'refresh-token': 'kstudy-secret-refresh', 'client-secret': 'kstudy-secret-client' });
  oidc('oidc-expired-bad-issuer', {
    'idp-issuer-url': 'login.example.com',
    'id-token': expiredToken,
    'refresh-token': 'kstudy-secret-refresh',
  });
  write(
    'azure',
    (d) =>
      (d.users[0]!.user = {
        'auth-provider': { name: 'azure', config: { 'access-token': 'kstudy-secret-azure', 'tenant-id': 't' } },
      }),
  );
  write(
    'gcp',
    (d) =>
      (d.users[0]!.user = {
        'auth-provider': { name: 'gcp', config: { 'cmd-path': 'gcloud', 'access-token': 'kstudy-secret-gcp' } },
      }),
  );
  write('closed-port', (d) => (c(d).server = `https://127.0.0.1:${ports.closed}`));
  write('hang', (d) => (c(d).server = `https://127.0.0.1:${ports.hang}`));
  write('web-page', (d) => (c(d).server = `http://127.0.0.1:${ports.page}`));
  write('wrong-ca', (d) => (c(d)['certificate-authority-data'] = Buffer.from(ca.certPem).toString('base64')));
  write('wrong-name', (d) => (c(d)['tls-server-name'] = 'not-the-apiserver.example'));
  write('expired-cert', (d) => {
    u(d)['client-certificate-data'] = Buffer.from(expired.certPem).toString('base64');
    u(d)['client-key-data'] = Buffer.from(expired.keyPem).toString('base64');
  });
  write('bad-token', (d) => (d.users[0]!.user = { token: 'not-a-real-token' }));
  write('proxy-refused', (d) => (c(d)['proxy-url'] = `http://127.0.0.1:${ports.closed}`));
  write('dns', (d) => (c(d).server = 'https://kstudy-no-such-host.invalid:6443'));
  // Fields of the wrong type: kubectl refuses the whole file, naming the field.
  write('server-number', (d) => (c(d).server = 8080));
  write('token-number', (d) => (d.users[0]!.user = { token: 123456789 }));
  write(
    'exec-args-string',
    (d) =>
      (d.users[0]!.user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: 'hello' } }),
  );
  write('namespace-bool', (d) => (d.contexts[0]!.context.namespace = true));
  write('proxy-invalid', (d) => (c(d)['proxy-url'] = '::nope'));
  write('proxy-socks-refused', (d) => (c(d)['proxy-url'] = `socks5://127.0.0.1:${ports.closed}`));
  write('proxy-https-refused', (d) => (c(d)['proxy-url'] = `https://127.0.0.1:${ports.closed}`));
  write('token-newline', (d) => (d.users[0]!.user = { token: 'kstudy-secret-1\nkstudy-secret-2' }));
  write('exec-v1alpha1', exec('sh', ['-c', 'echo ran'], 'client.authentication.k8s.io/v1alpha1'));
  write(
    'exec-cert-junk',
    exec('sh', [
      '-c',
      'echo \'{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"junk","clientKeyData":"junk"}}\'',
    ]),
  );
  write('ca-data-empty', (d) => (c(d)['certificate-authority-data'] = ''));
  write(
    'exec-no-mode',
    (d) =>
      (d.users[0]!.user = {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: ['-c', 'echo ran'] },
      }),
  );
  write(
    'exec-always',
    (d) =>
      (d.users[0]!.user = {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: 'sh',
          args: ['-c', 'echo ran'],
          interactiveMode: 'Always',
        },
      }),
  );
  return out;
}

function check(c: Case, r: RunResult): string[] {
  const problems: string[] = [];
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  if (r.code !== c.code) problems.push(`exit ${r.code}, expected ${c.code}`);
  if (errors.length !== 1) problems.push(`${errors.length} error lines`);
  else if (!c.error.test(errors[0]!.slice('error: '.length)))
    problems.push(`error line ${JSON.stringify(errors[0])} does not match ${c.error}`);
  if (c.warning && !r.stderr.split('\n').some((l) => l.startsWith('warning: ') && c.warning!.test(l)))
    problems.push(`no warning matching ${c.warning}`);
  if (STACK.test(r.stderr) || STACK.test(r.stdout)) problems.push('a stack trace');
  if (/looks like a bug/.test(r.stderr)) problems.push('reported as a bug');
  if (/^\(node:\d+\)|--trace-(deprecation|warnings)/m.test(r.stderr))
    problems.push("a Node runtime warning (Node's words)");
  if (/hunter2/.test(r.stderr + r.stdout)) problems.push('an exec argument value in the output');
  if (/kstudy-secret/.test(r.stderr + r.stdout)) problems.push('a token in the output');
  return problems;
}

async function fixture(t: TestContext): Promise<{
  ns: string;
  node: string;
  user: string;
  env: NodeJS.ProcessEnv;
  files: Record<string, string>;
  issuer: { connections: () => number };
}> {
  const ns = await testNamespace(t, 'cat');
  const pool = await createPool(t, [{}]);
  await deployment(ns, pool, 'web', 1);
  await allReady(ns, 1);
  const user = `catalog-${suffix()}`;
  const kubeconfig = mintUser(user, ['system:masters']);
  const hang = await hangingListener();
  t.after(hang.close);
  const issuer = await hangingListener();
  t.after(issuer.close);
  const page = await webPage();
  t.after(page.close);
  const files = kubeconfigs(tempDir('kstudy-catalog-'), kubeconfig, {
    hang: hang.port,
    closed: await closedPort(),
    issuer: issuer.port,
    page: page.port,
  });
  files.nobody = mintUser(`catalog-nobody-${suffix()}`);
  return { ns, node: pool.nodes[0]!, user, env: { KUBECONFIG: kubeconfig }, files, issuer };
}

function cases(ns: string, node: string): Case[] {
  const all: Case[] = [];
  const add = (
    group: string,
    plugin: string,
    list: Array<[string, string[], number, RegExp, (string | undefined)?, RegExp?]>,
  ): void => {
    for (const [name, args, code, error, kubeconfig, warning] of list)
      all.push({
        group,
        name,
        plugin,
        args,
        code,
        error,
        ...(kubeconfig ? { kubeconfig } : {}),
        ...(warning ? { warning } : {}),
      });
  };
  add('drain flags', 'kubectl-study_drain', [
    ['no node', [], 2, /name at least one node/],
    ['empty node name', [''], 2, /an empty name is not a valid node name/],
    ['invalid node name', ['Node_1'], 2, /"Node_1" is not a valid node name/],
    ['node twice', [node, node], 2, /named twice/],
    ['names and selector', [node, '-l', 'a=b'], 2, /cannot be used together/],
    ['bad selector', ['-l', 'a in (b'], 2, /invalid -l\/--selector/],
    ['bad pod selector', [node, '--pod-selector', '!!'], 2, /invalid --pod-selector/],
    ['bad timeout', [node, '--timeout', 'soon'], 2, /invalid --timeout "soon"/],
    ['negative timeout', [node, '--timeout', '-5s'], 2, /invalid --timeout "-5s"/],
    ['bad grace period', [node, '--grace-period', 'x'], 2, /--grace-period takes a whole number/],
    ['grace period below -1', [node, '--grace-period', '-2'], 2, /--grace-period takes a whole number of at least -1/],
    ['zero concurrency', [node, '--concurrency', '0'], 2, /--concurrency takes a whole number of at least 1/],
    [
      'bad skip-wait',
      [node, '--skip-wait-for-delete-timeout', '1m'],
      2,
      /--skip-wait-for-delete-timeout takes a whole number/,
    ],
    ['bad dry-run', [node, '--dry-run=maybe'], 2, /invalid --dry-run "maybe"/],
    ['bad outage timeout', [node, '--api-outage-timeout', 'forever'], 2, /invalid --api-outage-timeout "forever"/],
    ['zero outage timeout', [node, '--api-outage-timeout', '0'], 2, /invalid --api-outage-timeout "0"/],
    ['bad request timeout', [node, '--request-timeout', 'fast'], 2, /invalid --request-timeout "fast"/],
    ['as-group without as', [node, '--as-group', 'g'], 2, /--as-group and --as-uid need --as/],
    ['empty as', [node, '--as', ''], 2, /--as was given an empty value/],
    ['empty context', [node, '--context', ''], 2, /--context was given an empty value/],
    ['bad output', [node, '-o', 'xml'], 2, /unsupported output format "xml"/],
    ['unknown flag', [node, '--frobnicate'], 2, /unknown option '--frobnicate'/],
    ['namespace flag', [node, '-n', 'x'], 2, /unknown option '-n'/],
    ['uncordon nothing', ['uncordon'], 2, /name at least one node to uncordon/],
    ['uncordon empty', ['uncordon', ''], 2, /an empty name is not a valid node name/],
    [
      'timeout past a timer',
      [node, '--timeout', '1000h'],
      2,
      /--timeout "1000h" is longer than the longest wait kubectl-study can keep \(596h\)/,
    ],
    [
      'request timeout past a timer',
      [node, '--dry-run', '--request-timeout', '2592000'],
      2,
      /--request-timeout "2592000" is longer than the longest wait/,
    ],
    ['timeout without a unit', [node, '--timeout', '30'], 2, /invalid --timeout "30"/],
    ['as with a line break', [node, '--as', 'bob\nx'], 2, /--as holds a line break or another control character/],
    [
      'as-group with a control character',
      [node, '--as', 'bob', '--as-group', 'g\r\n'],
      2,
      /--as-group holds a line break/,
    ],
    ['typo in a flag', [node, '--dryrun'], 2, /unknown option '--dryrun'/],
  ]);
  add('drain cluster', 'kubectl-study_drain', [
    ['node not found', ['kstudy-no-such-node', '--dry-run'], 5, /node "kstudy-no-such-node" not found/],
    [
      'uncordon not found',
      ['uncordon', 'kstudy-no-such-node'],
      5,
      /cannot get node kstudy-no-such-node: nodes "kstudy-no-such-node" not found/,
    ],
    [
      'selector matches nothing',
      ['-l', 'kstudy.test/none=nothing', '--dry-run'],
      1,
      /no node matches the selector "kstudy.test\/none=nothing"/,
    ],
    [
      'forbidden',
      [node, '--dry-run'],
      3,
      /cannot plan the drain: you may not get nodes, .*list poddisruptionbudgets/,
      'nobody',
    ],
    ['uncordon forbidden', ['uncordon', node], 3, /cannot get node .*: forbidden/, 'nobody'],
    [
      'timeout on a hung server',
      [node, '--dry-run', '--timeout', '2s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --timeout 2s; nothing was changed$/,
      'hang',
    ],
    [
      'request timeout on a hung server',
      ['uncordon', node, '--request-timeout', '1s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 1s$/,
      'hang',
    ],
  ]);
  add('maintain flags', 'kubectl-study', [
    ['no node', ['maintain', '--run', 'x', '--journal', '/tmp/j'], 2, /name at least one node/],
    // No --journal is no longer a usage error (the cluster keeps the run's state): the plan blocks, one line says so.
    ['blocked plan', ['maintain', node, '--run', 'x'], 3, /the maintenance run is blocked; nothing was changed/],
    ['no work', ['maintain', node, '--journal', '/tmp/j'], 2, /say what to do on each node/],
    ['empty run', ['maintain', node, '--run', '', '--journal', '/tmp/j'], 2, /--run was given an empty command/],
    [
      'run and wait-file',
      ['maintain', node, '--run', 'x', '--wait-file', 'f', '--journal', '/tmp/j'],
      2,
      /--run and --wait-file cannot be used together/,
    ],
    [
      'bad drain timeout',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--drain-timeout', 'garbage'],
      2,
      /invalid --drain-timeout "garbage"/,
    ],
    [
      'bad ready timeout',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--ready-timeout', '0'],
      2,
      /invalid --ready-timeout "0"/,
    ],
    [
      'bad recover timeout',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--recover-timeout', 'later'],
      2,
      /invalid --recover-timeout "later"/,
    ],
    [
      'bad run timeout',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--timeout', '1 hour'],
      2,
      /invalid --timeout "1 hour"/,
    ],
    [
      'short lock',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--lock-duration', '2s'],
      2,
      /--lock-duration must be at least 6s/,
    ],
    [
      'bad lock',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--lock-duration', 'x'],
      2,
      /invalid --lock-duration "x"/,
    ],
    [
      'bad outage timeout',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--api-outage-timeout', '2 minutes'],
      2,
      /invalid --api-outage-timeout "2 minutes"/,
    ],
    [
      'bad max-unavailable',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--max-unavailable', '0'],
      2,
      /--max-unavailable takes a whole number of at least 1/,
    ],
    [
      'bad lock namespace',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--lock-namespace', 'Bad_NS'],
      2,
      /"Bad_NS" is not a valid namespace name/,
    ],
    [
      'names and selector',
      ['maintain', node, '-l', 'a=b', '--run', 'x', '--journal', '/tmp/j'],
      2,
      /cannot be used together/,
    ],
    [
      'journal directory missing',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/kstudy-no-such-dir/j', '--yes'],
      2,
      /cannot write the journal \/tmp\/kstudy-no-such-dir\/j: its directory does not exist/,
    ],
    [
      'journal is a directory',
      ['maintain', node, '--run', 'x', '--journal', '/tmp', '--yes'],
      2,
      /cannot read the journal \/tmp: it is a directory/,
    ],
    [
      'selector matches nothing',
      ['maintain', '-l', 'kstudy.test/none=x', '--run', 'x', '--journal', '/tmp/j', '--dry-run'],
      1,
      /no node matches the selector/,
    ],
    ['node not found', ['maintain', 'kstudy-no-such-node', '--dry-run'], 5, /node "kstudy-no-such-node" not found/],
    [
      'timeout on a hung server',
      ['maintain', node, '--run', 'x', '--dry-run', '--timeout', '2s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --timeout 2s; nothing was changed$/,
      'hang',
    ],
    [
      'empty wait-file',
      ['maintain', node, '--wait-file', '', '--journal', '/tmp/j'],
      2,
      /--wait-file was given an empty path/,
    ],
    ['empty journal', ['maintain', node, '--run', 'x', '--journal', ''], 2, /--journal was given an empty path/],
    [
      'recover timeout past a timer',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--recover-timeout', '30000h'],
      2,
      /--recover-timeout "30000h" is longer/,
    ],
    [
      'drain timeout without a unit',
      ['maintain', node, '--run', 'x', '--journal', '/tmp/j', '--drain-timeout', '600'],
      2,
      /invalid --drain-timeout "600"/,
    ],
  ]);
  add('rollout flags', 'kubectl-study_rollout', [
    ['status nothing', ['status'], 2, /missing required argument 'targets'/],
    ['bad kind', ['status', 'pods/web'], 2, /"pods" is not a kind rollouts apply to/],
    ['kind only', ['status', 'deployment'], 2, /name the deployment or give -l SELECTOR/],
    ['kind/name and selector', ['status', 'deploy/web', '-l', 'a=b'], 2, /-l\/--selector goes with a kind alone/],
    ['bad name', ['status', 'deploy/Web_1'], 2, /"Web_1" is not a valid deployment name/],
    ['statefulset name with a dot', ['status', 'sts/web.v2'], 2, /"web\.v2" is not a valid statefulset name/],
    ['twice', ['status', 'deploy/web', 'deploy/web'], 2, /named twice/],
    ['bad watch', ['status', 'deploy/web', '--watch=maybe'], 2, /--watch takes true or false/],
    ['yaml while watching', ['status', 'deploy/web', '-o', 'yaml'], 2, /-o yaml needs --watch=false/],
    ['bad timeout', ['status', 'deploy/web', '--timeout', 'x'], 2, /invalid --timeout "x"/],
    ['bad namespace', ['status', 'deploy/web', '-n', 'Not_A_NS'], 2, /"Not_A_NS" is not a valid namespace name/],
    ['history two', ['history', 'deploy/a', 'deploy/b'], 2, /name exactly one workload/],
    ['history bad revision', ['history', 'deploy/web', '--revision', 'two'], 2, /--revision takes a whole number/],
    [
      'history zero revision',
      ['history', 'deploy/web', '--revision', '0'],
      2,
      /--revision takes a whole number of at least 1/,
    ],
    ['diff one side', ['history', 'deploy/web', 'diff', '1'], 2, /diff takes two revisions/],
    ['diff bad side', ['history', 'deploy/web', 'diff', '1', 'latest'], 2, /a revision in diff takes a whole number/],
    [
      'diff with revision',
      ['history', 'deploy/web', 'diff', '1', '2', '--revision', '1'],
      2,
      /--revision and diff cannot be used together/,
    ],
    [
      'undo bad revision',
      ['undo', 'deploy/web', '--to-revision', '-1'],
      2,
      /--to-revision takes a whole number of at least 0/,
    ],
    ['undo bad dry-run', ['undo', 'deploy/web', '--dry-run=later'], 2, /invalid --dry-run "later"/],
    ['unknown subcommand', ['stauts', 'deploy/web'], 2, /unknown command 'stauts'/],
    ['twice as KIND NAME', ['status', 'deploy', 'web', 'web'], 2, /Deployment\/web is named twice/],
    ['timeout past a timer', ['status', 'deploy/web', '--timeout', '597h'], 2, /--timeout "597h" is longer/],
  ]);
  add('rollout cluster', 'kubectl-study_rollout', [
    [
      'status not found',
      ['status', 'deploy/kstudy-nope', '-n', ns, '--watch=false'],
      5,
      /deployment "kstudy-nope" not found in namespace/,
    ],
    ['history not found', ['history', 'sts/kstudy-nope', '-n', ns], 5, /statefulset "kstudy-nope" not found/],
    ['undo not found', ['undo', 'ds/kstudy-nope', '-n', ns], 5, /daemonset "kstudy-nope" not found/],
    [
      'revision not found',
      ['history', 'deploy/web', '-n', ns, '--revision', '99'],
      5,
      /unable to find the specified revision 99 of deployment\/web/,
    ],
    [
      'diff revision not found',
      ['history', 'deploy/web', '-n', ns, 'diff', '1', '42'],
      5,
      /unable to find the specified revision 42/,
    ],
    [
      'undo to a revision not there',
      ['undo', 'deploy/web', '-n', ns, '--to-revision', '42'],
      5,
      /^unable to find specified revision 42 in history$/,
    ],
    [
      'undo with no previous revision',
      ['undo', 'deploy/web', '-n', ns],
      5,
      /^no rollout history found for deployment "web"$/,
    ],
    [
      'selector matches nothing',
      ['status', 'deploy', '-l', 'kstudy.test/none=x', '-n', ns],
      1,
      /no deployments match the selector/,
    ],
    [
      'forbidden',
      ['status', 'deploy/web', '-n', ns, '--watch=false'],
      3,
      /cannot get deployment web: forbidden/,
      'nobody',
    ],
    [
      'timeout on a hung server',
      ['status', 'deploy/web', '-n', ns, '--timeout', '2s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --timeout 2s$/,
      'hang',
    ],
    [
      'timeout on a hung server, without watching',
      ['status', 'deploy/web', '-n', ns, '--watch=false', '--timeout', '2s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --timeout 2s$/,
      'hang',
    ],
    [
      'request timeout on a hung server',
      ['history', 'deploy/web', '-n', ns, '--request-timeout', '1s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 1s$/,
      'hang',
    ],
    [
      'undo and watch on a hung server',
      ['undo', 'deploy/web', '-n', ns, '--watch', '--timeout', '2s', '--request-timeout', '1s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 1s$/,
      'hang',
    ],
  ]);
  add('whocan', 'kubectl-whocan', [
    ['no verb', [], 2, /missing required argument 'verb'/],
    ['no resource', ['get'], 2, /name a RESOURCE/],
    ['bad verb', ['get!', 'pods'], 2, /"get!" is not a verb/],
    ['name with list', ['list', 'pods', 'web'], 2, /"list" requests carry no object name/],
    ['url and resource', ['get', 'pods', '--url', '/x'], 2, /RESOURCE and --url cannot be used together/],
    ['url not a path', ['get', '--url', 'healthz'], 2, /--url takes a path/],
    ['n and A', ['get', 'pods', '-n', 'a', '-A'], 2, /cannot be used together/],
    ['bad namespace', ['get', 'pods', '-n', 'A_B'], 2, /"A_B" is not a valid namespace name/],
    ['bad object name', ['get', 'pods', 'Web!'], 2, /"Web!" is not a valid object name/],
    [
      'signer without a domain',
      ['approve', 'signers', 'kube-apiserver-client'],
      2,
      /"kube-apiserver-client" is not a valid signer name/,
    ],
    ['namespace name with a dot', ['delete', 'namespaces', 'a.b'], 2, /"a\.b" is not a valid namespace name/],
    ['cluster role name with a slash', ['bind', 'clusterroles', 'a/b'], 2, /"a\/b" is not a valid cluster role name/],
    [
      'group name with a line break',
      ['impersonate', 'groups', 'system:masters\n'],
      2,
      /^"system:masters\\n" is not a valid object name$/,
    ],
    ['unknown resource', ['get', 'pdos'], 2, /the server has no resource type "pdos"/],
    ['unknown subresource', ['get', 'pods/logz'], 2, /pods has no subresource "logz"/],
    [
      'too many slashes',
      ['get', 'pods/log/x'],
      2,
      /"pods\/log\/x" is not a RESOURCE: expected RESOURCE\[\.GROUP\]\[\/SUBRESOURCE\]/,
    ],
    ['resource with a space', ['get', 'pods with space'], 2, /"pods with space" is not a RESOURCE/],
    [
      'as with a line break',
      ['get', 'pods', '--as', 'bob\nx'],
      2,
      /--as holds a line break or another control character/,
    ],
    [
      'request timeout on a hung server',
      ['get', 'pods', '--request-timeout', '1s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 1s$/,
      'hang',
    ],
    [
      'incomplete and nobody',
      ['create', 'pods/eviction', '-n', ns, '--as', 'kstudy-nobody'],
      3,
      /no subject found, but the answer is incomplete: you may not list/,
    ],
  ]);
  add('access', 'kubectl-study_access', [
    ['sa without slash', ['--sa', 'x'], 2, /--sa takes NAMESPACE\/NAME/],
    ['sa bad namespace', ['--sa', 'Bad_NS/x'], 2, /"Bad_NS" is not a valid namespace name/],
    ['sa and as', ['--sa', 'a/b', '--as', 'c'], 2, /name the subject two ways/],
    ['group without user', ['--as-group', 'g'], 2, /--as-group needs --as/],
    ['empty as', ['--as', ''], 2, /--as was given an empty user name/],
    ['as-uid', ['--as', 'u', '--as-uid', '5'], 2, /--as-uid is not used here/],
    ['why empty resource', ['why', 'get', ''], 2, /an empty RESOURCE/],
    ['why missing resource', ['why', 'get'], 2, /missing required argument 'resource'/],
    ['why unknown resource', ['why', 'get', 'pdos', '--as', 'x'], 2, /the server has no resource type "pdos"/],
    ['why bad verb', ['why', 'g=t', 'pods'], 2, /"g=t" is not a verb/],
    ['why bad signer', ['why', 'approve', 'signers', 'localhost/x'], 2, /"localhost\/x" is not a valid signer name/],
    [
      'why pod named like a group',
      ['why', 'get', 'pods', 'system:masters'],
      2,
      /"system:masters" is not a valid object name/,
    ],
    [
      'request timeout on a hung server',
      ['--request-timeout', '1s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 1s$/,
      'hang',
    ],
    [
      'why, request timeout on a hung server',
      ['why', 'get', 'pods', '--request-timeout', '1s'],
      4,
      /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 1s$/,
      'hang',
    ],
  ]);
  add('ctx', 'kubectl-study_ctx', [
    ['bad timeout', ['--timeout', '0'], 2, /invalid --timeout "0"/],
    ['bad output', ['-o', 'xml'], 2, /unsupported output format "xml"/],
    ['check unknown context', ['check', 'kstudy-nope'], 5, /context "kstudy-nope" does not exist in the kubeconfig/],
    ['check bad timeout', ['check', '--timeout', 'soon'], 2, /invalid --timeout "soon"/],
    ['show unknown context', ['show', 'kstudy-nope'], 5, /context "kstudy-nope" does not exist in the kubeconfig/],
    ['use unknown context', ['use', 'kstudy-nope'], 5, /context "kstudy-nope" does not exist in the kubeconfig/],
    ['use empty', ['use', ''], 2, /an empty context name was given/],
    ['use nothing', ['use'], 2, /missing required argument 'context'/],
    ['use a name with a line break', ['use', 'prod\nx'], 2, /^"prod\\nx" is not a valid context name$/],
    [
      'use a name as EKS writes it',
      ['use', 'arn:aws:eks:eu-west-1:1:cluster/kstudy-nope'],
      5,
      /context "arn:aws:eks:eu-west-1:1:cluster\/kstudy-nope" does not exist/,
    ],
    ['namespace invalid', ['namespace', 'Not_Valid'], 2, /"Not_Valid" is not a valid namespace name/],
    [
      'namespace unknown context',
      ['namespace', 'web', '--context', 'kstudy-nope'],
      5,
      /context "kstudy-nope" does not exist/,
    ],
    [
      'missing --kubeconfig',
      ['--kubeconfig', '/tmp/kstudy-no-such-kubeconfig'],
      5,
      /kubeconfig file \/tmp\/kstudy-no-such-kubeconfig does not exist/,
    ],
    ['empty --kubeconfig', ['--kubeconfig', ''], 2, /--kubeconfig was given an empty path/],
    ['show with a broken file', ['show'], 2, /kubeconfig .*not-yaml is not valid YAML/, 'not-yaml'],
    ['use with a broken file', ['use', 'x'], 2, /kubeconfig .*not-yaml is not valid YAML/, 'not-yaml'],
    ['namespace with a broken file', ['namespace', 'web'], 2, /kubeconfig .*not-yaml is not valid YAML/, 'not-yaml'],
    [
      'check with a field of the wrong type',
      ['check'],
      2,
      /cluster\.server must be a string, not a number/,
      'server-number',
    ],
    ['check a context twice', ['check', 'a', 'a'], 2, /context "a" is named twice/],
    ['typo in a subcommand', ['chek'], 2, /^unknown command 'chek'$/],
    ['unknown subcommand', ['usse', 'x'], 2, /too many arguments|unknown command/],
  ]);
  add('umbrella', 'kubectl-study', [
    ['unknown command', ['dran'], 2, /unknown command 'dran'/],
    ['version extra', ['version', 'x'], 2, /too many arguments/],
    ['drain via umbrella', ['drain'], 2, /name at least one node/],
    ['whocan via umbrella', ['whocan'], 2, /missing required argument 'verb'/],
  ]);
  // The same broken kubeconfigs, met by every command that talks to a cluster.
  const commands: Array<[string, string[]]> = [
    ['kubectl-whocan', ['get', 'pods']],
    ['kubectl-study_drain', [node, '--dry-run']],
    ['kubectl-study_rollout', ['history', 'deploy/web', '-n', ns]],
  ];
  const broken: Array<[string, number, RegExp]> = [
    ['not-yaml', 2, /kubeconfig .*not-yaml is not valid YAML/],
    ['top-list', 2, /is not a kubeconfig: expected a mapping at the top level/],
    ['clusters-not-list', 2, /"clusters" must be a list/],
    ['empty', 2, /no current context is set in the kubeconfig/],
    ['unknown-current', 5, /context "gone" does not exist in the kubeconfig/],
    ['no-current', 2, /no current context is set/],
    ['context-no-cluster', 5, /names no cluster/],
    ['context-cluster-missing', 5, /cluster "nowhere" .*does not exist/],
    ['context-user-missing', 5, /user "nobody" .*does not exist/],
    ['no-server', 2, /has no server address/],
    ['bad-port', 2, /has port 70000, which is not a port/],
    ['bad-scheme', 2, /has the scheme ftp/],
    ['not-url', 2, /is not a URL/],
    ['ca-not-base64', 2, /certificate-authority-data is not valid base64/],
    ['ca-not-cert', 2, /certificate-authority-data does not hold a PEM certificate/],
    ['ca-dir', 2, /certificate-authority names .*, which is a directory/],
    ['ca-missing-file', 2, /certificate-authority names .*, which does not exist/],
    ['cert-not-base64', 2, /client-certificate-data is not valid base64/],
    ['cert-not-cert', 2, /client-certificate-data does not hold a PEM certificate/],
    ['key-not-key', 2, /client-key-data does not hold a PEM private key/],
    ['key-dir', 2, /client-key names .*, which is a directory/],
    ['cert-without-key', 2, /client-key is missing/],
    ['token-file-missing', 2, /token file .* cannot be read/],
    ['exec-missing', 2, /exec plugin "kstudy-no-such-sso-helper" is not on PATH/],
    ['exec-fails', 6, /exec plugin "sh" failed \(exit code 3\): token expired, log in again/],
    ['exec-junk', 2, /exec plugin "sh" printed something that is not an ExecCredential/],
    ['exec-kind', 2, /not an ExecCredential \(kind "Status"\)/],
    [
      'exec-version',
      2,
      /apiVersion client.authentication.k8s.io\/v1beta1, the kubeconfig asks for client.authentication.k8s.io\/v1/,
    ],
    ['exec-empty', 2, /neither a token nor a client certificate/],
    ['exec-not-executable', 2, /cannot be run \(permission denied\)/],
    ['auth-provider', 2, /auth-provider "keystone" is not supported/],
    ['oidc-no-issuer', 2, /^user ".*": auth-provider "oidc" has no idp-issuer-url$/],
    ['oidc-no-client-id', 2, /^user ".*": auth-provider "oidc" has no client-id$/],
    ['oidc-no-id-token', 2, /^user ".*": auth-provider "oidc": it has no id-token, and no refresh-token to get one$/],
    ['oidc-not-jwt', 2, /auth-provider "oidc": its id-token is not a JWT, so its expiry cannot be read$/],
    ['oidc-expired', 6, /auth-provider "oidc": its id-token expired at .*, and there is no refresh-token to renew it$/],
    ['oidc-no-exp', 6, /its id-token carries no expiry \(exp\), which kubectl takes as expired/],
    ['oidc-expired-refresh', 6, /its id-token expired at .*; kubectl-study does not refresh oidc tokens$/],
    ['oidc-refresh-only', 6, /it has no id-token; kubectl-study does not refresh oidc tokens$/],
    ['oidc-expired-bad-issuer', 2, /its idp-issuer-url is not an https URL, so kubectl cannot refresh it either$/],
    ['azure', 2, /^user ".*": auth-provider "azure" is not supported: kubectl removed it$/],
    ['gcp', 2, /^user ".*": auth-provider "gcp" is not supported: kubectl removed it$/],
    ['web-page', 6, /: the server answered with a web page \(text\/html\), not JSON$/],
    ['closed-port', 6, /connection refused/],
    ['wrong-ca', 6, /unknown authority/],
    ['wrong-name', 6, /not valid for this host name/],
    ['expired-cert', 6, /rejected the credentials|certificate/],
    ['bad-token', 6, /rejected the credentials/],
    ['proxy-refused', 6, /through the proxy 127\.0\.0\.1:\d+ \(proxy-url\): connection refused/],
    ['dns', 6, /does not resolve/],
    ['server-number', 2, /clusters\[0\] \(".*"\)\.cluster\.server must be a string, not a number/],
    ['token-number', 2, /users\[0\] \(".*"\)\.user\.token must be a string, not a number/],
    ['exec-args-string', 2, /user\.exec\.args must be a list of strings, not a string/],
    ['namespace-bool', 2, /context\.namespace must be a string, not a boolean/],
    ['proxy-invalid', 2, /proxy-url is not a URL/],
    ['proxy-socks-refused', 6, /through the proxy 127\.0\.0\.1:\d+ \(proxy-url\): connection refused/],
    ['proxy-https-refused', 6, /through the proxy 127\.0\.0\.1:\d+ \(proxy-url\): connection refused/],
    ['token-newline', 2, /token holds a line break/],
    ['exec-v1alpha1', 2, /exec\.apiVersion is "client\.authentication\.k8s\.io\/v1alpha1"/],
    [
      'exec-cert-junk',
      2,
      /exec plugin "sh" returned an ExecCredential whose status\.clientCertificateData is not a PEM certificate/,
    ],
    ['ca-data-empty', 6, /unknown authority/],
    ['exec-no-mode', 2, /exec\.interactiveMode is not set/],
    ['exec-always', 2, /exec plugin "sh" has interactiveMode Always, and standard input is not a terminal/],
  ];
  for (const [plugin, args] of commands) {
    for (const [file, code, error] of broken)
      all.push({ group: `kubeconfig (${plugin})`, name: file, plugin, args, kubeconfig: file, code, error });
  }
  return all;
}

test('the catalog of bad input, faults and misuse: exit code, one line naming the cause, no stack trace, nothing changed', async (t) => {
  const fx = await fixture(t);
  const list = cases(fx.ns, fx.node);
  assert.ok(list.length >= 150, `${list.length} cases`);
  const kubeconfigFiles = [...Object.values(fx.files), fx.env.KUBECONFIG!];
  const before = kubeconfigFiles.map(sha);
  const mark = auditMark();
  const nodeBefore = JSON.stringify((await apis().core.readNode({ name: fx.node })).spec);
  const failures: string[] = [];
  const byGroup = new Map<string, number>();
  await mapLimit(list, 4, async (c) => {
    const env = { ...fx.env, ...(c.kubeconfig ? { KUBECONFIG: fx.files[c.kubeconfig] } : {}), PATH: process.env.PATH };
    const r = await runPlugin(c.plugin, c.args, { env, timeoutMs: 120_000 });
    const problems = check(c, r);
    if (problems.length)
      failures.push(
        `${c.group} / ${c.name} (${c.plugin} ${c.args.join(' ')}): ${problems.join('; ')}\n    stderr: ${r.stderr.trim().split('\n').join('\n            ')}`,
      );
    byGroup.set(c.group, (byGroup.get(c.group) ?? 0) + 1);
  });
  t.diagnostic(`${list.length} cases: ${[...byGroup].map(([g, n]) => `${g} ${n}`).join(', ')}`);
  assert.deepEqual(failures, [], `${failures.length} of ${list.length} cases failed:\n${failures.join('\n')}`);
  // Nothing changed: no write by the test's users but access and identity reviews, the kubeconfigs byte for byte, the node as it was.
  const writes = [...writesBy(mark, fx.user), ...writesBy(mark, 'kstudy-nobody')].filter(
    (e) => !/accessreviews|selfsubjectreviews/.test(e.objectRef?.resource ?? ''),
  );
  assert.deepEqual(
    writes.map((e) => `${e.verb} ${e.requestURI}`),
    [],
  );
  assert.deepEqual(kubeconfigFiles.map(sha), before);
  assert.equal(JSON.stringify((await apis().core.readNode({ name: fx.node })).spec), nodeBefore);
  assert.equal(fx.issuer.connections(), 0, 'no oidc issuer was asked for a token');
});

test('every auth-provider configuration through study-ctx check and whocan: the provider and what is wrong named, a current oidc id-token used, no issuer asked', async (t) => {
  const ns = await testNamespace(t, 'cat-auth');
  await apis().core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'oidc-probe' } } });
  // A service account's token is a JWT the API server accepts: the id-token of an oidc user that authenticates.
  const idToken = await serviceAccountToken(ns, 'oidc-probe');
  const hang = await hangingListener();
  t.after(hang.close);
  const issuer = await hangingListener();
  t.after(issuer.close);
  const dir = tempDir('kstudy-catalog-auth-');
  const files = kubeconfigs(dir, mintUser(`catalog-auth-${suffix()}`), {
    hang: hang.port,
    closed: await closedPort(),
    issuer: issuer.port,
    page: await closedPort(),
  });
  const current = path.join(dir, 'oidc-current');
  const doc = parseYaml(readFileSync(files.good!, 'utf8')) as Doc;
  doc.users[0]!.user = oidcUser(issuer.port, { 'id-token': idToken, 'refresh-token': 'kstudy-secret-refresh' });
  writeFileSync(current, toYaml(doc));
  const cases: Array<[string, string, RegExp]> = [
    ['oidc-no-issuer', 'config-error', /auth-provider "oidc" has no idp-issuer-url$/],
    ['oidc-no-client-id', 'config-error', /auth-provider "oidc" has no client-id$/],
    ['oidc-no-id-token', 'config-error', /it has no id-token, and no refresh-token to get one$/],
    ['oidc-not-jwt', 'config-error', /its id-token is not a JWT/],
    ['oidc-expired', 'unauthorized', /its id-token expired at .*, and there is no refresh-token to renew it$/],
    ['oidc-no-exp', 'unauthorized', /carries no expiry \(exp\)/],
    ['oidc-expired-refresh', 'unauthorized', /kubectl-study does not refresh oidc tokens$/],
    ['oidc-refresh-only', 'unauthorized', /it has no id-token; kubectl-study does not refresh oidc tokens$/],
    ['oidc-expired-bad-issuer', 'config-error', /idp-issuer-url is not an https URL/],
    ['azure', 'config-error', /auth-provider "azure" is not supported: kubectl removed it$/],
    ['gcp', 'config-error', /auth-provider "gcp" is not supported: kubectl removed it$/],
    ['auth-provider', 'config-error', /auth-provider "keystone" is not supported/],
  ];
  const failures: string[] = [];
  await mapLimit(cases, 4, async ([file, outcome, message]) => {
    const r = await runPlugin('kubectl-study_ctx', ['check', '-o', 'json'], { env: { KUBECONFIG: files[file] } });
    const check = (JSON.parse(r.stdout || '{}') as { checks?: Array<Record<string, unknown>> }).checks?.[0];
    if (r.code !== 3) failures.push(`${file}: study-ctx check exit ${r.code}, expected 3`);
    if (check?.outcome !== outcome) failures.push(`${file}: outcome ${String(check?.outcome)}, expected ${outcome}`);
    if (!message.test(String(check?.message))) failures.push(`${file}: "${String(check?.message)}" !~ ${message}`);
    if (!check?.hint) failures.push(`${file}: no hint`);
    if (/kstudy-secret/.test(r.stdout + r.stderr)) failures.push(`${file}: a secret in the output`);
  });
  assert.deepEqual(failures, []);
  // A current id-token authenticates (its refresh-token unused): the check sees the service account, and whocan
  // asks as it (it may not read RBAC, so its answer is incomplete: an answer, not an authentication error).
  const check = await runPlugin('kubectl-study_ctx', ['check', '-o', 'json'], { env: { KUBECONFIG: current } });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const identity = (JSON.parse(check.stdout) as { checks: Array<{ identity?: { username?: string } }> }).checks[0];
  assert.equal(identity?.identity?.username, `system:serviceaccount:${ns}:oidc-probe`);
  const who = await runPlugin('kubectl-whocan', ['get', 'pods', '-n', ns], { env: { KUBECONFIG: current } });
  assert.equal(who.code, 3, who.stderr);
  assert.match(who.stderr, /^error: no subject found, but the answer is incomplete: you may not list /m);
  assert.doesNotMatch(who.stdout + who.stderr, /kstudy-secret/);
  assert.equal(issuer.connections(), 0, 'no oidc issuer was asked for a token');
});
