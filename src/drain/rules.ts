/**
 * What the drain's answer depends on that changed between Kubernetes 1.32
 * and 1.37: one table keyed by release (a minor, or a patch where a patch
 * changed it), read once per plan at the server's release and passed down
 * as data, as kube-scheduler passes its feature.Features to each plugin.
 * Nothing else in the drain asks which release the server runs. Pure.
 *
 * Sources (the code at each tag, k8s.io/kubernetes and its staging modules;
 * research notes of issue 21, section 10):
 *
 * - sidecarHostPorts: NodePorts counts hostPorts of restartable init
 *   containers only from 1.33.6 and 1.34.0 (pkg/scheduler/framework/types.go
 *   updateUsedPorts and plugins/nodeports PreFilter use util.GetHostPorts;
 *   1.32.13 and 1.33.5 read spec.containers alone).
 * - podLevelResources: spec.resources is dropped by the API server and
 *   skipped by the scheduler while PodLevelResources is off (alpha, off in
 *   1.32 and 1.33; beta, on from 1.34: pkg/features/kube_features.go).
 * - assignedPodRequests: how the requests of pods already on a node are
 *   summed (component-helpers resource.PodRequests, as PodInfo's
 *   calculateResource calls it): 1.32 spec (InPlacePodVerticalScaling off);
 *   1.33-1.36 per container max(spec, status resources, allocated); 1.37 the
 *   max of the aggregates, regular init containers included.
 *   podLevelStatus: pod-level status (status.resources,
 *   status.allocatedResources) is read from 1.36
 *   (InPlacePodLevelResourcesVerticalScaling beta, on).
 * - dynamicResources: the DynamicResources filter is in the default profile
 *   from 1.34 (DynamicResourceAllocation GA); before, spec.resourceClaims is
 *   dropped unless an operator turned the gate on. Either way a pod with
 *   claims is flagged, never simulated.
 * - nodeDeclaredFeatures: the node features the NodeDeclaredFeatures filter
 *   (1.36+) infers from a pod's spec (component-helpers
 *   nodedeclaredfeatures/features); a pod that needs one is flagged.
 * - nodeNameFirst: the default profile runs NodeName before
 *   NodeUnschedulable from 1.37 (apis/config/v1/default_plugins.go): the
 *   first filter that fails is a node's only reason.
 * - taintMessage: TaintToleration names the first untolerated taint,
 *   "node(s) had untolerated taint {KEY: VALUE}", until 1.34.1; from 1.34.2
 *   "node(s) had untolerated taint(s)" (plugins/tainttoleration).
 * - kubectl.daemonSetAnyGroup: kubectl drain before 1.34 takes any
 *   controller of kind DaemonSet for an apps/v1 DaemonSet (and looks it up
 *   there); from 1.34 only apps/v1 (kubectl pkg/drain/filters.go
 *   isControllerRefDaemonSet). Operators drain with the kubectl of their
 *   cluster's release, so the plan follows that release's kubectl.
 *
 * The same in every release 1.32-1.37, so not in the table: the request
 * formula of the pod being placed (spec, sidecars summed, init containers
 * as a floor); matchLabelKeys in topology spread (merged on the incoming
 * pod in every release; from 1.34 the API server also merges it at
 * creation, which merging again does not change); nodeAffinityPolicy and
 * nodeTaintsPolicy; schedulingGates. And the PDB and eviction rules: which
 * pods an eviction checks, unhealthyPodEvictionPolicy (AlwaysAllow,
 * IfHealthyBudget), more than one PDB refused with 500 (eviction.go is the
 * same 1.32.13-1.34.4 and changes in 1.35 and 1.37 only the words of its
 * 429 and 403 causes, which the plan does not predict).
 *
 * Not modelled in any release, as today: VolumeRestrictions (its RWOP
 * message changed in 1.34), NodeVolumeLimits (1.37 also refuses a node
 * without a CSI driver whose CSIDriver sets preventPodSchedulingIfMissing:
 * CSINode objects are not read), VolumeBinding's static PV matching by
 * VolumeAttributesClass (1.34+), NodeResourcesFit handing an extended
 * resource to DRA (DRAExtendedResource, 1.36+: DeviceClasses are not read),
 * the status code that tells preemption a node is hopeless (1.34+), and
 * scoring differences (DRA weight, volume capacity, opportunistic batching).
 */
import { NEWEST_RELEASE, rulesAt, type Release } from '../kube/release.js';

/** How the requests of pods already on a node are summed. */
export type AssignedPodRequests =
  /** spec only (1.32). */
  | 'spec'
  /** per container, max(spec, status resources, allocated resources) (1.33-1.36). */
  | 'container-max'
  /** max(Σspec, Σactuated, Σallocated), regular init containers included (1.37). */
  | 'aggregate-max';

/** A feature the NodeDeclaredFeatures filter requires of a node, inferred from the pod's spec. */
export type NodeFeature =
  | 'RestartAllContainersOnContainerExits'
  | 'UserNamespacesHostNetworkSupport'
  | 'VolumeBindMountOptions';

/** The scheduler's rules the placement simulation follows (src/drain/placement). */
export interface PlacementRules {
  sidecarHostPorts: boolean;
  podLevelResources: boolean;
  podLevelStatus: boolean;
  assignedPodRequests: AssignedPodRequests;
  dynamicResources: boolean;
  nodeDeclaredFeatures: readonly NodeFeature[];
  nodeNameFirst: boolean;
  taintMessage: 'first-taint' | 'generic';
}

/** kubectl drain's own rules, as the kubectl of the same release applies them. */
export interface KubectlDrainRules {
  daemonSetAnyGroup: boolean;
}

export interface DrainRules {
  placement: PlacementRules;
  kubectl: KubectlDrainRules;
}

const V1_32: DrainRules = {
  placement: {
    sidecarHostPorts: false,
    podLevelResources: false,
    podLevelStatus: false,
    assignedPodRequests: 'spec',
    dynamicResources: false,
    nodeDeclaredFeatures: [],
    nodeNameFirst: false,
    taintMessage: 'first-taint',
  },
  kubectl: { daemonSetAnyGroup: true },
};

/** A release's rules: the previous release's, with what changed. */
function changed(
  previous: DrainRules,
  change: { placement?: Partial<PlacementRules>; kubectl?: Partial<KubectlDrainRules> },
): DrainRules {
  return {
    placement: { ...previous.placement, ...change.placement },
    kubectl: { ...previous.kubectl, ...change.kubectl },
  };
}

const V1_33 = changed(V1_32, { placement: { assignedPodRequests: 'container-max' } });
const V1_33_6 = changed(V1_33, { placement: { sidecarHostPorts: true } });
const V1_34 = changed(V1_33_6, {
  placement: { podLevelResources: true, dynamicResources: true },
  kubectl: { daemonSetAnyGroup: false },
});
const V1_34_2 = changed(V1_34, { placement: { taintMessage: 'generic' } });
const V1_35 = V1_34_2;
const V1_36 = changed(V1_35, {
  placement: {
    podLevelStatus: true,
    nodeDeclaredFeatures: ['RestartAllContainersOnContainerExits', 'UserNamespacesHostNetworkSupport'],
  },
});
const V1_37 = changed(V1_36, {
  placement: {
    assignedPodRequests: 'aggregate-max',
    nodeNameFirst: true,
    nodeDeclaredFeatures: [
      'RestartAllContainersOnContainerExits',
      'UserNamespacesHostNetworkSupport',
      'VolumeBindMountOptions',
    ],
  },
});

/** The drain's rules by release: each row applies from its release until the next row's. */
export const DRAIN_RULES: ReadonlyArray<readonly [since: string, rules: DrainRules]> = [
  ['1.32', V1_32],
  ['1.33', V1_33],
  ['1.33.6', V1_33_6],
  ['1.34', V1_34],
  ['1.34.2', V1_34_2],
  ['1.35', V1_35],
  ['1.36', V1_36],
  ['1.37', V1_37],
];

/** The drain's rules at a release. */
export function drainRules(release: Release): DrainRules {
  return rulesAt(DRAIN_RULES, release);
}

/** The newest rules: what the simulation follows when it is given none (the tests, the benchmarks). */
export const NEWEST_DRAIN_RULES: DrainRules = drainRules(NEWEST_RELEASE);
