/** What a drain reports while it runs (events) and when it ends (the result). Types only. */
import type { ExitCodeValue } from '../base/errors.js';
import type { DrainPlan, PodPlan } from './model.js';

export type PodStatus =
  | 'gone' // evicted (or deleted) and gone
  | 'not-waited' // evicted; deleting longer than --skip-wait-for-delete-timeout, so not waited for (as kubectl)
  | 'evicted' // eviction accepted, not gone yet when the drain stopped
  | 'already-gone' // gone or replaced before we got to it
  | 'skipped' // the plan skips it (DaemonSet, mirror)
  | 'blocked' // a PDB kept it until the drain stopped
  | 'failed' // the API refused it for another reason
  | 'unconfirmed' // an eviction was sent; no answer came before the drain stopped
  | 'not-attempted'; // the drain stopped first

export interface PodOutcome {
  namespace: string;
  name: string;
  uid: string;
  status: PodStatus;
  message?: string;
  /** From eviction request to gone. */
  ms?: number;
}

/** A replacement of an evicted pod that cannot start: Pending unschedulable, ImagePullBackOff, CrashLoopBackOff... */
export interface StuckReplacement {
  namespace: string;
  name: string;
  /** The evicted pod's workload, e.g. Deployment/web. */
  workload: string;
  /** In a few words, the scheduler's or the kubelet's: 'Pending, unschedulable: 0/5 nodes are available: ...'. */
  reason: string;
}

export type DrainEvent =
  | { type: 'cordon'; node: string; changed: boolean }
  | { type: 'evicting'; pod: PodPlan }
  | { type: 'evicted'; pod: PodPlan }
  | { type: 'gone'; pod: PodPlan; ms: number }
  | { type: 'pdb-wait'; pod: PodPlan; pdb: string; detail: string; retryMs: number }
  | { type: 'throttled'; pod: PodPlan; retryMs: number }
  | { type: 'retry'; pod: PodPlan; detail: string; retryMs: number }
  | { type: 'failed'; pod: PodPlan; detail: string }
  | { type: 'waiting-healthy'; workloads: string[] }
  | { type: 'healthy'; workload: string }
  /** Once per pod. */
  | { type: 'replacement-stuck'; pod: { namespace: string; name: string }; workload: string; reason: string }
  /** The replacements could not be checked (advisory: the drain goes on); once per drain. */
  | { type: 'replacements-unchecked'; detail: string };

export interface WorkloadHealth {
  workload: string;
  namespace: string;
  available: boolean;
}

export type DrainOutcome = 'drained' | 'timed-out' | 'interrupted' | 'failed';

export interface DrainResult {
  kind: 'DrainResult';
  apiVersion: 'study.kubectl.io/v1';
  outcome: DrainOutcome;
  /** Nodes this run cordoned (changed) or found cordoned. */
  cordoned: Array<{ node: string; changed: boolean }>;
  pods: PodOutcome[];
  /** Workloads waited for with --wait-healthy, and whether they got there. */
  workloads: WorkloadHealth[];
  /** Replacements of evicted pods that could not start when last checked (the outcome does not depend on them). */
  replacements: StuckReplacement[];
  elapsedMs: number;
  requests: number;
  /** How often the API server throttled the drain (429 without a PDB behind it). */
  throttled: number;
  message?: string;
  /** The exit code of the error that stopped the drain, when one did. */
  errorExitCode?: ExitCodeValue;
  plan: DrainPlan;
}
