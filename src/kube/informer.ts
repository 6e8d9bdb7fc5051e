/**
 * A minimal informer: list once, then watch from the list's
 * resourceVersion, keeping a map of objects by UID and calling onChange
 * after every event. A 410 Gone relists; a broken watch resumes with
 * backoff. Used where a command waits on the cluster (rollout status).
 */
import type { KubeClient } from './client.js';
import { listPath } from './list.js';
import { watch, WatchExpiredError } from './watch.js';
import { exponentialBackoff } from '../util/backoff.js';
import { sleep } from '../util/concurrency.js';

export interface Meta {
  metadata?: { uid?: string; resourceVersion?: string; name?: string };
}

export class Informer<T extends Meta> {
  readonly items = new Map<string, T>();
  private stopped = false;
  lastError: unknown;

  constructor(
    private readonly client: KubeClient,
    /** e.g. /api/v1/namespaces/ns/pods */
    private readonly path: string,
    private readonly query: Record<string, string>,
    private readonly onChange: () => void,
  ) {}

  private async list(): Promise<string> {
    const result = await listPath<T>(this.client, this.path, this.query);
    this.items.clear();
    for (const item of result.items) this.items.set(item.metadata?.uid ?? item.metadata?.name ?? '', item);
    return result.resourceVersion;
  }

  /** Lists (and calls onChange), then keeps watching in the background until stop(). */
  async start(signal: AbortSignal): Promise<void> {
    let rv = await this.list();
    this.onChange();
    void (async () => {
      const backoff = exponentialBackoff(500, 5000);
      while (!this.stopped && !signal.aborted) {
        try {
          if (!rv) {
            rv = await this.list();
            this.onChange();
          }
          for await (const ev of watch<T>(this.client, this.path, { ...this.query, resourceVersion: rv }, signal)) {
            rv = ev.object.metadata?.resourceVersion ?? rv;
            backoff.reset();
            if (ev.type === 'BOOKMARK') continue;
            const key = ev.object.metadata?.uid ?? ev.object.metadata?.name ?? '';
            if (ev.type === 'DELETED') this.items.delete(key);
            else this.items.set(key, ev.object);
            this.onChange();
          }
        } catch (err) {
          if (this.stopped || signal.aborted) return;
          this.lastError = err;
          if (err instanceof WatchExpiredError) rv = '';
          await sleep(backoff.next(), signal).catch(() => {});
        }
      }
    })();
  }

  stop(): void {
    this.stopped = true;
  }

  list_(): T[] {
    return [...this.items.values()];
  }
}
