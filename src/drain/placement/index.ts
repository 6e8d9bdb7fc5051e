/**
 * The placement simulation's facade: kube-scheduler's filters over a
 * snapshot of the cluster, for one drain (simulateDrain) or several in
 * sequence (simulateRun). What other jobs (maintain) import.
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
