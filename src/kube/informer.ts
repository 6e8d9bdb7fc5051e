/**
 * A minimal informer, the one list-and-watch loop of kubectl-study: list
 * (or start from a resourceVersion the caller already has), then watch,
 * keeping a map of objects by UID. A 410 Gone relists; a broken watch
 * resumes with backoff; when the API server gives no answer at all for
 * longer than the outage budget (DEFAULT_OUTAGE_MS by default), it reports
 * a fatal failure and stops. Used by rollout status (onChange) and by the
 * drain's wait for evicted pods (onEvent, onSync, onFatal).
 */
import type { KubeClient } from './client.js';
import { apiStatusOf, DEFAULT_OUTAGE_MS } from './apierror.js';
import { listPath } from './list.js';
import type { Query } from './url.js';
import { watch, WatchExpiredError } from './watch.js';
import { exponentialBackoff } from '../base/backoff.js';
import { sleep } from '../base/concurrency.js';

export interface Meta {
  metadata?: { uid?: string; resourceVersion?: string; name?: string };
}

export interface InformerHandlers<T> {
  /** After every change to the map (an event or a relist). */
  onChange?: () => void;
  /** Each watch event, before the map changes. */
  onEvent?: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void;
  /** After each (re)list, with the full map. */
  onSync?: (items: Map<string, T>) => void;
  /** The API server stayed unreachable: the informer has stopped. */
  onFatal?: (err: unknown) => void;
}

export class Informer<T extends Meta> {
  readonly items = new Map<string, T>();
  /** Whether items holds a list's answer yet (before that, an empty map says nothing). */
  synced = false;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    /** e.g. /api/v1/namespaces/ns/pods */
    private readonly path: string,
    private readonly query: Query,
    private readonly handlers: InformerHandlers<T>,
    private readonly giveUpAfterMs = DEFAULT_OUTAGE_MS,
  ) {}

  private async list(): Promise<string> {
    const result = await listPath<T>(this.client, this.path, this.query);
    this.items.clear();
    for (const item of result.items) this.items.set(item.metadata?.uid ?? item.metadata?.name ?? '', item);
    this.synced = true;
    this.handlers.onSync?.(this.items);
    this.handlers.onChange?.();
    return result.resourceVersion;
  }

  /**
   * Lists (unless given the resourceVersion to watch from: then the map
   * starts empty), then keeps watching in the background until stop().
   */
  async start(signal: AbortSignal, fromResourceVersion?: string): Promise<void> {
    let rv = fromResourceVersion || (await this.list());
    void (async () => {
      const backoff = exponentialBackoff(500, 5000);
      let failingSince: number | undefined;
      while (!this.stopped && !signal.aborted) {
        try {
          if (!rv) rv = await this.list();
          for await (const ev of watch<T>(this.client, this.path, { ...this.query, resourceVersion: rv }, signal)) {
            rv = ev.object.metadata?.resourceVersion ?? rv;
            backoff.reset();
            failingSince = undefined;
            if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') continue;
            this.handlers.onEvent?.(ev.type, ev.object);
            const key = ev.object.metadata?.uid ?? ev.object.metadata?.name ?? '';
            if (ev.type === 'DELETED') this.items.delete(key);
            else this.items.set(key, ev.object);
            this.handlers.onChange?.();
          }
        } catch (err) {
          if (this.stopped || signal.aborted) return;
          // Too old a resourceVersion (after an API server restart): list afresh and go on.
          if (err instanceof WatchExpiredError || apiStatusOf(err)?.code === 410) rv = '';
          else if (!apiStatusOf(err)) {
            failingSince ??= Date.now();
            if (Date.now() - failingSince >= this.giveUpAfterMs) {
              this.handlers.onFatal?.(err);
              return;
            }
          }
          await sleep(backoff.next(), signal).catch(() => {});
        }
      }
    })();
  }

  stop(): void {
    this.stopped = true;
  }
}
