/**
 * The narrow API the drain executor works through. Types only: the real
 * one goes to the cluster (clusterapi.ts); the unit tests give an in-memory
 * fake that answers what a real cluster rarely does (429 with and without
 * Retry-After, 500 "more than one PodDisruptionBudget", 403
 * NamespaceTerminating, a reset connection, a pod replaced under the same
 * name).
 */
import type { V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

import type { StudyError } from '../base/errors.js';
import type { OwnerRef } from './model.js';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  node: string;
}

export interface WorkloadRef {
  namespace: string;
  kind: string;
  name: string;
}

/** A pod of an evicted pod's controller that is not Ready: a replacement, perhaps, and whether it can start. */
export interface ControlledPod {
  name: string;
  uid: string;
  controller: OwnerRef;
  /** The scheduler has answered (the pod has a PodScheduled condition). */
  answered: boolean;
  /** Why it cannot start (Pending unschedulable, ImagePullBackOff...); absent while it can. */
  stuck?: string;
}

/**
 * Waits for pods, by UID, to be gone: or, past --skip-wait-for-delete-timeout,
 * for them to have been deleting long enough.
 */
export interface GoneWatch {
  waitGone(uid: string, signal: AbortSignal): Promise<'gone' | 'not-waited'>;
  close(): void;
}

export interface DrainApi {
  /** Reads a node; throws the API's error. */
  readNode(name: string): Promise<V1Node>;
  setUnschedulable(name: string, unschedulable: boolean): Promise<void>;
  /** A policy/v1 Eviction (or, deleteInstead, a DELETE) with the pod's UID as precondition. */
  evict(pod: PodRef, opts: { gracePeriodSeconds: number; deleteInstead: boolean }): Promise<void>;
  readPod(namespace: string, name: string): Promise<V1Pod>;
  readPdb(namespace: string, name: string): Promise<V1PodDisruptionBudget>;
  /** Watches the pods of the drained nodes from the plan's list (resourceVersion per node). */
  watchGone(
    fromVersions: Map<string, string>,
    tracked: Map<string, Set<string>>,
    onFatal: (err: unknown) => void,
    skipWaitSeconds: number,
  ): GoneWatch;
  /** The pods a PDB counts that are not serving, with why (a Pending replacement, a crash loop). */
  unservingPods(namespace: string, pdb: string): Promise<Array<{ name: string; reason: string }>>;
  /**
   * The pods of a namespace that one of `controllers` controls, not Ready
   * and not going away: one list of the namespace.
   */
  controlledPods(namespace: string, controllers: OwnerRef[]): Promise<ControlledPod[]>;
  /** How many replicas a workload wants, and how many are available (ready for a StatefulSet). */
  availability(workload: WorkloadRef): Promise<{ want: number; have: number }>;
  /** A failure as a typed error naming what was being done. */
  error(what: string, err: unknown): StudyError;
  /** Requests sent so far. */
  readonly requests: number;
}
