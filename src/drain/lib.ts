/**
 * The drain as a library, for other jobs (study maintain), as kubectl's
 * pkg/drain serves cluster-autoscaler: plan, execute, cordon, wait. Other
 * jobs import this file, never the drain's command, options or run.
 */
export { clusterDrainApi, type DrainApi, type WorkloadRef } from './api.js';
export type { DrainEvent, DrainResult } from './events.js';
export {
  cordon,
  drainExitCode,
  evictedWorkloads,
  executeDrain,
  type ExecuteOptions,
} from './execute.js';
export type { DrainPlan, PdbPlan, PlanOptions } from './model.js';
export { DRAIN_DEFAULTS } from './options.js';
export { eventLine } from './print.js';
export { makePlan, makeRunPlan, nodesMatching } from './run.js';
export { batches } from './replacements.js';
export type { RunPlan, RunStep } from './runplan.js';
export { waitAvailable, type WorkloadHealth } from './wait.js';
