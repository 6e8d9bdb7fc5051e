import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';

import { InterruptedError, TimeoutError } from '../../../src/base/errors.js';
import { buildHeaderPairs, send } from '../../../src/kube/transport.js';

async function server(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

test('buildHeaderPairs drops client-node impersonation and adds ours, one header per group', () => {
  const pairs = buildHeaderPairs(
    { Authorization: 'Bearer x', 'Impersonate-User': 'merged', 'Impersonate-Group': 'a, b' },
    { user: 'u', groups: ['a', 'b'] },
  );
  assert.deepEqual(pairs, [
    ['Authorization', 'Bearer x'],
    ['Impersonate-User', 'u'],
    ['Impersonate-Group', 'a'],
    ['Impersonate-Group', 'b'],
  ]);
});

test('each --as-group travels as its own header line', async (t) => {
  let raw: string[] = [];
  const s = await server((req, res) => {
    raw = req.rawHeaders;
    res.end('{}');
  });
  t.after(s.close);
  const { response, done } = await send(
    { timeoutMs: 5000, impersonate: { user: 'jane', groups: ['system:authenticated', 'dev, ops'] } },
    `${s.url}/api`,
    { method: 'GET', headers: {} },
  );
  await response.text();
  done();
  const groups = raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'impersonate-group' ? [raw[i + 1]] : []));
  assert.deepEqual(groups, ['system:authenticated', 'dev, ops']);
  assert.equal(raw[raw.findIndex((v) => v.toLowerCase() === 'impersonate-user') + 1], 'jane');
});

test('a request that gets no answer fails with a TimeoutError when --request-timeout runs out, not before', {
  timeout: 10_000,
}, async (t) => {
  let arrived: () => void = () => {};
  const received = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const s = await server(() => {
    arrived(); // and never answers
  });
  t.after(s.close);
  // The request's timer on a mock clock: the timeout fires when the test moves the clock, never by itself.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let settled = false;
  const request = send({ timeoutMs: 300 }, `${s.url}/api`, { method: 'GET', headers: {} }).finally(() => {
    settled = true;
  });
  await received;
  t.mock.timers.tick(299);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, 'still waiting 1 ms before the timeout');
  t.mock.timers.tick(1);
  await assert.rejects(request, (err: unknown) => {
    assert.ok(err instanceof TimeoutError, String(err));
    assert.match(err.message, /timed out after 300ms/);
    return true;
  });
});

test('an interrupt aborts requests in flight with an InterruptedError', async (t) => {
  const s = await server(() => {
    /* never answers */
  });
  t.after(s.close);
  const abort = new AbortController();
  setTimeout(() => abort.abort(new InterruptedError('interrupted by SIGINT')), 100);
  await assert.rejects(
    send({ timeoutMs: 0, signal: abort.signal }, `${s.url}/api`, { method: 'GET', headers: {} }),
    (err: unknown) => {
      assert.ok(err instanceof InterruptedError, String(err));
      return true;
    },
  );
});

test('requests through one keep-alive agent share a connection', async (t) => {
  const sockets = new Set<unknown>();
  const s = await server((req, res) => {
    sockets.add(req.socket);
    res.end('{}');
  });
  t.after(s.close);
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  for (let i = 0; i < 20; i++) {
    const { response, done } = await send({ timeoutMs: 5000 }, `${s.url}/api`, { method: 'GET', headers: {}, agent });
    await response.text();
    done();
  }
  assert.equal(sockets.size, 1, 'twenty requests, one connection');
});

test('a kept-alive connection the server has dropped is replaced once, and the request answered', async (t) => {
  const served = new Map<unknown, number>();
  const s = await server((req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    // The second request on a connection finds it closed, as after a server's idle timeout.
    if (n === 2) req.socket.destroy();
    else res.end(`{"n":${n}}`);
  });
  t.after(s.close);
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const get = async (): Promise<string> => {
    const { response, done } = await send({ timeoutMs: 5000 }, `${s.url}/api`, {
      method: 'POST',
      headers: {},
      body: '{}',
      agent,
    });
    const text = await response.text();
    done();
    return text;
  };
  assert.equal(await get(), '{"n":1}');
  assert.equal(await get(), '{"n":1}', 'answered on a new connection');
  assert.equal(served.size, 2);
});

test('a gzip answer is read as text, whole or as a stream', async (t) => {
  const { gzipSync } = await import('node:zlib');
  let asked = '';
  const s = await server((req, res) => {
    asked = String(req.headers['accept-encoding']);
    res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync('{"kind":"List"}'));
  });
  t.after(s.close);
  const { response, done } = await send({ timeoutMs: 5000 }, `${s.url}/api`, { method: 'GET', headers: {} });
  assert.equal(await response.text(), '{"kind":"List"}');
  done();
  assert.equal(asked, 'gzip');
  const streamed = await send({ timeoutMs: 5000 }, `${s.url}/api`, { method: 'GET', headers: {} }, true);
  let text = '';
  for await (const chunk of streamed.response.body) text += String(chunk);
  assert.equal(text, '{"kind":"List"}', 'and as a stream (a watch)');
});

test('an answer cut short by the timeout is a timeout; by the server, a reset', async (t) => {
  const s = await server((req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('{"items":[');
    if (req.url === '/cut') setTimeout(() => req.socket.destroy(), 20);
  });
  t.after(s.close);
  const slow = await send({ timeoutMs: 200 }, `${s.url}/slow`, { method: 'GET', headers: {} });
  await assert.rejects(slow.response.text(), (err: unknown) => (err as Error).name === 'AbortError');
  slow.done();
  const cut = await send({ timeoutMs: 5000 }, `${s.url}/cut`, { method: 'GET', headers: {} });
  await assert.rejects(cut.response.text(), (err: unknown) =>
    ['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes((err as { code?: string }).code ?? ''),
  );
  cut.done();
});
