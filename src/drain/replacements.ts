/**
 * Where the replacements of the evicted pods go, for one drain or for a
 * run of several steps (study maintain), on one snapshot of the cluster
 * (src/drain/placement). Pure.
 *
 * The scheduler picks among the nodes that fit by score, and at random
 * among equals; the simulation is run again choosing differently (the
 * last of the equal best, then regardless of score the first, last and
 * fullest node), and a workload whose count of pending replacements in a
 * step changes with the choice is marked uncertain, with the range.
 */
import type { V1Pod } from '@kubernetes/client-node';

import { controllerOf } from '../kube/objects.js';
import {
  buildSnapshot,
  defaultFate,
  podKey,
  simulateRun,
  type Choice,
  type PodFate,
  type PodPlacement,
  type RunResult,
  type Snapshot,
} from './placement/index.js';
import { controllerLookup } from './controllers.js';
import { controllerKey, type PlanInputs } from './model.js';

/** One step's placements, keyed by the evicted pod's key; pods nothing recreates have no entry. */
export type StepPlacements = Map<string, PodPlacement & { uncertain?: string }>;

const CHOICES: Choice[] = ['score-last', 'first', 'last', 'packed'];

/**
 * Every step's placements, each marked uncertain where the scheduler's
 * choices could change its workload's count of Pending.
 */
export function placeSteps(input: PlanInputs, steps: string[][], uncordon?: ReadonlySet<string>): StepPlacements[] {
  const sim = simulation(input, uncordon);
  const main = sim.run(steps);
  const others = CHOICES.map((choice) => sim.run(steps, choice));
  return main.steps.map((step, i) => {
    const counts = [step, ...others.map((o) => o.steps[i]!)].map((s) => pendingPer(s.placements, sim.workloadOf));
    const out: StepPlacements = new Map();
    const totals = new Map<string, number>();
    for (const placement of step.placements)
      totals.set(sim.workloadOf(placement.pod), (totals.get(sim.workloadOf(placement.pod)) ?? 0) + 1);
    for (const placement of step.placements) {
      const workload = sim.workloadOf(placement.pod);
      const seen = counts.map((c) => c.get(workload) ?? 0);
      const lo = Math.min(...seen);
      const hi = Math.max(...seen);
      const total = totals.get(workload) ?? 0;
      const uncertain =
        `${lo} to ${hi} of its workload's ${total} replacements stay Pending, ` +
        'depending on where the scheduler puts the ones before';
      out.set(placement.pod, lo === hi ? placement : { ...placement, uncertain });
    }
    return out;
  });
}

interface Simulation {
  snapshot: Snapshot;
  run(steps: string[][], choice?: Choice): RunResult;
  workloadOf: (key: string) => string;
}

/** The snapshot of the whole cluster (the drained pods included), and how a run on it goes. */
function simulation(input: PlanInputs, uncordon?: ReadonlySet<string>): Simulation {
  const exists = controllerExistsIn(input);
  const evicted = new Map(input.drainPods.map((p) => [podKey(p), p]));
  const bound = [...input.podsByNode.values()].flat();
  const seen = new Set(bound.map(podKey));
  const snapshot = buildSnapshot({
    nodes: input.nodes,
    pods: [...bound, ...input.drainPods.filter((p) => !seen.has(podKey(p)))],
    namespaces: input.namespaces,
    ...(input.volumes ?? {}),
    rules: input.rules.placement,
  });
  // Only the pods the drain evicts (after --pod-selector) move; the rest stay, wherever they are.
  const fate = (pod: V1Pod): PodFate => (evicted.has(podKey(pod)) ? defaultFate(pod, exists(pod)) : 'stay');
  const known = (nodes: string[]): string[] => nodes.filter((n) => snapshot.byName.has(n));
  return {
    snapshot,
    run: (steps, choice) =>
      simulateRun(
        snapshot,
        steps.map((nodes) => ({ nodes: known(nodes) })),
        { fate, ...(choice ? { choice } : {}), ...(uncordon ? { uncordon } : {}) },
      ),
    workloadOf(key) {
      const pod = evicted.get(key);
      const controller = pod && controllerOf(pod);
      return controller ? controllerKey(pod.metadata?.namespace ?? '', controller.kind, controller.name) : key;
    },
  };
}

function pendingPer(placements: PodPlacement[], workloadOf: (key: string) => string): Map<string, number> {
  const pending = new Map<string, number>();
  for (const placement of placements)
    pending.set(
      workloadOf(placement.pod),
      (pending.get(workloadOf(placement.pod)) ?? 0) + (placement.outcome === 'pending' ? 1 : 0),
    );
  return pending;
}

/** Whether the pod's controller exists: true, false, or undefined (not known). */
export function controllerExistsIn(
  input: Pick<PlanInputs, 'controllers' | 'rules'>,
): (pod: V1Pod) => boolean | undefined {
  return (pod) => {
    const controller = controllerOf(pod);
    // Only what kubectl looks up is known: another group's kind of that name is not.
    if (!controller || !controllerLookup(controller, input.rules.kubectl)) return undefined;
    const info = input.controllers.get(controllerKey(pod.metadata?.namespace ?? '', controller.kind, controller.name));
    return info === undefined ? undefined : info !== null;
  };
}

/**
 * The largest --max-unavailable below the one asked for under which every
 * replacement of the run finds a node, else the smallest above it;
 * undefined when none does (within a bounded search).
 */
export function workingMaxUnavailable(
  input: PlanInputs,
  nodes: string[],
  asked: number,
  uncordon?: ReadonlySet<string>,
): number | undefined {
  const sim = simulation(input, uncordon);
  let tried = 0;
  for (const candidate of candidates(asked, nodes.length)) {
    if (tried++ >= SEARCH_LIMIT) return undefined;
    if (sim.run(batches(nodes, candidate)).firstFailure === undefined) return candidate;
  }
  return undefined;
}

/** How many simulations a search for a working --max-unavailable may run. */
const SEARCH_LIMIT = 16;

/**
 * The --max-unavailable values to try, nearest first: below the one asked
 * for, then above it; each makes different batches.
 */
function* candidates(asked: number, nodes: number): Generator<number> {
  // Any value from the number of nodes up makes one batch of them all.
  const top = Math.min(asked, nodes);
  for (let k = top - 1; k >= 1; k--) yield k;
  for (let k = top + 1; k <= nodes; k++) yield k;
}

export function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
