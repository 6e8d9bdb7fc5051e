/** The report of a maintenance run: what the wiring prints (-o json is this object). Types only. */
import type { ExitCodeValue } from '../base/errors.js';
import type { PdbPlan } from '../drain/lib.js';

export type NodeStatus = 'pending' | 'skipped-done' | 'done' | 'failed' | 'not-started';

export interface NodeReport {
  node: string;
  status: NodeStatus;
  phase: string;
  cordonedByRun: boolean;
  cordonedNow: boolean;
  elapsedMs: number;
  detail?: string;
}

export interface MaintainReport {
  kind: 'MaintainReport';
  apiVersion: 'study.kubectl.io/v1';
  outcome: 'done' | 'planned' | 'declined' | 'blocked' | 'failed' | 'timed-out' | 'interrupted';
  nodes: NodeReport[];
  plan: { order: string[][]; blocked: Array<{ node: string; blockers: string[] }>; pdbs: PdbPlan[] };
  degraded: string[];
  /** Who holds the maintenance lock now, when someone else does (said by --dry-run). */
  lockHeldBy?: string;
  next?: string;
  /** The exit code of the failure that stopped the run. */
  errorExitCode?: ExitCodeValue;
  journal?: string;
  /** What the run noticed that the operator should know (a torn journal line set aside). */
  warnings: string[];
}
