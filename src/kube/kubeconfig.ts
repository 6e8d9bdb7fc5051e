/**
 * Kubeconfig loading with kubectl's (client-go's) rules, which
 * client-node's own loader does not follow:
 *
 * - --kubeconfig names exactly one file, which must exist;
 * - otherwise KUBECONFIG lists files (":"-separated, duplicates dropped),
 *   missing ones skipped; unset means ~/.kube/config;
 * - the first file that defines a cluster, user or context name wins;
 * - the first non-empty current-context wins;
 * - relative certificate, key and token-file paths (and an exec command
 *   with a path separator) resolve against the file that names them.
 *
 * mergeKubeconfigs is pure; readKubeconfigFiles is the only I/O.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

import { NotFoundError, UsageError } from '../base/errors.js';
import { parseYaml } from '../base/yaml.js';

export interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
  [key: string]: unknown;
}

export interface RawExec {
  apiVersion?: string;
  command?: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
  [key: string]: unknown;
}

export interface RawUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: Record<string, string[]>;
  username?: string;
  password?: string;
  'auth-provider'?: { name?: string; config?: Record<string, string> };
  exec?: RawExec;
  [key: string]: unknown;
}

export interface RawContext {
  cluster?: string;
  user?: string;
  namespace?: string;
  [key: string]: unknown;
}

export interface RawKubeconfig {
  apiVersion?: string;
  kind?: string;
  'current-context'?: string;
  clusters?: Array<{ name?: string; cluster?: RawCluster }> | null;
  users?: Array<{ name?: string; user?: RawUser }> | null;
  contexts?: Array<{ name?: string; context?: RawContext }> | null;
  preferences?: unknown;
  [key: string]: unknown;
}

/** One file as read from disk: parsed, missing, or broken. */
export interface KubeconfigFile {
  path: string;
  config?: RawKubeconfig;
  missing?: boolean;
  /** Unreadable or unparsable: the message says which. */
  error?: string;
}

export type EntryKind = 'cluster' | 'user' | 'context';

export interface Entry<T> {
  name: string;
  value: T;
  /** The file that defined this entry (the winner when names collide). */
  file: string;
}

export interface Shadowed {
  kind: EntryKind;
  name: string;
  /** The later file whose definition is ignored. */
  file: string;
  /** The earlier file whose definition is used. */
  winner: string;
}

export interface MergedKubeconfig {
  /** Files in precedence order, as named (missing ones included). */
  files: KubeconfigFile[];
  clusters: Map<string, Entry<RawCluster>>;
  users: Map<string, Entry<RawUser>>;
  contexts: Map<string, Entry<RawContext>>;
  currentContext: string;
  /** The file whose current-context is used ('' when none sets one). */
  currentContextFile: string;
  shadowed: Shadowed[];
}

/** Which files to read, in precedence order, as client-go decides it. */
export function kubeconfigPaths(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  home = homedir(),
): {
  paths: string[];
  explicit: boolean;
} {
  if (explicit !== undefined && explicit !== '') return { paths: [path.resolve(explicit)], explicit: true };
  const fromEnv = env.KUBECONFIG;
  if (fromEnv !== undefined && fromEnv !== '') {
    const seen = new Set<string>();
    const paths: string[] = [];
    for (const p of fromEnv.split(path.delimiter)) {
      if (p === '') continue;
      const abs = path.resolve(p);
      if (seen.has(abs)) continue;
      seen.add(abs);
      paths.push(abs);
    }
    return { paths, explicit: false };
  }
  return { paths: [path.join(home, '.kube', 'config')], explicit: false };
}

/** Reads and parses each file; never throws. */
export function readKubeconfigFiles(paths: string[]): KubeconfigFile[] {
  return paths.map((p): KubeconfigFile => {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { path: p, missing: true };
      if (code === 'EISDIR') return { path: p, error: 'is a directory, not a kubeconfig file' };
      return { path: p, error: `cannot be read (${code ?? (err as Error).message})` };
    }
    return parseKubeconfigText(p, text);
  });
}

export function parseKubeconfigText(file: string, text: string): KubeconfigFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    return { path: file, error: `is not valid YAML: ${first}` };
  }
  if (doc === undefined || doc === null) return { path: file, config: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    return { path: file, error: 'is not a kubeconfig: expected a mapping at the top level' };
  }
  const config = doc as RawKubeconfig;
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const list = config[key];
    if (list !== undefined && list !== null && !Array.isArray(list)) {
      return { path: file, error: `is not a kubeconfig: "${key}" must be a list` };
    }
  }
  const wrong = shapeError(config);
  if (wrong) return { path: file, error: `is not a kubeconfig kubectl can read: ${wrong}` };
  return { path: file, config };
}

type Shape = 'string' | 'boolean' | 'strings' | 'map' | 'list';

const CLUSTER_SHAPE: Record<string, Shape> = {
  server: 'string',
  'tls-server-name': 'string',
  'insecure-skip-tls-verify': 'boolean',
  'certificate-authority': 'string',
  'certificate-authority-data': 'string',
  'proxy-url': 'string',
  'disable-compression': 'boolean',
  extensions: 'list',
};
const USER_SHAPE: Record<string, Shape> = {
  'client-certificate': 'string',
  'client-certificate-data': 'string',
  'client-key': 'string',
  'client-key-data': 'string',
  token: 'string',
  tokenFile: 'string',
  as: 'string',
  'as-uid': 'string',
  'as-groups': 'strings',
  'as-user-extra': 'map',
  username: 'string',
  password: 'string',
  'auth-provider': 'map',
  exec: 'map',
  extensions: 'list',
};
const EXEC_SHAPE: Record<string, Shape> = {
  command: 'string',
  args: 'strings',
  env: 'list',
  apiVersion: 'string',
  installHint: 'string',
  provideClusterInfo: 'boolean',
  interactiveMode: 'string',
};
const CONTEXT_SHAPE: Record<string, Shape> = {
  cluster: 'string',
  user: 'string',
  namespace: 'string',
  extensions: 'list',
};

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'null' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

function fits(value: unknown, shape: Shape): boolean {
  if (value === null || value === undefined) return true;
  switch (shape) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'map':
      return typeof value === 'object' && !Array.isArray(value);
    case 'list':
      return Array.isArray(value);
  }
}

const SHAPE_WORDS: Record<Shape, string> = {
  string: 'a string',
  boolean: 'true or false',
  strings: 'a list of strings',
  map: 'a mapping',
  list: 'a list',
};

function fieldsError(where: string, value: unknown, shape: Record<string, Shape>): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (!fits(value, 'map')) return `${where} must be a mapping, not ${kindOf(value)}`;
  for (const [key, want] of Object.entries(shape)) {
    const v = (value as Record<string, unknown>)[key];
    if (!fits(v, want)) {
      const quote = want === 'string' && typeof v !== 'object' ? ' (quote the value)' : '';
      return `${where}.${key} must be ${SHAPE_WORDS[want]}, not ${kindOf(v)}${quote}`;
    }
  }
  return undefined;
}

/**
 * Where the document does not have the types client-go decodes into (a
 * number where a string belongs, a string where a list does): kubectl
 * refuses such a file, naming the field; so do we. Pure.
 */
export function shapeError(config: RawKubeconfig): string | undefined {
  if (!fits(config['current-context'], 'string'))
    return `current-context must be a string, not ${kindOf(config['current-context'])}`;
  const lists: Array<['clusters' | 'users' | 'contexts', 'cluster' | 'user' | 'context', Record<string, Shape>]> = [
    ['clusters', 'cluster', CLUSTER_SHAPE],
    ['users', 'user', USER_SHAPE],
    ['contexts', 'context', CONTEXT_SHAPE],
  ];
  for (const [key, field, shape] of lists) {
    const list = (config[key] ?? []) as unknown[];
    const names = new Set<string>();
    for (const [i, item] of list.entries()) {
      if (item === null) continue;
      if (!fits(item, 'map')) return `${key}[${i}] must be a mapping, not ${kindOf(item)}`;
      const entry = item as Record<string, unknown>;
      if (!fits(entry.name, 'string')) return `${key}[${i}].name must be a string, not ${kindOf(entry.name)}`;
      if (typeof entry.name === 'string' && entry.name) {
        if (names.has(entry.name)) return `${key} names "${entry.name}" twice`;
        names.add(entry.name);
      }
      const where = `${key}[${i}] ("${typeof entry.name === 'string' ? entry.name : ''}").${field}`;
      const wrong = fieldsError(where, entry[field], shape);
      if (wrong) return wrong;
      if (field === 'user') {
        const user = (entry[field] ?? {}) as Record<string, unknown>;
        const exec = fieldsError(`${where}.exec`, user.exec, EXEC_SHAPE);
        if (exec) return exec;
        const provider = fieldsError(`${where}.auth-provider`, user['auth-provider'], {
          name: 'string',
          config: 'map',
        });
        if (provider) return provider;
      }
    }
  }
  return undefined;
}

function resolveAgainst(base: string, p: string | undefined): string | undefined {
  if (p === undefined || p === '' || path.isAbsolute(p)) return p;
  return path.join(base, p);
}

/** client-go's ResolveLocalPaths for one cluster. */
export function resolveClusterPaths(cluster: RawCluster, file: string): RawCluster {
  const base = path.dirname(path.resolve(file));
  const out = { ...cluster };
  if (out['certificate-authority']) out['certificate-authority'] = resolveAgainst(base, out['certificate-authority']);
  return out;
}

/** client-go's ResolveLocalPaths for one user. */
export function resolveUserPaths(user: RawUser, file: string): RawUser {
  const base = path.dirname(path.resolve(file));
  const out: RawUser = { ...user };
  if (out['client-certificate']) out['client-certificate'] = resolveAgainst(base, out['client-certificate']);
  if (out['client-key']) out['client-key'] = resolveAgainst(base, out['client-key']);
  if (out.tokenFile) out.tokenFile = resolveAgainst(base, out.tokenFile);
  if (out.exec?.command && out.exec.command.includes(path.sep)) {
    out.exec = { ...out.exec, command: resolveAgainst(base, out.exec.command) };
  }
  return out;
}

/** Merges files in precedence order, first definition of a name winning. Pure. */
export function mergeKubeconfigs(files: KubeconfigFile[]): MergedKubeconfig {
  const merged: MergedKubeconfig = {
    files,
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: '',
    currentContextFile: '',
    shadowed: [],
  };
  for (const file of files) {
    const config = file.config;
    if (!config) continue;
    if (!merged.currentContext && typeof config['current-context'] === 'string' && config['current-context']) {
      merged.currentContext = config['current-context'];
      merged.currentContextFile = file.path;
    }
    addEntries(merged, 'cluster', merged.clusters, config.clusters, file.path, (c) =>
      resolveClusterPaths(asObject<RawCluster>(c), file.path),
    );
    addEntries(merged, 'user', merged.users, config.users, file.path, (u) =>
      resolveUserPaths(asObject<RawUser>(u), file.path),
    );
    addEntries(merged, 'context', merged.contexts, config.contexts, file.path, (c) => asObject<RawContext>(c));
  }
  return merged;
}

function addEntries<T>(
  merged: MergedKubeconfig,
  kind: EntryKind,
  target: Map<string, Entry<T>>,
  list: unknown,
  file: string,
  normalize: (value: unknown) => T,
): void {
  if (!Array.isArray(list)) return;
  for (const item of list as Array<Record<string, unknown> | null>) {
    if (!item || typeof item.name !== 'string' || item.name === '') continue;
    const existing = target.get(item.name);
    if (existing) {
      // Across files the first wins (a name repeated within one file is refused by shapeError).
      if (existing.file !== file) merged.shadowed.push({ kind, name: item.name, file, winner: existing.file });
      continue;
    }
    target.set(item.name, { name: item.name, value: normalize(item[kind]), file });
  }
}

function asObject<T>(value: unknown): T {
  return (value && typeof value === 'object' && !Array.isArray(value) ? { ...value } : {}) as T;
}

export interface ContextSelection {
  /** --context */
  context?: string;
  /** --cluster */
  cluster?: string;
  /** --user */
  user?: string;
  /** -n/--namespace */
  namespace?: string;
}

/** The cluster, user and namespace one command will use. */
export interface ResolvedContext {
  contextName: string;
  clusterName: string;
  userName: string;
  cluster: RawCluster;
  user: RawUser;
  namespace: string;
  /** Whether the namespace came from -n rather than the context or the default. */
  namespaceFromFlag: boolean;
}

/**
 * The server URL as client-go makes it: without a scheme, https when the
 * cluster has TLS settings (else http); an address that is still no URL,
 * or an impossible port, is named. Pure.
 */
export function serverUrl(clusterName: string, cluster: RawCluster): string {
  const raw = (cluster.server ?? '').trim();
  const tls = Boolean(
    cluster['certificate-authority'] || cluster['certificate-authority-data'] || cluster['insecure-skip-tls-verify'],
  );
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${tls ? 'https' : 'http'}://${raw}`;
  const bad = (why: string): never => {
    throw new UsageError(`cluster "${clusterName}": server "${raw}" ${why}`, {
      hint: 'fix clusters[].cluster.server in the kubeconfig, e.g. https://10.0.0.1:6443',
    });
  };
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)/i.exec(text)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    bad(`has port ${port}, which is not a port (1 to 65535)`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    bad(`has the scheme ${url.protocol.replace(/:$/, '')}; kubectl talks https or http`);
  if (!url.hostname) bad('has no host');
  return text;
}

/** Applies --context/--cluster/--user/-n to the merged config, as kubectl does. Pure. */
export function resolveContext(merged: MergedKubeconfig, sel: ContextSelection): ResolvedContext {
  const loaded = merged.files.filter((f) => f.config);
  if (loaded.length === 0) {
    const names = merged.files.map((f) => f.path).join(', ');
    throw new NotFoundError(`no kubeconfig found (looked in ${names || 'nothing'})`, {
      hint: 'set KUBECONFIG or pass --kubeconfig; kubectl-study never falls back to localhost:8080',
    });
  }
  const contextName = sel.context || merged.currentContext;
  let ctx: RawContext = {};
  if (contextName) {
    const entry = merged.contexts.get(contextName);
    if (!entry) {
      const known = [...merged.contexts.keys()];
      throw new NotFoundError(`context "${contextName}" does not exist in the kubeconfig`, {
        hint: known.length ? `known contexts: ${known.slice(0, 8).join(', ')}` : 'the kubeconfig defines no contexts',
      });
    }
    ctx = entry.value;
  } else if (!sel.cluster) {
    throw new UsageError('no current context is set in the kubeconfig', {
      hint: 'pass --context NAME or run "kubectl config use-context NAME"',
    });
  }
  const clusterName = sel.cluster || ctx.cluster || '';
  const userName = sel.user || ctx.user || '';
  const clusterEntry = merged.clusters.get(clusterName);
  if (!clusterEntry) {
    throw new NotFoundError(
      clusterName
        ? `cluster "${clusterName}" (named by ${sel.cluster ? '--cluster' : `context "${contextName}"`}) ` +
            'does not exist in the kubeconfig'
        : `context "${contextName}" names no cluster`,
      { hint: 'run "kubectl study-ctx" to see the problems of every context' },
    );
  }
  if (!clusterEntry.value.server) {
    throw new UsageError(`cluster "${clusterName}" has no server address`, {
      hint: 'set clusters[].cluster.server in the kubeconfig',
    });
  }
  let user: RawUser = {};
  if (userName) {
    const userEntry = merged.users.get(userName);
    if (!userEntry) {
      throw new NotFoundError(
        `user "${userName}" (named by ${sel.user ? '--user' : `context "${contextName}"`}) ` +
          'does not exist in the kubeconfig',
        {
          hint: 'run "kubectl study-ctx" to see the problems of every context',
        },
      );
    }
    user = userEntry.value;
  }
  const namespace = sel.namespace || ctx.namespace || 'default';
  return {
    contextName,
    clusterName,
    userName,
    cluster: { ...clusterEntry.value, server: serverUrl(clusterName, clusterEntry.value) },
    user,
    namespace,
    namespaceFromFlag: Boolean(sel.namespace),
  };
}

/** Reads the files and merges them: what every command that talks to a cluster starts with. */
export function loadKubeconfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): MergedKubeconfig {
  const { paths, explicit: isExplicit } = kubeconfigPaths(explicit, env);
  const files = readKubeconfigFiles(paths);
  if (isExplicit && files[0]?.missing) {
    throw new NotFoundError(`kubeconfig file ${paths[0]} does not exist`, { hint: 'check the --kubeconfig path' });
  }
  return mergeKubeconfigs(files);
}

/** Fails on any unreadable or malformed file, as kubectl does, naming it. */
export function assertFilesUsable(merged: MergedKubeconfig): void {
  const broken = merged.files.find((f) => f.error);
  if (broken) {
    throw new UsageError(`kubeconfig ${broken.path} ${broken.error}`, {
      hint: 'fix or remove that file (run "kubectl study-ctx" to see every problem)',
    });
  }
}
