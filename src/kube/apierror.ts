/**
 * API and connection failures, turned into typed errors with one clear line
 * and a hint. An HTTP error carries the Status object as a JSON string body
 * (our HttpStatusError, as client-node's ApiException); a connection
 * failure carries a system error code. The client maps every failure here
 * before it throws; the raw failure stays behind the typed error, so its
 * status stays readable and a caller can name what it was doing.
 */
import {
  ApiError,
  ForbiddenError,
  redactMessage,
  ExitCode,
  NotFoundError,
  StudyError,
  TimeoutError,
} from '../base/errors.js';
import { NotJsonError } from './transport.js';

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    group?: string;
    causes?: Array<{ message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

/**
 * The raw failure (an HttpStatusError, a socket error) behind each typed
 * error toStudyError made: a caller that knows better what was being done
 * names it again, and its status stays readable (apiStatusOf).
 */
const rawFailures = new WeakMap<StudyError, unknown>();

/** The raw failure a typed error was made from, or the error itself. */
export function rawFailureOf(err: unknown): unknown {
  return err instanceof StudyError && rawFailures.has(err) ? rawFailures.get(err) : err;
}

/**
 * The HTTP status and Status object of an ApiException-like error (or of a
 * typed error made from one), or undefined.
 */
export function apiStatusOf(
  err: unknown,
): { code: number; status: KubeStatus; headers: Record<string, string> } | undefined {
  const raw = rawFailureOf(err);
  if (!raw || typeof raw !== 'object') return undefined;
  const answer = raw as { code?: unknown; body?: unknown; headers?: unknown };
  if (typeof answer.code !== 'number' || answer.code < 100 || answer.code > 599) return undefined;
  let status: KubeStatus = {};
  if (typeof answer.body === 'string') {
    try {
      const parsed = JSON.parse(answer.body) as unknown;
      if (parsed && typeof parsed === 'object') status = parsed as KubeStatus;
    } catch {
      // A short text (the API server's own "404 page not found") is shown; a web page is named, not quoted.
      status = /^\s*</.test(answer.body)
        ? { message: 'an HTML page, not a Status', reason: NOT_AN_API_SERVER_REASON }
        : { message: answer.body.slice(0, 200) };
    }
  } else if (answer.body && typeof answer.body === 'object') {
    status = answer.body as KubeStatus;
  }
  const headers: Record<string, string> =
    answer.headers && typeof answer.headers === 'object' ? (answer.headers as Record<string, string>) : {};
  return { code: answer.code, status, headers };
}

/**
 * The seconds an answer asks the client to wait: its Retry-After header,
 * else its Status's retryAfterSeconds; 0 if none.
 */
export function retryAfterOf(api: { status: KubeStatus; headers: Record<string, string> }): number {
  return Number(api.headers['retry-after'] ?? api.status.details?.retryAfterSeconds ?? 0) || 0;
}

/** The reason apiStatusOf gives an error answer that is a web page: no API server sent it. */
const NOT_AN_API_SERVER_REASON = 'NotAnApiServer';

/**
 * An answer no API server sends (a success that is not JSON, an error that is a web page, as from a web
 * server or a proxy's sign-in page), in words: what came, and the hint; undefined for any other failure.
 */
export function notAnApiServer(err: unknown): { what: string; hint: string } | undefined {
  const raw = rawFailureOf(err);
  let what: string | undefined;
  if (raw instanceof NotJsonError) {
    const type = raw.contentType.split(';')[0]?.trim() || 'no content type';
    what = `${type === 'text/html' ? 'a web page (text/html)' : type}, not JSON`;
  } else {
    const api = apiStatusOf(raw);
    if (api?.status.reason === NOT_AN_API_SERVER_REASON) what = `a web page with HTTP ${api.code}, not a Status`;
  }
  return what === undefined
    ? undefined
    : {
        what: `the server answered with ${what}`,
        hint: 'is the server address that of a Kubernetes API server, and not of a web server or a proxy?',
      };
}

export interface ErrorContext {
  /** What was being done, e.g. "get node worker-1". */
  what: string;
  server: string;
  user?: string;
  /** Extra words for a 401, e.g. "the client certificate expired 3 days ago". */
  credentialNote?: string;
  /** The cluster's proxy-url: a connection that fails is the proxy's first. */
  proxy?: string;
}

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate is signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'the server certificate is signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server certificate is signed by an unknown authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate is signed by an unknown authority',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate is not valid for this host name',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  CERT_NOT_YET_VALID: 'the server certificate is not valid yet',
  EPROTO: 'the TLS handshake failed',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server did not speak TLS (is it http://?)',
};

/** The system error code behind a socket error (or one wrapped in a cause). */
export function systemCodeOf(err: unknown): string | undefined {
  const raw = rawFailureOf(err);
  let current: unknown = raw;
  for (let i = 0; i < 4 && current && typeof current === 'object'; i++) {
    const c = current as { code?: unknown; errno?: unknown; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (typeof c.errno === 'string') return c.errno;
    current = c.cause;
  }
  // Some agents (the SOCKS one) throw a plain Error that says the code only in words.
  current = raw;
  for (let i = 0; i < 4 && current && typeof current === 'object'; i++) {
    const msg = (current as Error).message ?? '';
    const m =
      /reason: (?:connect |getaddrinfo )?([A-Z_]{4,})/.exec(msg) ??
      /\b(?:connect|getaddrinfo|read|write) (E[A-Z_]{3,})\b/.exec(msg);
    if (m) return m[1];
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A short reason for a connection-level failure, or undefined if it is not one. */
export function describeConnectionFailure(
  code: string | undefined,
  host: string,
): { reason: string; hint: string } | undefined {
  if (!code) return undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return {
        reason: `connection refused by ${host}`,
        hint: 'is the API server running, and is the server address in the kubeconfig right?',
      };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return {
        reason: `the host name in ${host} does not resolve (DNS)`,
        hint: 'check the server address in the kubeconfig, or your DNS/VPN',
      };
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return {
        reason: `connecting to ${host} timed out`,
        hint: 'check network reachability (firewall, VPN) of the API server',
      };
    case 'ECONNRESET':
    case 'EPIPE':
      return {
        reason: `the connection to ${host} was reset`,
        hint: 'the server or a proxy in between closed the connection; try again',
      };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { reason: `${host} is unreachable`, hint: 'check network routes, VPN or firewall' };
    default: {
      const tls = TLS_CODES[code];
      if (tls) {
        return {
          reason: `TLS failed: ${tls}`,
          hint:
            code === 'ERR_TLS_CERT_ALTNAME_INVALID'
              ? 'the server address must match the certificate (or set tls-server-name in the kubeconfig)'
              : 'check certificate-authority(-data) of the cluster in the kubeconfig',
        };
      }
      return undefined;
    }
  }
}

function hostOf(server: string): string {
  try {
    return new URL(server).host || server;
  } catch {
    return server;
  }
}

/**
 * A deadline that ran out before the API server's first answer: the server
 * did not answer, and the message says so and how long it was given (as
 * `bound`: "--timeout 3s"), never that an answer (a rollout, a plan) was
 * late. `consequence` follows it: "; nothing was changed". Pure.
 */
export function silentServerError(server: string, bound: string, consequence = ''): TimeoutError {
  const flag = bound.split(' ')[0] ?? bound;
  return new TimeoutError(`the API server ${hostOf(server)} did not answer within ${bound}${consequence}`, {
    hint:
      'nothing was read from it: is it up, and is the server address right? ' +
      `"kubectl study-ctx check" shows which step hangs (DNS, TCP, TLS, API); raise ${flag} if it is only slow`,
  });
}

/**
 * Maps any failure of an API call to a StudyError. A typed error this
 * function made is made again from its raw failure, named by `ctx.what`;
 * any other StudyError (a timeout, an interrupt, a kubeconfig problem) is
 * returned as it is.
 */
export function toStudyError(err: unknown, ctx: ErrorContext): StudyError {
  const raw = rawFailureOf(err);
  if (raw instanceof StudyError) return raw;
  const typed = fromRawFailure(raw, ctx);
  rawFailures.set(typed, raw);
  return typed;
}

function fromRawFailure(err: unknown, ctx: ErrorContext): StudyError {
  const foreign = notAnApiServer(err);
  if (foreign) return new ApiError(`cannot ${ctx.what}: ${foreign.what}`, { hint: foreign.hint, cause: err });
  const api = apiStatusOf(err);
  if (api) return fromStatus(api.code, api.status, ctx, err);
  const code = systemCodeOf(err);
  if (
    ctx.proxy &&
    code &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code)
  ) {
    const conn = describeConnectionFailure(code, hostOf(ctx.proxy));
    return new ApiError(
      `cannot ${ctx.what}: through the proxy ${hostOf(ctx.proxy)} (proxy-url): ${conn?.reason ?? code}`,
      {
        hint: 'is the proxy running and can it reach the API server? check proxy-url in the kubeconfig',
        cause: err,
        reason: code,
      },
    );
  }
  const conn = describeConnectionFailure(code, hostOf(ctx.server));
  if (conn) return new ApiError(`cannot ${ctx.what}: ${conn.reason}`, { hint: conn.hint, cause: err, reason: code });
  if ((err as Error)?.name === 'AbortError') {
    return new TimeoutError(`cannot ${ctx.what}: the request was aborted`, { cause: err });
  }
  const message = redactMessage((err as Error)?.message ?? String(err));
  return new ApiError(`cannot ${ctx.what}: ${message.split('\n')[0]}`, {
    hint: 'run again with --verbose for details',
    cause: err,
  });
}

function fromStatus(code: number, status: KubeStatus, ctx: ErrorContext, cause?: unknown): StudyError {
  const msg = status.message || `HTTP ${code}`;
  switch (code) {
    case 401:
      return new ApiError(
        `cannot ${ctx.what}: the server rejected the credentials` +
          `${ctx.user ? ` of user "${ctx.user}"` : ''} (401 Unauthorized)`,
        {
          status: code,
          reason: 'Unauthorized',
          hint:
            ctx.credentialNote ??
            'the token or certificate is not accepted: check that it is current (run "kubectl study-ctx show")',
          cause,
        },
      );
    case 403:
      return new ForbiddenError(`cannot ${ctx.what}: forbidden: ${msg}`, {
        hint: 'ask a cluster admin for this permission (see "kubectl auth can-i")',
        cause,
      });
    case 404:
      return new NotFoundError(`cannot ${ctx.what}: ${msg}`, { cause });
    case 504:
    case 408:
      return new ApiError(`cannot ${ctx.what}: the server timed out: ${msg}`, {
        status: code,
        exitCode: ExitCode.TIMEOUT,
        cause,
      });
    default:
      return new ApiError(`cannot ${ctx.what}: ${msg}`, {
        status: code,
        reason: status.reason,
        hint: code >= 500 ? 'the API server failed; check its health and try again' : undefined,
        cause,
      });
  }
}

/**
 * How long a command rides through an API server that answered before and
 * now does not: the client's, a watch's and an eviction's budget, and the
 * default of --api-outage-timeout (its help says it from here).
 */
export const DEFAULT_OUTAGE_MS = 120_000;

/** Connection failures a restarting API server causes, as opposed to a wrong address or TLS. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export interface RetryState {
  idempotent: boolean;
  retryThrottle: boolean;
  /** The server answered this command before: a failure now is an outage, not a wrong address. */
  answeredBefore: boolean;
  throttledMs: number;
  outageMs: number;
  budgetMs: number;
  backoff: { next(retryAfterSeconds?: number): number };
}

/** The longest a single request waits out throttling in total. */
export const THROTTLE_BUDGET_MS = 120_000;

/**
 * Whether a failed request is sent again, and after how long. Pure but for
 * the backoff. 429 throttling (API Priority and Fairness) waits its
 * Retry-After; an outage (no answer, or 503, after earlier answers) is
 * ridden through for idempotent requests until the budget is spent.
 */
export function retryDelay(err: unknown, state: RetryState): { ms: number; throttled: boolean } | undefined {
  const api = apiStatusOf(err);
  if (api?.code === 429 && state.retryThrottle) {
    const after = retryAfterOf(api) || 1;
    const ms = Math.min(10_000, Math.max(500, after * 1000));
    return state.throttledMs + ms <= THROTTLE_BUDGET_MS ? { ms, throttled: true } : undefined;
  }
  if (!state.idempotent || !state.answeredBefore || state.outageMs >= state.budgetMs) return undefined;
  const code = systemCodeOf(err);
  const outage = api ? api.code === 503 : code !== undefined && TRANSIENT.has(code);
  return outage ? { ms: state.backoff.next(), throttled: false } : undefined;
}
