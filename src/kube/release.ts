/**
 * Which Kubernetes release the server runs, learned once per command, and
 * which release's rules answer for it. The jobs keep what differs between
 * releases in tables keyed by release (drain/rules.ts, rollout/rules.ts,
 * rbac/rules.ts) and read them at the release this module gives them; no
 * other code asks what version the server is.
 *
 * The release comes from GET /version: emulationMajor/emulationMinor when
 * the server reports them (a server run with --emulated-version serves that
 * release's feature gates and APIs, 1.33+), else major/minor; the patch
 * from gitVersion. Its answer is cached beside kubectl's discovery cache,
 * with the same TTL (discoverycache.ts), and asked at most once per client.
 * The parsing, the clamping to the releases modelled and the words said
 * about it are pure.
 */
import { apiStatusOf } from './apierror.js';
import type { KubeClient } from './client.js';
import { readCachedVersion, writeCachedVersion } from './discoverycache.js';

/** The fields of GET /version this module reads (apimachinery's version.Info). */
export interface VersionInfo {
  major?: string;
  minor?: string;
  gitVersion?: string;
  emulationMajor?: string;
  emulationMinor?: string;
}

/**
 * A Kubernetes 1.x release: its minor, and its patch. A patch of Infinity
 * stands for every patch of that minor (the newest rules of it).
 */
export interface Release {
  minor: number;
  patch: number;
}

/** The oldest release modelled: an older server is answered by its rules, with a warning. */
export const OLDEST_RELEASE: Release = { minor: 32, patch: 0 };
/** The newest release modelled: a newer server is answered by its rules, with one info line. */
export const NEWEST_RELEASE: Release = { minor: 37, patch: Number.POSITIVE_INFINITY };

/** What a result says about the release it was answered for (part of every -o json that depends on it). */
export interface ReleaseFields {
  /** The server's gitVersion, as it reports it (v1.32.13, v1.31.4-eks-1a2b3c4), or "unknown". */
  serverRelease: string;
  /** The release whose rules answered: "1.32" to "1.37". */
  rules: string;
}

export interface ServerRelease extends ReleaseFields {
  /** Where the rules tables are read. */
  release: Release;
}

export const UNKNOWN_SERVER = 'unknown';

/** What /version says about the release, before clamping; undefined when it says nothing usable. Pure. */
export function parseVersion(info: VersionInfo): { major: number; minor: number; patch: number } | undefined {
  const git = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(info.gitVersion ?? '');
  // Some providers report a minor like "32+": the leading digits are the release.
  const leading = (text: string | undefined): number | undefined => {
    const digits = /^\d+/.exec(text ?? '')?.[0];
    return digits === undefined ? undefined : Number(digits);
  };
  const major = leading(info.major) ?? (git ? Number(git[1]) : undefined);
  const minor = leading(info.minor) ?? (git ? Number(git[2]) : undefined);
  if (major === undefined || minor === undefined) return undefined;
  const gitPatch = git && Number(git[1]) === major && Number(git[2]) === minor ? Number(git[3] ?? 0) : 0;
  const emulatedMajor = leading(info.emulationMajor);
  const emulatedMinor = leading(info.emulationMinor);
  if (emulatedMajor === undefined || emulatedMinor === undefined) return { major, minor, patch: gitPatch };
  if (emulatedMajor === major && emulatedMinor === minor) return { major, minor, patch: gitPatch };
  // A newer binary emulating an older release: its feature gates and APIs are the older
  // release's, and its code carries every fix of that release's patches (fixes land on the
  // newest release first), so the patch rules are that release's newest.
  return { major: emulatedMajor, minor: emulatedMinor, patch: Number.POSITIVE_INFINITY };
}

function compare(a: Release, b: Release): number {
  return a.minor - b.minor || (a.patch === b.patch ? 0 : a.patch < b.patch ? -1 : 1);
}

/** "1.33" or "1.33.6" as a Release. */
export function releaseOf(text: string): Release {
  const m = /^1\.(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a release like 1.33 or 1.33.6`);
  return { minor: Number(m[1]), patch: Number(m[2] ?? 0) };
}

/**
 * The row of a table keyed by release that applies at `release`: the last
 * whose key ("1.32", "1.33.6") is not after it. The first key must be the
 * oldest release modelled, and the keys ascending. Pure.
 */
export function rulesAt<T>(table: ReadonlyArray<readonly [since: string, row: T]>, release: Release): T {
  let found: T | undefined;
  let previous: Release | undefined;
  for (const [since, row] of table) {
    const key = releaseOf(since);
    if (previous === undefined && compare(key, OLDEST_RELEASE) !== 0)
      throw new Error(`a rules table starts at ${since}, not at the oldest release modelled`);
    if (previous && compare(previous, key) >= 0) throw new Error(`a rules table is out of order at ${since}`);
    previous = key;
    if (compare(key, release) <= 0) found = row;
  }
  if (found === undefined) throw new Error('a rules table is empty');
  return found;
}

/**
 * The release a server is answered by: its own when modelled, else the
 * nearest modelled one. Unreadable: the newest. Pure.
 */
export function describeRelease(info: VersionInfo | undefined): ServerRelease {
  const parsed = info ? parseVersion(info) : undefined;
  if (!parsed) return { serverRelease: UNKNOWN_SERVER, rules: rulesName(NEWEST_RELEASE), release: NEWEST_RELEASE };
  const serverRelease = info?.gitVersion || `v${parsed.major}.${parsed.minor}`;
  let release: Release = { minor: parsed.minor, patch: parsed.patch };
  if (parsed.major < 1 || (parsed.major === 1 && compare(release, OLDEST_RELEASE) < 0)) release = { ...OLDEST_RELEASE };
  else if (parsed.major > 1 || parsed.minor > NEWEST_RELEASE.minor) release = NEWEST_RELEASE;
  return { serverRelease, rules: rulesName(release), release };
}

function rulesName(release: Release): string {
  return `1.${release.minor}`;
}

/** What a result says about its release, for -o json. */
export function releaseFields(server: ReleaseFields): ReleaseFields {
  return { serverRelease: server.serverRelease, rules: server.rules };
}

/**
 * The one line said about a release that is not the server's own: a server
 * older than the oldest release modelled (a warning), newer than the newest
 * (information), or one whose version could not be read (a warning).
 * Undefined when the server is answered by its own release's rules, or the
 * result has no release (it needed none). Pure.
 */
export function releaseNotice(
  fields: Partial<ReleaseFields> | undefined,
): { level: 'info' | 'warning'; message: string } | undefined {
  if (!fields?.serverRelease || !fields.rules) return undefined;
  const oldest = rulesName(OLDEST_RELEASE);
  const newest = rulesName(NEWEST_RELEASE);
  if (fields.serverRelease === UNKNOWN_SERVER)
    return {
      level: 'warning',
      message:
        `the server's version could not be read (GET /version): answered by the rules of Kubernetes ${newest}, ` +
        'the newest release kubectl-study models',
    };
  const parsed = parseVersion({ gitVersion: fields.serverRelease });
  if (!parsed) return undefined;
  const named = `Kubernetes ${fields.serverRelease}`;
  if (fields.rules === oldest && (parsed.major < 1 || (parsed.major === 1 && parsed.minor < OLDEST_RELEASE.minor)))
    return {
      level: 'warning',
      message:
        `the server runs ${named}, older than ${oldest}, the oldest release kubectl-study supports: ` +
        `answered by the rules of ${oldest}, which may not be this server's`,
    };
  if (fields.rules === newest && (parsed.major > 1 || parsed.minor > NEWEST_RELEASE.minor))
    return {
      level: 'info',
      message:
        `the server runs ${named}, newer than ${newest}, the newest release kubectl-study models: ` +
        `answered by the rules of ${newest}`,
    };
  return undefined;
}

/** The notice's line at one level, for a command's info or warnings; none when there is nothing to say. */
export function releaseLines(fields: Partial<ReleaseFields> | undefined, level: 'info' | 'warning'): string[] {
  const notice = releaseNotice(fields);
  return notice?.level === level ? [notice.message] : [];
}

/** What serverRelease needs of a client (a KubeClient; the tests give a fake). */
export type ReleaseClient = Pick<KubeClient, 'request' | 'call' | 'discoveryCacheDir'>;

const asked = new WeakMap<ReleaseClient, Promise<ServerRelease>>();

/**
 * The server's release, asked once per client: from the cache while fresh,
 * else from GET /version (and cached). A server that answers /version with
 * an error (403 is possible) is answered by the newest rules, and the
 * result says its release is unknown; a server that cannot be reached
 * fails here as it would on any request.
 */
export function serverRelease(client: ReleaseClient): Promise<ServerRelease> {
  let pending = asked.get(client);
  if (!pending) {
    pending = learnRelease(client);
    asked.set(client, pending);
  }
  return pending;
}

async function learnRelease(client: ReleaseClient): Promise<ServerRelease> {
  const cached = readCachedVersion<VersionInfo>(client.discoveryCacheDir);
  if (cached && parseVersion(cached)) return describeRelease(cached);
  let info: VersionInfo;
  try {
    info = await client.call('read the server version', () => client.request<VersionInfo>('GET', '/version'));
  } catch (err) {
    const code = apiStatusOf(err)?.code;
    // An answer, but not the version: the command goes on, by the newest rules. A 401 or no answer
    // at all fails every request of the command: it fails here too, in the same words.
    if (code === undefined || code === 401) throw err;
    return describeRelease(undefined);
  }
  if (parseVersion(info)) writeCachedVersion(client.discoveryCacheDir, info);
  return describeRelease(info);
}
