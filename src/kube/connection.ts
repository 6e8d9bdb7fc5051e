/**
 * kubectl's connection flags as one typed value, and the one place they are
 * validated. The wiring declares the flags; every command that talks to a
 * cluster binds them through connectionOptions(). Pure.
 */
import { UsageError } from '../base/errors.js';
import { durationFlag, exclusive, headerValue, namespaceName } from '../base/parse.js';
import type { MergedKubeconfig } from './kubeconfig.js';

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  allNamespaces: boolean;
  as?: string;
  /** Each --as-group value, kept separate (client-node would merge them into one). */
  asGroups: string[];
  asUid?: string;
  /** Per request; 0 means no limit. */
  requestTimeoutMs: number;
  /** kubectl's --cache-dir: discovery is cached beneath it (default $KUBECACHEDIR, else ~/.kube/cache). */
  cacheDir?: string;
  /** The kubeconfig as already read (a question across contexts reads it once for all of them); else read on connect. */
  loaded?: MergedKubeconfig;
}

/** The flags as the command line gives them. */
export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  allNamespaces?: boolean;
  as?: string;
  asGroup?: string[];
  asUid?: string;
  requestTimeout?: string;
  cacheDir?: string;
}

function given(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '')
    throw new UsageError(`${flag} was given an empty value`, { hint: `drop ${flag}, or give it a value` });
  return headerValue(flag, value);
}

/** The name of a kubeconfig entry (context, cluster, user): any text a kubeconfig can hold but the empty one. */
function entryName(flag: string, value: string | undefined): string | undefined {
  if (value === '')
    throw new UsageError(`${flag} was given an empty value`, { hint: `drop ${flag}, or give it a value` });
  return value === undefined ? undefined : headerValue(flag, value);
}

export function connectionOptions(flags: ConnectionFlags): ConnectionOptions {
  const requestTimeoutMs = durationFlag('--request-timeout', flags.requestTimeout ?? '0', { bareSeconds: true });
  const asGroups = flags.asGroup ?? [];
  const as = given('--as', flags.as);
  const asUid = given('--as-uid', flags.asUid);
  if ((asGroups.length > 0 || asUid) && !as) {
    throw new UsageError('--as-group and --as-uid need --as', {
      hint: 'the API server impersonates groups and UIDs only together with a user',
    });
  }
  asGroupNames(asGroups);
  const namespace = flags.namespace === undefined ? undefined : namespaceName('-n/--namespace', flags.namespace);
  const allNamespaces = flags.allNamespaces === true;
  exclusive({ '-n/--namespace': namespace, '-A/--all-namespaces': allNamespaces });
  const out: ConnectionOptions = { allNamespaces, asGroups, requestTimeoutMs };
  const kubeconfig = given('--kubeconfig', flags.kubeconfig);
  const context = entryName('--context', flags.context);
  const cluster = entryName('--cluster', flags.cluster);
  const user = entryName('--user', flags.user);
  const cacheDir = given('--cache-dir', flags.cacheDir);
  if (kubeconfig !== undefined) out.kubeconfig = kubeconfig;
  if (context !== undefined) out.context = context;
  if (cluster !== undefined) out.cluster = cluster;
  if (user !== undefined) out.user = user;
  if (cacheDir !== undefined) out.cacheDir = cacheDir;
  if (namespace !== undefined) out.namespace = namespace;
  if (as !== undefined) out.as = as;
  if (asUid !== undefined) out.asUid = asUid;
  return out;
}

/** --as-group values: none empty, none with a character no HTTP header can carry. */
export function asGroupNames(groups: string[]): string[] {
  for (const g of groups) {
    if (g.trim() === '')
      throw new UsageError('--as-group was given an empty group name', {
        hint: 'drop the empty --as-group, or name a group',
      });
    headerValue('--as-group', g);
  }
  return groups;
}

/** The same connection without impersonation (whocan and study-access name subjects with --as). */
export function withoutImpersonation(connection: ConnectionOptions): ConnectionOptions {
  const { as: _as, asUid: _uid, ...rest } = connection;
  return { ...rest, asGroups: [] };
}
