/** Where the local cluster keeps its binaries and state, and which loopback ports it uses. */
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DEFAULT_RELEASE, selectedRelease, type Release } from './releases.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const KSTACK_SRC = path.join(HERE, 'kstack');
export const REPO_ROOT = path.resolve(HERE, '..', '..');

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STUDY_CACHE_DIR) return path.resolve(env.STUDY_CACHE_DIR);
  const base = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'kubectl-study');
}

/**
 * The cluster's state: STUDY_CLUSTER_DIR, or a directory of the release's own
 * (`cluster` for the default release, as before there were others; `cluster-1.32`...).
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env, release: Release = selectedRelease(env)): string {
  if (env.STUDY_CLUSTER_DIR) return path.resolve(env.STUDY_CLUSTER_DIR);
  return path.join(cacheDir(env), release === DEFAULT_RELEASE ? 'cluster' : `cluster-${release.minor}`);
}

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

/**
 * Every component listens on 127.0.0.1 at base + offset: the release's own base
 * (26000 for the default, 31000 for 1.32...), or STUDY_CLUSTER_PORT_BASE.
 */
export function ports(env: NodeJS.ProcessEnv = process.env, release: Release = selectedRelease(env)): Ports {
  const base = Number(env.STUDY_CLUSTER_PORT_BASE || release.portBase);
  return {
    etcdClient: base + 379,
    etcdPeer: base + 380,
    apiserver: base + 443,
    controllerManager: base + 257,
    scheduler: base + 259,
    kwok: base + 247,
  };
}
