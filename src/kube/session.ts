/**
 * What every request of one client shares while its credential holds: one
 * keep-alive agent (so a command opens a handful of TLS connections, not
 * one per request, and builds its TLS context once), and the headers that
 * authenticate a request.
 *
 * Certificates, keys, tokens, basic auth, exec credentials and an oidc
 * auth-provider's id-token are read here; client-node is loaded (lazily, it
 * is most of the bundle) only for what only it does: the agents that reach
 * the server through a proxy-url (http, https, socks).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

import type { KubeConfig } from '@kubernetes/client-node';

import { redactMessage, UsageError } from '../base/errors.js';
import { assertAuthProviderUsable, jwtExpiry, oidcSetting } from './credentials.js';
import type { ExecCredential } from './exec.js';
import type { ResolvedContext } from './kubeconfig.js';

/**
 * A watch holds its connection for as long as it runs, so the bound must
 * stay well above the watches one command opens (rollout status: four per
 * workload); fan-outs of short requests are bounded by their callers
 * (mapLimit). Idle connections beyond maxFreeSockets are closed.
 */
export const AGENT_LIMITS = { maxSockets: 256, maxFreeSockets: 32 } as const;

export interface Session {
  readonly agent: http.Agent;
  /** The Authorization header for one request. */
  authHeaders(url: string, method: string): Promise<Record<string, string>>;
  /** When the exec credential or the oidc id-token expires; undefined: it lasts as long as the process. */
  readonly expiresAt?: number;
  /** The client certificate and key it authenticates TLS with ('' without). */
  readonly tlsIdentity: string;
}

type ClientNode = typeof import('./clientnode.js');

/**
 * The session for a context (with its exec credential, when it has an exec
 * plugin). A previous session with the same TLS identity lends its agent:
 * a refreshed token keeps the connections.
 */
export async function openSession(
  ctx: ResolvedContext,
  exec: ExecCredential | undefined,
  previous?: Session,
): Promise<Session> {
  const user = ctx.user;
  const cert =
    exec?.clientCertificateData ??
    fileOrData(ctx, 'client-certificate', user['client-certificate'], user['client-certificate-data']);
  const key = exec?.clientKeyData ?? fileOrData(ctx, 'client-key', user['client-key'], user['client-key-data']);
  const tlsIdentity = cert && key ? `${cert}\n${key}` : '';
  // An oidc id-token is used while it holds (checked here too: a session is made again when it runs out).
  assertAuthProviderUsable(ctx.userName, user);
  const idToken = oidcSetting(user['auth-provider'], 'id-token');
  const expiresAt = exec?.expiresAt ?? jwtExpiry(idToken)?.getTime();
  const proxied = Boolean(ctx.cluster['proxy-url']);

  let agent: http.Agent;
  if (previous && previous.tlsIdentity === tlsIdentity) agent = previous.agent;
  else if (proxied) agent = await proxyAgent(ctx, clientNodeConfig(await import('./clientnode.js'), ctx, exec));
  else agent = directAgent(ctx, cert, key);

  const fixed = staticAuthorization(ctx, exec, idToken);
  const authHeaders: Session['authHeaders'] = () => Promise.resolve(fixed);
  return { agent, authHeaders, tlsIdentity, ...(expiresAt === undefined ? {} : { expiresAt }) };
}

/**
 * A bearer token (the exec plugin's, the kubeconfig's or its tokenFile's, an oidc id-token), else basic auth,
 * else nothing.
 */
function staticAuthorization(
  ctx: ResolvedContext,
  exec: ExecCredential | undefined,
  idToken: string | undefined,
): Record<string, string> {
  const user = ctx.user;
  const token = exec
    ? exec.token
    : (user.token ?? (user.tokenFile ? readTokenFile(ctx, user.tokenFile) : undefined) ?? idToken);
  if (token) return { Authorization: `Bearer ${token}` };
  if (!exec && user.username)
    return { Authorization: `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}` };
  return {};
}

function readTokenFile(ctx: ResolvedContext, file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`token file ${file} of user "${ctx.userName}" cannot be read`, {
      hint: 'check the tokenFile path in the kubeconfig',
      cause: err,
    });
  }
}

/** PEM text from a file, or from base64 data (as kubeconfigs carry it). */
function fileOrData(
  ctx: ResolvedContext,
  field: string,
  file: string | undefined,
  data: string | undefined,
): string | undefined {
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${field} ${file} of context "${ctx.contextName}" cannot be read`, {
      hint: `check ${field} in the kubeconfig`,
      cause: err,
    });
  }
}

/** The agent for a server reached directly: one TLS context, made once, for every connection. */
function directAgent(ctx: ResolvedContext, cert: string | undefined, key: string | undefined): http.Agent {
  const cluster = ctx.cluster;
  const server = cluster.server ?? '';
  const keepAlive = { keepAlive: true, ...AGENT_LIMITS };
  if (server.startsWith('http://')) return new http.Agent(keepAlive);
  const ca = fileOrData(
    ctx,
    'certificate-authority',
    cluster['certificate-authority'],
    cluster['certificate-authority-data'],
  );
  const secureContext = tls.createSecureContext({ ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) });
  return new https.Agent({
    ...keepAlive,
    secureContext,
    ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
    // Unset, Node's default holds (NODE_TLS_REJECT_UNAUTHORIZED included), as in client-node.
    ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
  });
}

/**
 * client-node's agent for the proxy-url (http, https or socks), with the TLS
 * options, kept alive. One it cannot make (a server address that is neither
 * http nor https, say) is the kubeconfig's problem: a usage error naming the
 * cluster, never the proxy-url itself (it may carry a password).
 */
async function proxyAgent(ctx: ResolvedContext, kc: KubeConfig): Promise<http.Agent> {
  const options: https.RequestOptions = {};
  const refused = (why: string, cause?: unknown): UsageError =>
    new UsageError(`cluster "${ctx.clusterName}": no connection through its proxy-url can be made (${why})`, {
      hint:
        'check the server and proxy-url of the cluster in the kubeconfig ' +
        '(kubectl proxies through http, https or socks5)',
      cause,
    });
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (err) {
    throw refused(redactMessage((err as Error).message ?? String(err)), err);
  }
  const agent = options.agent;
  if (!(agent instanceof http.Agent)) throw refused('client-node made no agent for it');
  // The proxy agents are http.Agents built without keep-alive: turn it on, as for a direct agent.
  Object.assign(agent, { keepAlive: true, ...AGENT_LIMITS });
  return agent;
}

/** client-node's KubeConfig for exactly one resolved context (with the exec plugin's credential, if it has one). */
function clientNodeConfig(k8s: ClientNode, ctx: ResolvedContext, exec?: ExecCredential): KubeConfig {
  const kc = new k8s.KubeConfig();
  const cluster = ctx.cluster;
  // An ExecCredential carries PEM; a kubeconfig (and client-node) carries it base64-encoded.
  const b64 = (pem: string | undefined): string | undefined =>
    pem === undefined ? undefined : Buffer.from(pem).toString('base64');
  const user = exec
    ? {
        ...ctx.user,
        exec: undefined,
        token: exec.token,
        'client-certificate-data': b64(exec.clientCertificateData),
        'client-key-data': b64(exec.clientKeyData),
      }
    : ctx.user;
  const token = user.token ?? (user.tokenFile ? readTokenFile(ctx, user.tokenFile) : undefined);
  kc.loadFromOptions({
    clusters: [
      {
        name: ctx.clusterName,
        server: cluster.server ?? '',
        caData: cluster['certificate-authority-data'],
        caFile: cluster['certificate-authority'],
        // A plain http:// server has no TLS to verify (client-node refuses http:// unless told so).
        skipTLSVerify: cluster['insecure-skip-tls-verify'] === true || (cluster.server ?? '').startsWith('http://'),
        tlsServerName: cluster['tls-server-name'],
        proxyUrl: cluster['proxy-url'],
      },
    ],
    users: [
      {
        name: ctx.userName || 'anonymous',
        certData: user['client-certificate-data'],
        certFile: user['client-certificate'],
        keyData: user['client-key-data'],
        keyFile: user['client-key'],
        token,
        username: user.username,
        password: user.password,
      },
    ],
    contexts: [
      {
        name: ctx.contextName || 'context',
        cluster: ctx.clusterName,
        user: ctx.userName || 'anonymous',
        namespace: ctx.namespace,
      },
    ],
    currentContext: ctx.contextName || 'context',
  });
  return kc;
}
