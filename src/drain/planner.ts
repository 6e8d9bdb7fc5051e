/**
 * Planning, as study-drain and study maintain both start: read the cluster
 * once (gather.ts), then plan from what was read (plan.ts for one drain,
 * sequence.ts for a sequence of them). Reads only.
 */
import type { KubeClient } from '../kube/client.js';
import { gatherPlanInputs } from './gather.js';
import type { DrainPlan, PlanOptions } from './model.js';
import { buildPlan } from './plan.js';
import { buildRunPlan, type RunPlan } from './sequence.js';

/** Reads the cluster and builds the plan: what study-drain and maintain both start from. */
export async function makePlan(
  client: KubeClient,
  nodes: string[],
  options: PlanOptions,
  skipWaitForDeleteTimeoutSeconds = 0,
): Promise<{ plan: DrainPlan; podListVersions: Map<string, string>; existingPods: Set<string> }> {
  const inputs = await gatherPlanInputs(client, nodes, { options, skipWaitForDeleteTimeoutSeconds, now: new Date() });
  return { plan: buildPlan(inputs), podListVersions: inputs.podListVersions, existingPods: inputs.existingPods };
}

/**
 * The plan of a run of drains, step after step (study maintain), from one
 * read of the cluster: every step's pods, controllers, PDBs and
 * permissions in one gather, every step's replacements placed by one
 * simulation of the whole run.
 */
export async function makeRunPlan(
  client: KubeClient,
  order: string[][],
  options: PlanOptions,
  maxUnavailable: number,
  uncordon?: ReadonlySet<string>,
): Promise<RunPlan> {
  const inputs = await gatherPlanInputs(client, order.flat(), {
    options,
    skipWaitForDeleteTimeoutSeconds: 0,
    now: new Date(),
  });
  return buildRunPlan(inputs, order, maxUnavailable, uncordon);
}
