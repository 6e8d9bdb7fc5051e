/**
 * The HTTP layer under client-node's generated APIs and our watches.
 *
 * client-node sends headers as a plain object, so repeated headers collapse
 * into one ("Impersonate-Group: a, b", which the API server reads as one
 * group "a, b"), and it has no per-request timeout. This layer sends each
 * impersonation header on its own line, bounds every request with
 * --request-timeout through an AbortSignal, stops every request when the
 * command is interrupted, and counts requests for --verbose and benchmarks.
 */
import type { Agent } from 'node:http';

import fetch, { type RequestInit, type Response } from 'node-fetch';

import { formatDuration } from '../base/duration.js';
import { InterruptedError, TimeoutError } from '../base/errors.js';

export interface Impersonation {
  user?: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface RequestRecord {
  method: string;
  url: string;
  status: number | 'error';
  ms: number;
}

export interface TransportOptions {
  /** Per request; 0 means none. */
  timeoutMs: number;
  /** Aborts every request (Ctrl-C, or a caller's overall deadline). */
  signal?: AbortSignal;
  impersonate?: Impersonation;
  onRequest?: (record: RequestRecord) => void;
}

export function impersonationHeaders(imp: Impersonation | undefined): Array<[string, string]> {
  if (!imp?.user) return [];
  const out: Array<[string, string]> = [['Impersonate-User', imp.user]];
  for (const g of imp.groups) out.push(['Impersonate-Group', g]);
  if (imp.uid) out.push(['Impersonate-Uid', imp.uid]);
  for (const [key, values] of Object.entries(imp.extra ?? {})) {
    for (const v of values) out.push([`Impersonate-Extra-${encodeURIComponent(key)}`, v]);
  }
  return out;
}

/** Header pairs from a plain object, minus any impersonation client-node added, plus ours. */
export function buildHeaderPairs(
  base: Record<string, string | string[] | undefined>,
  imp: Impersonation | undefined,
): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined || key.toLowerCase().startsWith('impersonate-')) continue;
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([key, String(v)]);
  }
  return [...pairs, ...impersonationHeaders(imp)];
}

export interface SendInit {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body?: RequestInit['body'];
  agent?: Agent;
  signal?: AbortSignal;
}

/**
 * Sends one request under the transport's rules. The returned response's
 * body is still bounded by the same timeout when the caller reads it; for a
 * watch, pass streaming: true to bound only the wait for the headers.
 */
export async function send(
  opts: TransportOptions,
  url: string,
  init: SendInit,
  streaming = false,
): Promise<{ response: Response; done: () => void }> {
  const started = Date.now();
  const timeout = opts.timeoutMs > 0 ? new AbortController() : undefined;
  const timer = timeout ? setTimeout(() => timeout.abort(), opts.timeoutMs) : undefined;
  const signals = [opts.signal, init.signal, timeout?.signal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  const done = (): void => {
    if (timer) clearTimeout(timer);
  };
  try {
    const response = await fetch(url, {
      method: init.method,
      headers: buildHeaderPairs(init.headers, opts.impersonate),
      body: init.body,
      agent: init.agent,
      signal: signal as RequestInit['signal'],
      compress: true,
    });
    opts.onRequest?.({ method: init.method, url, status: response.status, ms: Date.now() - started });
    if (streaming) done();
    return { response, done };
  } catch (err) {
    done();
    opts.onRequest?.({ method: init.method, url, status: 'error', ms: Date.now() - started });
    throw translateAbort(err, opts, timeout?.signal, url);
  }
}

/** Turns an AbortError into our timeout or interrupt error, naming what was cut short. */
export function translateAbort(
  err: unknown,
  opts: TransportOptions,
  timeoutSignal: AbortSignal | undefined,
  url: string,
): unknown {
  if ((err as Error)?.name !== 'AbortError') return err;
  if (timeoutSignal?.aborted) {
    return new TimeoutError(`request to ${redactUrl(url)} timed out after ${formatDuration(opts.timeoutMs)}`, {
      hint: 'raise --request-timeout, or check that the API server is healthy',
      cause: err,
    });
  }
  if (opts.signal?.aborted) {
    const reason = opts.signal.reason;
    if (reason instanceof Error && 'exitCode' in reason) return reason;
    return new InterruptedError('interrupted', { cause: err });
  }
  return err;
}

/** Drops the query string, which can carry selectors but never credentials, for shorter messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}
