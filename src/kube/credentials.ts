/**
 * What a kubeconfig user authenticates with, and when it expires, without
 * ever returning the secret itself. Certificates are summarized (subject,
 * expiry), tokens only by their expiry claim.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import type { RawCluster, RawUser } from './kubeconfig.js';

export type AuthMethod =
  | 'client-certificate'
  | 'token'
  | 'token-file'
  | 'exec'
  | 'auth-provider'
  | 'basic'
  | 'none';

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
    if (pem.length === 0) return { source: 'data', location: 'inline', ok: false, error: 'empty after base64 decoding' };
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
    return `the client certificate is valid until ${cert.notAfter.slice(0, 10)}, so it is not expired: the server may not trust its issuer, or the user was removed`;
  }
  const exp = jwtExpiry(user.token);
  if (exp) {
    return exp.getTime() < now.getTime()
      ? `the token expired at ${exp.toISOString()}: get a new one`
      : `the token is not expired (valid until ${exp.toISOString()}): it may have been revoked`;
  }
  if (user.token || user.tokenFile) return 'the token was rejected: it may be expired or revoked (it carries no expiry to check)';
  if (user.exec) return `the exec plugin "${user.exec.command ?? ''}" gave a credential the server rejected: log in again with it`;
  return undefined;
}

/** What is wrong with one piece of credential material, in words that quote none of it; undefined when it is usable. */
function materialProblem(kind: 'certificate' | 'key', data: string | undefined, file: string | undefined): string | undefined {
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
      return code === 'ENOENT' ? `names ${file}, which does not exist` : `names ${file}, which cannot be read (${code ?? 'error'})`;
    }
  } else {
    return undefined;
  }
  try {
    if (kind === 'certificate') new X509Certificate(bytes);
    else createPrivateKey(bytes);
    return undefined;
  } catch {
    return kind === 'certificate' ? 'does not hold a PEM certificate' : 'does not hold a PEM private key';
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
export function credentialProblems(clusterName: string, cluster: RawCluster, userName: string, user: RawUser): MaterialCheck[] {
  const out: MaterialCheck[] = [];
  const check = (owner: string, field: string, kind: 'certificate' | 'key', data: string | undefined, file: string | undefined): void => {
    const problem = materialProblem(kind, data, file);
    if (problem) out.push({ owner, field, problem });
  };
  const c = `cluster "${clusterName}"`;
  const u = `user "${userName}"`;
  if (!cluster['insecure-skip-tls-verify']) {
    const dataField = cluster['certificate-authority-data'] !== undefined;
    check(c, dataField ? 'certificate-authority-data' : 'certificate-authority', 'certificate', cluster['certificate-authority-data'], dataField ? undefined : cluster['certificate-authority']);
  }
  const certData = user['client-certificate-data'] !== undefined;
  const keyData = user['client-key-data'] !== undefined;
  check(u, certData ? 'client-certificate-data' : 'client-certificate', 'certificate', user['client-certificate-data'], certData ? undefined : user['client-certificate']);
  check(u, keyData ? 'client-key-data' : 'client-key', 'key', user['client-key-data'], keyData ? undefined : user['client-key']);
  const hasCert = Boolean(user['client-certificate-data'] || user['client-certificate']);
  const hasKey = Boolean(user['client-key-data'] || user['client-key']);
  if (hasCert !== hasKey) out.push({ owner: u, field: hasCert ? 'client-key' : 'client-certificate', problem: `is missing: a client ${hasCert ? 'certificate needs its key' : 'key needs its certificate'}` });
  return out;
}
