/**
 * Several real clusters side by side for the fleet tests and the fleet
 * benchmark: the suite's cluster plus more, each with its own state
 * directory and ports (STUDY_CLUSTER_DIR, STUDY_CLUSTER_PORT_BASE), and one
 * kubeconfig holding contexts for all of them, each entry renamed so the
 * files never shadow each other.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { parseKubeconfigText, type RawUser } from '../../src/kube/kubeconfig.js';
import { down, mintUserKubeconfig, up, type ClusterInfo } from '../cluster/cluster.js';
import { cacheDir, ports } from '../cluster/paths.js';
import { freePortBase } from './net.js';

/** Starts (or reuses) extra clusters named fleet-b, fleet-c...: each its own directory and free ports. */
export async function startExtraClusters(
  names: string[],
  log: (line: string) => void = () => {},
): Promise<{ clusters: ClusterInfo[]; stop: () => Promise<void> }> {
  const envs: NodeJS.ProcessEnv[] = [];
  const clusters: ClusterInfo[] = [];
  let from = 28000;
  for (const name of names) {
    const offsets = Object.values(ports({ STUDY_CLUSTER_PORT_BASE: '0' })).map(Number);
    const base = await freePortBase(from, offsets);
    from = base + 100;
    const env = {
      ...process.env,
      STUDY_CLUSTER_DIR: path.join(cacheDir(), `fleet-${name}`),
      STUDY_CLUSTER_PORT_BASE: String(base),
    };
    envs.push(env);
    clusters.push(await up({ env, log: (l) => log(`${name}: ${l}`) }));
  }
  return {
    clusters,
    stop: async () => {
      for (const env of envs) await down({ env });
    },
  };
}

/** A context of the fleet kubeconfig: its cluster's server and CA, and a user's credentials. */
export interface FleetContext {
  name: string;
  server: string;
  caData?: string;
  user: RawUser;
  namespace?: string;
  insecure?: boolean;
  /** The user entry's name, when several contexts share one user (default: user-CONTEXT). */
  userName?: string;
}

/** The admin user of a cluster, as its admin kubeconfig holds it. */
export function adminContext(name: string, info: ClusterInfo, namespace?: string): FleetContext {
  const config = parseKubeconfigText(info.adminKubeconfig, readFileSync(info.adminKubeconfig, 'utf8')).config!;
  return {
    name,
    server: info.server,
    caData: config.clusters?.[0]?.cluster?.['certificate-authority-data'] ?? '',
    user: config.users?.[0]?.user ?? {},
    ...(namespace ? { namespace } : {}),
  };
}

/** A user with a client certificate the cluster's CA signed (expired, with notAfter in the past). */
export function certificateContext(
  name: string,
  info: ClusterInfo,
  user: string,
  file: string,
  validity: { notBefore?: Date; notAfter?: Date } = {},
  groups: string[] = [],
): FleetContext {
  mintUserKubeconfig(info, file, user, groups, validity);
  const config = parseKubeconfigText(file, readFileSync(file, 'utf8')).config!;
  return { ...adminContext(name, info), user: config.users?.[0]?.user ?? {} };
}

/** One kubeconfig (JSON, which is YAML) with a cluster and a user named after each context. */
export function writeFleetKubeconfig(file: string, contexts: FleetContext[], current?: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({
      name: `cluster-${c.name}`,
      cluster: {
        server: c.server,
        ...(c.caData ? { 'certificate-authority-data': c.caData } : {}),
        ...(c.insecure ? { 'insecure-skip-tls-verify': true } : {}),
      },
    })),
    // A user shared by several contexts is written once.
    users: [...new Map(contexts.map((c) => [c.userName ?? `user-${c.name}`, c.user])).entries()].map(
      ([name, user]) => ({
        name,
        user,
      }),
    ),
    contexts: contexts.map((c) => ({
      name: c.name,
      context: {
        cluster: `cluster-${c.name}`,
        user: c.userName ?? `user-${c.name}`,
        ...(c.namespace ? { namespace: c.namespace } : {}),
      },
    })),
    'current-context': current ?? contexts[0]?.name ?? '',
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}

/** kubectl against one cluster as its admin; stdin is the manifest to apply, if any. */
export function adminKubectl(info: ClusterInfo, args: string[], input?: string): string {
  const r = spawnSync(info.binaries.kubectl, args, {
    env: { ...process.env, KUBECONFIG: info.adminKubeconfig },
    input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Where a cluster's audit log ends now. */
export function auditSize(info: ClusterInfo): number {
  try {
    return readFileSync(info.auditLog).length;
  } catch {
    return 0;
  }
}

/**
 * The write requests the given users made (directly or impersonated), as a
 * cluster's audit log holds them after the mark, but access and identity reviews.
 */
export function writesSince(info: ClusterInfo, mark: number, users: readonly string[]): string[] {
  return readFileSync(info.auditLog)
    .subarray(mark)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map(
      (l) =>
        JSON.parse(l) as {
          verb: string;
          requestURI: string;
          user: { username: string };
          impersonatedUser?: { username: string };
        },
    )
    .filter((e) => users.includes(e.user.username) || users.includes(e.impersonatedUser?.username ?? ''))
    .filter((e) => !/(subjectaccessreviews|selfsubjectreviews|selfsubjectrulesreviews)/.test(e.requestURI))
    .map((e) => `${e.user.username} ${e.verb} ${e.requestURI}`);
}
