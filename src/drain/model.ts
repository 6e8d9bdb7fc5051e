/**
 * The drain plan's data model: what it is made from (PlanInputs, as read
 * from the cluster), what it says, and its reason codes. Every reason has a
 * stable code (part of the -o json contract), a severity, and one line on
 * why it matters.
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StorageClass,
} from '@kubernetes/client-node';

import type { ReleaseFields } from '../kube/release.js';
import type { PodPlacement } from './placement/index.js';
import type { DrainRules } from './rules.js';

/** What the drain does with a pod. */
export type PodAction = 'evict' | 'skip' | 'wait' | 'blocked';

/**
 * block: stops the drain unless the named flag overrides it.
 * warning: the drain proceeds, but something will hurt (blocks with --strict).
 * info: worth knowing.
 */
export type Severity = 'block' | 'warning' | 'info';

export const REASONS = {
  // kubectl drain's own filters
  DaemonSetPod: 'the DaemonSet controller recreates the pod on this node at once, so kubectl never evicts it',
  OrphanedDaemonSetPod: 'its DaemonSet no longer exists, so nothing recreates the pod once it is deleted',
  MirrorPod: 'a static pod mirrored from the kubelet; the API cannot remove it',
  LocalStorage: 'its emptyDir data is deleted with the pod and cannot be recovered',
  Unmanaged: 'no controller recreates the pod: once evicted it is gone for good',
  Finished: 'the pod has already finished; deleting it loses nothing',
  Terminating: 'the pod is already terminating; the drain only waits for it to go',
  // beyond kubectl drain
  ControllerMissing: 'the controller it names no longer exists, so nothing recreates the pod once it is evicted',
  PdbAllowsNone:
    'the PodDisruptionBudget allows no disruption right now: the eviction waits until more pods are healthy',
  PdbSerial:
    'the PodDisruptionBudget lets fewer pods go at once than this drain evicts: ' +
    'it waits for replacements to become healthy',
  PdbNeverAllows:
    'the PodDisruptionBudget can never allow a disruption (it requires every pod it counts): ' +
    'the eviction would wait forever',
  MultiplePdbs: 'the pod is covered by more than one PodDisruptionBudget: the API server refuses to evict it (500)',
  WorkloadOutage: 'the workload loses every ready replica until a replacement is ready elsewhere',
  SafeToEvictFalse:
    'annotated cluster-autoscaler.kubernetes.io/safe-to-evict: "false": its owner asked that it not be evicted',
  DoNotDisrupt: 'annotated karpenter.sh/do-not-disrupt: "true": its owner asked that it not be disrupted',
  WontFit: 'the scheduler would find no node for its replacement: it would stay Pending',
  PinnedByLocalVolume:
    "a local PersistentVolume's node affinity ties it to this node: its replacement would stay Pending",
  PdbNeverRecovers:
    'its PodDisruptionBudget waits for replacements to be healthy, and one of them cannot be placed: ' +
    'the budget never comes back, so the drain would wait for ever',
  PlacedAfterMove:
    'its replacement fits only once other evicted pods have been placed ' +
    '(their pod affinity or topology spread counts): it depends on them',
  PlacementUnknown:
    'part of where its replacement can go is not decided by the plan (say, a volume still to be provisioned)',
  PlacementUncertain:
    'whether its replacement finds a node depends on where the scheduler puts the replacements before it, ' +
    'and it breaks ties at random',
  HostPathData: 'it uses a hostPath volume: its data stays on this node and a replacement elsewhere starts without it',
  CustomScheduler:
    'it names a scheduler other than default-scheduler: its replacement is placed only if that scheduler runs',
  EvictionDisabled: '--disable-eviction deletes the pod directly, bypassing every PodDisruptionBudget',
  // node level
  NodeNotReady: 'the node is not Ready: its kubelet may not confirm that pods stopped, so they can stay Terminating',
  NodeAlreadyCordoned: 'the node was already cordoned before this drain',
  LastSchedulableNode: 'no other schedulable Ready node remains: every evicted pod would stay Pending',
  MissingPermission: 'the drain would stop half-way: it needs this permission before it changes anything',
  PermissionUnknown: 'a read the plan needs is not allowed, so this part of the plan is incomplete',
} as const;

export type ReasonCode = keyof typeof REASONS;

export interface Reason {
  code: ReasonCode;
  severity: Severity;
  /** The specific words for this pod/node, e.g. 'PDB demo/web allows 0 (2 healthy, 2 required)'. */
  message: string;
  /** Why it matters: REASONS[code]. */
  why: string;
  /** For a block: the flag that overrides it. */
  override?: string;
}

/** How the plan keys a controller: namespace/kind/name. */
export function controllerKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

export function reason(code: ReasonCode, severity: Severity, message: string, override?: string): Reason {
  const r: Reason = { code, severity, message, why: REASONS[code] };
  if (override) r.override = override;
  return r;
}

export interface OwnerRef {
  kind: string;
  name: string;
  /** As the owner reference gives it: apps/v1, apps.kruise.io/v1beta1, ... */
  apiVersion?: string;
}

export interface PodPlan {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  /** The controller chain, pod first: [ReplicaSet/web-abc, Deployment/web]. */
  owners: OwnerRef[];
  /** The top of the chain, e.g. Deployment/web ('' for an unmanaged pod). */
  workload: string;
  action: PodAction;
  reasons: Reason[];
  /** PDBs (namespace/name) that cover the pod. */
  pdbs: string[];
  ready: boolean;
  requests: { cpu: number; memory: number };
  /** Where the scheduler would put its replacement, for a pod a controller recreates; absent otherwise. */
  placement?: Placement;
}

/**
 * The placement simulation's answer for one evicted pod (src/drain/placement):
 * where its replacement goes or why it stays Pending, plus whether that
 * depends on the scheduler's random choice among equal nodes.
 */
export type Placement = Omit<PodPlacement, 'pod'> & {
  /** How many of its workload's replacements stay Pending changes with the scheduler's choice among nodes that fit. */
  uncertain?: boolean;
};

/**
 * How a drain fares with a PDB, in the same words in every table and in the JSON:
 * at-once: it lets every pod of the drain go at once; one-by-one: fewer at once than
 * the drain evicts (it waits for replacements to be healthy); waits: none now;
 * never: it can never allow a disruption.
 */
export type PdbVerdict = 'at-once' | 'one-by-one' | 'waits' | 'never';

export interface PdbPlan {
  namespace: string;
  name: string;
  /** From the PDB's status. */
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  disruptionsAllowed: number;
  unhealthyPodEvictionPolicy: string;
  /** Pods this drain evicts that the PDB counts. */
  podsInDrain: number;
  /** Of those, the ones that are healthy (they use budget). */
  healthyInDrain: number;
  /** Unhealthy ones that use budget too: the budget is not met, or it requires 0 healthy pods (IfHealthyBudget). */
  unhealthyNeedBudget?: number;
  /** When it waits: the pods it selects that are not Ready, with why. */
  notHealthy?: string[];
  /** How the drain fares: at once, one by one, waits, or never. */
  verdict: PdbVerdict;
}

export interface NodePlan {
  name: string;
  exists: boolean;
  ready: boolean;
  unschedulable: boolean;
  reasons: Reason[];
}

export interface PermissionCheck {
  verb: string;
  resource: string;
  group: string;
  subresource?: string;
  namespace?: string;
  allowed: boolean;
  /** Whether lacking it blocks the drain (a write) or only narrows the plan (a read). */
  required: boolean;
}

/** How a permission is named: `list poddisruptionbudgets.policy`, `create pods/eviction in namespace demo`. */
export function permissionText(
  perm: Pick<PermissionCheck, 'verb' | 'resource' | 'subresource' | 'group' | 'namespace'>,
): string {
  const subresource = perm.subresource ? `/${perm.subresource}` : '';
  const group = perm.group ? `.${perm.group}` : '';
  const namespace = perm.namespace ? ` in namespace ${perm.namespace}` : '';
  return `${perm.verb} ${perm.resource}${subresource}${group}${namespace}`;
}

export interface PlanSummary {
  pods: number;
  evict: number;
  skip: number;
  wait: number;
  blocked: number;
  warnings: number;
}

export interface DrainPlan extends ReleaseFields {
  kind: 'DrainPlan';
  apiVersion: 'study.kubectl.io/v1';
  nodes: NodePlan[];
  pods: PodPlan[];
  pdbs: PdbPlan[];
  permissions: PermissionCheck[];
  summary: PlanSummary;
  /** proceed: nothing blocks; blocked: something does (see blockers). */
  verdict: 'proceed' | 'blocked';
  /** One line per distinct block, with the flag that overrides it. */
  blockers: string[];
  /** The options the plan was made with. */
  options: PlanOptions;
}

export interface PlanOptions {
  force: boolean;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  disableEviction: boolean;
  ignoreOptOuts: boolean;
  strict: boolean;
  podSelector?: string;
  /** Proceed although replacements would stay Pending (WontFit, PinnedByLocalVolume, PdbNeverRecovers). */
  allowUnplaceable?: boolean;
}

/** What the plan knows of a controller (ReplicaSet, Deployment, StatefulSet, ...). */
export interface ControllerInfo {
  kind: string;
  name: string;
  /** Its own controller, if any (a ReplicaSet's Deployment). */
  owner?: { kind: string; name: string; apiVersion?: string };
  replicas?: number;
  readyReplicas?: number;
}

export interface PlanInputs {
  nodeNames: string[];
  /** Every node of the cluster (drain targets and candidates). */
  nodes: V1Node[];
  /** Non-terminal pods of every node (the drained ones included): the scheduler's view of the cluster. */
  podsByNode: Map<string, V1Pod[]>;
  /** Non-terminal pods not bound to a node yet (Pending): what a waiting PDB may be waiting for. */
  unscheduled?: V1Pod[];
  /** The pods on the nodes being drained (after --pod-selector). */
  drainPods: V1Pod[];
  pdbs: V1PodDisruptionBudget[];
  /** Keyed by controllerKey(); null: looked up and not found; absent: not known (not allowed to read). */
  controllers: Map<string, ControllerInfo | null>;
  /** Controllers (controllerKey) the caller may not read: whether they exist is unknown. */
  unreadableControllers?: Set<string>;
  /** Labels of every namespace, when some pod's affinity selects namespaces by label; undefined: not read. */
  namespaces?: Array<{ metadata?: { name?: string; labels?: Record<string, string> } }>;
  /** Claims, volumes and storage classes, when evicted pods mount claims; undefined: not read. */
  volumes?: { claims: V1PersistentVolumeClaim[]; volumes: V1PersistentVolume[]; classes: V1StorageClass[] };
  permissions: PermissionCheck[];
  now: Date;
  options: PlanOptions;
  /** kubectl's --skip-wait-for-delete-timeout, in seconds (0: off). */
  skipWaitForDeleteTimeoutSeconds: number;
  /** The server's release and the release whose rules answer it (the plan says both). */
  release: ReleaseFields;
  /** What the drain follows of that release: the scheduler's rules, kubectl drain's (drain/rules.ts). */
  rules: DrainRules;
}
