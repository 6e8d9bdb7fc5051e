/**
 * --wait-healthy: once the evicted pods are gone, waiting for their
 * workloads to be Available again, through the DrainApi. (Waiting for the
 * pods to be gone is the DrainApi's watchGone.)
 */
import { sleep } from '../base/concurrency.js';
import type { DrainApi, WorkloadRef } from './api.js';
import type { DrainEvent, WorkloadHealth } from './events.js';

/** Waits until each workload is Available again (all replicas available, or ready for a StatefulSet). */
export async function waitAvailable(
  api: Pick<DrainApi, 'availability'>,
  workloads: WorkloadRef[],
  signal: AbortSignal,
  onEvent: (e: DrainEvent) => void,
  pollMs = 1000,
): Promise<WorkloadHealth[]> {
  if (workloads.length === 0) return [];
  onEvent({
    type: 'waiting-healthy',
    workloads: workloads.map((workload) => `${workload.namespace}/${workload.kind}/${workload.name}`),
  });
  const results: WorkloadHealth[] = [];
  for (const workload of workloads) {
    let available = false;
    while (!signal.aborted) {
      const { want, have } = await api.availability(workload);
      if (have >= want) {
        available = true;
        onEvent({ type: 'healthy', workload: `${workload.namespace}/${workload.kind}/${workload.name}` });
        break;
      }
      await sleep(pollMs, signal).catch(() => {});
    }
    results.push({ workload: `${workload.kind}/${workload.name}`, namespace: workload.namespace, available });
  }
  return results;
}
