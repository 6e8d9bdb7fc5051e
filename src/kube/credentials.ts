/**
 * What a kubeconfig user authenticates with, and when it expires, without
 * ever returning the secret itself. Certificates are summarized (subject,
 * expiry), tokens only by their expiry claim.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { ApiError, UsageError, type StudyError } from '../base/errors.js';
import { hasControlCharacters } from '../base/parse.js';
import type { RawCluster, RawUser } from './kubeconfig.js';

export type AuthMethod = 'client-certificate' | 'token' | 'token-file' | 'exec' | 'auth-provider' | 'basic' | 'none';

export interface AuthSummary {
  /** The method that authenticates (client-go's precedence when several are set). */
  method: AuthMethod;
  /** Every method the user entry configures. */
  methods: AuthMethod[];
  /** Human detail: the exec command, the auth-provider name. Never a secret. */
  detail?: string;
}

export function describeAuth(user: RawUser | undefined): AuthSummary {
  const methods: AuthMethod[] = [];
  if (!user) return { method: 'none', methods };
  if (user['client-certificate'] || user['client-certificate-data']) methods.push('client-certificate');
  if (user.token) methods.push('token');
  if (user.tokenFile) methods.push('token-file');
  if (user.exec) methods.push('exec');
  if (user['auth-provider']) methods.push('auth-provider');
  if (user.username || user.password) methods.push('basic');
  const method = methods[0] ?? 'none';
  let detail: string | undefined;
  if (user.exec) detail = user.exec.command ?? '';
  else if (user['auth-provider']) detail = user['auth-provider'].name ?? '';
  return detail === undefined ? { method, methods } : { method, methods, detail };
}

export interface CertSummary {
  source: 'file' | 'data';
  /** Where it came from: the file path, or "inline". */
  location: string;
  ok: boolean;
  error?: string;
  subject?: string;
  issuer?: string;
  notBefore?: string;
  notAfter?: string;
}

/** Parses the first certificate of a PEM bundle. */
export function summarizePem(pem: string | Buffer, source: CertSummary['source'], location: string): CertSummary {
  try {
    const cert = new X509Certificate(pem);
    return {
      source,
      location,
      ok: true,
      subject: oneLineDn(cert.subject),
      issuer: oneLineDn(cert.issuer),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
    };
  } catch (err) {
    return { source, location, ok: false, error: `not a PEM certificate (${(err as Error).message.split('\n')[0]})` };
  }
}

function oneLineDn(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** Reads a certificate from a file or base64 data; the error says what went wrong, never the content. */
export function readCertificate(file: string | undefined, data: string | undefined): CertSummary | undefined {
  if (data) {
    let pem: Buffer;
    try {
      pem = Buffer.from(data, 'base64');
    } catch {
      return { source: 'data', location: 'inline', ok: false, error: 'not valid base64' };
    }
    if (pem.length === 0)
      return { source: 'data', location: 'inline', ok: false, error: 'empty after base64 decoding' };
    return summarizePem(pem, 'data', 'inline');
  }
  if (file) {
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        source: 'file',
        location: file,
        ok: false,
        error: code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code ?? 'error'})`,
      };
    }
    return summarizePem(pem, 'file', file);
  }
  return undefined;
}

/** Whole days from now until the date, negative once past (3.9 days ago is -3, as people count). */
export function daysUntil(iso: string, now: Date): number {
  return Math.trunc((Date.parse(iso) - now.getTime()) / 86_400_000);
}

/** The exp claim of a JWT, if the token is one. Reads only the payload's expiry. */
export function jwtExpiry(token: string | undefined): Date | undefined {
  if (!token) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** For a 401: does the credential look expired? A sentence, or undefined when nothing is known. */
export function credentialNote(user: RawUser, now: Date = new Date()): string | undefined {
  const cert = readCertificate(user['client-certificate'], user['client-certificate-data']);
  if (cert?.ok && cert.notAfter) {
    const days = daysUntil(cert.notAfter, now);
    if (Date.parse(cert.notAfter) < now.getTime()) {
      return `the client certificate expired on ${cert.notAfter.slice(0, 10)} (${-days} days ago): renew it`;
    }
    return (
      `the client certificate is valid until ${cert.notAfter.slice(0, 10)}, so it is not expired: ` +
      'the server may not trust its issuer, or the user was removed'
    );
  }
  const exp = jwtExpiry(user.token);
  if (exp) {
    return exp.getTime() < now.getTime()
      ? `the token expired at ${exp.toISOString()}: get a new one`
      : `the token is not expired (valid until ${exp.toISOString()}): it may have been revoked`;
  }
  if (user.token || user.tokenFile)
    return 'the token was rejected: it may be expired or revoked (it carries no expiry to check)';
  if (user.exec)
    return `the exec plugin "${user.exec.command ?? ''}" gave a credential the server rejected: log in again with it`;
  const idExp = jwtExpiry(oidcSetting(user['auth-provider'], 'id-token'));
  if (user['auth-provider']?.name === 'oidc' && idExp)
    return (
      `the oidc id-token is not expired (valid until ${idExp.toISOString()}): the API server may not trust ` +
      'its issuer or client-id (--oidc-issuer-url, --oidc-client-id)'
    );
  return undefined;
}

/** The auth providers kubectl still has: client-go keeps oidc; it removed azure and gcp (Kubernetes 1.26). */
const SUPPORTED_AUTH_PROVIDERS = ['oidc'];

/** What replaced each auth provider kubectl removed, as kubectl's own error says it. */
const REMOVED_AUTH_PROVIDERS: Record<string, string> = {
  azure: 'use the kubelogin exec credential plugin ("kubelogin convert-kubeconfig" rewrites the kubeconfig for it)',
  gcp:
    'use the gke-gcloud-auth-plugin exec credential plugin ' +
    '("gcloud container clusters get-credentials" writes it into the kubeconfig)',
};

/** client-go's margin: an oidc id-token this close to its expiry counts as expired. */
const OIDC_EXPIRY_DELTA_MS = 10_000;

/** A setting of an auth-provider's config, when it is a non-empty string. */
export function oidcSetting(provider: RawUser['auth-provider'], key: string): string | undefined {
  const value = provider?.config?.[key] as unknown;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Refuses, before any request, an auth-provider that cannot authenticate,
 * naming the provider and what is wrong with it, never a library's words:
 * an unknown one, one kubectl removed (azure, gcp), and an oidc one that
 * lacks what client-go requires (idp-issuer-url, client-id) or whose
 * id-token is missing, not a JWT, or expired. kubectl-study never refreshes
 * an id-token: kubectl refreshes it and writes it back to the kubeconfig,
 * which kubectl-study never writes, and a refresh it could not save would
 * spend a refresh-token the identity provider may accept only once.
 * A usage error (exit 2) for what the kubeconfig lacks, an API error
 * (exit 6, reason CredentialExpired) for a token whose time is up. Pure
 * but for `now`.
 */
export function assertAuthProviderUsable(userName: string, user: RawUser, now: Date = new Date()): void {
  const provider = user['auth-provider'];
  if (!provider) return;
  const problem = authProviderProblem(userName, provider, now);
  if (problem) throw problem;
}

function authProviderProblem(
  userName: string,
  provider: NonNullable<RawUser['auth-provider']>,
  now: Date,
): StudyError | undefined {
  const name = provider.name ?? '';
  const owner = `user "${userName}": auth-provider "${name}"`;
  const removed = REMOVED_AUTH_PROVIDERS[name];
  if (removed) return new UsageError(`${owner} is not supported: kubectl removed it`, { hint: removed });
  if (!SUPPORTED_AUTH_PROVIDERS.includes(name)) {
    return new UsageError(`${owner} is not supported (kubectl-study supports ${SUPPORTED_AUTH_PROVIDERS.join(', ')})`, {
      hint: 'kubectl removed its other in-tree auth providers; use the provider\u2019s exec credential plugin instead',
    });
  }
  const loginAgain = 'log in to your identity provider again (kubelogin, or the tool that wrote this user)';
  for (const key of ['idp-issuer-url', 'client-id']) {
    if (!oidcSetting(provider, key))
      return new UsageError(`${owner} has no ${key}`, {
        hint: `kubectl refuses it too: set ${key}, or ${loginAgain}`,
      });
  }
  const idToken = oidcSetting(provider, 'id-token');
  let state: string;
  if (!idToken) {
    state = 'it has no id-token';
  } else {
    if (idToken.split('.').length !== 3)
      return new UsageError(`${owner}: its id-token is not a JWT, so its expiry cannot be read`, {
        hint: `kubectl refuses it too: ${loginAgain}`,
      });
    const exp = jwtExpiry(idToken);
    if (exp && exp.getTime() > now.getTime() + OIDC_EXPIRY_DELTA_MS) return undefined;
    state = exp
      ? `its id-token expired at ${exp.toISOString()}`
      : 'its id-token carries no expiry (exp), which kubectl takes as expired';
  }
  const head = `${owner}: ${state}`;
  if (!oidcSetting(provider, 'refresh-token'))
    return idToken
      ? new ApiError(`${head}, and there is no refresh-token to renew it`, {
          hint: loginAgain,
          reason: 'CredentialExpired',
        })
      : new UsageError(`${head}, and no refresh-token to get one`, { hint: loginAgain });
  if (!issuerUsable(oidcSetting(provider, 'idp-issuer-url')))
    return new UsageError(`${head}, and its idp-issuer-url is not an https URL, so kubectl cannot refresh it either`, {
      hint: `fix idp-issuer-url, or ${loginAgain}`,
    });
  return new ApiError(`${head}; kubectl-study does not refresh oidc tokens`, {
    hint:
      'run a kubectl command with this context first: kubectl refreshes the id-token and saves it in the ' +
      'kubeconfig (kubectl-study never writes it there, and a refresh it could not save would spend the refresh-token)',
    reason: 'CredentialExpired',
  });
}

/** Whether an oidc issuer can be discovered: an https URL (go-oidc fetches its /.well-known/openid-configuration). */
function issuerUsable(issuer: string | undefined): boolean {
  try {
    return new URL(issuer ?? '').protocol === 'https:';
  } catch {
    return false;
  }
}

/** What is wrong with one piece of credential material, in words that quote none of it; undefined when it is usable. */
function materialProblem(
  kind: 'certificate' | 'key',
  data: string | undefined,
  file: string | undefined,
): string | undefined {
  let bytes: Buffer;
  if (data !== undefined) {
    const compact = data.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return 'is not valid base64';
    bytes = Buffer.from(compact, 'base64');
    if (bytes.length === 0) return 'is empty';
  } else if (file !== undefined) {
    try {
      if (statSync(file).isDirectory()) return `names ${file}, which is a directory`;
      bytes = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT'
        ? `names ${file}, which does not exist`
        : `names ${file}, which cannot be read (${code ?? 'error'})`;
    }
  } else {
    return undefined;
  }
  if (parsesAs(kind, bytes)) return undefined;
  return kind === 'certificate' ? 'does not hold a PEM certificate' : 'does not hold a PEM private key';
}

/** Whether the bytes hold a certificate or a private key that Node's crypto can use. */
function parsesAs(kind: 'certificate' | 'key', pem: string | Buffer): boolean {
  try {
    if (kind === 'certificate') new X509Certificate(pem);
    else createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

export interface MaterialCheck {
  /** Which entry: cluster "x" or user "y". */
  owner: string;
  field: string;
  problem: string;
}

/**
 * Every certificate and key a context would use, checked before any request
 * (kubectl refuses these too): decodable, a file and not a directory, a
 * certificate or a key, cert and key given together.
 */
export function credentialProblems(
  clusterName: string,
  cluster: RawCluster,
  userName: string,
  user: RawUser,
): MaterialCheck[] {
  const out: MaterialCheck[] = [];
  const check = (
    owner: string,
    field: string,
    kind: 'certificate' | 'key',
    data: string | undefined,
    file: string | undefined,
  ): void => {
    const problem = materialProblem(kind, data, file);
    if (problem) out.push({ owner, field, problem });
  };
  const clusterOwner = `cluster "${clusterName}"`;
  const userOwner = `user "${userName}"`;
  if (!cluster['insecure-skip-tls-verify']) {
    // Empty data is unset for client-go, as for the transport.
    const dataField = Boolean(cluster['certificate-authority-data']);
    check(
      clusterOwner,
      dataField ? 'certificate-authority-data' : 'certificate-authority',
      'certificate',
      dataField ? cluster['certificate-authority-data'] : undefined,
      dataField ? undefined : cluster['certificate-authority'],
    );
  }
  const certData = Boolean(user['client-certificate-data']);
  const keyData = Boolean(user['client-key-data']);
  check(
    userOwner,
    certData ? 'client-certificate-data' : 'client-certificate',
    'certificate',
    certData ? user['client-certificate-data'] : undefined,
    certData ? undefined : user['client-certificate'],
  );
  check(
    userOwner,
    keyData ? 'client-key-data' : 'client-key',
    'key',
    keyData ? user['client-key-data'] : undefined,
    keyData ? undefined : user['client-key'],
  );
  const proxy = proxyUrlProblem(cluster['proxy-url']);
  if (proxy) out.push({ owner: clusterOwner, field: 'proxy-url', problem: proxy });
  for (const field of ['token', 'username', 'password'] as const) {
    if (headerUnsafe(user[field]))
      out.push({
        owner: userOwner,
        field,
        problem: 'holds a line break or another control character, which cannot go in an HTTP header',
      });
  }
  if (user.exec) {
    if (!user.exec.command)
      out.push({
        owner: userOwner,
        field: 'exec.command',
        problem: 'is empty: the exec credential plugin names no command',
      });
    else if (!EXEC_API_VERSIONS.includes(user.exec.apiVersion ?? '')) {
      out.push({
        owner: userOwner,
        field: 'exec.apiVersion',
        problem:
          `is ${user.exec.apiVersion ? `"${user.exec.apiVersion}"` : 'not set'}; ` +
          `kubectl speaks ${EXEC_API_VERSIONS.join(' and ')}`,
      });
    } else {
      const mode = interactiveModeProblem(user.exec.apiVersion, user.exec.interactiveMode);
      if (mode) out.push({ owner: userOwner, field: 'exec.interactiveMode', problem: mode });
    }
  }
  const hasCert = Boolean(user['client-certificate-data'] || user['client-certificate']);
  const hasKey = Boolean(user['client-key-data'] || user['client-key']);
  if (hasCert !== hasKey)
    out.push({
      owner: userOwner,
      field: hasCert ? 'client-key' : 'client-certificate',
      problem: `is missing: a client ${hasCert ? 'certificate needs its key' : 'key needs its certificate'}`,
    });
  return out;
}

/** The ExecCredential versions client-go accepts (v1alpha1 is gone). */
export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/** Why a proxy-url cannot be used (never echoing it: it may carry a password), or nothing. */
export function proxyUrlProblem(proxy: string | undefined): string | undefined {
  if (!proxy) return undefined;
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    return 'is not a URL (e.g. http://proxy.example:3128)';
  }
  if (!['http:', 'https:', 'socks5:'].includes(url.protocol))
    return `has the scheme ${url.protocol.replace(/:$/, '')}; kubectl proxies through http, https or socks5`;
  if (!url.hostname) return 'has no host';
  return undefined;
}

/** A credential no HTTP header can carry (a pasted line break, a control character). */
export function headerUnsafe(value: unknown): boolean {
  return typeof value === 'string' && hasControlCharacters(value);
}

/** Why PEM text (as an exec plugin returns it) is not a certificate or key, or nothing. */
export function pemProblem(kind: 'certificate' | 'key', pem: string): string | undefined {
  if (parsesAs(kind, pem)) return undefined;
  return kind === 'certificate' ? 'is not a PEM certificate' : 'is not a PEM private key';
}

const INTERACTIVE_MODES = ['Never', 'IfAvailable', 'Always'];

/** client-go's rule for exec.interactiveMode: one of three, and required by v1. Pure. */
export function interactiveModeProblem(apiVersion: string | undefined, mode: string | undefined): string | undefined {
  if (mode)
    return INTERACTIVE_MODES.includes(mode) ? undefined : `is "${mode}"; it takes ${INTERACTIVE_MODES.join(', ')}`;
  return apiVersion === 'client.authentication.k8s.io/v1'
    ? `is not set; client.authentication.k8s.io/v1 needs ${INTERACTIVE_MODES.join(', ')}`
    : undefined;
}
