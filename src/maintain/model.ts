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
  /** Replacements of the pods its drain evicted that could not start when the drain ended (namespace/name: reason). */
  replacements?: string[];
}

/** One step of the run as planned: what its drain evicts, and which replacements find no node. */
export interface StepSummary {
  nodes: string[];
  evict: number;
  skip: number;
  wait: number;
  blocked: number;
  /** Replacements an earlier step put on these nodes, moved again. */
  movedAgain: number;
  /** Replacements that would stay Pending, with the scheduler's words. */
  pending: Array<{ pod: string; message: string; movedAgain: boolean }>;
  /** Replacements whose fate depends on the scheduler's random choice among equal nodes. */
  uncertain: number;
}

/** The whole run's plan, made before anything is touched, from one read of the cluster. */
export interface RunPlanSummary {
  /** The server's release, and the release whose rules planned the run (absent when no node needed a plan). */
  serverRelease?: string;
  rules?: string;
  order: string[][];
  blocked: Array<{ node: string; blockers: string[] }>;
  /** Each step's PDBs, counted across that step; a PDB several steps meet is there once per step. */
  pdbs: Array<PdbPlan & { step: number }>;
  steps: StepSummary[];
  /** The first step (1-based) where a replacement finds no node. */
  firstUnplaceableStep?: number;
  /**
   * Then: the largest --max-unavailable below the one asked for under which
   * every replacement finds a node (else the smallest above it).
   */
  maxUnavailableThatFits?: number;
}

export interface MaintainReport {
  kind: 'MaintainReport';
  apiVersion: 'study.kubectl.io/v1';
  outcome: 'done' | 'planned' | 'declined' | 'blocked' | 'failed' | 'timed-out' | 'interrupted';
  nodes: NodeReport[];
  plan: RunPlanSummary;
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
