/**
 * kubectl study-ctx against kubeconfig files generated here (real
 * certificates, several files, shadowed names) and the local cluster.
 */
import assert from 'node:assert/strict';
import { cpSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { createCa, issue, type KeyPair } from '../cluster/pki.js';
import { mapLimit } from '../../src/base/concurrency.js';
import {
  auditMark,
  cluster,
  kubectl,
  mintUser,
  runPlugin,
  serverRelease,
  suffix,
  tempDir,
  writesBy,
  ADMIN_USER,
} from '../support/cluster.js';
import { closedPort, hangingListener } from '../support/net.js';

const DAY = 86_400_000;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function clusterCa(): KeyPair {
  const info = cluster();
  return { certPem: readFileSync(info.caCert, 'utf8'), keyPem: readFileSync(info.caKey, 'utf8') };
}

interface Fixture {
  dir: string;
  files: string[];
  env: NodeJS.ProcessEnv;
  closedPort: number;
  hangPort: number;
}

/** Two kubeconfig files (and a missing third) with shadowed names, real certificates and an exec plugin. */
async function fixture(hangPort: number, closedPort: number): Promise<Fixture> {
  const info = cluster();
  const ca = clusterCa();
  const dir = tempDir('kstudy-ctx-');
  mkdirSync(path.join(dir, 'one', 'certs'), { recursive: true });
  mkdirSync(path.join(dir, 'two'), { recursive: true });
  const admin: KeyPair = {
    certPem: readFileSync(path.join(info.dir, 'pki', 'admin.crt'), 'utf8'),
    keyPem: readFileSync(path.join(info.dir, 'pki', 'admin.key'), 'utf8'),
  };
  const alice = issue(ca, {
    commonName: 'alice',
    organizations: ['team-a'],
    notAfter: new Date(Date.now() + 200 * DAY),
  });
  writeFileSync(path.join(dir, 'one', 'certs', 'alice.crt'), alice.certPem);
  writeFileSync(path.join(dir, 'one', 'certs', 'alice.key'), alice.keyPem);
  const expired = issue(ca, {
    commonName: 'old-timer',
    notBefore: new Date(Date.now() - 400 * DAY),
    notAfter: new Date(Date.now() - 3 * DAY),
  });
  const soon = issue(ca, { commonName: 'soon', notAfter: new Date(Date.now() + 10 * DAY + 3_600_000) });
  const caData = b64(ca.certPem);
  const otherCa = createCa('some-other-ca');
  const one = path.join(dir, 'one', 'config');
  writeFileSync(
    one,
    `# first file: wins every name it defines
apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: local
  cluster:
    server: ${info.server}
    certificate-authority-data: ${caData}
- name: shared
  cluster:
    server: https://127.0.0.1:${closedPort}
    certificate-authority-data: ${caData}
- name: hang
  cluster:
    server: https://127.0.0.1:${hangPort}
    certificate-authority-data: ${caData}
- name: strange-ca
  cluster:
    server: ${info.server}
    certificate-authority-data: ${b64(otherCa.certPem)}
- name: wrong-name
  cluster:
    server: ${info.server}
    certificate-authority-data: ${caData}
    tls-server-name: not-the-apiserver.example
users:
- name: admin
  user:
    client-certificate-data: ${b64(admin.certPem)}
    client-key-data: ${b64(admin.keyPem)}
- name: alice
  user:
    client-certificate: certs/alice.crt
    client-key: certs/alice.key
contexts:
- name: admin
  context: {cluster: local, user: admin}
- name: alice
  context: {cluster: local, user: alice, namespace: team-a}
- name: closed
  context: {cluster: shared, user: admin}
- name: hang
  context: {cluster: hang, user: admin}
- name: strange-ca
  context: {cluster: strange-ca, user: admin}
- name: wrong-name
  context: {cluster: wrong-name, user: admin}
`,
  );
  const two = path.join(dir, 'two', 'config');
  writeFileSync(
    two,
    `apiVersion: v1
kind: Config
current-context: expired
clusters:
- name: shared
  cluster:
    server: https://shadowed.invalid:6443
users:
- name: alice
  user:
    token: shadowed-token
- name: expired
  user:
    client-certificate-data: ${b64(expired.certPem)}
    client-key-data: ${b64(expired.keyPem)}
- name: soon
  user:
    client-certificate-data: ${b64(soon.certPem)}
    client-key-data: ${b64(soon.keyPem)}
- name: sso
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kstudy-no-such-plugin
      args: [login]
contexts:
- name: expired
  context: {cluster: local, user: expired}
- name: soon
  context: {cluster: local, user: soon}
- name: sso
  context: {cluster: local, user: sso}
- name: admin
  context: {cluster: shared, user: expired}
`,
  );
  const files = [one, path.join(dir, 'missing', 'config'), two];
  return { dir, files, env: { KUBECONFIG: files.join(path.delimiter) }, closedPort, hangPort };
}

interface CtxRow {
  name: string;
  current: boolean;
  cluster: string;
  server: string;
  user: string;
  namespace: string;
  auth: { method: string; detail?: string };
  cert?: { status: string; daysLeft?: number };
  files: { context: string };
}

test('the list shows every context of the merged files, with auth, expiry and problems', async (t) => {
  const hang = await hangingListener();
  t.after(hang.close);
  const fx = await fixture(hang.port, await closedPort());
  const r = await runPlugin('kubectl-study_ctx', ['-o', 'json'], { env: fx.env });
  assert.equal(r.code, 3, `error-level problems exit 3\n${r.stderr}`);
  const list = JSON.parse(r.stdout) as {
    kind: string;
    currentContext: string;
    contexts: CtxRow[];
    problems: Array<{ code: string; severity: string; subject: { name: string }; message: string }>;
    files: Array<{ status: string }>;
  };
  assert.equal(list.kind, 'ContextList');
  assert.equal(list.currentContext, 'admin');
  assert.deepEqual(
    list.files.map((f) => f.status),
    ['loaded', 'missing', 'loaded'],
  );
  const rows = new Map(list.contexts.map((c) => [c.name, c]));
  assert.deepEqual(
    [...rows.keys()],
    ['admin', 'alice', 'closed', 'hang', 'strange-ca', 'wrong-name', 'expired', 'soon', 'sso'],
  );
  assert.equal(rows.get('admin')?.current, true);
  assert.equal(rows.get('admin')?.files.context, fx.files[0]);
  assert.equal(rows.get('alice')?.auth.method, 'client-certificate');
  assert.equal(rows.get('alice')?.cert?.status, 'ok');
  assert.ok((rows.get('alice')?.cert?.daysLeft ?? 0) >= 198);
  assert.equal(rows.get('alice')?.namespace, 'team-a');
  assert.equal(rows.get('closed')?.server, `https://127.0.0.1:${fx.closedPort}`);
  assert.equal(rows.get('expired')?.cert?.status, 'expired');
  assert.equal(rows.get('soon')?.cert?.status, 'expiring');
  assert.equal(rows.get('soon')?.cert?.daysLeft, 10);
  assert.deepEqual(rows.get('sso')?.auth, { method: 'exec', methods: ['exec'], detail: 'kstudy-no-such-plugin' });
  const problem = (code: string): string[] => list.problems.filter((p) => p.code === code).map((p) => p.subject.name);
  assert.deepEqual(problem('CertExpired'), ['expired']);
  assert.deepEqual(problem('CertExpiringSoon'), ['soon']);
  assert.deepEqual(problem('ExecNotFound'), ['sso']);
  assert.deepEqual(problem('Shadowed').sort(), ['admin', 'alice', 'shared']);
  assert.ok(
    list.problems
      .find((p) => p.code === 'Shadowed' && p.subject.name === 'shared')
      ?.message.includes(`${fx.files[0]} defines it first`),
  );

  const table = await runPlugin('kubectl-study_ctx', [], { env: fx.env });
  assert.equal(table.code, 3);
  const lines = table.stdout.split('\n');
  assert.match(lines[0] ?? '', /^CURRENT\s+NAME\s+CLUSTER\s+SERVER\s+USER\s+NAMESPACE\s+AUTH\s+CERT EXPIRES$/);
  assert.match(
    lines[1] ?? '',
    /^\*\s+admin\s+local\s+https:\/\/127\.0\.0\.1:\d+\s+admin\s+<none>\s+client-certificate\s+\d+d$/,
  );
  assert.match(table.stdout, /expired\s+local\s+\S+\s+expired\s+<none>\s+client-certificate\s+expired 3d ago/);
  assert.match(table.stdout, /PROBLEMS: \d+ errors?, \d+ warnings?/);
  const wide = await runPlugin('kubectl-study_ctx', ['-o', 'wide'], { env: fx.env });
  assert.match(wide.stdout.split('\n')[0] ?? '', /PROBLEMS\s+FILE$/);
  assert.ok(wide.stdout.includes(fx.files[2]!));
});

test('the merge agrees with kubectl config view on the same KUBECONFIG', async (t) => {
  const hang = await hangingListener();
  t.after(hang.close);
  const fx = await fixture(hang.port, await closedPort());
  const view = await kubectl(['config', 'view', '-o', 'json'], { env: { KUBECONFIG: fx.env.KUBECONFIG } });
  assert.equal(view.code, 0, view.stderr);
  const k = JSON.parse(view.stdout) as {
    'current-context': string;
    clusters: Array<{ name: string; cluster: { server: string } }>;
    users: Array<{ name: string; user: Record<string, unknown> }>;
    contexts: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  };
  const ours = await runPlugin('kubectl-study_ctx', ['show', 'alice', '-o', 'json'], { env: fx.env });
  const alice = JSON.parse(ours.stdout) as {
    user: { clientCertificate: { file: string } };
    cluster: { server: string };
  };
  const list = JSON.parse((await runPlugin('kubectl-study_ctx', ['-o', 'json'], { env: fx.env })).stdout) as {
    currentContext: string;
    contexts: CtxRow[];
  };

  assert.equal(list.currentContext, k['current-context']);
  assert.deepEqual(list.contexts.map((c) => c.name).sort(), k.contexts.map((c) => c.name).sort());
  for (const kc of k.contexts) {
    const row = list.contexts.find((c) => c.name === kc.name);
    assert.equal(row?.cluster, kc.context.cluster, `cluster of ${kc.name}`);
    assert.equal(row?.user, kc.context.user, `user of ${kc.name}`);
    assert.equal(row?.namespace, kc.context.namespace ?? '', `namespace of ${kc.name}`);
    const server = k.clusters.find((c) => c.name === kc.context.cluster)?.cluster.server ?? '';
    assert.equal(row?.server, server, `server of ${kc.name}`);
  }
  // The first file's alice (certificate files, relative paths) wins over the second's token.
  const kAlice = k.users.find((u) => u.name === 'alice')?.user ?? {};
  assert.equal(kAlice.token, undefined);
  // kubectl shows the path as written; both resolve it against the file that names it.
  assert.equal(
    alice.user.clientCertificate.file,
    path.resolve(path.dirname(fx.files[0]!), String(kAlice['client-certificate'])),
  );
  assert.equal(alice.user.clientCertificate.file, path.join(path.dirname(fx.files[0]!), 'certs', 'alice.crt'));
});

test('check reports identity and version, and each failure within the timeout, in parallel', async (t) => {
  const hang = await hangingListener();
  t.after(hang.close);
  const fx = await fixture(hang.port, await closedPort());
  // A second hanging context, in a third file: two whole timeouts if the checks ran one after another.
  const extra = path.join(tempDir('kstudy-ctx-hang2-'), 'config');
  writeFileSync(
    extra,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: hang2',
      '  cluster:',
      `    server: https://127.0.0.1:${hang.port}`,
      '    insecure-skip-tls-verify: true',
      'contexts:',
      '- name: hang2',
      '  context: {cluster: hang2}',
      '',
    ].join('\n'),
  );
  // A timeout a loaded machine's good contexts answer well within; the hanging ones wait it out, once, side by side.
  const r = await runPlugin('kubectl-study_ctx', ['check', '--timeout', '10s', '-o', 'json'], {
    env: { ...fx.env, KUBECONFIG: `${fx.env.KUBECONFIG}${path.delimiter}${extra}`, PATH: process.env.PATH },
  });
  assert.equal(r.code, 3, r.stderr);
  const result = JSON.parse(r.stdout) as {
    elapsedMs: number;
    checks: Array<{
      context: string;
      ok: boolean;
      outcome: string;
      failedStage?: string;
      identity?: { username: string; groups: string[] };
      serverVersion?: string;
      rttMs?: number;
      elapsedMs: number;
      hint?: string;
      message?: string;
    }>;
  };
  const by = new Map(result.checks.map((c) => [c.context, c]));
  assert.equal(by.get('admin')?.ok, true, JSON.stringify(by.get('admin')));
  assert.equal(by.get('admin')?.identity?.username, ADMIN_USER);
  assert.ok(by.get('admin')?.identity?.groups.includes('system:masters'));
  assert.equal(by.get('admin')?.serverVersion, serverRelease().version);
  assert.equal(typeof by.get('admin')?.rttMs, 'number');
  assert.equal(by.get('alice')?.identity?.username, 'alice');
  assert.ok(by.get('alice')?.identity?.groups.includes('team-a'));
  assert.equal(by.get('closed')?.outcome, 'unreachable');
  assert.equal(by.get('closed')?.failedStage, 'tcp');
  assert.match(by.get('closed')?.message ?? '', /connection refused/);
  assert.equal(by.get('hang')?.outcome, 'timeout');
  assert.equal(by.get('hang')?.failedStage, 'tls');
  assert.equal(
    by.get('hang')?.message,
    'no answer within 10000 ms (during the TLS handshake)',
    "the hang ends by the context's own --timeout",
  );
  assert.equal(by.get('expired')?.outcome, 'unauthorized');
  assert.match(by.get('expired')?.hint ?? '', /expired on/);
  assert.equal(by.get('sso')?.ok, false);
  assert.equal(by.get('strange-ca')?.outcome, 'tls-failed');
  assert.match(by.get('strange-ca')?.message ?? '', /unknown authority/);
  assert.equal(by.get('wrong-name')?.outcome, 'tls-failed');
  assert.match(by.get('wrong-name')?.message ?? '', /not valid for this host name/);
  // In parallel: both hanging contexts were waiting on the listener at the same time, neither after the other.
  assert.equal(by.get('hang2')?.outcome, 'timeout');
  assert.equal(by.get('hang2')?.message, 'no answer within 10000 ms (during the TLS handshake)');
  assert.equal(hang.mostWaitingAtOnce(), 2, 'both TLS handshakes were waiting at once');

  const table = await runPlugin('kubectl-study_ctx', ['check', 'admin', 'closed', '--timeout', '10s'], { env: fx.env });
  assert.equal(table.code, 3);
  assert.match(table.stdout, /^NAME\s+SERVER\s+RESULT\s+IDENTITY\s+VERSION\s+RTT\s+DETAIL$/m);
  assert.match(
    table.stdout,
    new RegExp(
      `^admin\\s+\\S+\\s+ok\\s+kstudy-admin \\[system:masters,system:authenticated\\]\\s+${serverRelease().version.replaceAll('.', '\\.')}\\s+\\d+ms\\s+<none>$`,
      'm',
    ),
  );
  assert.match(table.stdout, /^closed\s+\S+\s+unreachable\s+<none>\s+<none>\s+<none>\s+tcp: connection refused$/m);
  const ok = await runPlugin('kubectl-study_ctx', ['check', 'admin', '--timeout', '10s'], { env: fx.env });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal(
    ok.stderr,
    '',
    'a successful check prints nothing on stderr (with STUDY_BIN: no warning of the runtime either)',
  );
});

test('study-ctx makes no write request apart from identity reviews', async () => {
  // A user of this test's own, so the audit log attributes writes exactly while other tests run.
  const reader = `ctx-reader-${suffix()}`;
  const env = { KUBECONFIG: mintUser(reader, ['system:masters']) };
  const mark = auditMark();
  const check = await runPlugin('kubectl-study_ctx', ['check', '-o', 'json'], { env });
  assert.equal(check.code, 0, check.stderr);
  await runPlugin('kubectl-study_ctx', ['-o', 'yaml'], { env });
  await runPlugin('kubectl-study_ctx', ['show'], { env });
  const writes = writesBy(mark, reader);
  assert.equal(writes.length, 1, 'the one identity review is logged');
  assert.deepEqual(
    writes.map((w) => `${w.verb} ${w.objectRef?.resource}`),
    ['create selfsubjectreviews'],
  );
});

test('use and namespace write the file kubectl would write, atomically, keeping the rest', async (t) => {
  const hang = await hangingListener();
  t.after(hang.close);
  const fx = await fixture(hang.port, await closedPort());
  // A twin of the files for kubectl to change the same way.
  const twinDir = tempDir('kstudy-twin-');
  cpSync(fx.dir, twinDir, { recursive: true });
  const twin = fx.files.map((f) => f.replace(fx.dir, twinDir));
  const twinEnv = { KUBECONFIG: twin.join(path.delimiter) };
  const before = fx.files.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  });

  const r = await runPlugin('kubectl-study_ctx', ['use', 'soon'], { env: fx.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Switched to context "soon" \(was "admin"\); wrote .*one\/config/);
  assert.equal((await kubectl(['config', 'use-context', 'soon'], { env: twinEnv })).code, 0);
  const changed = (files: string[], orig: string[]): boolean[] =>
    files.map((f, i) => {
      try {
        return readFileSync(f, 'utf8') !== orig[i];
      } catch {
        return false;
      }
    });
  assert.deepEqual(changed(fx.files, before), changed(twin, before), 'the same files change');
  assert.equal((await kubectl(['config', 'current-context'], { env: fx.env })).stdout.trim(), 'soon');
  assert.equal(
    readFileSync(fx.files[0]!, 'utf8'),
    before[0]!.replace('current-context: admin', 'current-context: soon'),
    'that one value changed, not a byte more',
  );

  const ns = await runPlugin('kubectl-study_ctx', ['namespace', 'kube-system', '--context', 'expired'], {
    env: fx.env,
  });
  assert.equal(ns.code, 0, ns.stderr);
  assert.equal(
    (await kubectl(['config', 'set-context', 'expired', '--namespace', 'kube-system'], { env: twinEnv })).code,
    0,
  );
  const view = JSON.parse((await kubectl(['config', 'view', '-o', 'json'], { env: fx.env })).stdout) as {
    contexts: Array<{ name: string; context: { namespace?: string } }>;
  };
  assert.equal(view.contexts.find((c) => c.name === 'expired')?.context.namespace, 'kube-system');
  assert.deepEqual(changed(fx.files, before), changed(twin, before));

  const bad = await runPlugin('kubectl-study_ctx', ['use', 'nope'], { env: fx.env });
  assert.equal(bad.code, 5);
  assert.match(bad.stderr, /^error: context "nope" does not exist in the kubeconfig\nhint: /);

  // A kubeconfig that is a symlink is written through to its target, as kubectl does.
  const real = path.join(tempDir('kstudy-link-'), 'real-config');
  writeFileSync(real, readFileSync(fx.files[0]!, 'utf8'));
  const link = path.join(path.dirname(real), 'link-config');
  symlinkSync(real, link);
  const viaLink = await runPlugin('kubectl-study_ctx', ['use', 'admin', '--kubeconfig', link], { env: {} });
  assert.equal(viaLink.code, 0, viaLink.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.match(readFileSync(real, 'utf8'), /^current-context: admin$/m);
});

test('a canary secret in every credential field never reaches any output', async () => {
  const canary = `kstudy-canary-${suffix()}${suffix()}`;
  const forms = [canary, b64(canary), Buffer.from(canary).toString('base64url'), b64(b64(canary))];
  const dir = tempDir('kstudy-canary-');
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, canary);
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: c1
clusters:
- name: k1
  cluster:
    server: https://user:${canary}@127.0.0.1:${cluster().ports.apiserver}
    certificate-authority-data: ${b64(canary)}
    proxy-url: http://proxy:${canary}@127.0.0.1:9
- name: k2
  cluster:
    server: ${cluster().server}
    insecure-skip-tls-verify: true
users:
- name: u1
  user:
    token: ${canary}
    client-certificate-data: ${b64(canary)}
    client-key-data: ${b64(canary)}
- name: u2
  user:
    username: someone
    password: ${canary}
- name: u3
  user:
    auth-provider:
      name: oidc
      config: {id-token: ${canary}, refresh-token: ${canary}, client-secret: ${canary}}
- name: u4
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: echo
      args: ["--token=${canary}", "--password", "${canary}"]
      env: [{name: TOKEN, value: ${canary}}]
- name: u5
  user:
    token: ${canary}
- name: u6
  user:
    tokenFile: ${tokenFile}
contexts:
- {name: c1, context: {cluster: k1, user: u1}}
- {name: c2, context: {cluster: k2, user: u2}}
- {name: c3, context: {cluster: k2, user: u3}}
- {name: c4, context: {cluster: k2, user: u4}}
- {name: c5, context: {cluster: k2, user: u5}}
- {name: c6, context: {cluster: k2, user: u6}}
`,
  );
  const env = { KUBECONFIG: file };
  const runs: string[][] = [];
  for (const o of [[], ['-o', 'wide'], ['-o', 'json'], ['-o', 'yaml']]) runs.push(o);
  for (const c of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
    for (const o of [[], ['-o', 'json'], ['-o', 'yaml']]) runs.push(['show', c, ...o]);
  for (const o of [[], ['-o', 'json'], ['-o', 'yaml']]) runs.push(['check', '--timeout', '3s', ...o]);
  runs.push(['--check', '--timeout', '3s', '--verbose']);
  runs.push(['check', 'c5', '--verbose']);
  runs.push(['show', 'nope', '--verbose']);
  const results = await Promise.all(runs.map((args) => runPlugin('kubectl-study_ctx', args, { env })));
  results.forEach((r, i) => {
    for (const form of forms) {
      assert.ok(
        !r.stdout.includes(form) && !r.stderr.includes(form),
        `study-ctx ${runs[i]!.join(' ')} leaked the canary:\n${r.stdout}\n${r.stderr}`,
      );
    }
  });
  // Every other command, in every format, with --verbose, through every credential's context: they fail
  // (the credentials are canaries), and neither the failure nor its stack trace may carry one.
  const others: Array<[string, string[]]> = [
    ['kubectl-whocan', ['get', 'pods']],
    ['kubectl-study_access', []],
    ['kubectl-study_drain', ['kwok-node-1', '--dry-run']],
    ['kubectl-study_rollout', ['history', 'deploy/web']],
    ['kubectl-study', ['maintain', 'kwok-node-1', '--dry-run']],
  ];
  const otherRuns: Array<[string, string[]]> = [];
  for (const [plugin, args] of others) {
    for (const c of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
      for (const o of [[], ['-o', 'json'], ['-o', 'yaml']])
        otherRuns.push([plugin, [...args, '--context', c, '--verbose', ...o]]);
  }
  const otherResults = await mapLimit(otherRuns, 6, ([plugin, args]) => runPlugin(plugin, args, { env }));
  otherResults.forEach((r, i) => {
    for (const form of forms) {
      assert.ok(
        !r.stdout.includes(form) && !r.stderr.includes(form),
        `${otherRuns[i]![0]} ${otherRuns[i]![1].join(' ')} leaked the canary:\n${r.stdout}\n${r.stderr}`,
      );
    }
    assert.notEqual(
      r.code,
      0,
      `${otherRuns[i]![0]} ${otherRuns[i]![1].join(' ')} cannot succeed with canary credentials`,
    );
  });
  // The runs did real work: a 401 for the canary token, masked fields in the detail.
  const c5 = results[runs.findIndex((a) => a.join(' ') === 'check c5 --verbose')]!;
  assert.match(c5.stdout, /c5\s.*unauthorized/);
  const show = JSON.parse(results[runs.findIndex((a) => a.join(' ') === 'show c4 -o json')]!.stdout) as {
    user: { exec: { args: string[]; env: Array<{ value: string }> } };
  };
  assert.deepEqual(show.user.exec.args, ['--token=REDACTED', '--password', 'REDACTED']);
});
