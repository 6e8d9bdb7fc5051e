/**
 * The run's clock: maintenance windows, the pause between steps and the
 * wait for volumes to detach read the time and wait through it, so the
 * unit tests drive time without waiting. The Lease is not on it: the API
 * server's time is what expires a lock.
 */
import { readFileSync, statSync } from 'node:fs';

import { sleep } from '../base/concurrency.js';

export interface RunClock {
  /** Now, in ms since the epoch. */
  now(): number;
  /** Resolves after ms of this clock, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** The longest a wait sleeps before it looks again: a clock can jump (a test's, a DST change is only wall time). */
  readonly pollMs: number;
}

export const REAL_CLOCK: RunClock = { now: () => Date.now(), sleep, pollMs: 30_000 };

/**
 * The test hook of the real-cluster tests: STUDY_TEST_CLOCK_FILE names a
 * file holding an ISO time, and the clock reads now as that time plus the
 * real time since the file was written. A test moves the run's clock (into
 * a window, out of it) by writing the file again; waits look again every
 * 200 ms. Read by nothing else; without the variable the clock is real.
 */
export function runClock(env: NodeJS.ProcessEnv = process.env): RunClock {
  const file = env.STUDY_TEST_CLOCK_FILE;
  if (!file) return REAL_CLOCK;
  return {
    now() {
      try {
        const set = Date.parse(readFileSync(file, 'utf8').trim());
        if (!Number.isNaN(set)) return set + (Date.now() - statSync(file).mtimeMs);
      } catch {
        // no file (yet): the real time
      }
      return Date.now();
    },
    sleep,
    pollMs: 200,
  };
}
