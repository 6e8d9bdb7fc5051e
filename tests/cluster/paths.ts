/** Where the local cluster keeps its binaries and state, and which loopback ports it uses. */
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const K8S_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.0';
export const KWOK_VERSION = 'v0.8.0';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const KSTACK_SRC = path.join(HERE, 'kstack');
export const REPO_ROOT = path.resolve(HERE, '..', '..');

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STUDY_CACHE_DIR) return path.resolve(env.STUDY_CACHE_DIR);
  const base = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'kubectl-study');
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STUDY_CLUSTER_DIR ? path.resolve(env.STUDY_CLUSTER_DIR) : path.join(cacheDir(env), 'cluster');
}

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

/** Every component listens on 127.0.0.1 at base + offset; STUDY_CLUSTER_PORT_BASE moves them all. */
export function ports(env: NodeJS.ProcessEnv = process.env): Ports {
  const base = Number(env.STUDY_CLUSTER_PORT_BASE || 26000);
  return {
    etcdClient: base + 379,
    etcdPeer: base + 380,
    apiserver: base + 443,
    controllerManager: base + 257,
    scheduler: base + 259,
    kwok: base + 247,
  };
}
