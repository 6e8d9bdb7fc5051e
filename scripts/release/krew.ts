/**
 * The krew manifests of a release: study (the umbrella), study-drain and whocan, each
 * listing every platform built, with the archive's sha256. krew-manifest.yaml at the top
 * of the repository is the umbrella's template in the krew-release-bot style; a unit test
 * keeps the two the same.
 */
import type { Arch, Os } from './platforms.js';

export const HOMEPAGE = 'https://github.com/kubectl-study/kubectl-study';

export interface PluginSpec {
  name: string;
  short: string;
  description: string;
}

export interface ManifestPlatform {
  os: Os;
  arch: Arch;
  exe: string;
  archive: string;
  sha256: string;
}

export const PLUGINS: PluginSpec[] = [
  {
    name: 'study',
    short: 'Safe drains, rollouts, kubeconfig and RBAC checks',
    description: `kubectl study bundles tools for cluster operators:
  kubectl study ctx       every kubeconfig context: auth, certificate expiry,
                          problems, and a parallel health check
  kubectl study drain     a read-only drain plan, then a drain that respects
                          PodDisruptionBudgets and can be interrupted safely
  kubectl study rollout   rollout status that says why it is stuck; history
                          with images and diffs; undo with a preview
  kubectl study whocan    who may do VERB on RESOURCE, through which binding
  kubectl study access    what one subject may do, and why
  kubectl study maintain  drain, upgrade and uncordon nodes one by one
`,
  },
  {
    name: 'study-drain',
    short: 'Plan a node drain, then drain respecting PDBs',
    description: `kubectl study-drain NODE first prints a read-only plan: every pod, what
the drain would do with it and why, PodDisruptionBudgets counted across the
whole drain, workloads that would lose every replica, and whether evicted pods
fit elsewhere. A blocked plan changes nothing. Then it cordons, evicts under
each PDB's budget, and waits for every pod to be gone.
`,
  },
  {
    name: 'whocan',
    short: 'Show who may do VERB on RESOURCE, and through what',
    description: `kubectl whocan VERB RESOURCE lists every subject RBAC allows, with the
binding, role and rule that grant it, matched exactly as the RBAC authorizer
matches; --verify confirms each with a SubjectAccessReview.
`,
  },
];

export function manifest(p: PluginSpec, version: string, platforms: ManifestPlatform[]): string {
  const indent = (text: string): string =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  const listed = platforms
    .map(
      (x) => `  - selector:
      matchLabels:
        os: ${x.os}
        arch: ${x.arch}
    uri: ${HOMEPAGE}/releases/download/${version}/${x.archive}
    sha256: ${x.sha256}
    bin: ${x.exe}
    files:
    - from: ${x.exe}
      to: .
    - from: LICENSE
      to: .
`,
    )
    .join('');
  return `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: ${p.name}
spec:
  version: ${version}
  homepage: ${HOMEPAGE}
  shortDescription: ${p.short}
  description: |
${indent(p.description)}
  caveats: |
    Read-only commands never change the cluster. Commands that do (drain,
    maintain, rollout undo, study-ctx use) show a plan first and ask on a
    terminal. Shell completion: see the README (krew does not install it).
  platforms:
${listed}`;
}
