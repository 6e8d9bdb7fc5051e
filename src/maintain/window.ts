/**
 * Maintenance windows: `--window 'Mon-Fri 22:00-06:00 Europe/Berlin'`,
 * days and wall-clock hours in an IANA time zone (Intl's; UTC when none is
 * given, so a run resumed on a machine elsewhere keeps the same hours). A
 * window whose end is not after its start spans midnight and belongs to the
 * day it opens on: `Fri 22:00-06:00` runs into Saturday morning. Hours are
 * wall-clock hours, DST included: a window over the night clocks go forward
 * is an hour shorter; an hour that does not exist opens as the clock jumps
 * past it; an hour that comes twice counts from its first time. Pure.
 */
import { UsageError } from '../base/errors.js';

export interface MaintenanceWindow {
  /** The spec as given, for messages and the run's state. */
  text: string;
  /** Days it opens on: 0 Sunday .. 6 Saturday. */
  days: ReadonlySet<number>;
  /** Minutes after midnight it opens, and closes (up to 1440; not after the start: the next day). */
  start: number;
  end: number;
  zone: string;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FULL_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const HINT =
  'a window is [DAYS] HH:MM-HH:MM [ZONE], e.g. --window "Mon-Fri 22:00-06:00 Europe/Berlin"; ' +
  'DAYS like Mon-Fri, Sat,Sun or Fri-Mon (every day when left out), ZONE an IANA time zone (UTC when left out)';

function bad(spec: string, why: string): UsageError {
  return new UsageError(`--window "${spec}": ${why}`, { hint: HINT });
}

function dayOf(spec: string, word: string): number {
  const w = word.toLowerCase();
  const i = DAYS.indexOf(w) >= 0 ? DAYS.indexOf(w) : FULL_DAYS.indexOf(w);
  if (i < 0) throw bad(spec, `"${word}" is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)`);
  return i;
}

function daysOf(spec: string, text: string): Set<number> {
  if (text === '*') return new Set([0, 1, 2, 3, 4, 5, 6]);
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to, extra] = part.split('-');
    if (!from || extra !== undefined) throw bad(spec, `"${part}" is not a day or a range of days`);
    const a = dayOf(spec, from);
    const b = to === undefined ? a : dayOf(spec, to);
    // A range wraps round the week: Fri-Mon is Friday to Monday.
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === b) break;
    }
  }
  return out;
}

function minutesOf(spec: string, text: string, end: boolean): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (!m || min > 59 || h > 24 || (h === 24 && (min > 0 || !end)))
    throw bad(
      spec,
      `"${text}" is not a time of day (HH:MM, 00:00 to 23:59${end ? ', or 24:00 to end at midnight' : ''})`,
    );
  return h * 60 + min;
}

/** Whether Intl knows the zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A --window spec; a bad one is a usage error naming the part that is wrong. Pure. */
export function parseWindow(spec: string): MaintenanceWindow {
  const words = spec.trim().split(/\s+/).filter(Boolean);
  const at = words.findIndex((w) => w.includes(':'));
  if (at < 0) throw bad(spec, 'it has no hours (HH:MM-HH:MM)');
  if (at > 1) throw bad(spec, `"${words.slice(0, at).join(' ')}" is not one list of days`);
  if (words.length > at + 2) throw bad(spec, `"${words.slice(at + 2).join(' ')}" follows the time zone`);
  const hours = words[at]!.split('-');
  if (hours.length !== 2) throw bad(spec, `"${words[at]}" is not a range of hours (HH:MM-HH:MM)`);
  const start = minutesOf(spec, hours[0]!, false);
  const end = minutesOf(spec, hours[1]!, true);
  if (start === end % 1440 && end !== 1440)
    throw bad(spec, 'it opens and closes at the same time: give 00:00-24:00 for a whole day');
  const zone = words[at + 1] ?? 'UTC';
  if (!isTimeZone(zone))
    throw bad(spec, `"${zone}" is not a time zone this system knows (an IANA name such as Europe/Berlin)`);
  return { text: words.join(' '), days: at === 1 ? daysOf(spec, words[0]!) : daysOf(spec, '*'), start, end, zone };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date and time in a zone at an instant. */
function wallClock(t: number, zone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(t).map((p) => [p.type, Number(p.value)]));
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour! % 24, min: parts.minute!, s: parts.second! };
}

/** The zone's offset from UTC at an instant, in ms (wall clock minus UTC). */
function offsetAt(t: number, zone: string): number {
  const w = wallClock(t, zone);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s) - (t - (((t % 1000) + 1000) % 1000));
}

/**
 * The instant a wall-clock time of a zone happens: of a time that comes
 * twice (clocks going back), the first; of one that never comes (clocks
 * going forward), the moment after the jump by as much as the gap.
 */
export function zonedInstant(y: number, m: number, d: number, minutes: number, zone: string): number {
  const local = Date.UTC(y, m - 1, d) + minutes * 60_000;
  const before = offsetAt(local - 86_400_000, zone);
  const after = offsetAt(local + 86_400_000, zone);
  const valid = [...new Set([before, after])].map((o) => local - o).filter((t) => offsetAt(t, zone) === local - t);
  return valid.length ? Math.min(...valid) : local - before;
}

/** When one occurrence of the window, opening on the wall-clock date y-m-d of its zone, opens and closes. */
function occurrence(w: MaintenanceWindow, y: number, m: number, d: number): { opens: number; closes: number } {
  const opens = zonedInstant(y, m, d, w.start, w.zone);
  const closes = zonedInstant(y, m, d + (w.end <= w.start ? 1 : 0), w.end, w.zone);
  return { opens, closes };
}

/** The occurrences of a window opening on the zone's dates from `fromDay` to `toDay` days after t's date. */
function occurrences(
  w: MaintenanceWindow,
  t: number,
  fromDay: number,
  toDay: number,
): Array<{ opens: number; closes: number }> {
  const today = wallClock(t, w.zone);
  const out: Array<{ opens: number; closes: number }> = [];
  for (let i = fromDay; i <= toDay; i++) {
    const date = new Date(Date.UTC(today.y, today.m - 1, today.d + i));
    if (!w.days.has(date.getUTCDay())) continue;
    out.push(occurrence(w, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()));
  }
  return out;
}

export type WindowState =
  | { open: true; closes: number; window: MaintenanceWindow }
  | { open: false; opens: number; window: MaintenanceWindow };

/**
 * Whether any window is open at t, and until when (the open one closing
 * last); else when the next one opens. No windows: always open. Pure.
 */
export function windowState(windows: readonly MaintenanceWindow[], t: number): WindowState | undefined {
  if (windows.length === 0) return undefined;
  let open: WindowState | undefined;
  let next: WindowState | undefined;
  for (const w of windows) {
    for (const o of occurrences(w, t, -1, 0))
      if (o.opens <= t && t < o.closes && (!open?.open || o.closes > open.closes))
        open = { open: true, closes: o.closes, window: w };
    const upcoming = occurrences(w, t, 0, 8).find((o) => o.opens > t);
    if (upcoming && (!next || (!next.open && upcoming.opens < next.opens)))
      next = { open: false, opens: upcoming.opens, window: w };
  }
  return open ?? next;
}

/** An instant as people read it in a window's zone: Fri 2026-01-02 22:00 Europe/Berlin. */
export function formatInZone(t: number, zone: string): string {
  const w = wallClock(t, zone);
  const day = DAYS[new Date(Date.UTC(w.y, w.m - 1, w.d)).getUTCDay()]!;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${day[0]!.toUpperCase()}${day.slice(1)} ${w.y}-${pad(w.m)}-${pad(w.d)} ${pad(w.h)}:${pad(w.min)} ${zone}`;
}
