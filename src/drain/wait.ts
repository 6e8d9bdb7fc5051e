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
  onEvent({ type: 'waiting-healthy', workloads: workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}`) });
  const results: WorkloadHealth[] = [];
  for (const w of workloads) {
    let available = false;
    while (!signal.aborted) {
      const { want, have } = await api.availability(w);
      if (have >= want) {
        available = true;
        onEvent({ type: 'healthy', workload: `${w.namespace}/${w.kind}/${w.name}` });
        break;
      }
      await sleep(pollMs, signal).catch(() => {});
    }
    results.push({ workload: `${w.kind}/${w.name}`, namespace: w.namespace, available });
  }
  return results;
}
