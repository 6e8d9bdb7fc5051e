/**
 * Waiting, the drain's way: for evicted pods to be gone (by UID, so a
 * replacement with the same name does not count), and for workloads to be
 * Available again.
 */
import type { V1Pod } from '@kubernetes/client-node';

import { sleep } from '../base/concurrency.js';
import type { KubeClient } from '../kube/client.js';
import { Informer } from '../kube/informer.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import type { DrainApi, GoneWatch, WorkloadRef } from './api.js';
import type { DrainEvent } from './events.js';

/**
 * Tracks pods by UID until they are gone: one pod informer per drained node,
 * watching from the plan's own list (no second list), marking a UID gone on
 * its DELETED event, or when a relist no longer has it.
 */
export class GoneTracker implements GoneWatch {
  private readonly waiters = new Map<string, (how: 'gone' | 'not-waited') => void>();
  private readonly gone = new Map<string, 'gone' | 'not-waited'>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly stopAll = new AbortController();
  private readonly informers: Array<Informer<V1Pod>> = [];

  constructor(
    client: KubeClient,
    fromVersions: Map<string, string>,
    /** The UIDs waited for, per node: a relist of one node speaks only for that node's pods. */
    tracked: Map<string, Set<string>>,
    /** Called when the API server stays unreachable: waiting on is pointless. */
    onFatal: (err: unknown) => void,
    /** kubectl's --skip-wait-for-delete-timeout: a pod deleting for longer is not waited for (0: off). */
    private readonly skipWaitSeconds = 0,
  ) {
    for (const [node, rv] of fromVersions) {
      const mine = tracked.get(node) ?? new Set<string>();
      const informer = new Informer<V1Pod>(
        client,
        resourcePath(RESOURCES.pods),
        { fieldSelector: `spec.nodeName=${node}`, timeoutSeconds: '300' },
        {
          onEvent: (type, pod) => {
            const uid = pod.metadata?.uid;
            if (!uid || !mine.has(uid)) return;
            if (type === 'DELETED') this.markGone(uid, 'gone');
            else this.watchDeletion(uid, pod);
          },
          onSync: (items) => {
            const present = new Map([...items.values()].map((p) => [p.metadata?.uid, p]));
            for (const uid of mine) {
              const pod = present.get(uid);
              if (!pod) this.markGone(uid, 'gone');
              else this.watchDeletion(uid, pod);
            }
          },
          onFatal,
        },
        client.outageMs,
      );
      this.informers.push(informer);
      informer.start(this.stopAll.signal, rv).catch(onFatal);
    }
  }

  /** With --skip-wait-for-delete-timeout, a pod deleting for that long counts as done, as in kubectl. */
  private watchDeletion(uid: string, pod: V1Pod): void {
    const deleting = pod.metadata?.deletionTimestamp;
    if (this.skipWaitSeconds <= 0 || !deleting || this.timers.has(uid) || this.gone.has(uid)) return;
    const at = new Date(deleting).getTime() + this.skipWaitSeconds * 1000;
    const timer = setTimeout(() => this.markGone(uid, 'not-waited'), Math.max(0, at - Date.now()) + 1000);
    timer.unref();
    this.timers.set(uid, timer);
  }

  private markGone(uid: string, how: 'gone' | 'not-waited'): void {
    if (this.gone.has(uid)) return;
    this.gone.set(uid, how);
    this.waiters.get(uid)?.(how);
    this.waiters.delete(uid);
  }

  /** Resolves when the pod is gone (or not waited for); rejects with the signal's reason if it aborts first. */
  waitGone(uid: string, signal: AbortSignal): Promise<'gone' | 'not-waited'> {
    const known = this.gone.get(uid);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(uid);
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(uid, (how) => {
        signal.removeEventListener('abort', onAbort);
        resolve(how);
      });
    });
  }

  close(): void {
    for (const i of this.informers) i.stop();
    for (const t of this.timers.values()) clearTimeout(t);
    this.stopAll.abort();
  }
}

export interface WorkloadHealth {
  workload: string;
  namespace: string;
  available: boolean;
}

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
