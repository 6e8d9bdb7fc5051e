/**
 * The pure core of `kubectl study-ctx`: from a merged kubeconfig (plus
 * injected look-ups for certificates and PATH) to the list of contexts and
 * every problem found. No I/O of its own, no clock: `now` is passed in.
 */
import {
  serverUrl,
  type Entry,
  type MergedKubeconfig,
  type RawCluster,
  type RawContext,
  type RawUser,
} from '../kube/kubeconfig.js';
import {
  daysUntil,
  describeAuth,
  EXEC_API_VERSIONS,
  interactiveModeProblem,
  proxyUrlProblem,
  type AuthSummary,
  type CertSummary,
} from '../kube/credentials.js';

export type Severity = 'error' | 'warning';

/** Stable problem codes (part of the -o json contract). */
export const PROBLEM_CODES = {
  FileUnreadable: 'the kubeconfig file cannot be read or parsed, so nothing in it is used',
  NoKubeconfig: 'no kubeconfig file exists, so no context can be used',
  NoCurrentContext: 'commands without --context will fail',
  CurrentContextMissing: 'current-context names a context that does not exist, so commands without --context fail',
  ContextClusterMissing: 'the context names a cluster that is not defined, so it cannot be used',
  ContextUserMissing: 'the context names a user that is not defined, so requests go out without credentials',
  ContextNoCluster: 'the context names no cluster, so it cannot be used',
  ClusterNoServer: 'the cluster has no server address',
  ClusterServerInvalid: 'the server address is not a valid URL',
  Shadowed: 'an earlier file defines the same name, so this definition is ignored',
  CertUnreadable: 'the client certificate cannot be read or parsed, so authentication will fail',
  CertExpired: 'the client certificate has expired, so the server will reject it',
  CertExpiringSoon: 'the client certificate expires within 30 days',
  KeyMissing: 'a client certificate is set without a client key, so TLS authentication will fail',
  CAUnreadable: 'the certificate authority cannot be read or parsed, so the server cannot be verified',
  TokenFileUnreadable: 'the token file cannot be read, so requests go out without a token',
  ExecNotFound: 'the exec credential plugin is not on PATH, so no credential can be obtained',
  ExecApiVersion:
    'the exec plugin apiVersion is not client.authentication.k8s.io/v1 or v1beta1, which kubectl no longer accepts',
  ExecInteractiveMode:
    'the exec plugin interactiveMode is missing (v1 needs one) or not Never, IfAvailable or Always, ' +
    'so kubectl refuses the context',
  InsecureSkipTLS:
    'insecure-skip-tls-verify turns off server verification: anyone in the path can impersonate the API server',
  PlaintextCredentials: 'credentials are sent to an http:// server in clear text',
  ProxyUrlInvalid: 'the proxy-url is not an http, https or socks5 URL, so no request can be made',
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface Problem {
  severity: Severity;
  code: ProblemCode;
  /** What it is about, e.g. context "dev", user "admin", file "/x/config". */
  subject: { kind: 'context' | 'cluster' | 'user' | 'file'; name: string };
  message: string;
  /** Why it matters (the code's one-line explanation). */
  why: string;
  file?: string;
}

export type CertStatus = 'ok' | 'expiring' | 'expired' | 'unreadable';

export interface CertInfo {
  status: CertStatus;
  notAfter?: string;
  daysLeft?: number;
  subject?: string;
  source?: 'file' | 'data';
  file?: string;
  error?: string;
}

export interface ContextRow {
  name: string;
  current: boolean;
  cluster: string;
  server: string;
  user: string;
  namespace: string;
  auth: AuthSummary;
  cert?: CertInfo;
  files: { context: string; cluster?: string; user?: string };
  problems: number;
}

export interface FileStatus {
  path: string;
  status: 'loaded' | 'missing' | 'error';
  error?: string;
}

export interface ContextList {
  kind: 'ContextList';
  apiVersion: 'study.kubectl.io/v1';
  currentContext: string;
  files: FileStatus[];
  contexts: ContextRow[];
  problems: Problem[];
}

export interface InventoryDeps {
  now: Date;
  readCert: (file: string | undefined, data: string | undefined) => CertSummary | undefined;
  /** Whether a command (no path separator) is found on PATH, or a path exists. */
  commandExists: (command: string) => boolean;
  fileReadable: (file: string) => boolean;
}

const EXPIRY_WARNING_DAYS = 30;

function problem(
  severity: Severity,
  code: ProblemCode,
  subject: Problem['subject'],
  message: string,
  file?: string,
): Problem {
  const p: Problem = { severity, code, subject, message, why: PROBLEM_CODES[code] };
  if (file) p.file = file;
  return p;
}

/** Removes user:password@ from a URL, for display. */
export function displayServer(server: string | undefined): string {
  if (!server) return '';
  try {
    const url = new URL(server);
    if (url.username || url.password) {
      url.username = '';
      url.password = '';
      return url.toString().replace(/\/$/, '');
    }
  } catch {
    return server.replace(/\/\/[^/@]*@/, '//');
  }
  return server;
}

export function certInfo(summary: CertSummary | undefined, now: Date): CertInfo | undefined {
  if (!summary) return undefined;
  const base: CertInfo = { status: 'unreadable', source: summary.source };
  if (summary.source === 'file') base.file = summary.location;
  if (!summary.ok || !summary.notAfter) return { ...base, error: summary.error ?? 'unreadable' };
  const daysLeft = daysUntil(summary.notAfter, now);
  const expired = Date.parse(summary.notAfter) <= now.getTime();
  const info: CertInfo = {
    ...base,
    status: expired ? 'expired' : daysLeft < EXPIRY_WARNING_DAYS ? 'expiring' : 'ok',
    notAfter: summary.notAfter,
    daysLeft,
  };
  if (summary.subject) info.subject = summary.subject;
  return info;
}

function clusterProblems(entry: Entry<RawCluster>, deps: InventoryDeps, hasCredentials: boolean): Problem[] {
  const out: Problem[] = [];
  const subject = { kind: 'cluster' as const, name: entry.name };
  const cluster = entry.value;
  if (!cluster.server) {
    out.push(problem('error', 'ClusterNoServer', subject, `cluster "${entry.name}" has no server`, entry.file));
  } else {
    // The address as client-go makes it: a scheme-less one is https with TLS settings, else http.
    let url: URL | undefined;
    try {
      url = new URL(serverUrl(entry.name, cluster));
    } catch {
      out.push(
        problem(
          'error',
          'ClusterServerInvalid',
          subject,
          `cluster "${entry.name}" has server "${displayServer(cluster.server)}", which is not a URL`,
          entry.file,
        ),
      );
    }
    if (url?.protocol === 'http:' && hasCredentials) {
      out.push(
        problem(
          'error',
          'PlaintextCredentials',
          subject,
          `cluster "${entry.name}" is served over http://, and a user sends credentials to it`,
          entry.file,
        ),
      );
    }
  }
  const proxy = proxyUrlProblem(cluster['proxy-url']);
  if (proxy)
    out.push(problem('error', 'ProxyUrlInvalid', subject, `cluster "${entry.name}": proxy-url ${proxy}`, entry.file));
  if (cluster['insecure-skip-tls-verify'] === true) {
    out.push(
      problem(
        'warning',
        'InsecureSkipTLS',
        subject,
        `cluster "${entry.name}" sets insecure-skip-tls-verify`,
        entry.file,
      ),
    );
  }
  if (cluster['certificate-authority-data'] || cluster['certificate-authority']) {
    const ca = deps.readCert(cluster['certificate-authority'], cluster['certificate-authority-data']);
    if (ca && !ca.ok) {
      out.push(
        problem(
          'error',
          'CAUnreadable',
          subject,
          `certificate authority of cluster "${entry.name}" (${ca.location}): ${ca.error}`,
          entry.file,
        ),
      );
    }
  }
  return out;
}

function userProblems(entry: Entry<RawUser>, cert: CertInfo | undefined, deps: InventoryDeps): Problem[] {
  const out: Problem[] = [];
  const subject = { kind: 'user' as const, name: entry.name };
  const user = entry.value;
  if (cert) {
    if (cert.status === 'unreadable') {
      out.push(
        problem(
          'error',
          'CertUnreadable',
          subject,
          `client certificate of user "${entry.name}"${cert.file ? ` (${cert.file})` : ''}: ${cert.error}`,
          entry.file,
        ),
      );
    } else if (cert.status === 'expired') {
      out.push(
        problem(
          'error',
          'CertExpired',
          subject,
          `client certificate of user "${entry.name}" expired on ${cert.notAfter?.slice(0, 10)}`,
          entry.file,
        ),
      );
    } else if (cert.status === 'expiring') {
      out.push(
        problem(
          'warning',
          'CertExpiringSoon',
          subject,
          `client certificate of user "${entry.name}" expires in ${cert.daysLeft} days ` +
            `(${cert.notAfter?.slice(0, 10)})`,
          entry.file,
        ),
      );
    }
    if (!user['client-key'] && !user['client-key-data']) {
      out.push(
        problem(
          'error',
          'KeyMissing',
          subject,
          `user "${entry.name}" has a client certificate but no client key`,
          entry.file,
        ),
      );
    }
  }
  if (user.tokenFile && !user.token && !deps.fileReadable(user.tokenFile)) {
    out.push(
      problem(
        'error',
        'TokenFileUnreadable',
        subject,
        `token file of user "${entry.name}" (${user.tokenFile}) cannot be read`,
        entry.file,
      ),
    );
  }
  if (user.exec) {
    const command = user.exec.command ?? '';
    if (!command || !deps.commandExists(command)) {
      out.push(
        problem(
          'error',
          'ExecNotFound',
          subject,
          `exec plugin "${command}" of user "${entry.name}" is not found${command.includes('/') ? '' : ' on PATH'}`,
          entry.file,
        ),
      );
    }
    if (!EXEC_API_VERSIONS.includes(user.exec.apiVersion ?? '')) {
      out.push(
        problem(
          'error',
          'ExecApiVersion',
          subject,
          `exec plugin of user "${entry.name}" has apiVersion "${user.exec.apiVersion ?? ''}"`,
          entry.file,
        ),
      );
    } else {
      const mode = interactiveModeProblem(user.exec.apiVersion, user.exec.interactiveMode);
      if (mode)
        out.push(
          problem(
            'error',
            'ExecInteractiveMode',
            subject,
            `exec plugin of user "${entry.name}": interactiveMode ${mode}`,
            entry.file,
          ),
        );
    }
  }
  return out;
}

function hasCredentials(user: RawUser | undefined): boolean {
  if (!user) return false;
  return Boolean(
    user.token ||
      user.tokenFile ||
      user.password ||
      user.exec ||
      user['auth-provider'] ||
      user['client-key'] ||
      user['client-key-data'],
  );
}

/** The files: loaded, missing, or broken (a problem). */
function fileStatuses(merged: MergedKubeconfig, problems: Problem[]): FileStatus[] {
  const files: FileStatus[] = merged.files.map((f) => {
    if (f.missing) return { path: f.path, status: 'missing' };
    if (f.error) {
      problems.push(
        problem('error', 'FileUnreadable', { kind: 'file', name: f.path }, `kubeconfig ${f.path} ${f.error}`, f.path),
      );
      return { path: f.path, status: 'error', error: f.error };
    }
    return { path: f.path, status: 'loaded' };
  });
  if (merged.files.every((f) => f.missing)) {
    const names = merged.files.map((f) => f.path).join(', ');
    problems.push(
      problem('error', 'NoKubeconfig', { kind: 'file', name: names }, `no kubeconfig file exists (looked in ${names})`),
    );
  }
  for (const s of merged.shadowed) {
    problems.push(
      problem(
        'warning',
        'Shadowed',
        { kind: s.kind, name: s.name },
        `${s.kind} "${s.name}" in ${s.file} is ignored: ${s.winner} defines it first and wins`,
        s.file,
      ),
    );
  }
  return files;
}

function currentContextProblems(merged: MergedKubeconfig): Problem[] {
  if (!merged.currentContext) {
    return merged.contexts.size > 0
      ? [problem('warning', 'NoCurrentContext', { kind: 'context', name: '' }, 'no current-context is set')]
      : [];
  }
  if (merged.contexts.has(merged.currentContext)) return [];
  return [
    problem(
      'error',
      'CurrentContextMissing',
      { kind: 'context', name: merged.currentContext },
      `current-context "${merged.currentContext}" does not exist`,
      merged.currentContextFile,
    ),
  ];
}

/** One context's row, and the problems of its references. */
function contextRow(
  merged: MergedKubeconfig,
  entry: Entry<RawContext>,
  certs: Map<string, CertInfo | undefined>,
  problems: Problem[],
): ContextRow {
  const context = entry.value;
  const subject = { kind: 'context' as const, name: entry.name };
  const clusterEntry = context.cluster ? merged.clusters.get(context.cluster) : undefined;
  const userEntry = context.user ? merged.users.get(context.user) : undefined;
  if (!context.cluster) {
    problems.push(
      problem('error', 'ContextNoCluster', subject, `context "${entry.name}" names no cluster`, entry.file),
    );
  } else if (!clusterEntry) {
    problems.push(
      problem(
        'error',
        'ContextClusterMissing',
        subject,
        `context "${entry.name}" names cluster "${context.cluster}", which is not defined`,
        entry.file,
      ),
    );
  }
  if (context.user && !userEntry) {
    problems.push(
      problem(
        'error',
        'ContextUserMissing',
        subject,
        `context "${entry.name}" names user "${context.user}", which is not defined`,
        entry.file,
      ),
    );
  }
  const row: ContextRow = {
    name: entry.name,
    current: entry.name === merged.currentContext,
    cluster: context.cluster ?? '',
    server: displayServer(clusterEntry?.value.server),
    user: context.user ?? '',
    namespace: context.namespace ?? '',
    auth: describeAuth(userEntry?.value),
    files: { context: entry.file },
    problems: 0,
  };
  const cert = userEntry ? certs.get(userEntry.name) : undefined;
  if (cert) row.cert = cert;
  if (clusterEntry) row.files.cluster = clusterEntry.file;
  if (userEntry) row.files.user = userEntry.file;
  return row;
}

/** The problems of a context itself and of its cluster and user (a shadowed duplicate is the losing file's). */
function problemsOf(row: ContextRow, problems: Problem[]): number {
  return problems.filter(
    (p) =>
      p.code !== 'Shadowed' &&
      ((p.subject.kind === 'context' && p.subject.name === row.name) ||
        (p.subject.kind === 'cluster' && p.subject.name === row.cluster) ||
        (p.subject.kind === 'user' && p.subject.name === row.user)),
  ).length;
}

export function buildInventory(merged: MergedKubeconfig, deps: InventoryDeps): ContextList {
  const problems: Problem[] = [];
  const files = fileStatuses(merged, problems);
  // Which clusters receive credentials: those used by a context with a credentialed user.
  const credentialedClusters = new Set<string>();
  for (const ctx of merged.contexts.values()) {
    if (ctx.value.cluster && hasCredentials(merged.users.get(ctx.value.user ?? '')?.value))
      credentialedClusters.add(ctx.value.cluster);
  }
  for (const entry of merged.clusters.values())
    problems.push(...clusterProblems(entry, deps, credentialedClusters.has(entry.name)));
  const certs = new Map<string, CertInfo | undefined>();
  for (const entry of merged.users.values()) {
    const user = entry.value;
    const cert = certInfo(deps.readCert(user['client-certificate'], user['client-certificate-data']), deps.now);
    certs.set(entry.name, cert);
    problems.push(...userProblems(entry, cert, deps));
  }
  problems.push(...currentContextProblems(merged));
  const contexts = [...merged.contexts.values()].map((entry) => contextRow(merged, entry, certs, problems));
  for (const row of contexts) row.problems = problemsOf(row, problems);
  return {
    kind: 'ContextList',
    apiVersion: 'study.kubectl.io/v1',
    currentContext: merged.currentContext,
    files,
    contexts,
    problems,
  };
}

export function hasErrors(problems: Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
