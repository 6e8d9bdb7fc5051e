/**
 * The client factory: from the connection options to a client that sends
 * every request, typed or raw, list, watch or write, through one URL
 * builder (url.ts), one transport (transport.ts) over one keep-alive agent
 * (session.ts) and one error mapping (apierror.ts). Commands import this
 * module lazily (the command table does), so --help loads none of it; and
 * it loads client-node only for proxy-url agents.
 */
import { setMaxListeners } from 'node:events';

import { TimeoutError, UsageError, type StudyError } from '../base/errors.js';
import { exponentialBackoff, type Backoff } from '../base/backoff.js';
import { sleep } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import {
  apiStatusOf,
  DEFAULT_OUTAGE_MS,
  rawFailureOf,
  retryDelay,
  silentServerError,
  toStudyError,
} from './apierror.js';
import type { ConnectionOptions } from './connection.js';
import { assertAuthProviderUsable, credentialNote, credentialProblems } from './credentials.js';
import { cacheRoot, discoveryCacheDir } from './discoverycache.js';
import {
  assertFilesUsable,
  loadKubeconfig,
  resolveContext,
  type MergedKubeconfig,
  type ResolvedContext,
} from './kubeconfig.js';
import { openSession, type Session } from './session.js';
import {
  HttpStatusError,
  NotJsonError,
  RequestTimeoutError,
  send,
  translateAbort,
  type HttpResponse,
  type Impersonation,
  type RequestRecord,
  type TransportOptions,
} from './transport.js';
import { apiUrl, type Query } from './url.js';

export interface ClientOptions {
  /** Aborts every request of this client (Ctrl-C, or an overall deadline). */
  signal?: AbortSignal;
  /** Called after every request, for --verbose and request counting. */
  onRequest?: (record: RequestRecord) => void;
  /** Overrides --request-timeout (the ctx check uses its own per-context timeout). */
  timeoutMs?: number;
  /** How long an API server that answered before may stay unreachable (default DEFAULT_OUTAGE_MS). */
  outageMs?: number;
  /** kubectl's --cache-dir (discovery is cached beneath it); default $KUBECACHEDIR, else ~/.kube/cache. */
  cacheDir?: string;
}

export interface RequestOptions {
  /**
   * Safe to send again (default: GET only; access reviews are too): then a
   * connection that fails after the server has answered this command before
   * (a restart, not a wrong address) is retried within the outage budget.
   */
  idempotent?: boolean;
  /** Retry 429 throttling after its Retry-After (default true; evictions decide themselves). */
  retryThrottle?: boolean;
  body?: unknown;
  query?: Query;
  /** Content-Type of the body (default application/json): the patch types. */
  contentType?: string;
  headers?: Record<string, string>;
  /** Asks as this identity instead of the client's own (impersonated: one request, e.g. a rules review as another subject). */
  impersonate?: Impersonation;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

/** A connection to one cluster as one identity. */
export class KubeClient {
  /** The agent and credentials: made once, or again when an exec credential expires. */
  private session: Session | undefined;
  private pendingSession: Promise<Session> | undefined;
  readonly context: ResolvedContext;
  private readonly transport: TransportOptions;
  /** How long a server that answered before may stay unreachable: requests and watches ride through that long. */
  readonly outageMs: number;
  /** Where this server's discovery is cached, kubectl's directory (discoverycache.ts). */
  readonly discoveryCacheDir: string;
  /** Whether a request of this client has succeeded: a failure after it is an outage, not a wrong address. */
  private answered = false;
  /** Whether this client has sent a request (its credential, if from an exec plugin, came). */
  private sent = false;
  /** Whether the server has sent this client any answer at all (an error status included). */
  private heard = false;
  requests = 0;
  /** How often the API server throttled this client (429 retried after Retry-After). */
  throttled = 0;

  constructor(
    context: ResolvedContext,
    impersonate: Impersonation | undefined,
    timeoutMs: number,
    options: ClientOptions = {},
  ) {
    this.context = context;
    // Every request in flight listens on the command's signal: hundreds at once are no leak.
    if (options.signal) setMaxListeners(0, options.signal);
    this.outageMs = options.outageMs ?? DEFAULT_OUTAGE_MS;
    this.discoveryCacheDir = discoveryCacheDir(cacheRoot(options.cacheDir), context.cluster.server ?? '');
    this.transport = {
      timeoutMs,
      signal: options.signal,
      impersonate,
      onRequest: (r) => {
        this.requests++;
        options.onRequest?.(r);
      },
    };
  }

  /** What ends every request of this client (Ctrl-C, a deadline). */
  get signal(): AbortSignal | undefined {
    return this.transport.signal;
  }

  /** The namespace of -n, or of the context, or "default". */
  get namespace(): string {
    return this.context.namespace;
  }

  get server(): string {
    return this.context.cluster.server ?? '';
  }

  /**
   * The error for a command's deadline (`bound`: "--timeout 3s") that ran
   * out before the API server answered anything: the exec plugin that has
   * not given a credential yet, or the server's silence; never a late answer
   * (a rollout not complete, no plan). Undefined once the server has answered.
   */
  silenceError(bound: string, consequence = ''): StudyError | undefined {
    if (this.heard) return undefined;
    const exec = this.context.user.exec;
    if (!this.sent && exec)
      return new TimeoutError(`exec plugin "${exec.command ?? ''}" gave no credential within ${bound}${consequence}`, {
        hint: 'does it wait for a login in a browser? run it by hand first',
      });
    return silentServerError(this.server, bound, consequence);
  }

  /** The session for this context; an exec plugin runs here (once, and again shortly before its credential expires). */
  private async current(): Promise<Session> {
    const session = this.session;
    if (session && (session.expiresAt === undefined || session.expiresAt > Date.now() + 10_000)) return session;
    this.pendingSession ??= (async () => {
      const exec = this.context.user.exec;
      // Loaded only for an exec user: child_process is a start-up cost the others need not pay.
      const cred = exec
        ? await (await import('./exec.js')).execBroker.credential(
            { userName: this.context.userName, exec, cluster: this.context.cluster },
            this.transport.timeoutMs || 60_000,
            this.transport.signal,
          )
        : undefined;
      this.session = await openSession(this.context, cred, this.session);
      return this.session;
    })().finally(() => {
      this.pendingSession = undefined;
    });
    return this.pendingSession;
  }

  /** Authentication headers and the keep-alive agent for a request. */
  private async authFor(
    url: string,
    method: string,
  ): Promise<{ headers: Record<string, string>; agent: Session['agent'] }> {
    const session = await this.current();
    return { headers: await session.authHeaders(url, method), agent: session.agent };
  }

  /** Whether the cluster asks for uncompressed answers (disable-compression, as kubectl reads it). */
  private get compress(): boolean {
    return this.context.cluster['disable-compression'] !== true;
  }

  /**
   * One request with this client's authentication, impersonation and
   * timeout. Returns parsed JSON; any failure throws a typed error (error()),
   * named by the method and path until a caller names it better (call()).
   */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const idempotent = opts.idempotent ?? method === 'GET';
    // Made at the first failure: most requests never need one.
    let backoff: Backoff | undefined;
    let outageSince: number | undefined;
    let throttledMs = 0;
    for (;;) {
      try {
        const value = await this.send<T>(method, path, opts);
        this.answered = true;
        return value;
      } catch (err) {
        const wait = retryDelay(err, {
          idempotent,
          retryThrottle: opts.retryThrottle !== false,
          answeredBefore: this.answered,
          throttledMs,
          outageMs: outageSince === undefined ? 0 : Date.now() - outageSince,
          budgetMs: this.outageMs,
          backoff: (backoff ??= exponentialBackoff(500, 5000)),
        });
        if (wait === undefined) throw this.error(`${method} ${path}`, err);
        if (wait.throttled) {
          this.throttled++;
          throttledMs += wait.ms;
        } else {
          outageSince ??= Date.now();
        }
        await sleep(wait.ms, this.transport.signal);
      }
    }
  }

  /** One attempt of a request. */
  private async send<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const url = apiUrl(this.server, path, opts.query);
    const auth = await this.authFor(url, method);
    const headers: Record<string, string> = { ...auth.headers, Accept: 'application/json', ...opts.headers };
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    this.sent = true;
    const transport = opts.impersonate ? { ...this.transport, impersonate: opts.impersonate } : this.transport;
    const { response, done, timeout } = await send(transport, url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      agent: auth.agent,
      compress: this.compress,
    });
    this.heard = true;
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw translateAbort(err, transport, timeout, url);
    } finally {
      done();
    }
    if (response.status >= 400) throw new HttpStatusError(response.status, text, response.headers);
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch (err) {
      throw new NotJsonError(response.headers['content-type'] ?? '', err);
    }
  }

  /**
   * A streaming GET (a watch): the per-request timeout bounds only the wait
   * for the response headers; `signal` ends the stream. A failure to start
   * it throws a typed error, as request() does.
   */
  async stream(path: string, query: Query, signal: AbortSignal): Promise<HttpResponse['body']> {
    try {
      const url = apiUrl(this.server, path, query);
      const auth = await this.authFor(url, 'GET');
      this.sent = true;
      const { response } = await send(
        this.transport,
        url,
        {
          method: 'GET',
          headers: { ...auth.headers, Accept: 'application/json' },
          agent: auth.agent,
          signal,
          compress: this.compress,
        },
        true,
      );
      this.heard = true;
      if (response.status >= 400) throw new HttpStatusError(response.status, await response.text(), response.headers);
      return response.body;
    } catch (err) {
      throw this.error(`watch ${path}`, err);
    }
  }

  /**
   * A failure of this client as a typed error naming what was being done
   * (a typed error of request() named again); a 401 says whether the
   * credential looks expired.
   */
  error(what: string, err: unknown): StudyError {
    const raw = rawFailureOf(err);
    if (raw instanceof RequestTimeoutError && !this.heard)
      return silentServerError(this.server, `--request-timeout ${formatDuration(raw.timeoutMs)}`);
    const unauthorized = apiStatusOf(err)?.code === 401;
    const note = unauthorized ? credentialNote(this.context.user) : undefined;
    const proxy = this.context.cluster['proxy-url'];
    return toStudyError(err, {
      what,
      server: this.server,
      user: this.context.userName,
      ...(note ? { credentialNote: note } : {}),
      ...(proxy ? { proxy } : {}),
    });
  }

  /** Runs an API call and turns any failure into a typed error (see error()). */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.error(what, err);
    }
  }
}

/** Impersonation from the flags, else from the kubeconfig user (flags win, as in kubectl). */
function impersonationFor(flags: ConnectionOptions, ctx: ResolvedContext): Impersonation | undefined {
  if (flags.as) return { user: flags.as, groups: flags.asGroups, uid: flags.asUid };
  const user = ctx.user;
  if (user.as)
    return { user: user.as, groups: user['as-groups'] ?? [], uid: user['as-uid'], extra: user['as-user-extra'] };
  return undefined;
}

/**
 * Refuses, before any request, certificates and keys that cannot work, naming the entry and the field, and an
 * auth-provider that cannot authenticate (credentials.ts says why).
 */
export function assertCredentialsUsable(ctx: ResolvedContext): void {
  const problem = credentialProblems(ctx.clusterName, ctx.cluster, ctx.userName, ctx.user)[0];
  if (problem) {
    throw new UsageError(`${problem.owner}: ${problem.field} ${problem.problem}`, {
      hint:
        'fix the kubeconfig (kubectl refuses it too); ' +
        `"kubectl study-ctx show ${ctx.contextName}" shows the context`,
    });
  }
  assertAuthProviderUsable(ctx.userName, ctx.user);
}

/** Loads the kubeconfig as kubectl would and connects with the flags' context and identity. */
export function connect(flags: ConnectionOptions, options: ClientOptions = {}, merged?: MergedKubeconfig): KubeClient {
  const config = merged ?? flags.loaded ?? loadKubeconfig(flags.kubeconfig);
  assertFilesUsable(config);
  const ctx = resolveContext(config, flags);
  assertCredentialsUsable(ctx);
  return new KubeClient(ctx, impersonationFor(flags, ctx), options.timeoutMs ?? flags.requestTimeoutMs, {
    ...options,
    cacheDir: options.cacheDir ?? flags.cacheDir,
  });
}
