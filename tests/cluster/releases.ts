/**
 * The Kubernetes releases the local cluster can run, as data: which
 * Kubernetes, etcd and kwok each is built from (its Go module file beside
 * kstack/main.go), its default ports, and the component flags that differ
 * between releases. Everything else about a cluster is the same for all.
 *
 * STUDY_K8S_VERSION picks one: "1.32", "v1.32" or the exact "1.32.13"
 * (unset: the newest). A release's etcd is the one its own kubeadm names
 * (or the nearest patch the Go module proxy serves); its kwok is the newest
 * whose Kubernetes libraries build with that release's.
 */

export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface Release {
  /** "1.32": what STUDY_K8S_VERSION names and what the tests compare. */
  minor: string;
  /** The exact Kubernetes version built: k8s.io/kubernetes and kubectl. */
  version: string;
  /** go.etcd.io/etcd/server/v3 linked into the multi-call binary. */
  etcd: string;
  /** sigs.k8s.io/kwok linked into the multi-call binary. */
  kwok: string;
  /** The Go module file in tests/cluster/kstack (its .sum beside it), used with go build -modfile. */
  modfile: string;
  /** Default STUDY_CLUSTER_PORT_BASE: each release its own, so several run side by side. */
  portBase: number;
  /** Flags added to the common ones of each component (feature gates, renamed flags). */
  extraArgs: Partial<Record<Component, readonly string[]>>;
  /**
   * Modules the module file holds at another version than `go mod tidy` would pick (each
   * with a comment saying why). The k8s.io staging modules are otherwise all replaced with
   * the release's own version (v0.32.13 for v1.32.13).
   */
  pinned: Readonly<Record<string, string>>;
}

export const RELEASES: readonly Release[] = [
  {
    minor: '1.32',
    version: 'v1.32.13',
    // kubeadm v1.32.13 names etcd 3.5.24, which the module proxy does not serve; 3.5.23 is the nearest.
    etcd: 'v3.5.23',
    // kwok v0.6.1 (built on Kubernetes 1.30's libraries) asks for nothing newer than 1.32 does;
    // v0.7.0 would raise cel-go, grpc and OpenTelemetry to 1.33's.
    kwok: 'v0.6.1',
    modfile: 'v1.32.mod',
    portBase: 31000,
    extraArgs: {},
    pinned: {
      // The Go module proxy does not serve v0.32.13.
      'k8s.io/endpointslice': 'v0.32.12',
      // kwok v0.6.1 asks for v0.5.0, which does not build with the cel-go (v0.22) Kubernetes 1.32 needs.
      'github.com/wzshiming/easycel': 'v0.6.0',
    },
  },
  {
    minor: '1.34',
    version: 'v1.34.4',
    etcd: 'v3.6.5',
    // kwok v0.7.0 does not build with 1.34's apimachinery (it uses a constant 1.34 removed); v0.6.1 does.
    kwok: 'v0.6.1',
    modfile: 'v1.34.mod',
    portBase: 33000,
    extraArgs: {},
    pinned: {
      // As for 1.32: kwok v0.6.1's easycel v0.5.0 does not build with this cel-go (v0.26).
      'github.com/wzshiming/easycel': 'v0.6.0',
    },
  },
  {
    minor: '1.37',
    version: 'v1.37.2',
    etcd: 'v3.7.0',
    kwok: 'v0.8.0',
    modfile: 'go.mod',
    // The first release the cluster ran, and still the default: its ports and state directory are as they were.
    portBase: 26000,
    extraArgs: {},
    pinned: {},
  },
];

/** The release a plain `npm test` and `npm run cluster:up` run: the newest. */
export const DEFAULT_RELEASE: Release = RELEASES[RELEASES.length - 1]!;

export class UnknownReleaseError extends Error {}

function known(): string {
  return RELEASES.map((r) => `${r.minor} (${r.version})`).join(', ');
}

/** The release that "1.32", "v1.32", "1.32.13" or "v1.32.13" names; an error names the ones there are. */
export function findRelease(name: string): Release {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(name.trim());
  if (!m)
    throw new UnknownReleaseError(`"${name}" is not a Kubernetes release (try 1.32 or 1.32.13); releases: ${known()}`);
  const release = RELEASES.find((r) => r.minor === `${m[1]}.${m[2]}`);
  if (!release) throw new UnknownReleaseError(`no local cluster for Kubernetes ${m[1]}.${m[2]}; releases: ${known()}`);
  if (m[3] !== undefined && release.version !== `v${m[1]}.${m[2]}.${m[3]}`) {
    throw new UnknownReleaseError(
      `Kubernetes ${m[1]}.${m[2]} is built as ${release.version}, not v${m[1]}.${m[2]}.${m[3]}; releases: ${known()}`,
    );
  }
  return release;
}

/** The release STUDY_K8S_VERSION names, or the default. */
export function selectedRelease(env: NodeJS.ProcessEnv = process.env): Release {
  const name = env.STUDY_K8S_VERSION?.trim();
  return name ? findRelease(name) : DEFAULT_RELEASE;
}
