/**
 * The health check of `kubectl study-ctx check`: for each context, in
 * parallel and each under its own deadline, DNS, TCP, TLS, then the API
 * (server version and round-trip time) and the identity the server sees
 * (SelfSubjectReview, as `kubectl auth whoami`). A dead cluster costs one
 * timeout, not one per stage, and never delays the others.
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

import { ApiError, ExitCode, redactMessage, StudyError, TimeoutError, UsageError } from '../base/errors.js';
import { assertCredentialsUsable, KubeClient } from '../kube/client.js';
import {
  apiStatusOf,
  describeConnectionFailure,
  notAnApiServer,
  rawFailureOf,
  systemCodeOf,
} from '../kube/apierror.js';
import { credentialNote } from '../kube/credentials.js';
import { whoAmI } from '../kube/reviews.js';
import { resolveContext, type MergedKubeconfig, type ResolvedContext } from '../kube/kubeconfig.js';
import { abortable, mapLimit } from '../base/concurrency.js';
import { displayServer } from './inventory.js';

export type CheckOutcome =
  | 'ok'
  | 'config-error'
  | 'dns-failed'
  | 'unreachable'
  | 'timeout'
  | 'tls-failed'
  | 'unauthorized'
  | 'error';

export type Stage = 'config' | 'dns' | 'tcp' | 'tls' | 'api' | 'auth';

export interface StageResult {
  stage: Stage;
  ok: boolean;
  ms: number;
  detail?: string;
}

export interface ContextCheck {
  context: string;
  server: string;
  ok: boolean;
  outcome: CheckOutcome;
  /** The stage that failed, when one did. */
  failedStage?: Stage;
  message?: string;
  hint?: string;
  stages: StageResult[];
  identity?: { username: string; uid?: string; groups: string[] };
  serverVersion?: string;
  /** Round trip of GET /version. */
  rttMs?: number;
  elapsedMs: number;
}

export interface CheckList {
  kind: 'ContextCheckList';
  apiVersion: 'study.kubectl.io/v1';
  timeoutMs: number;
  elapsedMs: number;
  checks: ContextCheck[];
}

class StageFailure extends Error {
  constructor(
    readonly stage: Stage,
    readonly outcome: CheckOutcome,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export async function checkContexts(
  merged: MergedKubeconfig,
  names: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<CheckList> {
  const started = Date.now();
  const checks = await mapLimit(names, 32, (name) => checkContext(merged, name, timeoutMs, signal));
  return {
    kind: 'ContextCheckList',
    apiVersion: 'study.kubectl.io/v1',
    timeoutMs,
    elapsedMs: Date.now() - started,
    checks,
  };
}

async function checkContext(
  merged: MergedKubeconfig,
  name: string,
  timeoutMs: number,
  outer: AbortSignal,
): Promise<ContextCheck> {
  const started = Date.now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new TimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const signal = AbortSignal.any([deadline.signal, outer]);
  const stages: StageResult[] = [];
  const result: ContextCheck = { context: name, server: '', ok: false, outcome: 'error', stages, elapsedMs: 0 };
  let current: Stage = 'config';
  const run = async <T>(stage: Stage, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    current = stage;
    const t0 = Date.now();
    const value = await abortable(fn(), signal);
    const step: StageResult = { stage, ok: true, ms: Date.now() - t0 };
    const text = detail?.(value);
    if (text) step.detail = text;
    stages.push(step);
    return value;
  };
  try {
    let ctx: ResolvedContext;
    try {
      ctx = resolveContext(merged, { context: name });
      assertCredentialsUsable(ctx);
    } catch (err) {
      const outcome = expiredCredential(err) ? 'unauthorized' : 'config-error';
      throw new StageFailure('config', outcome, (err as Error).message, (err as StudyError).hint);
    }
    result.server = displayServer(ctx.cluster.server);
    const proxy = ctx.cluster['proxy-url'];
    if (proxy) {
      // Every request goes through the proxy: reach the proxy here; the API stage tunnels to the server.
      const proxyUrl = new URL(proxy);
      const proxyHost = proxyUrl.hostname.replace(/^\[|\]$/g, '');
      const address = await run(
        'dns',
        () => resolveHost(proxyHost),
        (a) => `proxy ${a === proxyHost ? proxyHost : a}`,
      );
      await run(
        'tcp',
        () => tcpConnect(address, Number(proxyUrl.port || (proxyUrl.protocol === 'https:' ? 443 : 80)), signal),
        () => `proxy ${proxyUrl.host}`,
      );
    } else {
      const url = new URL(ctx.cluster.server ?? '');
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const address = await run(
        'dns',
        () => resolveHost(host),
        (a) => (a === host ? 'literal address' : a),
      );
      await run('tcp', () => tcpConnect(address, port, signal));
      if (url.protocol === 'https:') await run('tls', () => tlsHandshake(ctx, host, port, signal));
    }
    const client = new KubeClient(ctx, undefined, timeoutMs, { signal });
    const version = await run(
      'api',
      async () => {
        const t0 = Date.now();
        const info = await client.request<{ gitVersion?: string }>('GET', '/version');
        return { gitVersion: info.gitVersion ?? '', rtt: Date.now() - t0 };
      },
      (v) => v.gitVersion,
    );
    result.serverVersion = version.gitVersion;
    result.rttMs = version.rtt;
    result.identity = await run('auth', () => whoAmI(client));
    result.ok = true;
    result.outcome = 'ok';
  } catch (err) {
    const failure = classify(err, current, merged, name, signal, timeoutMs);
    result.failedStage = failure.stage;
    result.outcome = failure.outcome;
    result.message = failure.message;
    if (failure.hint) result.hint = failure.hint;
    stages.push({ stage: failure.stage, ok: false, ms: 0, detail: failure.message });
  } finally {
    clearTimeout(timer);
    result.elapsedMs = Date.now() - started;
  }
  return result;
}

function classify(
  failure: unknown,
  stage: Stage,
  merged: MergedKubeconfig,
  name: string,
  signal: AbortSignal,
  timeoutMs: number,
): StageFailure {
  if (failure instanceof StageFailure) return failure;
  // The client's typed error says what the request met in general words: the stage is told from the raw failure.
  const err = rawFailureOf(failure);
  // Our own errors (an exec plugin that failed, credentials that cannot work) already say what and why.
  if (err instanceof StudyError && !(err instanceof TimeoutError) && err.exitCode !== ExitCode.INTERRUPTED) {
    const outcome = err instanceof UsageError ? 'config-error' : expiredCredential(err) ? 'unauthorized' : 'error';
    return new StageFailure(stage, outcome, err.message, err.hint);
  }
  if (signal.aborted || err instanceof TimeoutError || (err as Error)?.name === 'AbortError') {
    const what = {
      dns: 'resolving the host name',
      tcp: 'connecting',
      tls: 'the TLS handshake',
      api: 'the API request',
      auth: 'the identity request',
      config: 'reading the config',
    }[stage];
    return new StageFailure(
      stage,
      'timeout',
      `no answer within ${timeoutMs} ms (during ${what})`,
      'the server accepts connections but does not answer, or the network drops packets',
    );
  }
  const foreign = notAnApiServer(err);
  if (foreign) return new StageFailure(stage, 'error', foreign.what, foreign.hint);
  const api = apiStatusOf(err);
  if (api) {
    if (api.code === 401) {
      const ctxUser = merged.contexts.get(name)?.value.user;
      const user = ctxUser ? merged.users.get(ctxUser)?.value : undefined;
      return new StageFailure(
        stage,
        'unauthorized',
        'the server rejected the credentials (401 Unauthorized)',
        (user && credentialNote(user)) ?? 'check the credentials of this context',
      );
    }
    return new StageFailure(
      stage,
      'error',
      `HTTP ${api.code}: ${api.status.message ?? api.status.reason ?? ''}`.trim(),
    );
  }
  const code = systemCodeOf(err);
  const clusterName = merged.contexts.get(name)?.value.cluster ?? '';
  const proxy = merged.clusters.get(clusterName)?.value['proxy-url'];
  // With a proxy, the DNS and TCP stages are the proxy's: blame it, not the API server.
  const via =
    proxy && (stage === 'dns' || stage === 'tcp')
      ? `the proxy ${proxyHost(proxy)} (proxy-url of cluster "${clusterName}"): `
      : '';
  const proxyHint = 'is the proxy running? check proxy-url in the kubeconfig';
  if (stage === 'dns')
    return new StageFailure(
      'dns',
      'dns-failed',
      `${via}host name does not resolve (${code ?? 'DNS error'})`,
      via ? proxyHint : 'check the server address, DNS or VPN',
    );
  const conn = describeConnectionFailure(code, '');
  if (conn) {
    const outcome: CheckOutcome = stage === 'tls' || conn.reason.startsWith('TLS') ? 'tls-failed' : 'unreachable';
    const message = code === 'ECONNREFUSED' ? 'connection refused' : conn.reason.replace(/ by $/, '');
    return new StageFailure(stage, outcome, `${via}${message}`, via ? proxyHint : conn.hint);
  }
  const message = redactMessage((err as Error)?.message?.split('\n')[0] ?? String(err));
  return new StageFailure(stage, stage === 'tls' ? 'tls-failed' : 'error', message);
}

/** A credential whose time is up, found before any request (an oidc id-token): unauthorized, as a 401 would be. */
function expiredCredential(err: unknown): boolean {
  return err instanceof ApiError && err.reason === 'CredentialExpired';
}

function proxyHost(proxy: string): string {
  try {
    return new URL(proxy).host;
  } catch {
    return proxy;
  }
}

async function resolveHost(host: string): Promise<string> {
  if (net.isIP(host)) return host;
  const { address } = await lookup(host);
  return address;
}

/** Resolves once the socket reaches `event` (then closes it), rejects on error; the signal destroys it. */
function settle(socket: net.Socket, event: 'connect' | 'secureConnect', signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once(event, () => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

function tcpConnect(address: string, port: number, signal: AbortSignal): Promise<void> {
  return settle(net.connect({ host: address, port }), 'connect', signal);
}

function tlsHandshake(ctx: ResolvedContext, host: string, port: number, signal: AbortSignal): Promise<void> {
  const cluster = ctx.cluster;
  let ca: Buffer | undefined;
  if (cluster['certificate-authority-data']) ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
  else if (cluster['certificate-authority']) {
    try {
      ca = readFileSync(cluster['certificate-authority']);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      return Promise.reject(
        new StageFailure('tls', 'config-error', `certificate authority ${cluster['certificate-authority']} ${why}`),
      );
    }
  }
  const options: tls.ConnectionOptions = {
    host,
    port,
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    ALPNProtocols: ['http/1.1'],
  };
  if (ca) options.ca = ca;
  const servername = cluster['tls-server-name'] || (net.isIP(host) ? undefined : host);
  if (servername) options.servername = servername;
  return settle(tls.connect(options), 'secureConnect', signal);
}
