/** The report of a maintenance run: what the wiring prints (-o json is this object). Types only. */
import type { ExitCodeValue } from '../base/errors.js';
import type { PdbPlan } from '../drain/lib.js';
import type { ScheduleRecord } from './journal.js';
import type { OlderRuns, RunSummary } from './state.js';
import type { AttachedVolume } from './volumes.js';

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
  /** The volumes attached to it when the run was planned: after its drain, the run waits until none is. */
  volumes?: AttachedVolume[];
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
  outcome: 'done' | 'planned' | 'declined' | 'blocked' | 'failed' | 'timed-out' | 'interrupted' | 'outside-window';
  nodes: NodeReport[];
  plan: RunPlanSummary;
  degraded: string[];
  /** Who holds the maintenance lock now, when someone else does (said by --dry-run). */
  lockHeldBy?: string;
  next?: string;
  /** The exit code of the failure that stopped the run. */
  errorExitCode?: ExitCodeValue;
  journal?: string;
  /** For a real run whose state the cluster keeps: the ConfigMap (namespace/name), beside the run's Lease. */
  state?: string;
  /**
   * The windows and the pause the run keeps to (given, or kept from its state), when it has any;
   * with windows, whether one is open now, and until when it is (or when the next opens).
   */
  schedule?: ScheduleRecord & { open?: boolean; until?: string };
  /** What the run noticed that the operator should know (a torn journal line set aside). */
  warnings: string[];
}

/** One run of `study maintain status`: the current run and the last ones, from the cluster's state. */
export interface MaintainStatus {
  kind: 'MaintainStatus';
  apiVersion: 'study.kubectl.io/v1';
  /** The ConfigMap holding the state (namespace/name); the Lease has the same name. */
  state: string;
  /** Who holds the maintenance lock now, when someone does. */
  lock?: { holder: string; renewedAgoMs: number; expiresInMs: number };
  current?: RunStatus;
  /** The latest finished runs, newest first. */
  last: RunSummary[];
  /** Every older run, in one line. */
  older?: OlderRuns;
  /** What to run next. */
  next?: string;
}

/** The current run as `status` shows it. */
export interface RunStatus {
  id: string;
  nodes: string[];
  /** running: one of its attempts holds the lock; stopped: none does, and nodes are left. */
  state: 'running' | 'stopped';
  startedAt: string;
  /** The latest attempt: who, from which host (and process), since when, and how it ended if it did. */
  attempt: { id: string; user: string; host: string; pid: number; since: string; outcome?: string };
  /** When the run last recorded a step. */
  updatedAt: string;
  done: string[];
  /** The nodes under way (or where the run stopped), each with its phase and since when. */
  working: Array<{ node: string; phase: string; since: string }>;
  /** Nodes the run cordoned and has not uncordoned; cordonedNow: whether the node is cordoned now. */
  cordoned: Array<{ node: string; cordonedNow: boolean }>;
  /** Commands (--run, --before, --after) it started and never saw end: which, and where they run. */
  commands: Array<{
    node: string;
    kind: 'command' | 'before' | 'after';
    host: string;
    pgid: number;
    startedAt: string;
    log: string;
  }>;
  lastError?: string;
  /** The windows and the pause it keeps to, when it has any. */
  schedule?: ScheduleRecord;
}
