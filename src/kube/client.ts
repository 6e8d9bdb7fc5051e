/**
 * The client factory: from the connection options to a client that sends
 * every request, typed or raw, list, watch or write, through one URL
 * builder (url.ts), one transport (transport.ts) and one error mapping
 * (apierror.ts). client-node supplies the credentials (client
 * certificates, tokens, exec plugins, auth providers) and the TLS agent.
 * Commands import this module lazily (the command table does), so --help
 * never loads client-node.
 */
import { readFileSync } from 'node:fs';

import * as k8s from '@kubernetes/client-node';

import { UsageError, type StudyError } from '../base/errors.js';
import { exponentialBackoff } from '../base/backoff.js';
import { sleep } from '../base/concurrency.js';
import { apiStatusOf, DEFAULT_OUTAGE_MS, retryDelay, toStudyError } from './apierror.js';
import type { ConnectionOptions } from './connection.js';
import { credentialNote, credentialProblems } from './credentials.js';
import { runExecPlugin, type ExecCredential } from './exec.js';
import { assertFilesUsable, loadKubeconfig, resolveContext, type MergedKubeconfig, type ResolvedContext } from './kubeconfig.js';
import { send, translateAbort, type Impersonation, type RequestRecord, type TransportOptions } from './transport.js';
import { apiUrl, type Query } from './url.js';

export interface ClientOptions {
  /** Aborts every request of this client (Ctrl-C, or an overall deadline). */
  signal?: AbortSignal;
  /** Called after every request, for --verbose and request counting. */
  onRequest?: (record: RequestRecord) => void;
  /** Overrides --request-timeout (the ctx check uses its own per-context timeout). */
  timeoutMs?: number;
  /** How long an API server that answered before may stay unreachable (default 2 minutes). */
  outageMs?: number;
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
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

/** A connection to one cluster as one identity. */
export class KubeClient {
  /** client-node's config: made once, or again when an exec credential expires. */
  private kc: { config: k8s.KubeConfig; expiresAt?: number } | undefined;
  private pendingKc: Promise<k8s.KubeConfig> | undefined;
  readonly context: ResolvedContext;
  private readonly transport: TransportOptions;
  /** How long a server that answered before may stay unreachable: requests and watches ride through that long. */
  readonly outageMs: number;
  /** Whether the server has answered this client at least once. */
  private answered = false;
  requests = 0;
  /** How often the API server throttled this client (429 retried after Retry-After). */
  throttled = 0;

  constructor(context: ResolvedContext, impersonate: Impersonation | undefined, timeoutMs: number, options: ClientOptions = {}) {
    this.context = context;
    this.outageMs = options.outageMs ?? DEFAULT_OUTAGE_MS;
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

  /** The namespace of -n, or of the context, or "default". */
  get namespace(): string {
    return this.context.namespace;
  }

  get server(): string {
    return this.context.cluster.server ?? '';
  }

  /** client-node's config for this context; an exec plugin runs here (once, and again after its credential expires). */
  private async config(): Promise<k8s.KubeConfig> {
    if (this.kc && (this.kc.expiresAt === undefined || this.kc.expiresAt > Date.now() + 10_000)) return this.kc.config;
    this.pendingKc ??= (async () => {
      const exec = this.context.user.exec;
      if (!exec) {
        this.kc = { config: toClientNodeConfig(this.context) };
        return this.kc.config;
      }
      const cred = await runExecPlugin({ userName: this.context.userName, exec, cluster: this.context.cluster }, this.transport.timeoutMs || 60_000, this.transport.signal);
      this.kc = { config: toClientNodeConfig(this.context, cred), ...(cred.expiresAt ? { expiresAt: cred.expiresAt } : {}) };
      return this.kc.config;
    })().finally(() => {
      this.pendingKc = undefined;
    });
    return this.pendingKc;
  }

  /** Authentication headers and TLS agent for a request. */
  private async authFor(url: string, method: string): Promise<{ headers: Record<string, string>; agent: ReturnType<k8s.RequestContext['getAgent']> }> {
    const authCtx = new k8s.RequestContext(url, method as k8s.HttpMethod);
    await (await this.config()).applySecurityAuthentication(authCtx);
    return { headers: { ...authCtx.getHeaders() }, agent: authCtx.getAgent() };
  }

  /**
   * One request with this client's authentication, impersonation and
   * timeout. Returns parsed JSON; an HTTP error throws an ApiException (the
   * Status object as its JSON body), which error() turns into a typed error.
   */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const idempotent = opts.idempotent ?? method === 'GET';
    const backoff = exponentialBackoff(500, 5000);
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
          backoff,
        });
        if (wait === undefined) throw err;
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
    const { response, done } = await send(this.transport, url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      agent: auth.agent,
    });
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw translateAbort(err, this.transport, undefined, url);
    } finally {
      done();
    }
    if (response.status >= 400) {
      const headerMap: Record<string, string> = {};
      response.headers.forEach((v, k) => {
        headerMap[k] = v;
      });
      throw new k8s.ApiException(response.status, `HTTP ${response.status}`, text, headerMap);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A streaming GET (a watch): the per-request timeout bounds only the wait
   * for the response headers; `signal` ends the stream.
   */
  async stream(path: string, query: Query, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    const url = apiUrl(this.server, path, query);
    const auth = await this.authFor(url, 'GET');
    const { response } = await send(this.transport, url, { method: 'GET', headers: { ...auth.headers, Accept: 'application/json' }, agent: auth.agent, signal }, true);
    if (response.status >= 400) {
      const text = await response.text();
      throw new k8s.ApiException(response.status, `HTTP ${response.status}`, text, {});
    }
    return response.body;
  }

  /**
   * A failure of this client as a typed error naming what was being done; a
   * 401 says whether the credential looks expired.
   */
  error(what: string, err: unknown): StudyError {
    const unauthorized = apiStatusOf(err)?.code === 401;
    const note = unauthorized ? credentialNote(this.context.user) : undefined;
    const proxy = this.context.cluster['proxy-url'];
    return toStudyError(err, { what, server: this.server, user: this.context.userName, ...(note ? { credentialNote: note } : {}), ...(proxy ? { proxy } : {}) });
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

/** client-node's KubeConfig for exactly one resolved context (with the exec plugin's credential, if it has one). */
function toClientNodeConfig(ctx: ResolvedContext, exec?: ExecCredential): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const c = ctx.cluster;
  // An ExecCredential carries PEM; a kubeconfig (and client-node) carries it base64-encoded.
  const b64 = (pem: string | undefined): string | undefined => (pem === undefined ? undefined : Buffer.from(pem).toString('base64'));
  const u = exec ? { ...ctx.user, exec: undefined, token: exec.token, 'client-certificate-data': b64(exec.clientCertificateData), 'client-key-data': b64(exec.clientKeyData) } : ctx.user;
  let token = u.token;
  if (!token && u.tokenFile) {
    try {
      token = readFileSync(u.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`token file ${u.tokenFile} of user "${ctx.userName}" cannot be read`, {
        hint: 'check the tokenFile path in the kubeconfig',
        cause: err,
      });
    }
  }
  kc.loadFromOptions({
    clusters: [
      {
        name: ctx.clusterName,
        server: c.server ?? '',
        caData: c['certificate-authority-data'],
        caFile: c['certificate-authority'],
        // A plain http:// server has no TLS to verify (client-node refuses http:// unless told so).
        skipTLSVerify: c['insecure-skip-tls-verify'] === true || (c.server ?? '').startsWith('http://'),
        tlsServerName: c['tls-server-name'],
        proxyUrl: c['proxy-url'],
      },
    ],
    users: [
      {
        name: ctx.userName || 'anonymous',
        certData: u['client-certificate-data'],
        certFile: u['client-certificate'],
        keyData: u['client-key-data'],
        keyFile: u['client-key'],
        token,
        username: u.username,
        password: u.password,
        exec: u.exec,
        authProvider: u['auth-provider'],
      },
    ],
    contexts: [
      { name: ctx.contextName || 'context', cluster: ctx.clusterName, user: ctx.userName || 'anonymous', namespace: ctx.namespace },
    ],
    currentContext: ctx.contextName || 'context',
  });
  return kc;
}

/** Impersonation from the flags, else from the kubeconfig user (flags win, as in kubectl). */
function impersonationFor(flags: ConnectionOptions, ctx: ResolvedContext): Impersonation | undefined {
  if (flags.as) return { user: flags.as, groups: flags.asGroups, uid: flags.asUid };
  const u = ctx.user;
  if (u.as) return { user: u.as, groups: u['as-groups'] ?? [], uid: u['as-uid'], extra: u['as-user-extra'] };
  return undefined;
}

/** Refuses, before any request, certificates and keys that cannot work, naming the entry and the field. */
export function assertCredentialsUsable(ctx: ResolvedContext): void {
  const problem = credentialProblems(ctx.clusterName, ctx.cluster, ctx.userName, ctx.user)[0];
  if (problem) {
    throw new UsageError(`${problem.owner}: ${problem.field} ${problem.problem}`, {
      hint: `fix the kubeconfig (kubectl refuses it too); "kubectl study-ctx show ${ctx.contextName}" shows the context`,
    });
  }
  const provider = ctx.user['auth-provider']?.name;
  if (provider !== undefined && !SUPPORTED_AUTH_PROVIDERS.includes(provider)) {
    throw new UsageError(`user "${ctx.userName}": auth-provider "${provider}" is not supported (kubectl-study supports ${SUPPORTED_AUTH_PROVIDERS.join(', ')})`, {
      hint: 'kubectl removed its in-tree auth providers; use the provider\u2019s exec credential plugin instead',
    });
  }
}

/** The auth-provider names client-node implements. */
const SUPPORTED_AUTH_PROVIDERS = ['oidc', 'azure', 'gcp'];

/** Loads the kubeconfig as kubectl would and connects with the flags' context and identity. */
export function connect(flags: ConnectionOptions, options: ClientOptions = {}, merged?: MergedKubeconfig): KubeClient {
  const config = merged ?? loadKubeconfig(flags.kubeconfig);
  assertFilesUsable(config);
  const ctx = resolveContext(config, flags);
  assertCredentialsUsable(ctx);
  return new KubeClient(ctx, impersonationFor(flags, ctx), options.timeoutMs ?? flags.requestTimeoutMs, options);
}
