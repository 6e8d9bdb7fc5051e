/**
 * kubectl's discovery cache, shared with kubectl: the same place, the same
 * files, the same lifetime (k8s.io/client-go discovery/cached/disk, with
 * the directory and TTL cli-runtime's ConfigFlags give it):
 *
 *   <cache-dir>/discovery/<host_port>/servergroups.json          APIGroupList
 *   <cache-dir>/discovery/<host_port>/<group>/<version>/serverresources.json   APIResourceList
 *   <cache-dir>/discovery/<host_port>/version.json              GET /version (ours: kubectl does not cache it)
 *
 * <cache-dir> is --cache-dir, else $KUBECACHEDIR, else ~/.kube/cache; a
 * file older than six hours is not used. Files are written as kubectl
 * writes them (a temporary file renamed into place, mode 0660, directories
 * 0750, the JSON encoding/json makes, newline-terminated), so either tool
 * reads what the other wrote. A cache that cannot be written is no error.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** client-go's TTL for the disk cache, as kubectl sets it (cli-runtime config_flags.go: 6*time.Hour). */
export const DISCOVERY_TTL_MS = 6 * 60 * 60 * 1000;

export interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

/** metav1.APIGroup, as it sits in servergroups.json. */
export interface ApiGroup {
  name: string;
  versions: GroupVersionForDiscovery[] | null;
  preferredVersion: GroupVersionForDiscovery;
}

/** metav1.APIResource: subresources are entries named "pods/log". */
export interface ApiResourceEntry {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[] | null;
  shortNames?: string[];
  categories?: string[];
}

export interface ApiResourceList {
  kind: 'APIResourceList';
  apiVersion: 'v1';
  groupVersion: string;
  resources: ApiResourceEntry[];
}

export interface ApiGroupList {
  kind: 'APIGroupList';
  apiVersion: 'v1';
  groups: ApiGroup[];
}

/** The cache root kubectl uses: --cache-dir, else $KUBECACHEDIR, else ~/.kube/cache. */
export function cacheRoot(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home: string = env.HOME || homedir(),
): string {
  if (flag) return flag;
  if (env.KUBECACHEDIR) return env.KUBECACHEDIR;
  return path.join(home, '.kube', 'cache');
}

/**
 * The directory of one server's discovery cache, named as cli-runtime's
 * computeDiscoverCacheDir names it: the scheme dropped, then every
 * character but letters, digits, _, /, ., ( and ) made "_". Pure.
 */
export function discoveryCacheDir(root: string, server: string): string {
  const schemeless = server.replace('https://', '').replace('http://', '');
  // filepath.Join cleans the path: no trailing separator.
  const dir = path.join(root, 'discovery', schemeless.replace(/[^(\w/.)]/g, '_'));
  return dir.length > 1 ? dir.replace(/[\\/]+$/, '') : dir;
}

function groupVersionDir(dir: string, groupVersion: string): string {
  return path.join(dir, groupVersion, 'serverresources.json');
}

/** A file's JSON, if it exists and is younger than the TTL. */
function readFresh<T>(file: string, now: number): T | undefined {
  try {
    if (now - statSync(file).mtimeMs > DISCOVERY_TTL_MS) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * The cached groups and the resources of each group's preferred version;
 * undefined when anything needed is missing, unreadable or expired.
 */
export function readDiscoveryCache(
  dir: string,
  now: number = Date.now(),
): { groups: ApiGroupList; lists: ApiResourceList[] } | undefined {
  const groups = readFresh<ApiGroupList>(path.join(dir, 'servergroups.json'), now);
  if (groups?.kind !== 'APIGroupList' || !Array.isArray(groups.groups) || groups.groups.length === 0) return undefined;
  const lists: ApiResourceList[] = [];
  for (const g of groups.groups) {
    const gv = g.preferredVersion?.groupVersion;
    if (!gv) continue;
    const list = readFresh<ApiResourceList>(groupVersionDir(dir, gv), now);
    // A group version never cached has no file, and neither has one without resources (client-go writes
    // none): either way, the server is asked.
    if (list?.kind !== 'APIResourceList' || !Array.isArray(list.resources)) return undefined;
    lists.push(list);
  }
  return { groups, lists };
}

/** Writes one file as client-go does: a temporary file beside it, 0660, renamed over the old one. */
function writeAtomically(file: string, doc: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const tmp = `${file}.${process.pid}${Math.random().toString().slice(2, 8)}`;
  try {
    writeFileSync(tmp, `${JSON.stringify(doc)}\n`, { mode: 0o660 });
    chmodSync(tmp, 0o660);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * The server's /version answer, cached beside its discovery as version.json,
 * under the same TTL. kubectl itself does not cache /version (client-go's
 * CachedDiscoveryClient hands ServerVersion to the server every time):
 * this file is ours alone, and kubectl leaves it be.
 */
const VERSION_FILE = 'version.json';

/** The cached /version answer, if there is one younger than the TTL. */
export function readCachedVersion<T extends object>(dir: string, now: number = Date.now()): T | undefined {
  const doc = readFresh<T>(path.join(dir, VERSION_FILE), now);
  return doc && typeof doc === 'object' ? doc : undefined;
}

/** Caches a /version answer; false when the cache cannot be written: no error. */
export function writeCachedVersion(dir: string, info: object): boolean {
  try {
    writeAtomically(path.join(dir, VERSION_FILE), info);
    return true;
  } catch {
    return false;
  }
}

/** Stores a discovery; returns false when the cache cannot be written (read-only home, full disk): no error. */
export function writeDiscoveryCache(dir: string, groups: ApiGroupList, lists: ApiResourceList[]): boolean {
  try {
    writeAtomically(path.join(dir, 'servergroups.json'), groups);
    for (const list of lists)
      if (list.resources.length > 0) writeAtomically(groupVersionDir(dir, list.groupVersion), list);
    return true;
  } catch {
    return false;
  }
}
