/**
 * The HTTP layer under every request and watch: node:http(s) over the
 * client's one keep-alive agent (session.ts), so a command pays one TLS
 * handshake per connection it keeps, not one per request.
 *
 * Each impersonation header goes on its own line (one header "a, b" would
 * be read by the API server as one group "a, b"); --request-timeout bounds
 * every request through an AbortSignal; an interrupt stops every request;
 * requests are counted for --verbose and benchmarks. A request that meets a
 * kept-alive connection the server had just closed is sent again once on a
 * new one, before any answer (Node's documented remedy, as Go's transport).
 */
import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';

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
  body?: string;
  agent?: http.Agent;
  signal?: AbortSignal;
  /** Ask for gzip (default true; a cluster's disable-compression turns it off, as in kubectl). */
  compress?: boolean;
}

/** An answer: status and headers at once, the body (decompressed) as a stream or as text. */
export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Readable;
  text(): Promise<string>;
}

/** A status >= 400: the body is the API server's Status object as JSON text (apierror.ts reads it). */
export class HttpStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    readonly headers: Record<string, string>,
  ) {
    super(`HTTP ${code}`);
    this.name = 'HttpStatusError';
  }
}

/** A success whose body is not JSON: no API server sent it (a web page, a proxy's sign-in page). */
export class NotJsonError extends Error {
  constructor(
    readonly contentType: string,
    override readonly cause: unknown,
  ) {
    super(`the answer is not JSON (${contentType || 'no content type'})`);
    this.name = 'NotJsonError';
  }
}

/**
 * Sends one request under the transport's rules. The returned response's
 * body is still bounded by the same timeout when the caller reads it (a read
 * cut short goes through translateAbort with `timeout`); for a watch, pass
 * streaming: true to bound only the wait for the headers.
 */
export async function send(
  opts: TransportOptions,
  url: string,
  init: SendInit,
  streaming = false,
): Promise<{ response: HttpResponse; done: () => void; timeout: AbortSignal | undefined }> {
  const started = Date.now();
  const timeout = opts.timeoutMs > 0 ? new AbortController() : undefined;
  const timer = timeout ? setTimeout(() => timeout.abort(), opts.timeoutMs) : undefined;
  const signals = [opts.signal, init.signal, timeout?.signal].filter((s): s is AbortSignal => s !== undefined);
  // One signal alone (the command's) is listened on directly: the client lifts its listener limit (client.ts).
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const done = (): void => {
    if (timer) clearTimeout(timer);
  };
  try {
    const headers = outgoingHeaders(init, opts.impersonate);
    let response: HttpResponse;
    try {
      response = await attempt(url, init, headers, signal);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      response = await attempt(url, init, headers, signal);
    }
    opts.onRequest?.({ method: init.method, url, status: response.status, ms: Date.now() - started });
    if (streaming) done();
    return { response, done, timeout: timeout?.signal };
  } catch (err) {
    done();
    const cause = err instanceof StaleConnection ? err.cause : err;
    opts.onRequest?.({ method: init.method, url, status: 'error', ms: Date.now() - started });
    throw translateAbort(cause, opts, timeout?.signal, url);
  }
}

/** A kept-alive connection the server closed just as this request went out: nothing was answered. */
class StaleConnection extends Error {
  constructor(override readonly cause: unknown) {
    super('stale keep-alive connection');
  }
}

const STALE_CODES = new Set(['ECONNRESET', 'EPIPE']);

function outgoingHeaders(init: SendInit, impersonate: Impersonation | undefined): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [key, value] of buildHeaderPairs(init.headers, impersonate)) {
    const prev = out[key];
    // An array value goes out as one header line per value.
    out[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
  }
  if (init.compress !== false) out['Accept-Encoding'] = 'gzip';
  if (init.body !== undefined) out['Content-Length'] = Buffer.byteLength(init.body);
  return out;
}

function attempt(
  url: string,
  init: SendInit,
  headers: http.OutgoingHttpHeaders,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = requestTarget(url);
    const req = (target.https ? https : http).request({
      ...target.options,
      method: init.method,
      headers,
      agent: init.agent,
      signal,
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(req.reusedSocket && err.code && STALE_CODES.has(err.code) ? new StaleConnection(err) : err);
    });
    req.on('response', (res) => {
      const encoding = res.headers['content-encoding'];
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const status = res.statusCode ?? 0;
      if (encoding !== 'gzip' && encoding !== 'deflate') {
        resolve({ status, headers, body: res, text: () => readText(res, signal).then((b) => b.toString('utf8')) });
        return;
      }
      // zlib is loaded at the first compressed answer (small answers never are): start-up need not pay for it.
      // A whole answer is inflated at once (a quarter of the time of inflating it chunk by chunk); a stream
      // as it comes.
      import('node:zlib').then((zlib) => {
        const gzip = encoding === 'gzip';
        let body: Readable | undefined;
        resolve({
          status,
          headers,
          get body() {
            body ??= pipeline(res, gzip ? zlib.createGunzip() : zlib.createInflate(), () => {});
            return body;
          },
          text: () =>
            readText(res, signal).then((b) => (gzip ? zlib.gunzipSync(b) : zlib.inflateSync(b)).toString('utf8')),
        });
      }, reject);
    });
    req.end(init.body);
  });
}

let lastOrigin:
  | { origin: string; https: boolean; host: { protocol: string; hostname: string; port?: string } }
  | undefined;

/** http.request's options for a URL: the origin parsed once (every request comes here), the path as built. */
function requestTarget(url: string): { https: boolean; options: http.RequestOptions } {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  const origin = slash < 0 ? url : url.slice(0, slash);
  if (lastOrigin?.origin !== origin) {
    const u = new URL(origin);
    // A WHATWG hostname keeps an IPv6 address's brackets; a socket wants it bare.
    const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    lastOrigin = {
      origin,
      https: u.protocol === 'https:',
      host: { protocol: u.protocol, hostname, ...(u.port ? { port: u.port } : {}) },
    };
  }
  return { https: lastOrigin.https, options: { ...lastOrigin.host, path: slash < 0 ? '/' : url.slice(slash) } };
}

/** The whole body; cut short by the signal, it fails as an abort (the socket's own error would read as a reset). */
function readText(body: Readable, signal: AbortSignal | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    const fail = (err: Error): void =>
      reject(
        signal?.aborted ? Object.assign(new Error('the request was aborted'), { name: 'AbortError', cause: err }) : err,
      );
    body.on('data', (chunk: Buffer) => chunks.push(chunk));
    body.once('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    body.once('error', fail);
    // Closed before its end without an error (a socket cut mid-answer): a reset, as the server would see it.
    body.once('close', () => {
      if (!ended)
        fail(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' }));
    });
  });
}

/**
 * The per-request timeout ran out: the request's own timeout, which the
 * client tells apart from a command's deadline (and words differently when
 * the server never answered at all).
 */
export class RequestTimeoutError extends TimeoutError {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
    cause: unknown,
  ) {
    super(`request to ${url} timed out after ${formatDuration(timeoutMs)}`, {
      hint: 'raise --request-timeout, or check that the API server is healthy',
      cause,
    });
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
  if (timeoutSignal?.aborted) return new RequestTimeoutError(redactUrl(url), opts.timeoutMs, err);
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
