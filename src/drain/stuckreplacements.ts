/**
 * Replacements that cannot start. While a drain runs, and once more at its
 * end, the drain looks at the pods of the evicted pods' controllers that are
 * new since the plan (one list per namespace) and reports those that are
 * stuck (Pending unschedulable, ImagePullBackOff, CrashLoopBackOff...), each
 * once. Advisory: a failed look is noted once and never fails the drain, and
 * the drain's outcome does not depend on what it finds.
 */
import { abortable, mapLimit, sleep } from '../base/concurrency.js';
import type { ControlledPod, DrainApi } from './api.js';
import type { DrainEvent, StuckReplacement } from './events.js';
import type { OwnerRef, PodPlan } from './model.js';

export class ReplacementCheck {
  /** UIDs reported already: each pod once. */
  private readonly reported = new Set<string>();
  /** The stuck replacements as last seen, by namespace. */
  private readonly current = new Map<string, StuckReplacement[]>();
  private noted = false;

  constructor(
    private readonly api: Pick<DrainApi, 'controlledPods'>,
    /** The pods evicted so far (their controllers make the replacements). */
    private readonly evicted: () => PodPlan[],
    /** UIDs of pods that are no replacement: the plan's, and those that existed when it was made. */
    private readonly known: ReadonlySet<string>,
    private readonly onEvent: (e: DrainEvent) => void,
  ) {}

  /** The replacements that could not start when last looked at. */
  get stuck(): StuckReplacement[] {
    return [...this.current.values()].flat();
  }

  /** One look at every namespace; resolves to how many replacements the scheduler has not answered yet. */
  async check(signal: AbortSignal): Promise<number> {
    const groups = [...controllersByNamespace(this.evicted())];
    const answers = await mapLimit(groups, 8, async ([namespace, group]) => {
      try {
        return await abortable(this.api.controlledPods(namespace, group.controllers), signal);
      } catch (err) {
        if (!signal.aborted) this.note(err);
        return undefined;
      }
    });
    if (signal.aborted) return 0;
    let unanswered = 0;
    groups.forEach(([namespace, group], i) => {
      const pods = answers[i];
      if (pods) unanswered += this.record(namespace, group, pods);
    });
    return unanswered;
  }

  /** One namespace's answer: reports the newly stuck; returns how many are not answered by the scheduler yet. */
  private record(namespace: string, group: ControllerGroup, pods: ControlledPod[]): number {
    const fresh = pods.filter((pod) => !this.known.has(pod.uid));
    const stuck: StuckReplacement[] = [];
    for (const pod of fresh) {
      if (!pod.stuck) continue;
      const workload = group.workloadOf.get(refKey(pod.controller)) ?? refKey(pod.controller);
      stuck.push({ namespace, name: pod.name, workload, reason: pod.stuck });
      if (this.reported.has(pod.uid)) continue;
      this.reported.add(pod.uid);
      this.onEvent({ type: 'replacement-stuck', pod: { namespace, name: pod.name }, workload, reason: pod.stuck });
    }
    this.current.set(namespace, stuck);
    return fresh.filter((pod) => !pod.answered).length;
  }

  private note(err: unknown): void {
    if (this.noted) return;
    this.noted = true;
    this.onEvent({ type: 'replacements-unchecked', detail: (err as Error)?.message || String(err) });
  }

  /** Looks every `everyMs` until stopped (or the signal aborts); a look still out when stopped is dropped. */
  repeat(everyMs: number, signal: AbortSignal): { stop: () => void } {
    const stopped = new AbortController();
    const until = AbortSignal.any([signal, stopped.signal]);
    void (async () => {
      while (!until.aborted) {
        await sleep(everyMs, until).catch(() => {});
        if (!until.aborted) await this.check(until);
      }
    })().catch(() => {}); // advisory: nothing here may end the drain
    return { stop: () => stopped.abort() };
  }

  /**
   * The drain's last look: again every `everyMs` while the scheduler has not
   * answered every replacement, for at most `maxMs`: a finished drain is
   * never held long.
   */
  async settle(maxMs: number, everyMs: number, signal: AbortSignal): Promise<void> {
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(), maxMs);
    const bounded = AbortSignal.any([signal, bound.signal]);
    try {
      while (!bounded.aborted) {
        if ((await this.check(bounded)) === 0) return;
        await sleep(everyMs, bounded).catch(() => {});
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

interface ControllerGroup {
  controllers: OwnerRef[];
  /** The workload each controller serves, by kind/name: ReplicaSet/web-abc -> Deployment/web. */
  workloadOf: Map<string, string>;
}

const refKey = (c: OwnerRef): string => `${c.kind}/${c.name}`;

/** The pods' controllers (each pod's first owner: the one that recreates it), by namespace. Pure. */
export function controllersByNamespace(pods: readonly PodPlan[]): Map<string, ControllerGroup> {
  const out = new Map<string, ControllerGroup>();
  for (const pod of pods) {
    const controller = pod.owners[0];
    if (!controller) continue;
    const group = out.get(pod.namespace) ?? { controllers: [], workloadOf: new Map<string, string>() };
    if (!group.workloadOf.has(refKey(controller))) {
      group.controllers.push({ kind: controller.kind, name: controller.name });
      group.workloadOf.set(refKey(controller), pod.workload || refKey(controller));
    }
    out.set(pod.namespace, group);
  }
  return out;
}
