/**
 * One context in detail, every secret masked. The view is built from a
 * list of known fields, never by copying the kubeconfig entry, so a field
 * this code does not know about cannot carry a secret into the output.
 */
import { NotFoundError } from '../base/errors.js';
import type { MergedKubeconfig, RawExec } from '../kube/kubeconfig.js';
import { describeAuth, jwtExpiry, type AuthSummary } from '../kube/credentials.js';
import { certInfo, displayServer, type CertInfo, type InventoryDeps, type Problem } from './inventory.js';

export const REDACTED = 'REDACTED';

export interface SecretPresence {
  set: true;
  /** "inline" or the file that holds it. */
  source: string;
  value: typeof REDACTED;
}

export interface ContextDetail {
  kind: 'ContextDetail';
  apiVersion: 'study.kubectl.io/v1';
  name: string;
  current: boolean;
  file: string;
  namespace: string;
  cluster: {
    name: string;
    file?: string;
    defined: boolean;
    server: string;
    certificateAuthority?: CertInfo & { issuer?: string };
    insecureSkipTLSVerify: boolean;
    tlsServerName?: string;
    proxyUrl?: string;
  };
  user: {
    name: string;
    file?: string;
    defined: boolean;
    auth: AuthSummary;
    clientCertificate?: CertInfo;
    clientKey?: SecretPresence;
    token?: SecretPresence & { expires?: string };
    tokenFile?: string;
    username?: string;
    password?: SecretPresence;
    exec?: {
      command: string;
      args: string[];
      apiVersion: string;
      env: Array<{ name: string; value: typeof REDACTED }>;
      provideClusterInfo: boolean;
      interactiveMode?: string;
    };
    authProvider?: { name: string; config: Record<string, typeof REDACTED> };
    impersonate?: { user: string; groups: string[]; uid?: string };
  };
  problems: Problem[];
}

/**
 * Exec arguments with every value masked: only argument names are shown
 * (--token=x, --password:x, -p x and bare positional values all carry
 * values, and any of them can be a secret).
 */
export function maskExecArgs(args: string[] | undefined): string[] {
  return (args ?? []).map((arg) => {
    if (!arg.startsWith('-')) return REDACTED;
    const m = /^(-{1,2}[^=:]+)([=:])/.exec(arg);
    return m ? `${m[1]}${m[2]}${REDACTED}` : arg;
  });
}

function presence(source: string): SecretPresence {
  return { set: true, source, value: REDACTED };
}

export function contextDetail(
  merged: MergedKubeconfig,
  name: string,
  problems: Problem[],
  deps: InventoryDeps,
): ContextDetail {
  const entry = merged.contexts.get(name);
  if (!entry) {
    throw new NotFoundError(`context "${name}" does not exist in the kubeconfig`, {
      hint: 'run "kubectl study-ctx" to list the contexts',
    });
  }
  const context = entry.value;
  const clusterEntry = context.cluster ? merged.clusters.get(context.cluster) : undefined;
  const userEntry = context.user ? merged.users.get(context.user) : undefined;
  const rawCluster = clusterEntry?.value ?? {};
  const rawUser = userEntry?.value ?? {};

  const cluster: ContextDetail['cluster'] = {
    name: context.cluster ?? '',
    defined: Boolean(clusterEntry),
    server: displayServer(rawCluster.server),
    insecureSkipTLSVerify: rawCluster['insecure-skip-tls-verify'] === true,
  };
  if (clusterEntry) cluster.file = clusterEntry.file;
  const ca = deps.readCert(rawCluster['certificate-authority'], rawCluster['certificate-authority-data']);
  if (ca) {
    const info = certInfo(ca, deps.now);
    if (info) cluster.certificateAuthority = ca.issuer ? { ...info, issuer: ca.issuer } : info;
  }
  if (rawCluster['tls-server-name']) cluster.tlsServerName = rawCluster['tls-server-name'];
  if (rawCluster['proxy-url']) cluster.proxyUrl = displayServer(rawCluster['proxy-url']);

  const user: ContextDetail['user'] = {
    name: context.user ?? '',
    defined: Boolean(userEntry),
    auth: describeAuth(userEntry?.value),
  };
  if (userEntry) user.file = userEntry.file;
  const cert = certInfo(deps.readCert(rawUser['client-certificate'], rawUser['client-certificate-data']), deps.now);
  if (cert) user.clientCertificate = cert;
  if (rawUser['client-key-data']) user.clientKey = presence('inline');
  else if (rawUser['client-key']) user.clientKey = presence(rawUser['client-key']);
  if (rawUser.token) {
    const exp = jwtExpiry(rawUser.token);
    user.token = exp ? { ...presence('inline'), expires: exp.toISOString() } : presence('inline');
  }
  if (rawUser.tokenFile) user.tokenFile = rawUser.tokenFile;
  if (rawUser.username) user.username = rawUser.username;
  if (rawUser.password) user.password = presence('inline');
  if (rawUser.exec) user.exec = execView(rawUser.exec);
  if (rawUser['auth-provider']) {
    const config: Record<string, typeof REDACTED> = {};
    for (const key of Object.keys(rawUser['auth-provider'].config ?? {})) config[key] = REDACTED;
    user.authProvider = { name: rawUser['auth-provider'].name ?? '', config };
  }
  if (rawUser.as) {
    user.impersonate = { user: rawUser.as, groups: rawUser['as-groups'] ?? [] };
    if (rawUser['as-uid']) user.impersonate.uid = rawUser['as-uid'];
  }

  const relevant = problems.filter(
    (p) =>
      (p.subject.kind === 'context' && p.subject.name === name) ||
      (p.subject.kind === 'cluster' && p.subject.name === context.cluster) ||
      (p.subject.kind === 'user' && p.subject.name === context.user),
  );
  return {
    kind: 'ContextDetail',
    apiVersion: 'study.kubectl.io/v1',
    name,
    current: name === merged.currentContext,
    file: entry.file,
    namespace: context.namespace ?? '',
    cluster,
    user,
    problems: relevant,
  };
}

function execView(exec: RawExec): NonNullable<ContextDetail['user']['exec']> {
  const view: NonNullable<ContextDetail['user']['exec']> = {
    command: exec.command ?? '',
    args: maskExecArgs(exec.args),
    apiVersion: exec.apiVersion ?? '',
    env: (exec.env ?? []).map((e) => ({ name: e.name, value: REDACTED })),
    provideClusterInfo: exec.provideClusterInfo === true,
  };
  if (exec.interactiveMode) view.interactiveMode = exec.interactiveMode;
  return view;
}
