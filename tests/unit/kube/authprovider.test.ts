/**
 * The catalog of auth-provider configurations a kubeconfig user can have:
 * each is used, or refused before any request with one line that names the
 * provider and what is wrong with it, in our words (never client-node's or
 * openid-client's), with a hint, and never with a token in it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ExitCode, StudyError } from '../../../src/base/errors.js';
import { assertAuthProviderUsable, credentialNote } from '../../../src/kube/credentials.js';
import type { RawUser } from '../../../src/kube/kubeconfig.js';

const NOW = new Date('2030-01-01T00:00:00Z');
const SECRET = 'kstudy-secret';

/** A JWT whose payload holds these claims (and a secret, which no message may show). */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ sub: SECRET, ...claims })}.${SECRET}`;
}

const inAnHour = jwt({ exp: NOW.getTime() / 1000 + 3600 });
const anHourAgo = jwt({ exp: NOW.getTime() / 1000 - 3600 });
const inFiveSeconds = jwt({ exp: NOW.getTime() / 1000 + 5 });
const noExpiry = jwt({});
const issuer = 'https://login.example.com/realms/ops';

function oidc(config: Record<string, string>): RawUser {
  return { 'auth-provider': { name: 'oidc', config } };
}

interface Case {
  name: string;
  user: RawUser;
  /** undefined: usable. */
  code?: number;
  error?: RegExp;
  hint?: RegExp;
}

const CASES: Case[] = [
  {
    name: 'oidc with a current id-token',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'id-token': inAnHour }),
  },
  {
    name: 'oidc with a current id-token and a refresh-token',
    user: oidc({
      'idp-issuer-url': issuer,
      'client-id': 'kubectl',
      'id-token': inAnHour,
      'refresh-token': SECRET,
      'client-secret': SECRET,
    }),
  },
  {
    name: 'oidc without idp-issuer-url',
    user: oidc({ 'client-id': 'kubectl', 'id-token': inAnHour }),
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "oidc" has no idp-issuer-url$/,
    hint: /kubectl refuses it too: set idp-issuer-url/,
  },
  {
    name: 'oidc with an empty idp-issuer-url',
    user: oidc({ 'idp-issuer-url': '', 'client-id': 'kubectl', 'id-token': inAnHour }),
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "oidc" has no idp-issuer-url$/,
  },
  {
    name: 'oidc without client-id',
    user: oidc({ 'idp-issuer-url': issuer, 'id-token': inAnHour }),
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "oidc" has no client-id$/,
  },
  {
    name: 'oidc without id-token or refresh-token',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl' }),
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "oidc": it has no id-token, and no refresh-token to get one$/,
    hint: /log in to your identity provider again/,
  },
  {
    name: 'oidc without id-token, with a refresh-token',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'refresh-token': SECRET }),
    code: ExitCode.API,
    error: /^user "u": auth-provider "oidc": it has no id-token; kubectl-study does not refresh oidc tokens$/,
    hint: /run a kubectl command with this context first: kubectl refreshes the id-token and saves it/,
  },
  {
    name: 'oidc with an id-token that is not a JWT',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'id-token': SECRET }),
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "oidc": its id-token is not a JWT, so its expiry cannot be read$/,
  },
  {
    name: 'oidc with an expired id-token and no refresh-token',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'id-token': anHourAgo }),
    code: ExitCode.API,
    error:
      /^user "u": auth-provider "oidc": its id-token expired at 2029-12-31T23:00:00\.000Z, and there is no refresh-token to renew it$/,
    hint: /log in to your identity provider again/,
  },
  {
    name: 'oidc with an id-token that expires within client-go\u2019s 10 s margin',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'id-token': inFiveSeconds }),
    code: ExitCode.API,
    error: /its id-token expired at 2030-01-01T00:00:05\.000Z, and there is no refresh-token/,
  },
  {
    name: 'oidc with an id-token without exp',
    user: oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'id-token': noExpiry }),
    code: ExitCode.API,
    error: /its id-token carries no expiry \(exp\), which kubectl takes as expired, and there is no refresh-token/,
  },
  {
    name: 'oidc with an expired id-token, a refresh-token and an issuer (reachable or not: it is never asked)',
    user: oidc({
      'idp-issuer-url': 'https://127.0.0.1:1/unreachable',
      'client-id': 'kubectl',
      'id-token': anHourAgo,
      'refresh-token': SECRET,
    }),
    code: ExitCode.API,
    error: /^user "u": auth-provider "oidc": its id-token expired at .*; kubectl-study does not refresh oidc tokens$/,
    hint: /kubectl-study never writes it there, and a refresh it could not save would spend the refresh-token/,
  },
  {
    name: 'oidc with an expired id-token, a refresh-token and an idp-issuer-url that is no URL',
    user: oidc({
      'idp-issuer-url': 'login.example.com',
      'client-id': 'kubectl',
      'id-token': anHourAgo,
      'refresh-token': SECRET,
    }),
    code: ExitCode.USAGE,
    error: /its idp-issuer-url is not an https URL, so kubectl cannot refresh it either$/,
    hint: /fix idp-issuer-url/,
  },
  {
    name: 'oidc with an expired id-token, a refresh-token and an http issuer',
    user: oidc({
      'idp-issuer-url': 'http://login.example.com',
      'client-id': 'kubectl',
      'id-token': anHourAgo,
      'refresh-token': SECRET,
    }),
    code: ExitCode.USAGE,
    error: /its idp-issuer-url is not an https URL/,
  },
  {
    name: 'oidc with no config at all',
    user: { 'auth-provider': { name: 'oidc' } },
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "oidc" has no idp-issuer-url$/,
  },
  {
    name: 'azure, with an access-token',
    user: { 'auth-provider': { name: 'azure', config: { 'access-token': SECRET, 'tenant-id': 't' } } },
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "azure" is not supported: kubectl removed it$/,
    hint: /kubelogin/,
  },
  {
    name: 'gcp, with a cmd-path',
    user: { 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/usr/bin/gcloud', 'access-token': SECRET } } },
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "gcp" is not supported: kubectl removed it$/,
    hint: /gke-gcloud-auth-plugin/,
  },
  {
    name: 'an unknown provider',
    user: { 'auth-provider': { name: 'keystone', config: {} } },
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "keystone" is not supported \(kubectl-study supports oidc\)$/,
    hint: /exec credential plugin/,
  },
  {
    name: 'a provider without a name',
    user: { 'auth-provider': { config: {} } },
    code: ExitCode.USAGE,
    error: /^user "u": auth-provider "" is not supported/,
  },
  { name: 'no auth-provider', user: { token: SECRET } },
];

test('every auth-provider configuration is used, or refused naming the provider and what is wrong, in our words', () => {
  const failures: string[] = [];
  for (const c of CASES) {
    let err: unknown;
    try {
      assertAuthProviderUsable('u', c.user, NOW);
    } catch (e) {
      err = e;
    }
    if (c.code === undefined) {
      if (err !== undefined) failures.push(`${c.name}: refused: ${(err as Error).message}`);
      continue;
    }
    if (!(err instanceof StudyError)) {
      failures.push(`${c.name}: ${err === undefined ? 'accepted' : `not our error: ${(err as Error)?.message}`}`);
      continue;
    }
    if (err.exitCode !== c.code) failures.push(`${c.name}: exit ${err.exitCode}, expected ${c.code}`);
    if (!c.error!.test(err.message)) failures.push(`${c.name}: "${err.message}" does not match ${c.error}`);
    if (!err.hint) failures.push(`${c.name}: no hint`);
    else if (c.hint && !c.hint.test(err.hint)) failures.push(`${c.name}: hint "${err.hint}" does not match ${c.hint}`);
    if (`${err.message}\n${err.hint}`.includes(SECRET)) failures.push(`${c.name}: a secret in the message`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${CASES.length} cases:\n${failures.join('\n')}`);
  assert.ok(CASES.length >= 20);
});

test('a 401 for a current oidc id-token says the token is not expired: the server may not trust its issuer', () => {
  const note = credentialNote(oidc({ 'idp-issuer-url': issuer, 'client-id': 'kubectl', 'id-token': inAnHour }), NOW);
  assert.match(note ?? '', /^the oidc id-token is not expired \(valid until 2030-01-01T01:00:00\.000Z\)/);
});
