/**
 * The client throws typed errors itself: whatever a request meets (an HTTP
 * error, a refused connection), the caller gets a StudyError with its exit
 * code, and still reads the status behind it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';

import { ApiError, ExitCode, NotFoundError, StudyError, TimeoutError, UsageError } from '../../../src/base/errors.js';
import { clusterDrainApi, waitAvailable } from '../../../src/drain/lib.js';
import { apiStatusOf } from '../../../src/kube/apierror.js';
import { KubeClient } from '../../../src/kube/client.js';

/** A client of a loopback server that answers every request with `status` and a Status object. */
async function clientOf(t: TestContext, status: number, message: string): Promise<KubeClient> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: status, message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return clientAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

function clientAt(server: string): KubeClient {
  return new KubeClient(
    {
      contextName: 'c',
      clusterName: 'c',
      userName: 'u',
      cluster: { server },
      user: {},
      namespace: 'default',
      namespaceFromFlag: false,
    },
    undefined,
    5000,
    { outageMs: 0 },
  );
}

test('an HTTP error is thrown as a typed error naming the request and the server words; its status stays readable', async (t) => {
  const client = await clientOf(t, 503, 'the server is shutting down');
  const path = '/apis/apps/v1/namespaces/ns/deployments/web';
  const err = await client.request('GET', path).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.exitCode, ExitCode.API);
  assert.equal(err.status, 503);
  assert.equal(err.message, `cannot GET ${path}: the server is shutting down`);
  assert.equal(apiStatusOf(err)?.code, 503);
  const named = client.error('get deployment web', err);
  assert.equal(named.message, 'cannot get deployment web: the server is shutting down', 'a caller names it better');
  assert.equal(named.exitCode, ExitCode.API);
});

test('a 404 is a NotFoundError (exit 5), whoever sent the request', async (t) => {
  const client = await clientOf(t, 404, 'nodes "n1" not found');
  const err = await client.request('GET', '/api/v1/nodes/n1').catch((e: unknown) => e);
  assert.ok(err instanceof NotFoundError, String(err));
  assert.equal(err.exitCode, ExitCode.NOT_FOUND);
  const renamed = await client.call('get node n1', () => client.request('GET', '/api/v1/nodes/n1')).catch((e) => e);
  assert.equal((renamed as Error).message, 'cannot get node n1: nodes "n1" not found');
});

test('a refused connection is an API error with its reason', async () => {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const err = await clientAt(`http://127.0.0.1:${port}`)
    .request('GET', '/version')
    .catch((e: unknown) => e);
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.reason, 'ECONNREFUSED');
  assert.match(err.message, /^cannot GET \/version: connection refused by 127\.0\.0\.1:\d+$/);
});

test('the wait for workloads (maintain\u2019s recover step) meets a 503 as a typed API error, not a bare "HTTP 503"', async (t) => {
  const client = await clientOf(t, 503, 'the server is shutting down');
  const err = await waitAvailable(
    clusterDrainApi(client),
    [{ namespace: 'ns', kind: 'Deployment', name: 'web' }],
    new AbortController().signal,
    () => {},
  ).catch((e: unknown) => e);
  assert.ok(err instanceof StudyError, String(err));
  assert.equal(err.exitCode, ExitCode.API);
  assert.equal(err.message, 'cannot GET /apis/apps/v1/namespaces/ns/deployments/web: the server is shutting down');
});

test('a proxy-url client-node cannot make a connection through is a usage error (exit 2) naming the cluster, not a bug', async () => {
  const client = new KubeClient(
    {
      contextName: 'c',
      clusterName: 'odd',
      userName: 'u',
      cluster: { server: 'tcp://127.0.0.1:1', 'proxy-url': 'http://user:secret@127.0.0.1:1' },
      user: {},
      namespace: 'default',
      namespaceFromFlag: false,
    },
    undefined,
    5000,
  );
  const err = await client.request('GET', '/version').catch((e: unknown) => e);
  assert.ok(err instanceof UsageError, String(err));
  assert.equal(err.exitCode, ExitCode.USAGE);
  assert.match(err.message, /^cluster "odd": no connection through its proxy-url can be made \(/);
  assert.doesNotMatch(err.message, /secret/);
});

/**
 * A loopback server that answers the first `answers` requests (with a 403, still an answer) and then stays
 * silent; `arrived` resolves at each request it receives.
 */
async function answeringThenSilent(
  t: TestContext,
  answers: number,
): Promise<{ url: string; arrived: () => Promise<void> }> {
  let waiting: (() => void) | undefined;
  let served = 0;
  const server = http.createServer((_req, res) => {
    waiting?.();
    if (served++ < answers) res.writeHead(403).end('{"kind":"Status","code":403,"message":"no"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrived: () =>
      new Promise<void>((resolve) => {
        waiting = resolve;
      }),
  };
}

test('a request timeout before the server answered anything says the server did not answer; after an answer, the request timed out', async (t) => {
  const cases: Array<{ answers: number; error: RegExp }> = [
    {
      answers: 0,
      error: /^the API server 127\.0\.0\.1:\d+ did not answer within --request-timeout 300ms$/,
    },
    { answers: 1, error: /^request to http:\/\/127\.0\.0\.1:\d+\/api timed out after 300ms$/ },
  ];
  for (const c of cases) {
    const server = await answeringThenSilent(t, c.answers);
    const client = new KubeClient(
      {
        contextName: 'c',
        clusterName: 'c',
        userName: 'u',
        cluster: { server: server.url },
        user: {},
        namespace: 'default',
        namespaceFromFlag: false,
      },
      undefined,
      300,
      { outageMs: 0 },
    );
    for (let i = 0; i < c.answers; i++) await client.request('GET', '/api').catch(() => {});
    // The request's timer on a mock clock: it fires when the test moves the clock, once the request has arrived.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const arrived = server.arrived();
    const request = client.request('GET', '/api').catch((e: unknown) => e);
    await arrived;
    t.mock.timers.tick(300);
    const err = await request;
    t.mock.timers.reset();
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.exitCode, ExitCode.TIMEOUT);
    assert.match(err.message, c.error);
    assert.ok(err.hint, 'with a hint');
    assert.equal(client.silenceError('--timeout 3s') === undefined, c.answers > 0, 'silent until the first answer');
  }
});

test('silenceError names what a deadline ran out on before any answer: the exec plugin still running, or the server', () => {
  const base = {
    contextName: 'c',
    clusterName: 'c',
    userName: 'u',
    cluster: { server: 'https://10.0.0.1:6443' },
    namespace: 'default',
    namespaceFromFlag: false,
  };
  const cases: Array<{ user: Record<string, unknown>; error: RegExp; hint: RegExp }> = [
    {
      user: {},
      error: /^the API server 10\.0\.0\.1:6443 did not answer within --timeout 3s; nothing was changed$/,
      hint: /kubectl study-ctx check.*raise --timeout/,
    },
    {
      user: { exec: { command: 'sso-login', apiVersion: 'client.authentication.k8s.io/v1' } },
      error: /^exec plugin "sso-login" gave no credential within --timeout 3s; nothing was changed$/,
      hint: /run it by hand/,
    },
  ];
  for (const c of cases) {
    const err = new KubeClient({ ...base, user: c.user }, undefined, 0).silenceError(
      '--timeout 3s',
      '; nothing was changed',
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.match(err.message, c.error);
    assert.match(err.hint ?? '', c.hint);
  }
});

test('an answer the request timeout cuts short is the request timing out, not "the request was aborted"', async (t) => {
  let arrived: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('{"items":[', () => arrived());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const client = clientAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const request = client.request('GET', '/api').catch((e: unknown) => e);
  await started;
  // The client has the answer's headers once it no longer counts the server silent.
  while (client.silenceError('--timeout 1s') !== undefined) await new Promise((resolve) => setImmediate(resolve));
  t.mock.timers.tick(5000);
  const err = await request;
  assert.ok(err instanceof TimeoutError, String(err));
  assert.match(err.message, /^request to http:\/\/127\.0\.0\.1:\d+\/api timed out after 5s$/);
});
