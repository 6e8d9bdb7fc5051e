import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiException } from '@kubernetes/client-node';

import { ApiError, ExitCode, ForbiddenError, NotFoundError } from '../../../src/base/errors.js';
import { apiStatusOf, systemCodeOf, toStudyError } from '../../../src/kube/apierror.js';
import { HttpStatusError, NotJsonError } from '../../../src/kube/transport.js';

const ctx = { what: 'get node worker-1', server: 'https://10.0.0.1:6443', user: 'alice' };

function status(code: number, reason: string, message: string): ApiException<string> {
  return new ApiException(
    code,
    `HTTP-Code: ${code}`,
    JSON.stringify({ kind: 'Status', status: 'Failure', reason, message, code }),
    {},
  );
}

test('the Status JSON string body of an ApiException is parsed', () => {
  const s = apiStatusOf(status(404, 'NotFound', 'nodes "worker-1" not found'));
  assert.equal(s?.code, 404);
  assert.equal(s?.status.reason, 'NotFound');
  assert.equal(apiStatusOf(new Error('x')), undefined);
});

test('HTTP errors map to typed errors with the server message', () => {
  const nf = toStudyError(status(404, 'NotFound', 'nodes "worker-1" not found'), ctx);
  assert.ok(nf instanceof NotFoundError);
  assert.equal(nf.message, 'cannot get node worker-1: nodes "worker-1" not found');
  const fb = toStudyError(
    status(403, 'Forbidden', 'nodes "worker-1" is forbidden: User "alice" cannot get resource "nodes"'),
    ctx,
  );
  assert.ok(fb instanceof ForbiddenError);
  assert.equal(fb.exitCode, ExitCode.BLOCKED);
  const un = toStudyError(status(401, 'Unauthorized', 'Unauthorized'), {
    ...ctx,
    credentialNote: 'the client certificate expired on 2020-01-01',
  });
  assert.ok(un instanceof ApiError);
  assert.equal(un.exitCode, ExitCode.API);
  assert.match(un.message, /rejected the credentials of user "alice"/);
  assert.equal(un.hint, 'the client certificate expired on 2020-01-01');
  const boom = toStudyError(status(500, 'InternalError', 'etcdserver: request timed out'), ctx);
  assert.equal(boom.exitCode, ExitCode.API);
  assert.match(boom.hint ?? '', /health/);
});

test('connection failures say what failed, with a hint', () => {
  const refused = Object.assign(
    new Error('request to https://10.0.0.1:6443/api failed, reason: connect ECONNREFUSED 10.0.0.1:6443'),
    {
      code: 'ECONNREFUSED',
    },
  );
  const e = toStudyError(refused, ctx);
  assert.equal(e.message, 'cannot get node worker-1: connection refused by 10.0.0.1:6443');
  assert.equal(e.exitCode, ExitCode.API);
  const dns = toStudyError(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), ctx);
  assert.match(dns.message, /does not resolve/);
  const tls = toStudyError(Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), ctx);
  assert.match(tls.message, /unknown authority/);
  const name = toStudyError(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), ctx);
  assert.match(name.message, /not valid for this host name/);
  assert.equal(systemCodeOf({ cause: { code: 'ECONNRESET' } }), 'ECONNRESET');
  assert.equal(systemCodeOf(new Error('request failed, reason: connect EHOSTUNREACH 1.2.3.4')), 'EHOSTUNREACH');
  // The SOCKS agent throws a plain Error that names the code only in words.
  assert.equal(systemCodeOf(new Error('connect ECONNREFUSED 127.0.0.1:1')), 'ECONNREFUSED');
  assert.equal(systemCodeOf(new Error('no such thing')), undefined);
});

test('printed messages lose URL credentials and quoted unparsable input', async () => {
  const { redactMessage } = await import('../../../src/base/errors.js');
  assert.equal(
    redactMessage('request to https://user:s3cret@h:6443/api failed'),
    'request to https://h:6443/api failed',
  );
  assert.equal(
    redactMessage('Unexpected token \'e\', "eyJhbGciOi" is not valid JSON'),
    "Unexpected token 'e', (input not shown) is not valid JSON",
  );
  assert.equal(redactMessage('plain message'), 'plain message');
});

test("a client's 401 says whether its credential looks expired", async () => {
  const { KubeClient } = await import('../../../src/kube/client.js');
  const { createCa, issue } = await import('../../cluster/pki.js');
  const day = 86_400_000;
  // One key for the CA and the certificate, made once: signing is what the test needs, not key generation.
  const old = issue(createCa('test-ca', 1, true), {
    commonName: 'old',
    notBefore: new Date(Date.now() - 100 * day),
    notAfter: new Date(Date.now() - 2 * day),
    reuseKey: true,
  });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const client = new KubeClient(
    {
      contextName: 'c',
      clusterName: 'c',
      userName: 'old',
      cluster: { server: 'https://127.0.0.1:1' },
      user: { 'client-certificate-data': b64(old.certPem), 'client-key-data': b64(old.keyPem) },
      namespace: 'default',
      namespaceFromFlag: false,
    },
    undefined,
    0,
    {},
  );
  const e = client.error('list pods', status(401, 'Unauthorized', 'Unauthorized'));
  assert.equal(e.exitCode, ExitCode.API);
  assert.match(e.message, /rejected the credentials of user "old"/);
  assert.match(e.hint ?? '', /the client certificate expired on \d{4}-\d\d-\d\d \(2 days ago\): renew it/);
});

test('what is retried: throttling after its Retry-After within a budget; an outage only for idempotent requests, after the server answered once, within its budget', async () => {
  const { retryDelay, THROTTLE_BUDGET_MS } = await import('../../../src/kube/apierror.js');
  const base = {
    idempotent: true,
    retryThrottle: true,
    answeredBefore: true,
    throttledMs: 0,
    outageMs: 0,
    budgetMs: 120_000,
    backoff: { next: () => 700 },
  };
  const throttled = Object.assign(new Error('HTTP 429'), {
    code: 429,
    body: '{"code":429}',
    headers: { 'retry-after': '3' },
  });
  assert.deepEqual(retryDelay(throttled, base), { ms: 3000, throttled: true });
  assert.deepEqual(
    retryDelay(Object.assign(new Error('x'), { code: 429, body: '{}', headers: {} }), base),
    { ms: 1000, throttled: true },
    'no Retry-After: a second',
  );
  assert.equal(retryDelay(throttled, { ...base, retryThrottle: false }), undefined);
  assert.equal(
    retryDelay(throttled, { ...base, throttledMs: THROTTLE_BUDGET_MS }),
    undefined,
    'throttling past the budget is given up',
  );
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.deepEqual(retryDelay(refused, base), { ms: 700, throttled: false });
  assert.equal(
    retryDelay(refused, { ...base, answeredBefore: false }),
    undefined,
    'a server that never answered is a wrong address, not an outage',
  );
  assert.equal(retryDelay(refused, { ...base, idempotent: false }), undefined, 'a write is not sent twice');
  assert.equal(retryDelay(refused, { ...base, outageMs: 120_000 }), undefined, 'past the outage budget');
  assert.deepEqual(retryDelay(Object.assign(new Error('x'), { code: 503, body: '{}', headers: {} }), base), {
    ms: 700,
    throttled: false,
  });
  assert.equal(retryDelay(Object.assign(new Error('x'), { code: 500, body: '{}', headers: {} }), base), undefined);
  assert.equal(
    retryDelay(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), base),
    undefined,
    'TLS failures are not outages',
  );
});

test('Retry-After is read once for everyone: the header, else the Status details, else none', async () => {
  const { retryAfterOf } = await import('../../../src/kube/apierror.js');
  const answer = (headers: Record<string, string>, details?: { retryAfterSeconds: number }) =>
    apiStatusOf(Object.assign(new Error('HTTP 429'), { code: 429, body: JSON.stringify({ details }), headers }))!;
  assert.equal(retryAfterOf(answer({ 'retry-after': '7' }, { retryAfterSeconds: 2 })), 7);
  assert.equal(retryAfterOf(answer({}, { retryAfterSeconds: 2 })), 2);
  assert.equal(retryAfterOf(answer({})), 0);
  assert.equal(retryAfterOf(answer({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' })), 0, 'a date is not seconds');
});

test('an answer no API server sends (a web page, a body that is not JSON) is named as such, never in the parser\u2019s words', () => {
  const page = '<html><body>Sign in to continue</body></html>';
  const notJson = (contentType: string, body: string): NotJsonError => {
    try {
      JSON.parse(body);
    } catch (err) {
      return new NotJsonError(contentType, err);
    }
    throw new Error('parsed');
  };
  const cases: Array<{ name: string; raw: unknown; code: number; error: RegExp }> = [
    {
      name: 'a web page with 200',
      raw: notJson('text/html; charset=utf-8', page),
      code: ExitCode.API,
      error: /^cannot get node worker-1: the server answered with a web page \(text\/html\), not JSON$/,
    },
    {
      name: 'plain text with 200',
      raw: notJson('text/plain', 'ok'),
      code: ExitCode.API,
      error: /^cannot get node worker-1: the server answered with text\/plain, not JSON$/,
    },
    {
      name: 'no content type',
      raw: notJson('', 'hello'),
      code: ExitCode.API,
      error: /answered with no content type, not JSON$/,
    },
    {
      name: 'a web page with 404',
      raw: new HttpStatusError(404, page, {}),
      code: ExitCode.API,
      error: /^cannot get node worker-1: the server answered with a web page with HTTP 404, not a Status$/,
    },
    {
      name: 'a web page with 401 (a proxy\u2019s sign-in page)',
      raw: new HttpStatusError(401, `\n ${page}`, {}),
      code: ExitCode.API,
      error: /a web page with HTTP 401, not a Status$/,
    },
    {
      name: 'the API server\u2019s own plain-text 404 stays as it says it',
      raw: new HttpStatusError(404, '404 page not found', {}),
      code: ExitCode.NOT_FOUND,
      error: /^cannot get node worker-1: 404 page not found$/,
    },
  ];
  for (const c of cases) {
    const err = toStudyError(c.raw, ctx);
    assert.equal(err.exitCode, c.code, c.name);
    assert.match(err.message, c.error, c.name);
    assert.doesNotMatch(err.message, /Unexpected token|is not valid JSON|<html|Sign in/, c.name);
    if (c.code === ExitCode.API) assert.match(err.hint ?? '', /Kubernetes API server/, c.name);
  }
});
