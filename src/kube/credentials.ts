/**
 * What a kubeconfig user authenticates with, and when it expires, without
 * ever returning the secret itself. Certificates are summarized (subject,
 * expiry), tokens only by their expiry claim.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { RawUser } from './kubeconfig.js';

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
