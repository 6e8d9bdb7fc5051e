/**
 * The placement simulation's facade: kube-scheduler's filters over a
 * snapshot of the cluster, for one drain (simulateDrain) or several in
 * sequence (simulateRun). What the rest of the drain imports of it (the
 * plan, its gather, replacements.ts); other jobs, study maintain included,
 * see only what drain/lib.ts gives them: the plans it makes.
 */
export { buildSnapshot, podClaims, podKey, type Snapshot, type SnapshotInput } from './snapshot.js';
export {
  defaultFate,
  fitErrorMessage,
  placePods,
  simulateDrain,
  simulateRun,
  type Choice,
  type PodFate,
  type PodPlacement,
  type RunResult,
  type SimulationOptions,
  type StepResult,
} from './simulate.js';
export { podRequests, type Resources } from './requests.js';
