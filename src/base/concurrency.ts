/** Bounded concurrency and cancellable waiting, the one way kubectl-study does both. */

/** Maps items with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Resolves after ms, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races a promise against a signal: rejects with the signal's reason when it aborts first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A signal that aborts with `reason` after ms (never, for 0), and the way to stop its timer. */
export function deadlineSignal(ms: number, reason: () => Error): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = ms > 0 ? setTimeout(() => controller.abort(reason()), ms) : undefined;
  timer?.unref?.();
  return { signal: controller.signal, clear: () => timer && clearTimeout(timer) };
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** The next turn of the event loop: after the I/O callbacks already due (a burst of watch events) have run. */
  setImmediate(fn: () => void): unknown;
}

const realClock: Clock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
};

/**
 * Runs fn once after a burst of pokes: on the next turn of the event loop
 * when it last ran at least windowMs ago, else when that window ends (so a
 * flood of changes costs one run per window, and a quiet one is answered at
 * once). poke(true) does not wait for the window: the change that may end
 * a wait is looked at without delay.
 */
export function coalesce(
  fn: () => void,
  windowMs: number,
  clock: Clock = realClock,
): { poke(urgent?: boolean): void; cancel(): void } {
  let last = -Infinity;
  let timer: unknown;
  let immediate = false;
  let cancelled = false;
  const run = (): void => {
    if (cancelled) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    immediate = false;
    last = clock.now();
    fn();
  };
  return {
    poke(urgent = false) {
      if (cancelled || immediate) return;
      const wait = last + windowMs - clock.now();
      if (urgent || wait <= 0) {
        immediate = true;
        clock.setImmediate(run);
      } else {
        timer ??= clock.setTimeout(run, wait);
      }
    },
    cancel() {
      cancelled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
    },
  };
}
