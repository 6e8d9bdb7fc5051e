/**
 * The drain as a library, for other jobs (study maintain), as kubectl's
 * pkg/drain serves cluster-autoscaler: plan, execute, cordon, wait. Other
 * jobs import this file, never the drain's command, options or run.
 */
export type { DrainApi, WorkloadRef } from './api.js';
export { clusterDrainApi } from './clusterapi.js';
export type { DrainEvent, DrainResult, WorkloadHealth } from './events.js';
export {
  cordon,
  drainExitCode,
  evictedWorkloads,
  executeDrain,
  type ExecuteOptions,
} from './execute.js';
export type { DrainPlan, PdbPlan, PlanOptions } from './model.js';
export { DRAIN_DEFAULTS } from './defaults.js';
export { eventLine, pdbCells, pdbColumns } from './print.js';
export { makePlan, makeRunPlan } from './planner.js';
export { batches } from './replacements.js';
export type { RunPlan, RunStep } from './sequence.js';
export { waitAvailable } from './wait.js';
