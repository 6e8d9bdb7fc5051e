/**
 * The plan of a run of several drains in sequence (study maintain: step
 * after step of --max-unavailable nodes), from one read of the cluster.
 * Each step is planned as its own drain, with its replacements placed by a
 * simulation of the whole run: a step's evicted pods go onto the nodes in
 * service then, those of earlier steps included. Pure.
 */
import type { V1Pod } from '@kubernetes/client-node';

import type { ReleaseFields } from '../kube/release.js';
import type { DrainPlan, PlanInputs, PodPlan } from './model.js';
import { buildPlan, planBlockers } from './plan.js';
import { placeSteps, workingMaxUnavailable, type StepPlacements } from './replacements.js';

export interface RunStep {
  nodes: string[];
  plan: DrainPlan;
  /** Replacements placed in an earlier step on this step's nodes, evicted again. */
  movedAgain: number;
  /** Replacements that find no node in this step, with the scheduler's words. */
  pending: Array<{ pod: string; message: string; movedAgain: boolean }>;
  /** Replacements whose workload's count of Pending depends on the scheduler's choices. */
  uncertain: number;
}

export interface RunPlan {
  /** The server's release, and the release whose rules planned the run. */
  release: ReleaseFields;
  steps: RunStep[];
  /** Per node, what blocks it (nodes nothing blocks are absent). */
  blocked: Array<{ node: string; blockers: string[] }>;
  /** The first step (0-based) where a replacement finds no node. */
  firstUnplaceable?: number;
  /**
   * When some step leaves replacements Pending: the --max-unavailable
   * largest below the one asked for under which none does (else the
   * smallest above it).
   */
  maxUnavailableThatFits?: number;
}

function onNodes(pods: V1Pod[], nodes: string[]): V1Pod[] {
  const set = new Set(nodes);
  return pods.filter((p) => set.has(p.spec?.nodeName ?? ''));
}

/** The permissions a step relies on: the cluster-wide ones and those of its pods' namespaces. */
function stepInput(input: PlanInputs, nodes: string[]): PlanInputs {
  const drainPods = onNodes(input.drainPods, nodes);
  const namespaces = new Set(drainPods.map((p) => p.metadata?.namespace ?? ''));
  return {
    ...input,
    nodeNames: nodes,
    drainPods,
    permissions: input.permissions.filter((p) => p.namespace === undefined || namespaces.has(p.namespace)),
  };
}

/** What blocks each node of a step: the step's own blocks, and its pods' on that node. */
function blockedNodes(plan: DrainPlan): RunPlan['blocked'] {
  const out: RunPlan['blocked'] = [];
  // Missing permissions block every node; a node's own state and pods block only it.
  const shared = planBlockers([], [], plan.permissions, plan.options);
  for (const node of plan.nodes) {
    const pods: PodPlan[] = plan.pods.filter((p) => p.node === node.name);
    const own = planBlockers([node], pods, [], plan.options);
    const blockers = [...new Set([...shared, ...own])];
    if (blockers.length) out.push({ node: node.name, blockers });
  }
  return out;
}

/**
 * Replacements a step moves again (placed on its nodes by an earlier step)
 * that then find no node: they have no row in the step's plan, so they
 * block their node here.
 */
function movedAgainBlocks(placements: StepPlacements[], steps: RunStep[], allow: boolean): RunPlan['blocked'] {
  const out: RunPlan['blocked'] = [];
  placements.forEach((step, i) => {
    const own = new Set(steps[i]!.plan.pods.map((pod) => `${pod.namespace}/${pod.name}`));
    for (const [key, placement] of step) {
      if (own.has(key) || placement.outcome !== 'pending' || allow) continue;
      const where = placements
        .slice(0, i)
        .reverse()
        .map((s) => s.get(key)?.node)
        .find((n) => n && steps[i]!.nodes.includes(n));
      out.push({
        node: where ?? steps[i]!.nodes.join(','),
        blockers: [
          `WontFit: the replacement of ${key}, moved here by an earlier step, would stay Pending: ` +
            `${placement.message ?? 'it fits on no node'}; --allow-unplaceable overrides it`,
        ],
      });
    }
  });
  return out;
}

/**
 * `uncordon`: nodes cordoned now that the run uncordons after their step
 * (an earlier, interrupted run of it cordoned them).
 */
export function buildRunPlan(
  input: PlanInputs,
  order: string[][],
  maxUnavailable: number,
  uncordon?: ReadonlySet<string>,
): RunPlan {
  const placements = placeSteps(input, order, uncordon);
  const steps: RunStep[] = order.map((nodes, i) => {
    const plan = buildPlan(stepInput(input, nodes), placements[i]!);
    const own = new Set(plan.pods.map((p) => `${p.namespace}/${p.name}`));
    const placed = [...placements[i]!.values()];
    const pending = placed
      .filter((p) => p.outcome === 'pending')
      .map((p) => ({ pod: p.pod, message: p.message ?? 'it fits on no node', movedAgain: !own.has(p.pod) }));
    return {
      nodes,
      plan,
      movedAgain: placed.filter((p) => !own.has(p.pod)).length,
      pending,
      uncertain: placed.filter((p) => p.uncertain).length,
    };
  });
  const blocked = [
    ...steps.flatMap((s) => blockedNodes(s.plan)),
    ...movedAgainBlocks(placements, steps, input.options.allowUnplaceable === true),
  ];
  const run: RunPlan = { release: input.release, steps, blocked };
  const first = steps.findIndex((s) => s.pending.length > 0);
  if (first >= 0) {
    run.firstUnplaceable = first;
    const fits = workingMaxUnavailable(input, order.flat(), maxUnavailable, uncordon);
    if (fits !== undefined) run.maxUnavailableThatFits = fits;
  }
  return run;
}
