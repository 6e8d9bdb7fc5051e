/**
 * Connections as kubectl makes them: a server under a path prefix (as
 * Rancher and API gateways serve it) over plain http (kubectl proxy), a
 * scheme-less server, a forward proxy (proxy-url), and a server that
 * accepts connections and never answers, with signals.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { parseYaml, toYaml } from '../../src/base/yaml.js';
import { REVIEW_CONCURRENCY } from '../../src/kube/reviews.js';
import { REPO_ROOT } from '../cluster/paths.js';
import { cluster, eventually, mintUser, runPlugin, suffix, tempDir, testNamespace } from '../support/cluster.js';
import { hangingListener } from '../support/net.js';
import { allReady, createPool, deployment, podsIn } from '../support/workloads.js';

/** kubectl proxy serving the API under a prefix, over http, authenticated as the given kubeconfig's user. */
async function prefixProxy(t: TestContext, kubeconfig: string, prefix: string): Promise<number> {
  const child = spawn(
    cluster().binaries.kubectl,
    ['proxy', '--port=0', '--address=127.0.0.1', `--api-prefix=${prefix}/`],
    { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => void child.kill());
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await eventually(
    'kubectl proxy to serve',
    async () => Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1] ?? 0) || undefined,
    30_000,
    50,
  );
  return port;
}

/** A forward proxy (HTTP CONNECT tunnels), counting what goes through it. */
async function forwardProxy(t: TestContext): Promise<{ port: number; tunnels: () => number }> {
  let tunnels = 0;
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, tunnels: () => tunnels };
}

function kubeconfigWith(
  base: string,
  mutate: (cluster: Record<string, unknown>, doc: Record<string, unknown>) => void,
): string {
  const doc = parseYaml(readFileSync(base, 'utf8')) as {
    clusters: Array<{ cluster: Record<string, unknown> }>;
  } & Record<string, unknown>;
  mutate(doc.clusters[0]!.cluster, doc);
  const file = path.join(tempDir('kstudy-conn-'), 'config');
  writeFileSync(file, toYaml(doc));
  return file;
}

test('every command works through a server URL with a path, over http (kubectl proxy --api-prefix)', async (t) => {
  const ns = await testNamespace(t, 'conn');
  const pool = await createPool(t, [{}, {}]);
  await deployment(ns, pool, 'web', 2);
  await allReady(ns, 2);
  const admin = mintUser(`conn-${suffix()}`, ['system:masters']);
  const port = await prefixProxy(t, admin, '/k8s/clusters/c-xyz');
  const file = path.join(tempDir('kstudy-prefix-'), 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: rancher',
      `  cluster: {server: "http://127.0.0.1:${port}/k8s/clusters/c-xyz"}`,
      'contexts:',
      '- name: rancher',
      `  context: {cluster: rancher, namespace: ${ns}}`,
      'current-context: rancher',
      '',
    ].join('\n'),
  );
  const env = { KUBECONFIG: file };
  const ok = async (plugin: string, args: string[]): Promise<string> => {
    const r = await runPlugin(plugin, args, { env, timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${plugin} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  assert.match(
    await ok('kubectl-study_ctx', ['check']),
    /rancher\s+http:\/\/127\.0\.0\.1:\d+\/k8s\/clusters\/c-xyz\s+ok/,
  );
  assert.match(await ok('kubectl-whocan', ['get', 'pods']), /system:masters/);
  // The admin's matrix: SelfSubjectRulesReview answers every cell (and SelfSubjectAccessReview any it leaves).
  assert.match(await ok('kubectl-study_access', []), /confirmed by SelfSubjectRulesReview/);
  assert.match(await ok('kubectl-study_rollout', ['status', 'deployment/web']), /successfully rolled out/);
  assert.match(await ok('kubectl-study_rollout', ['history', 'deployment/web']), /^1\s/m);
  const node = pool.nodes[0]!;
  const plan = await ok('kubectl-study_drain', [node, '--dry-run', '--ignore-daemonsets', '-o', 'json']);
  const parsed = JSON.parse(plan) as { pods: Array<{ reasons: Array<{ code: string }> }> };
  assert.ok(
    !parsed.pods.some((p) => p.reasons.some((r) => r.code === 'ControllerMissing')),
    'the controllers were found under the prefix',
  );
  // A real drain: evictions, and the wait for the pods to be gone (a watch) through the prefix.
  assert.match(
    await ok('kubectl-study_drain', [node, '--ignore-daemonsets', '--yes', '--timeout', '120s']),
    /Result: drained/,
  );
  assert.equal((await podsIn(ns)).filter((p) => p.spec?.nodeName === node && !p.metadata?.deletionTimestamp).length, 0);
  await ok('kubectl-study_drain', ['uncordon', node]);
  assert.match(
    await ok('kubectl-study', ['maintain', pool.nodes[1]!, '--dry-run', '--ignore-daemonsets']),
    /Maintenance plan: 1 node/,
  );
});

test('a scheme-less server is https, as kubectl makes it; proxy-url carries every request, the check included', async (t) => {
  const admin = mintUser(`conn-${suffix()}`, ['system:masters']);
  const schemeless = kubeconfigWith(admin, (c) => (c.server = String(c.server).replace(/^https:\/\//, '')));
  const r = await runPlugin('kubectl-whocan', ['get', 'nodes'], { env: { KUBECONFIG: schemeless } });
  assert.equal(r.code, 0, r.stderr);
  const proxy = await forwardProxy(t);
  const viaProxy = kubeconfigWith(admin, (c) => (c['proxy-url'] = `http://127.0.0.1:${proxy.port}`));
  const check = await runPlugin('kubectl-study_ctx', ['check', '-o', 'json'], { env: { KUBECONFIG: viaProxy } });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const stages = (JSON.parse(check.stdout) as { checks: Array<{ stages: Array<{ stage: string; detail?: string }> }> })
    .checks[0]!.stages;
  assert.match(stages.find((s) => s.stage === 'tcp')?.detail ?? '', /^proxy 127\.0\.0\.1:\d+$/);
  const before = proxy.tunnels();
  const who = await runPlugin('kubectl-whocan', ['get', 'nodes'], { env: { KUBECONFIG: viaProxy } });
  assert.equal(who.code, 0, who.stderr);
  assert.ok(proxy.tunnels() > before, 'whocan went through the proxy');
});

/** A TCP forwarder to the API server, counting connections: each is one TLS handshake of the client. */
async function countingForwarder(t: TestContext): Promise<{ port: number; connections: () => number }> {
  const target = new URL(cluster().server);
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

test('one keep-alive pool per command: hundreds of access reviews over a few TLS connections', async (t) => {
  const ns = await testNamespace(t, 'pool');
  const admin = mintUser(`pool-${suffix()}`, ['system:masters']);
  const fwd = await countingForwarder(t);
  const env = { KUBECONFIG: kubeconfigWith(admin, (c) => (c.server = `https://127.0.0.1:${fwd.port}`)) };
  const access = await runPlugin('kubectl-study_access', ['-n', ns, '-o', 'json'], { env, timeoutMs: 120_000 });
  assert.equal(access.code, 0, access.stderr);
  const m = JSON.parse(access.stdout) as { rows: Array<{ cells: Record<string, { verified?: unknown }> }> };
  const reviews = m.rows
    .flatMap((r) => Object.values(r.cells))
    .filter((c) => c.verified === true || c.verified === false).length;
  assert.ok(reviews >= 300, `every cell confirmed (${reviews} reviews)`);
  // At most REVIEW_CONCURRENCY reviews are in flight, beside the few reads that run with them: each
  // connection carries many requests (one connection per request before keep-alive).
  assert.ok(
    fwd.connections() <= reviews / 8,
    `${reviews} reviews over ${fwd.connections()} connections (bound ${REVIEW_CONCURRENCY} for the reviews)`,
  );

  // whocan's reads (the namespace, the two binding lists and the two role lists) go at most four at a time: four
  // connections, each carrying several requests.
  const before = fwd.connections();
  const who = await runPlugin(
    'kubectl-whocan',
    ['get', 'pods', '-n', ns, '-o', 'json', '--cache-dir', tempDir('kstudy-cache-')],
    { env },
  );
  assert.equal(who.code, 0, who.stderr);
  assert.ok(
    fwd.connections() - before <= 4,
    `whocan opened ${fwd.connections() - before} connections for its six or more requests`,
  );
});

test('an exec credential about to expire is fetched again, request after request, over the same pool', async (t) => {
  const admin = parseYaml(readFileSync(mintUser(`exec-${suffix()}`, ['system:masters']), 'utf8')) as {
    clusters: Array<{ cluster: Record<string, unknown> }>;
    users: Array<{ user: Record<string, string> }>;
  };
  const pem = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  const dir = tempDir('kstudy-exec-');
  const runs = path.join(dir, 'runs');
  // Expiring within the client's 10 s margin: every request asks the plugin again.
  const credential = {
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1',
    status: {
      clientCertificateData: pem(admin.users[0]!.user['client-certificate-data']),
      clientKeyData: pem(admin.users[0]!.user['client-key-data']),
      expirationTimestamp: new Date(Date.now() + 5000).toISOString(),
    },
  };
  writeFileSync(path.join(dir, 'credential.json'), JSON.stringify(credential));
  const plugin = path.join(dir, 'plugin.sh');
  writeFileSync(plugin, `#!/bin/sh\necho run >> '${runs}'\ncat '${path.join(dir, 'credential.json')}'\n`, {
    mode: 0o755,
  });
  const fwd = await countingForwarder(t);
  const kubeconfig = path.join(dir, 'config');
  writeFileSync(
    kubeconfig,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { ...admin.clusters[0]!.cluster, server: `https://127.0.0.1:${fwd.port}` } }],
      users: [
        {
          name: 'sso',
          user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } },
        },
      ],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'sso' } }],
      'current-context': 'c',
    }),
  );
  const r = await runPlugin(
    'kubectl-whocan',
    ['get', 'pods', '-n', 'default', '-o', 'json', '--cache-dir', tempDir('kstudy-cache-')],
    { env: { KUBECONFIG: kubeconfig } },
  );
  assert.equal(r.code, 0, r.stderr);
  const asked = readFileSync(runs, 'utf8').trim().split('\n').length;
  assert.ok(asked >= 3, `the plugin ran ${asked} times`);
  t.diagnostic(`${asked} credentials over ${fwd.connections()} connections`);
  // Four reads at once open four connections. Were each new credential given a pool of its own, each after
  // the first would open at least one more: 4 + (asked - 1) > 4 for the three or more credentials.
  assert.ok(
    fwd.connections() <= 4,
    `the same client certificate kept its connections (${fwd.connections()} for ${asked} credentials)`,
  );
});

/** A silent server (tests/support/net.ts), closed when the test ends. */
async function hangingServer(t: TestContext): Promise<{ port: number; connections: () => number }> {
  const listener = await hangingListener();
  t.after(() => listener.close());
  return listener;
}

function start(
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; result: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kubectl-study'), ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, result: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

test('a server that never answers: one SIGTERM (sent twice, as to a process group) ends the command with its report', async (t) => {
  const hanging = await hangingServer(t);
  const admin = mintUser(`conn-${suffix()}`, ['system:masters']);
  const hung = kubeconfigWith(admin, (c) => (c.server = `https://127.0.0.1:${hanging.port}`));
  for (const args of [
    ['drain', 'kwok-node-1', '--ignore-daemonsets'],
    ['rollout', 'status', 'deployment/web'],
    ['maintain', 'kwok-node-1', '--dry-run'],
  ]) {
    const before = hanging.connections();
    const run = start(args, { KUBECONFIG: hung });
    // Signalled once it waits on the server (its signal handlers are long in place by then), however slow the machine.
    await eventually(`${args[0]} to connect`, async () => hanging.connections() > before, 60_000, 20);
    run.child.kill('SIGTERM');
    run.child.kill('SIGTERM');
    const r = await run.result;
    assert.equal(r.code, 130, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /SIGTERM received: finishing nothing new/);
    assert.doesNotMatch(r.stderr, /again: exiting now/, 'the second copy of the same signal is the same request');
    assert.match(r.stderr, /^error: interrupted/m);
  }
  // --request-timeout bounds each request; --timeout the whole command.
  const timed = start(['rollout', 'status', 'deployment/web', '--timeout', '2s'], { KUBECONFIG: hung });
  const tr = await timed.result;
  assert.equal(tr.code, 4, tr.stderr);
  assert.match(tr.stderr, /^error: the API server 127\.0\.0\.1:\d+ did not answer within --timeout 2s$/m);
});
