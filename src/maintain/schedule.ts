/**
 * When a run's steps may start: inside a maintenance window (--window),
 * and a pause after the step before (--pause-between). Both are part of
 * the run's state (each attempt's 'run' record), so a resumed run keeps to
 * them unless its command gives them anew. A step that has started
 * finishes, window or not; the next one waits, or the run stops there
 * (--outside-window stop). The wait goes through the run's clock.
 */
import { formatDuration } from '../base/duration.js';
import type { RunClock } from './clock.js';
import type { JournalEntry, ScheduleRecord } from './journal.js';
import { formatInZone, parseWindow, windowState, type MaintenanceWindow } from './window.js';

export interface Schedule {
  windows: MaintenanceWindow[];
  pauseBetweenMs: number;
  outsideWindow: 'wait' | 'stop';
}

/** What the command's flags say of the schedule; a part left out is the run's own, kept from its state. */
export interface ScheduleFlags {
  windows?: MaintenanceWindow[];
  pauseBetweenMs?: number;
  outsideWindow?: 'wait' | 'stop';
}

export const NO_SCHEDULE: Schedule = { windows: [], pauseBetweenMs: 0, outsideWindow: 'wait' };

export function scheduleRecord(s: Schedule): ScheduleRecord {
  return { windows: s.windows.map((w) => w.text), pauseBetweenMs: s.pauseBetweenMs, outsideWindow: s.outsideWindow };
}

export function isScheduled(s: Schedule): boolean {
  return s.windows.length > 0 || s.pauseBetweenMs > 0;
}

/** The schedule for people: the windows, and the pause. */
export function describeSchedule(s: ScheduleRecord): string {
  const parts = [];
  if (s.windows.length) parts.push(`windows ${s.windows.join('; ')}`);
  if (s.pauseBetweenMs > 0) parts.push(`${formatDuration(s.pauseBetweenMs)} between steps`);
  return parts.join(', ') || 'no windows, no pause';
}

/**
 * The schedule a run keeps: each part the command gives, else the run's
 * latest record of it (from earlier attempts, on any machine), else none;
 * with a note when parts came from the run's state. Pure.
 */
export function resolveSchedule(
  flags: ScheduleFlags,
  entries: readonly JournalEntry[],
): { schedule: Schedule; note?: string } {
  const kept = entries.findLast((e) => e.step === 'run' && e.schedule)?.schedule;
  const schedule: Schedule = {
    windows: flags.windows ?? kept?.windows.map(parseWindow) ?? [],
    pauseBetweenMs: flags.pauseBetweenMs ?? kept?.pauseBetweenMs ?? 0,
    outsideWindow: flags.outsideWindow ?? kept?.outsideWindow ?? 'wait',
  };
  const fromState = kept && (flags.windows === undefined || flags.pauseBetweenMs === undefined);
  return fromState && isScheduled(schedule)
    ? { schedule, note: `the run keeps the schedule in its state: ${describeSchedule(scheduleRecord(schedule))}` }
    : { schedule };
}

/** When the run's last step ended, by its records: the pause counts from there. */
export function lastStepEnd(entries: readonly JournalEntry[]): number | undefined {
  const last = entries.findLast((e) => e.step === 'done');
  return last ? Date.parse(last.time) : undefined;
}

export type Gate = { go: true } | { go: false; opens: number; window: MaintenanceWindow };

/**
 * Waits until the next step may start: the pause after the last one, then
 * a window. `say`: what it waits for, for the step's nodes. With
 * --outside-window stop it does not wait for a window: it says when the next
 * opens. Rejects with the signal's reason when it aborts.
 */
export async function scheduleGate(
  schedule: Schedule,
  clock: RunClock,
  lastEnd: number | undefined,
  say: (waiting: string) => void,
  signal: AbortSignal,
): Promise<Gate> {
  if (schedule.pauseBetweenMs > 0 && lastEnd !== undefined) {
    const until = lastEnd + schedule.pauseBetweenMs;
    let said = false;
    for (let now = clock.now(); now < until; now = clock.now()) {
      if (!said)
        say(`pausing ${formatDuration(schedule.pauseBetweenMs)} between steps, until ${new Date(until).toISOString()}`);
      said = true;
      await clock.sleep(Math.min(until - now, clock.pollMs), signal);
    }
  }
  let said = '';
  for (;;) {
    const state = windowState(schedule.windows, clock.now());
    if (!state || state.open) return { go: true };
    if (schedule.outsideWindow === 'stop') return { go: false, opens: state.opens, window: state.window };
    const waiting =
      `outside the maintenance windows: waiting until ${formatInZone(state.opens, state.window.zone)} ` +
      `(${state.window.text})`;
    if (waiting !== said) say(waiting);
    said = waiting;
    await clock.sleep(Math.min(Math.max(state.opens - clock.now(), 1), clock.pollMs), signal);
  }
}
